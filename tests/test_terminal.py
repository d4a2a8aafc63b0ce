"""What the terminal views look like at a given width: readable on any theme, nothing cut or wrapped to the margin."""

from __future__ import annotations

import io

from rich.console import Console

from semsearch.naming import Naming
from semsearch.search import Searcher
from semsearch.terminal import aligned, group_panel, results_table


def rendered(renderable, width: int) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None, legacy_windows=False)
    console.print(renderable)
    return console.file.getvalue()


def test_results_have_no_background_shading_and_weak_hits_are_dimmed(index):
    result = Searcher(index).search("root causes", k=10)  # a query the corpus barely answers: weak hits
    table = results_table(result, Naming.of_index(index.manifest, index.paragraphs), 100)
    styles = [str(row.style or "") for row in table.rows]
    assert not any(" on " in f" {style}" for style in styles), "a background colour is unreadable on some themes"
    assert [style == "dim" for style in styles] == [hit.weak for hit in result.hits] and any(
        h.weak for h in result.hits
    )
    assert "dim rows score under" in str(table.caption)


def test_the_answer_shows_at_80_columns(index):
    result = Searcher(index).search("how long must records be kept?", k=1)
    text = rendered(results_table(result, Naming.of_index(index.manifest, index.paragraphs), 80), 80)
    assert "10 years." in text, "the clause that answers the question, to its end"


def test_a_group_names_its_members_in_full_at_80_columns(duplicates):
    text = rendered(group_panel(duplicates, 1), 80)
    assert "¶16 · 1st (2012), ¶20 · 2nd (2014), ¶22 · 3rd (2015), ¶28 · 4th (2016)" in text


def test_explanations_wrap_under_their_values(duplicates):
    text = rendered(aligned(duplicates.explain(duplicates.pair("16", "20"))), 60)
    lines = text.splitlines()
    assert len(lines) > 12, "some lines wrapped at 60 columns"
    assert all(line.startswith("  ") for line in lines[1:]), "no wrapped line goes back to the margin"


def test_a_piped_build_summary_stays_one_line_and_progress_knows_its_total_first(tmp_path):
    import subprocess
    import sys

    from semsearch.build import build_index

    from .conftest import small_corpus
    from .test_cli import ENV

    corpus = small_corpus(tmp_path / "corpus")
    calls: list[tuple[int, int]] = []
    build_index([corpus], tmp_path / "first", progress=lambda done, total: calls.append((done, total)))
    assert calls[0][0] == 0 and calls[0][1] == calls[-1][0] == calls[-1][1] > 0, "the total is known before loading"
    result = subprocess.run(
        [sys.executable, "-m", "semsearch", "index", str(corpus), "--index-dir", str(tmp_path / "second")],
        env={**ENV, "COLUMNS": "50"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    (summary,) = [line for line in result.stdout.splitlines() if "paragraphs from" in line]
    assert summary.endswith(" s)"), "piped, the summary is one line the terminal may wrap, not Rich"
