"""Retrieval metrics over a labelled query set: nDCG@10, MRR and recall@10, per mode."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from semsearch.labels import read_labelled
from semsearch.search import MODES, Mode, Searcher


@dataclass(frozen=True)
class LabelledQuery:
    query: str
    relevant: dict[str, int]  # paragraph number -> grade (2 answers it, 1 partly)
    reworded: bool = False
    doc: str | None = None


@dataclass(frozen=True)
class Scores:
    ndcg: float
    mrr: float
    recall: float
    queries: int


@dataclass(frozen=True)
class Evaluation:
    """Mean metrics per mode, overall and on the reworded queries (which share few words with their answers)."""

    overall: dict[str, Scores]
    reworded: dict[str, Scores]
    k: int


def load_queries(path: Path | str) -> list[LabelledQuery]:
    return read_labelled(
        path,
        lambda d: LabelledQuery(
            d["query"], {str(k): int(v) for k, v in d["relevant"].items()}, bool(d.get("reworded", False)), d.get("doc")
        ),
        '{"query": …, "relevant": {"NUMBER": GRADE}}',
    )


def ndcg_at(ranked: Sequence[str], relevant: dict[str, int], k: int) -> float:
    gains = sum((2 ** relevant.get(n, 0) - 1) / math.log2(i + 2) for i, n in enumerate(ranked[:k]))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    best = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    return gains / best if best else 0.0


def reciprocal_rank(ranked: Sequence[str], relevant: dict[str, int]) -> float:
    return next((1.0 / (i + 1) for i, n in enumerate(ranked) if relevant.get(n, 0) > 0), 0.0)


def recall_at(ranked: Sequence[str], relevant: dict[str, int], k: int) -> float:
    wanted = {n for n, g in relevant.items() if g > 0}
    return len(wanted & set(ranked[:k])) / len(wanted) if wanted else 0.0


def _mean(rows: list[tuple[float, float, float]]) -> Scores:
    count = len(rows)
    if not count:
        return Scores(0.0, 0.0, 0.0, 0)
    return Scores(*(sum(r[i] for r in rows) / count for i in range(3)), count)


def evaluate(
    searcher: Searcher, queries: Sequence[LabelledQuery], modes: Sequence[Mode] = MODES, k: int = 10
) -> Evaluation:
    overall: dict[str, Scores] = {}
    reworded: dict[str, Scores] = {}
    for mode in modes:
        rows = []
        for labelled in queries:
            result = searcher.search(labelled.query, k=max(k, 100), mode=mode)
            ranked = [
                h.paragraph.number for h in result.hits if labelled.doc is None or h.paragraph.doc == labelled.doc
            ]
            rows.append(
                (
                    ndcg_at(ranked, labelled.relevant, k),
                    reciprocal_rank(ranked, labelled.relevant),
                    recall_at(ranked, labelled.relevant, k),
                )
            )
        overall[mode] = _mean(rows)
        reworded[mode] = _mean([r for r, q in zip(rows, queries, strict=True) if q.reworded])
    return Evaluation(overall, reworded, k)
