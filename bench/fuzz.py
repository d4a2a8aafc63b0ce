"""Long fuzzing runs over the parser and the query path (the test suite runs a few hundred cases of each).

python bench/fuzz.py --examples 5000
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from common import ROOT, save
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from semsearch import Searcher, build_index, open_index, parse_text
from semsearch.corpus import content_signature
from semsearch.errors import QueryError

LINES = st.one_of(
    st.text(max_size=120),
    st.sampled_from([
        "", "II. General", "A. Recommendations adopted at its second meeting, held on 9 June 2015", "12. The text.",
        "12.3 Sub item", "(a) lettered", "¹ Footnote.", "* Star footnote", "Heading Words", "**Bold** *em*",
        "text¹ with mark*", "# Markdown", "continues without end", "3. ", "I. **Intro**", "x****y", "\x1b[31m",
    ]),
)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=5000)
    arguments = parser.parse_args()
    counts = {"parser": 0, "query": 0}
    options = settings(
        max_examples=arguments.examples, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )

    @options
    @given(st.lists(LINES, max_size=40), st.sampled_from(["\n", "\r\n", "\r"]))
    def parser_keeps_every_character(chunks: list[str], newline: str) -> None:
        counts["parser"] += 1
        text = newline.join(chunks)
        _, pieces = parse_text(text)
        assert content_signature("".join(p.text for p in pieces)) == content_signature(text)

    workspace = Path(tempfile.mkdtemp(prefix="semsearch-fuzz-"))
    build_index([ROOT / "corpus"], workspace / "index")
    searcher = Searcher(open_index(workspace / "index"))

    @options
    @given(st.text(max_size=400), st.sampled_from(["dense", "lexical", "hybrid"]), st.integers(1, 50))
    def queries_never_crash(query: str, mode: str, k: int) -> None:
        counts["query"] += 1
        try:
            result = searcher.search(query, k=k, mode=mode)  # type: ignore[arg-type]
        except QueryError as error:
            assert "empty" in str(error)
            return
        assert len(result.hits) <= k and (mode == "lexical" or len(result.hits) >= 1)

    started = time.perf_counter()
    parser_keeps_every_character()
    queries_never_crash()
    shutil.rmtree(workspace, ignore_errors=True)
    result = {
        **{f"{k}_cases": v for k, v in counts.items()},
        "seconds": round(time.perf_counter() - started, 1),
        "failures": 0,
    }
    print(save("fuzz", result).read_text())


if __name__ == "__main__":
    main()
