"""The whole scale corpus (198,037 real UN paragraphs) built end to end, as a user would: one text file per
document (5,102 of them, paragraphs numbered), `build_index` from a cold start (model loaded, ONNX export, every
paragraph embedded, the FAISS index chosen by size, BM25, files written and verified), then the index opened.

Reports the wall time of each stage, the paragraphs embedded per second and the peak memory of the process, and
leaves the vectors in bench/.cache/scale-build-vectors.npy for `scale_ann.py --vectors`. `--limit N` builds the first N
paragraphs only. Reads the corpus named by SEMSEARCH_SCALE.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import shutil
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from common import CACHE, SCALE_VARIABLE, peak_rss_mib, save

from semsearch.build import IndexConfig, build_index
from semsearch.index import open_index


def write_documents(limit: int | None, directory: Path) -> int:
    """One file per document symbol, its paragraphs numbered in order: the shape a folder of reports has."""
    documents: dict[str, list[str]] = defaultdict(list)
    count = 0
    with gzip.open(os.environ[SCALE_VARIABLE], "rt", encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            documents[record["doc"]].append(" ".join(record["text"].split()))
            count += 1
            if limit and count >= limit:
                break
    directory.mkdir(parents=True)
    for ordinal, (symbol, texts) in enumerate(documents.items(), start=1):
        body = "\n\n".join(f"{n}. {text}" for n, text in enumerate(texts, start=1))
        name = f"{ordinal:05d}-{re.sub(r'[^A-Za-z0-9.-]+', '_', symbol)}.txt"  # distinct even where symbols map alike
        (directory / name).write_text(body + "\n", encoding="utf-8")
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--engine", choices=("local", "ray"), default="local")
    parser.add_argument("--index-type", default="auto")
    arguments = parser.parse_args()
    if not Path(os.environ.get(SCALE_VARIABLE, "")).is_file():
        raise SystemExit(f"set {SCALE_VARIABLE} to the scale corpus file (un-paragraphs.jsonl.gz)")
    workspace = Path(tempfile.mkdtemp(prefix="semsearch-scale-build-"))
    try:
        lines = write_documents(arguments.limit, workspace / "corpus")
        marks: dict[str, float] = {}
        started = time.perf_counter()

        def progress(done: int, total: int) -> None:
            now = time.perf_counter() - started
            marks.setdefault("embedding_started_s", now)
            marks["texts"] = total
            if done == total:
                marks["embedding_done_s"] = now
            if done and done % 10_000 < 8:
                print(f"{done}/{total} embedded after {now:.0f} s", flush=True)

        config = IndexConfig(index_type=arguments.index_type, engine=arguments.engine)  # type: ignore[arg-type]
        report = build_index([workspace / "corpus"], workspace / "index", config, progress=progress)
        total = time.perf_counter() - started
        opened = time.perf_counter()
        index = open_index(workspace / "index")
        open_seconds = time.perf_counter() - opened
        size = sum(f.stat().st_size for f in index.directory.rglob("*") if f.is_file())
        embedding = marks["embedding_done_s"] - marks["embedding_started_s"]
        data = {
            "scale_lines": lines,
            "documents": report.documents,
            "paragraphs": report.paragraphs,
            "engine": arguments.engine,
            "index_type": report.index_type,
            "build_total_s": round(total, 1),
            "build_total_min": round(total / 60, 1),
            "parse_s": round(marks["embedding_started_s"], 1),
            "embedding_s": round(embedding, 1),
            "embedded_texts": int(marks["texts"]),  # distinct texts: a repeated paragraph is embedded once
            "embedded_per_s": round(marks["texts"] / embedding, 1),
            "after_embedding_s": round(total - marks["embedding_done_s"], 1),
            "open_index_s": round(open_seconds, 2),
            "index_bytes": size,
            "peak_rss_mib": round(peak_rss_mib()),
            "cores": len(os.sched_getaffinity(0)),
        }
        if not arguments.limit:  # for `scale_ann.py --vectors` (in the index's order, not the file's)
            CACHE.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(index.version.path("vectors.npy"), CACHE / "scale-build-vectors.npy")
        index.close()
        suffix = f"-{arguments.limit}" if arguments.limit else ""
        print(save(f"scale_build{suffix}", data).read_text())
    finally:
        shutil.rmtree(workspace, ignore_errors=True)


if __name__ == "__main__":
    main()
