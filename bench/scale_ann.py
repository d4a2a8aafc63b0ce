"""Approximate index on the ~200k scale paragraphs: build time, recall@10 against exact search, query time, memory.

IVF-PQ is measured as `semsearch` searches with it: a shortlist of CANDIDATES from the compressed codes, re-scored
exactly from the vectors memory-mapped from disk; its recall without re-scoring is reported beside. Memory is what a
loaded index holds: the FAISS structure, plus for HNSW and IVF the vectors (read into memory), not for IVF-PQ.

Queries are 1,000 paragraphs drawn at random from the corpus (their own vector included in the ground truth,
as it would be for a user who pastes a paragraph). Recall is tie-aware (see recall_at_10).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import faiss
import numpy as np
from common import CACHE, peak_rss_mib, save, scale_vectors

from semsearch.ann import apply_search_parameters, make_faiss_index
from semsearch.search import CANDIDATES


def recall_at_10(found_scores: np.ndarray, truth_scores: np.ndarray) -> float:
    """Share of returned neighbours at least as similar as the true 10th: ids alone would punish ties, and this
    corpus has many word-for-word repeats (equal vectors) whose order among themselves is arbitrary."""
    kth = truth_scores[:, -1:] - 1e-5
    return float(np.mean((found_scores >= kth).sum(axis=1) / 10))


def rescore(index: object, vectors: np.ndarray, query: np.ndarray) -> np.ndarray:
    """The top 10 exact scores among the index's shortlist of CANDIDATES, the vectors read from disk."""
    _, ids = index.search(query[None, :], CANDIDATES)  # type: ignore[attr-defined]
    rows = np.sort(ids[0][ids[0] >= 0])
    return np.sort(np.asarray(vectors[rows]) @ query)[::-1][:10]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--partial", action="store_true", help="use the chunks embedded so far")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--kinds", default="hnsw,ivf,ivfpq", help="index kinds to measure, comma-separated")
    parser.add_argument("--name", default="scale_ann", help="results file name (bench/results/NAME.json)")
    parser.add_argument("--vectors", type=Path, help="an .npy of vectors instead of scale_vectors.py's cache")
    arguments = parser.parse_args()
    faiss.omp_set_num_threads(2)
    source = arguments.vectors or CACHE / "scale-vectors.npy"
    vectors = np.load(source, allow_pickle=False) if arguments.vectors else scale_vectors(arguments.partial)
    rng = np.random.default_rng(0)
    queries = vectors[rng.choice(len(vectors), arguments.queries, replace=False)]
    exact = make_faiss_index(vectors, "flat")
    started = time.perf_counter()
    truth, _ = exact.search(queries, 10)
    exact_ms = (time.perf_counter() - started) / len(queries) * 1000
    results = {"paragraphs": len(vectors), "queries": len(queries), "exact_batch_ms_per_query": round(exact_ms, 3)}
    mapped = np.load(source, mmap_mode="r", allow_pickle=False)
    vectors_mib = vectors.nbytes / 2**20
    for kind in arguments.kinds.split(","):
        started = time.perf_counter()
        index = make_faiss_index(vectors, kind)
        build = time.perf_counter() - started
        apply_search_parameters(index, kind)
        index_mib = faiss.serialize_index(index).nbytes / 2**20
        found, _ = index.search(queries, 10)
        result = {"build_s": round(build, 1), "recall_at_10": round(recall_at_10(found, truth), 4)}
        search = (lambda q, index=index: index.search(q[None, :], 10)[0][0]) if kind != "ivfpq" else None
        if kind == "ivfpq":
            result["recall_at_10_codes_only"] = result["recall_at_10"]
            rescored = np.array([rescore(index, mapped, q) for q in queries])
            result["recall_at_10"] = round(recall_at_10(rescored, truth), 4)
            search = lambda q, index=index: rescore(index, mapped, q)  # noqa: E731
        single = []
        for query in queries[:200]:
            started = time.perf_counter()
            search(query)
            single.append(time.perf_counter() - started)
        loaded = index_mib + (vectors_mib if kind != "ivfpq" else 0)
        result |= {
            "single_query_median_ms": round(statistics.median(single) * 1000, 3),
            "index_mib": round(index_mib, 1),
            "loaded_mib": round(loaded, 1),
            "loaded_gib_at_10m_projected": round(loaded / len(vectors) * 10_000_000 / 1024, 1),
        }
        results[kind] = result
    single = []
    for query in queries[:200]:
        started = time.perf_counter()
        exact.search(query[None, :], 10)
        single.append(time.perf_counter() - started)
    results["flat_single_query_median_ms"] = round(statistics.median(single) * 1000, 3)
    results["peak_rss_mib"] = round(peak_rss_mib())
    print(save(arguments.name, results).read_text())


if __name__ == "__main__":
    main()
