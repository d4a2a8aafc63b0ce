"""How well a duplicates report agrees with hand-labelled pairs, threshold by threshold: what the presets were
chosen by, and how a user checks them on their own documents."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from semsearch.corpus import paragraph_row
from semsearch.decisions import Decision, Review, Verdict, is_decisions_line
from semsearch.dedup import DuplicateReport, first_occurrences, held_as
from semsearch.errors import QueryError
from semsearch.index import Index
from semsearch.labels import read_labelled


@dataclass(frozen=True)
class LabelledPair:
    a: str
    b: str
    duplicate: bool
    doc: str | None = None
    reviewed: bool = False  # from an analyst's decision on a flagged pair, not from a labelling of the whole corpus


@dataclass(frozen=True)
class CalibrationRow:
    threshold: float
    precision: float
    recall: float
    f1: float
    flagged: int  # pairs flagged in the whole corpus at this threshold
    negatives_flagged: int  # labelled hard negatives flagged


def load_pairs(path: Path | str, index: Index | None = None) -> list[LabelledPair]:
    """Hand-labelled pairs, or an analyst's decisions file (the HTML report's export): there a confirmed pair is a
    duplicate and a rejected one a negative, found in `index` by content hash; unsure and stale decisions are left
    out. So an analyst's own reviews re-tune the threshold for their corpus."""
    lines = read_labelled(
        path,
        lambda d: (
            Decision.from_dict(d)
            if is_decisions_line(d)
            else LabelledPair(str(d["a"]), str(d["b"]), d["label"] == "duplicate", d.get("doc"))
        ),
        '{"a": …, "b": …, "label": "duplicate"|"negative"} or a decision',
    )
    pairs = [line for line in lines if isinstance(line, LabelledPair)]
    decisions = [line for line in lines if isinstance(line, Decision)]
    if not decisions:
        return pairs
    if index is None:
        raise QueryError(f"{path}: a decisions file needs the index its pairs are in")
    review = Review.of(decisions, index.paragraphs, index.hashes)
    verdicts: tuple[tuple[Verdict, bool], ...] = (("confirmed", True), ("rejected", False))
    for verdict, duplicate in verdicts:
        for i, j in review.rows(verdict):
            a, b = index.paragraphs[i], index.paragraphs[j]
            pairs.append(LabelledPair(f"{a.doc}:{a.number}", f"{b.doc}:{b.number}", duplicate, reviewed=True))
    return pairs


def calibrate(
    report: DuplicateReport,
    labelled: Sequence[LabelledPair],
    steps: int = 25,
    thresholds: Sequence[float] | None = None,
) -> list[CalibrationRow]:
    """Precision and recall at each threshold, taking the labelled duplicates as the complete set: every other
    flagged pair counts against precision. Also counts how many labelled hard negatives get flagged. An analyst's
    decisions cover only the pairs they reviewed, so when every labelled pair is one, precision is the share of
    reviewed pairs flagged that were confirmed."""
    paragraphs = report.scorer.index.paragraphs
    first = first_occurrences(paragraphs)

    def keys(duplicate: bool) -> set[tuple[int, int]]:
        return {
            held_as(first, paragraph_row(paragraphs, p.a, p.doc), paragraph_row(paragraphs, p.b, p.doc))
            for p in labelled
            if p.duplicate == duplicate
        }

    positives, negatives = keys(True), keys(False)
    reviewed_only = all(p.reviewed for p in labelled)
    candidates = report.candidates
    columns = zip(candidates.a.tolist(), candidates.b.tolist(), candidates.scores.tolist(), strict=True)
    candidate_scores = {held_as(first, a, b): s for a, b, s in columns}
    positive_scores = [candidate_scores.get(k, -1.0) for k in positives]
    negative_scores = [candidate_scores.get(k, -1.0) for k in negatives]
    rows = []
    grid = thresholds if thresholds is not None else sorted({*np.linspace(0.2, 0.9, steps), report.threshold})
    for threshold in grid:
        flagged = {k for k, s in candidate_scores.items() if s >= threshold}
        true = sum(1 for s in positive_scores if s >= threshold)
        hard = sum(1 for s in negative_scores if s >= threshold)
        judged = true + hard if reviewed_only else len(flagged)
        precision = true / judged if judged else 1.0
        recall = true / len(positives) if positives else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append(CalibrationRow(float(threshold), precision, recall, f1, len(flagged), hard))
    return rows
