"""The duplicates pass on table-shaped and pathological documents stays bounded in time and memory.

Indexes three editions of the Security Council's Aide Memoire (SEMSEARCH_REALDOCS/sc-aide-memoire-akn/; where
fewer editions are at hand, copies of one stand in for the others: every row then repeats word for word, the
worst case for the pass) plus a text file whose one paragraph is 18,000 words long, then times
`semsearch duplicates --json` in a fresh process (median of 3) and reads its peak memory from the kernel.
Writes bench/results/bounded_cost.json.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.common import save  # noqa: E402

EDITIONS = 3
_MEASURE = (
    "import resource, subprocess, sys; out = subprocess.run(sys.argv[1:], capture_output=True, check=True).stdout; "
    "print(len(out), resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def main() -> None:
    folder = Path(os.environ.get("SEMSEARCH_REALDOCS", "")) / "sc-aide-memoire-akn"
    editions = sorted(folder.glob("*.xml"))
    if not editions:
        raise SystemExit("set SEMSEARCH_REALDOCS to the real-documents folder (with sc-aide-memoire-akn/)")
    work = Path(tempfile.mkdtemp(prefix="semsearch-bounded-"))
    corpus = work / "corpus"
    corpus.mkdir()
    for n in range(EDITIONS):
        shutil.copy(editions[n % len(editions)], corpus / f"edition-{n + 1}.xml")
    words = " ".join(f"measure{n % 997} of the States parties" for n in range(3_600))
    (corpus / "run-on.txt").write_text(f"1. {words}.\n\n2. A short second paragraph.\n", encoding="utf-8")
    semsearch = [sys.executable, "-m", "semsearch"]
    index = work / "index"
    started = time.perf_counter()
    subprocess.run([*semsearch, "index", str(corpus), "--index-dir", str(index)], check=True)
    build = time.perf_counter() - started
    seconds, peaks = [], []
    for _ in range(3):
        started = time.perf_counter()
        # A parent of its own, so the peak memory read is the duplicates process's alone, not the build's.
        measured = subprocess.run(
            [sys.executable, "-c", _MEASURE, *semsearch, "duplicates", "--json", "--index-dir", str(index)],
            capture_output=True,
            check=True,
            text=True,
        )
        seconds.append(time.perf_counter() - started)
        size, peak = measured.stdout.split()
        peaks.append(int(peak) / 1024)
    data = {
        "editions_at_hand": len(editions),
        "editions_indexed": EDITIONS,
        "build_seconds": round(build, 1),
        "duplicates_seconds_median": round(statistics.median(seconds), 2),
        "duplicates_seconds": [round(s, 2) for s in seconds],
        "peak_memory_mib": round(max(peaks)),
        "report_bytes": int(size),
    }
    shutil.rmtree(work, ignore_errors=True)
    for key, value in data.items():
        print(f"{key:28} {value}")
    print("wrote", save("bounded_cost", data))


if __name__ == "__main__":
    main()
