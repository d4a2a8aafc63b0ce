"""Shared helpers for the benchmark scripts: the scale corpus, its cached vectors, timing and memory."""

from __future__ import annotations

import gzip
import json
import os
import resource
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / ".cache"
RESULTS = ROOT / "bench" / "results"
SCALE_VARIABLE = "SEMSEARCH_SCALE"  # path of the scale corpus, un-paragraphs.jsonl.gz (198,037 UN paragraphs)


def scale_texts(limit: int | None = None) -> list[str]:
    """Paragraph texts of the scale corpus (198,037 real UN paragraphs), in file order."""
    path = Path(os.environ.get(SCALE_VARIABLE, ""))
    if not path.is_file():
        raise SystemExit(f"set {SCALE_VARIABLE} to the scale corpus file (un-paragraphs.jsonl.gz)")
    texts = []
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            texts.append(json.loads(line)["text"])
            if limit and len(texts) >= limit:
                break
    return texts


def scale_vectors(allow_partial: bool = False) -> np.ndarray:
    """The cached vectors of the scale corpus; with allow_partial, the finished chunks of an unfinished run."""
    path = CACHE / "scale-vectors.npy"
    if path.exists():
        return np.load(path, allow_pickle=False)
    parts = sorted(CACHE.glob("part-*.npy"))
    if allow_partial and parts:
        return np.vstack([np.load(p, allow_pickle=False) for p in parts])
    raise SystemExit("no cached scale vectors; run: python bench/scale_vectors.py")


def median_seconds(action: Callable[[], object], runs: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times), times


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def save(name: str, data: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path
