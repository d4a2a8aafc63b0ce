"""The similarity pass at scale: the ~198k UN paragraphs with their cached vectors.

Reports time and peak memory of `find_duplicates` with the approximate (HNSW) index; on a 20k sample, how many
of the pairs found through exact search the approximate index also finds; and semhash on the same texts with
the same vectors (its encoder is handed the cached vectors), side by side: time, pairs, agreement.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np
from common import peak_rss_mib, save, scale_texts, scale_vectors

from semsearch import DedupConfig, DuplicateReport, find_duplicates
from semsearch.ann import make_faiss_index
from semsearch.corpus import Paragraph
from semsearch.index import Index
from semsearch.storage import Version

# At scale: fewer neighbours per paragraph and a higher cosine floor for candidates (documented in the README).
SCALE_CONFIG = DedupConfig(neighbours=10, min_cosine=0.75)


def in_memory_index(texts: list[str], vectors: np.ndarray, kind: str) -> Index:
    """An Index over precomputed vectors: the benchmark skips parsing and embedding, not the similarity pass."""
    faiss_index = make_faiss_index(vectors, kind)
    paragraphs = [Paragraph(doc="un", number=str(i), text=t) for i, t in enumerate(texts, start=1)]
    manifest = {"index": {"type": kind}, "model": {"name": "all-MiniLM-L6-v2", "sha256": ""}}
    version = Version(Path(tempfile.gettempdir()), manifest)
    return Index(version, paragraphs, [], vectors, None, _faiss=faiss_index)  # type: ignore[arg-type]


def pair_keys(report: DuplicateReport) -> set[tuple[str, str]]:
    return {tuple(sorted((p.a.number, p.b.number))) for p in report.pairs}


def grouped_together(report: DuplicateReport, pairs: set[tuple[str, str]]) -> float:
    """Share of the given pairs whose two paragraphs end up in one group of the report: with many word-for-word
    repeats, which copy a pair names is arbitrary, but the group it lands in is not."""
    group_of = {p.number: n for n, g in enumerate(report.groups) for p in g.members}
    together = sum(1 for a, b in pairs if a in group_of and group_of.get(a) == group_of.get(b))
    return together / max(1, len(pairs))


class CachedVectors:
    """semhash's encoder protocol, answering from the cached vectors instead of running a model again."""

    def __init__(self, texts: list[str], vectors: np.ndarray) -> None:
        self.rows = {t: i for i, t in enumerate(texts)}
        self.vectors = vectors

    def encode(self, sentences: list[str], **_: object) -> np.ndarray:
        return self.vectors[[self.rows[s] for s in sentences]]


def run_semhash(texts: list[str], vectors: np.ndarray, threshold: float) -> tuple[float, set[tuple[str, str]]]:
    from semhash import SemHash

    started = time.perf_counter()
    semhash = SemHash.from_records(texts, model=CachedVectors(texts, vectors))
    result = semhash.self_deduplicate(threshold=threshold)
    seconds = time.perf_counter() - started
    rows = {t: str(i) for i, t in reversed(list(enumerate(texts, start=1)))}
    pairs = {tuple(sorted((rows[d.record], rows[d.duplicate_of]))) for d in result.filtered}
    return seconds, pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--partial", action="store_true", help="use the chunks embedded so far")
    parser.add_argument("--sample", type=int, default=20_000)
    parser.add_argument("--semhash-threshold", type=float, default=0.9)
    arguments = parser.parse_args()
    faiss.omp_set_num_threads(2)
    vectors = scale_vectors(allow_partial=arguments.partial)
    texts = scale_texts(len(vectors))
    results: dict = {
        "paragraphs": len(texts),
        "config": {"neighbours": SCALE_CONFIG.neighbours, "min_cosine": SCALE_CONFIG.min_cosine},
    }
    sample = min(arguments.sample, len(texts))
    reports = {
        kind: find_duplicates(in_memory_index(texts[:sample], vectors[:sample], kind), SCALE_CONFIG)
        for kind in ("flat", "hnsw")
    }
    exact, approximate = pair_keys(reports["flat"]), pair_keys(reports["hnsw"])
    results["sample"] = {
        "paragraphs": sample,
        "pairs_exact": len(exact),
        "pairs_approximate": len(approximate),
        "share_of_exact_pairs_found": round(len(exact & approximate) / max(1, len(exact)), 4),
        "share_of_exact_pairs_grouped_together": round(grouped_together(reports["hnsw"], exact), 4),
    }
    started = time.perf_counter()
    index = in_memory_index(texts, vectors, "hnsw")
    built = time.perf_counter() - started
    report = find_duplicates(index, SCALE_CONFIG)
    ours = pair_keys(report)
    results["full"] = {
        "index_build_s": round(built, 1),
        "similarity_pass_s": round(time.perf_counter() - started - built, 1),
        "total_s": round(time.perf_counter() - started, 1),
        "candidates": len(report.candidates),
        "pairs": len(ours),
        "groups": len(report.groups),
        "peak_rss_mib": round(peak_rss_mib()),
    }
    seconds, theirs = run_semhash(texts, vectors, arguments.semhash_threshold)
    results["semhash"] = {
        "threshold": arguments.semhash_threshold,
        "seconds": round(seconds, 1),
        "pairs": len(theirs),
        "semhash_pairs_grouped_together_by_semsearch": round(grouped_together(report, theirs), 4),
        "peak_rss_mib_after": round(peak_rss_mib()),
    }
    print(save("scale_dedup", results).read_text())


if __name__ == "__main__":
    main()
