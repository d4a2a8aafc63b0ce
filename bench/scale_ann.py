"""Approximate index on the ~200k scale paragraphs: build time, recall@10 against exact search, query time, memory.

Queries are 1,000 paragraphs drawn at random from the corpus (their own vector included in the ground truth,
as it would be for a user who pastes a paragraph). Recall is tie-aware (see recall_at_10).
"""

from __future__ import annotations

import argparse
import statistics
import time

import faiss
import numpy as np
from common import peak_rss_mib, save, scale_vectors

from semsearch.index import apply_search_parameters, make_faiss_index


def recall_at_10(found_scores: np.ndarray, truth_scores: np.ndarray) -> float:
    """Share of returned neighbours at least as similar as the true 10th: ids alone would punish ties, and this
    corpus has many word-for-word repeats (equal vectors) whose order among themselves is arbitrary."""
    kth = truth_scores[:, -1:] - 1e-5
    return float(np.mean((found_scores >= kth).sum(axis=1) / 10))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--partial", action="store_true", help="use the chunks embedded so far")
    parser.add_argument("--queries", type=int, default=1000)
    arguments = parser.parse_args()
    faiss.omp_set_num_threads(2)
    vectors = scale_vectors(allow_partial=arguments.partial)
    rng = np.random.default_rng(0)
    queries = vectors[rng.choice(len(vectors), arguments.queries, replace=False)]
    exact, _ = make_faiss_index(vectors, "flat")
    started = time.perf_counter()
    truth, _ = exact.search(queries, 10)
    exact_ms = (time.perf_counter() - started) / len(queries) * 1000
    results = {"paragraphs": len(vectors), "queries": len(queries), "exact_batch_ms_per_query": round(exact_ms, 3)}
    for kind in ("hnsw", "ivf"):
        started = time.perf_counter()
        index, _ = make_faiss_index(vectors, kind)
        build = time.perf_counter() - started
        apply_search_parameters(index, kind)
        found, _ = index.search(queries, 10)
        single = []
        for query in queries[:200]:
            started = time.perf_counter()
            index.search(query[None, :], 10)
            single.append(time.perf_counter() - started)
        results[kind] = {
            "build_s": round(build, 1),
            "recall_at_10": round(recall_at_10(found, truth), 4),
            "single_query_median_ms": round(statistics.median(single) * 1000, 3),
            "index_mib": round(faiss.serialize_index(index).nbytes / 2**20, 1),
        }
    single = []
    for query in queries[:200]:
        started = time.perf_counter()
        exact.search(query[None, :], 10)
        single.append(time.perf_counter() - started)
    results["flat_single_query_median_ms"] = round(statistics.median(single) * 1000, 3)
    results["peak_rss_mib"] = round(peak_rss_mib())
    print(save("scale_ann", results).read_text())


if __name__ == "__main__":
    main()
