"""Run every benchmark in turn; results land in bench/results/*.json. The scale ones need the cached vectors
(python bench/scale_vectors.py, about an hour on 2 cores, once)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = ["query_speed.py", "tune_hybrid.py", "tune_dedup.py", "index_throughput.py", "fuzz.py", "scale_ann.py",
           "scale_dedup.py"]  # fmt: skip

if __name__ == "__main__":
    for script in SCRIPTS:
        print(f"== {script}", flush=True)
        subprocess.run([sys.executable, str(HERE / script)], cwd=HERE, check=True)
