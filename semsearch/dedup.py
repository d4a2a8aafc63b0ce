"""Near-duplicate recommendations: candidates from FAISS, each pair scored with evidence that resists templates.

Every paragraph of this genre opens with the same formula ("The Conference may wish to urge States parties
to …"), which pushes all raw cosines up. Two general rules, learned from the corpus itself, take it out:

* **lexical evidence is weighted by inverse document frequency** over the corpus, so words that every paragraph
  shares count for almost nothing;
* **semantic evidence is compared after centring**: the corpus's mean embedding (the shared formula's direction)
  is subtracted before the cosine, and it is taken per clause, so one repeated ask inside a longer paragraph
  still shows.

A pair's score is a fixed mix of semantic, lexical (TF-IDF cosine) and containment (how much of one clause is
found in the other paragraph) evidence; weights and the default threshold were chosen on
`tests/data/pairs.jsonl` by `bench/tune_dedup.py`.
"""

from __future__ import annotations

import difflib
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Literal

import numpy as np

from semsearch.corpus import Paragraph
from semsearch.errors import QueryError
from semsearch.index import Index
from semsearch.labels import read_labelled
from semsearch.lexical import tokenize

Kind = Literal["verbatim", "paraphrase", "partial"]
DEFAULT_THRESHOLD = 0.48
WEIGHTS = {"semantic": 0.3, "containment": 0.2, "lexical": 0.5}
# Clause embeddings cost one encoder pass over every clause; above this size paragraph vectors stand in.
CLAUSE_LEVEL_UP_TO = 5_000
_CLAUSE_SPLIT = re.compile(r"(?<=[.;:])\s+|,\s+(?:and|as well as|while)\s+(?=to\s)|,\s+and\s+(?=(?:to|may|should)\s)")
_WORDS = re.compile(r"\S+")


@dataclass(frozen=True)
class DedupConfig:
    threshold: float = DEFAULT_THRESHOLD
    neighbours: int = 50
    min_cosine: float = 0.4
    verbatim_ratio: float = 0.9
    partial_length_ratio: float = 0.6


@dataclass(frozen=True)
class Evidence:
    """The parts of a pair's score, each in [0, 1]-ish, and the raw cosine for comparison."""

    semantic: float
    lexical: float
    containment: float
    cosine: float

    def weighted(self) -> float:
        return (
            WEIGHTS["semantic"] * self.semantic
            + WEIGHTS["lexical"] * self.lexical
            + WEIGHTS["containment"] * self.containment
        )


@dataclass(frozen=True)
class DiffOp:
    op: Literal["equal", "delete", "insert", "replace"]
    a: str
    b: str


@dataclass(frozen=True)
class PairScore:
    """One scored pair; `a` is the earlier paragraph (by meeting, then position)."""

    a: Paragraph
    b: Paragraph
    score: float
    evidence: Evidence
    config: DedupConfig = field(repr=False, compare=False)

    @cached_property
    def word_ratio(self) -> float:
        """Share of words in common, in order (1.0 = word for word); computed only for pairs someone looks at."""
        words_a, words_b = self.a.text.lower().split(), self.b.text.lower().split()
        return difflib.SequenceMatcher(a=words_a, b=words_b, autojunk=False).ratio()

    @property
    def length_ratio(self) -> float:
        length_a, length_b = len(self.a.text.split()), len(self.b.text.split())
        return min(length_a, length_b) / max(length_a, length_b, 1)

    @property
    def kind(self) -> Kind:
        if self.word_ratio >= self.config.verbatim_ratio:
            return "verbatim"
        if self.length_ratio < self.config.partial_length_ratio:
            return "partial"
        return "paraphrase"

    @property
    def same_meeting(self) -> bool:
        return self.a.doc == self.b.doc and self.a.meeting is not None and self.a.meeting == self.b.meeting

    @property
    def meetings(self) -> str:
        first = str(self.a.meeting) if self.a.meeting else "—"
        second = str(self.b.meeting) if self.b.meeting else "—"
        return first if self.same_meeting else f"{first} → {second}"

    def diff(self) -> list[DiffOp]:
        return word_diff(self.a.text, self.b.text)

    def explain(self, threshold: float) -> str:
        e = self.evidence
        verdict = "flagged" if self.score >= threshold else "not flagged"
        parts = [
            f"¶{self.a.number} and ¶{self.b.number}: {verdict} as {self.kind} "
            f"(score {self.score:.3f} {'≥' if self.score >= threshold else '<'} threshold {threshold:.3f})",
            f"  semantic    {e.semantic:.3f} × {WEIGHTS['semantic']}  (best clause-to-clause cosine, template removed)",
            f"  lexical     {e.lexical:.3f} × {WEIGHTS['lexical']}  (TF-IDF cosine; words the whole corpus shares "
            "count little)",
            f"  containment {e.containment:.3f} × {WEIGHTS['containment']}  (share of one clause's rare words found "
            "in the other)",
            f"  raw cosine  {e.cosine:.3f}  (inflated by the shared formula; not used directly)",
            f"  word overlap {self.word_ratio:.2f}, length ratio {self.length_ratio:.2f}, meetings {self.meetings}"
            + (" (same meeting)" if self.same_meeting else ""),
        ]
        return "\n".join(parts)

    def to_dict(self) -> dict:
        e = self.evidence
        return {
            "a": _ref(self.a),
            "b": _ref(self.b),
            "score": round(self.score, 4),
            "kind": self.kind,
            "same_meeting": self.same_meeting,
            "semantic": round(e.semantic, 4),
            "lexical": round(e.lexical, 4),
            "containment": round(e.containment, 4),
            "cosine": round(e.cosine, 4),
            "diff": [[op.op, op.a, op.b] for op in self.diff()],
        }


def _ref(paragraph: Paragraph) -> dict:
    meeting = paragraph.meeting
    return {
        "doc": paragraph.doc,
        "number": paragraph.number,
        "meeting": meeting.ordinal if meeting else None,
        "year": meeting.year if meeting else None,
        "section": paragraph.section.numeral if paragraph.section else None,
    }


@dataclass(frozen=True)
class DuplicateGroup:
    """A recommendation and its repeats, earliest first, with the weakest pair inside it."""

    members: tuple[Paragraph, ...]
    pairs: tuple[PairScore, ...]

    @property
    def weakest(self) -> PairScore:
        return min(self.pairs, key=lambda p: p.score)

    @property
    def first(self) -> Paragraph:
        return self.members[0]

    def to_dict(self) -> dict:
        weakest = self.weakest
        return {
            "members": [_ref(p) for p in self.members],
            "weakest": {"a": weakest.a.number, "b": weakest.b.number, "score": round(weakest.score, 4)},
        }


@dataclass(frozen=True)
class Repeat:
    paragraph: Paragraph
    kind: Kind
    score: float


@dataclass
class DuplicateReport:
    """All scored candidates, and what is flagged at one threshold; `at()` re-thresholds without recomputing."""

    candidates: list[PairScore]
    threshold: float
    scorer: PairScorer = field(repr=False)
    pairs: list[PairScore] = field(init=False)
    groups: list[DuplicateGroup] = field(init=False)

    def __post_init__(self) -> None:
        self.pairs = [p for p in self.candidates if p.score >= self.threshold]
        self.groups = group_pairs(self.pairs, self.scorer, self.threshold)

    def at(self, threshold: float) -> DuplicateReport:
        return DuplicateReport(self.candidates, threshold, self.scorer)

    def repeats_of(self, paragraph: Paragraph) -> list[Repeat]:
        found = []
        for pair in self.pairs:
            if pair.a.key == paragraph.key:
                found.append(Repeat(pair.b, pair.kind, pair.score))
            elif pair.b.key == paragraph.key:
                found.append(Repeat(pair.a, pair.kind, pair.score))
        return sorted(found, key=lambda r: -r.score)

    @property
    def repeated_paragraphs(self) -> list[Paragraph]:
        """Paragraphs that repeat an earlier one: every group member but the first."""
        return [p for g in self.groups for p in g.members[1:]]

    def to_dict(self) -> dict:
        return {
            "threshold": self.threshold,
            "groups": [g.to_dict() for g in self.groups],
            "pairs": [p.to_dict() for p in self.pairs],
        }


def word_diff(a: str, b: str) -> list[DiffOp]:
    """Word-level differences, case and punctuation kept, for side-by-side display."""
    words_a, words_b = _WORDS.findall(a), _WORDS.findall(b)
    matcher = difflib.SequenceMatcher(a=[w.lower() for w in words_a], b=[w.lower() for w in words_b], autojunk=False)
    return [
        DiffOp(tag, " ".join(words_a[i1:i2]), " ".join(words_b[j1:j2]))  # type: ignore[arg-type]
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
    ]


def split_clauses(text: str) -> list[str]:
    """Sentences and coordinated asks ('…, and to …'); short fragments stay with the whole paragraph."""
    parts = [p for p in _CLAUSE_SPLIT.split(text) if len(p.split()) >= 5]
    return parts or [text]


def _centred(vectors: np.ndarray) -> np.ndarray:
    centred = vectors - vectors.mean(axis=0, keepdims=True)
    return centred / np.clip(np.linalg.norm(centred, axis=1, keepdims=True), 1e-12, None)


class PairScorer:
    """Scores any pair of paragraphs of one index; the evidence it needs is computed once."""

    def __init__(self, index: Index, config: DedupConfig, clause_vectors: bool | None = None) -> None:
        self.index = index
        self.config = config
        paragraphs = index.paragraphs
        tokens = [tokenize(p.text) for p in paragraphs]
        frequency = Counter(t for words in tokens for t in set(words))
        count = len(paragraphs)
        self.idf = {t: math.log((count + 1) / (f + 1)) + 1.0 for t, f in frequency.items()}
        self.tfidf = [self._tfidf(words) for words in tokens]
        del tokens
        clauses = [split_clauses(p.text) for p in paragraphs]
        self.clauses = [self._weighted_clauses(cs) for cs in clauses]
        self.vectors = _centred(index.vectors)
        self.cosines = index.vectors
        self.clause_owner: np.ndarray | None = None
        use_clauses = count <= CLAUSE_LEVEL_UP_TO if clause_vectors is None else clause_vectors
        if use_clauses:
            flat = [c for cs in clauses for c in cs]
            self.clause_owner = np.array([i for i, cs in enumerate(clauses) for _ in cs])
            self.clause_vectors = _centred(index.query_encoder().encode(flat))
            starts = np.concatenate([[0], np.cumsum([len(cs) for cs in clauses])])
            self.clause_rows = [np.arange(starts[i], starts[i + 1]) for i in range(count)]

    def _tfidf(self, tokens: list[str]) -> dict[str, float]:
        counts = Counter(tokens)
        weights = {t: (1.0 + math.log(c)) * self.idf[t] for t, c in counts.items()}
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        return {t: w / norm for t, w in weights.items()}

    def _weighted_clauses(self, clauses: list[str]) -> tuple[tuple[frozenset[str], float], ...]:
        """Each clause's distinct words and their total IDF; clauses too slight to stand alone are left out."""
        found = []
        for clause in clauses:
            words = frozenset(tokenize(clause))
            weight = sum(self.idf.get(t, 0.0) for t in words)
            if weight >= 15.0:
                found.append((words, weight))
        return tuple(found)

    def _containment(self, i: int, j: int) -> float:
        best = 0.0
        for clauses, other in ((self.clauses[i], self.tfidf[j]), (self.clauses[j], self.tfidf[i])):
            for words, weight in clauses:
                best = max(best, sum(self.idf[t] for t in words if t in other) / weight)
        return best

    def _semantic(self, i: int, j: int) -> float:
        if self.clause_owner is None:
            return float(self.vectors[i] @ self.vectors[j])
        block = self.clause_vectors[self.clause_rows[i]] @ self.clause_vectors[self.clause_rows[j]].T
        return float(block.max())

    def evidence(self, i: int, j: int) -> Evidence:
        a, b = self.tfidf[i], self.tfidf[j]
        small, large = (a, b) if len(a) < len(b) else (b, a)
        return Evidence(
            semantic=max(0.0, self._semantic(i, j)),
            lexical=sum(w * large.get(t, 0.0) for t, w in small.items()),
            containment=self._containment(i, j),
            cosine=float(self.cosines[i] @ self.cosines[j]),
        )

    def score(self, i: int, j: int) -> PairScore:
        paragraphs = self.index.paragraphs
        first, second = sorted((i, j), key=lambda r: (_meeting_order(paragraphs[r]), r))
        evidence = self.evidence(first, second)
        return PairScore(paragraphs[first], paragraphs[second], evidence.weighted(), evidence, self.config)


def _meeting_order(paragraph: Paragraph) -> int:
    return paragraph.meeting.ordinal if paragraph.meeting else 0


def candidate_pairs(index: Index, neighbours: int, min_cosine: float) -> list[tuple[int, int]]:
    """Pairs among each paragraph's FAISS nearest neighbours above a cosine floor (never an n × n matrix)."""
    count = len(index.paragraphs)
    if count < 2:
        return []
    k = min(neighbours + 1, count)
    similarities, ids = index.faiss_index.search(index.vectors, k)
    found = set()
    for row, (sims, neighbours_of_row) in enumerate(zip(similarities, ids, strict=True)):
        for sim, other in zip(sims, neighbours_of_row, strict=True):
            if other >= 0 and other != row and sim >= min_cosine:
                found.add((min(row, int(other)), max(row, int(other))))
    return sorted(found)


def find_duplicates(
    index: Index, config: DedupConfig | None = None, scorer: PairScorer | None = None
) -> DuplicateReport:
    """Score candidate pairs and group them. Word-for-word copies are collapsed onto their first occurrence first:
    each copy is one verbatim pair with it, so a text repeated a thousand times costs a thousand pairs, not half a
    million, and grouping compares distinct texts only."""
    config = config or DedupConfig()
    scorer = scorer or PairScorer(index, config)
    first = _first_occurrences(index.paragraphs)
    copies = [scorer.score(first[row], row) for row in range(len(first)) if first[row] != row]
    distinct = {
        _key(first[i], first[j])
        for i, j in candidate_pairs(index, config.neighbours, config.min_cosine)
        if first[i] != first[j]
    }
    scored = [scorer.score(i, j) for i, j in sorted(distinct)] + copies
    scored.sort(key=lambda p: -p.score)
    return DuplicateReport(scored, config.threshold, scorer)


def _first_occurrences(paragraphs: Sequence[Paragraph]) -> list[int]:
    """For each row, the first row with exactly the same text (itself when its text is new)."""
    seen: dict[str, int] = {}
    return [seen.setdefault(p.text, row) for row, p in enumerate(paragraphs)]


def group_pairs(pairs: Sequence[PairScore], scorer: PairScorer, threshold: float) -> list[DuplicateGroup]:
    """Average-linkage grouping: two groups merge only if their members are similar on average, not merely
    linked through one hub paragraph; each group keeps every member-to-member score so its weakest link shows.
    Word-for-word copies join the group of the text they copy, linked to it by their verbatim pair."""
    row_of = {p.key: i for i, p in enumerate(scorer.index.paragraphs)}
    cache: dict[tuple[int, int], PairScore] = {}
    copies = [p for p in pairs if p.a.text == p.b.text]
    pairs = [p for p in pairs if p.a.text != p.b.text]
    for pair in pairs:
        cache[_key(row_of[pair.a.key], row_of[pair.b.key])] = pair

    def pair_score(i: int, j: int) -> PairScore:
        key = _key(i, j)
        if key not in cache:
            cache[key] = scorer.score(i, j)
        return cache[key]

    cluster_of: dict[int, int] = {}
    clusters: dict[int, list[int]] = {}
    for pair in sorted(pairs, key=lambda p: -p.score):
        i, j = row_of[pair.a.key], row_of[pair.b.key]
        ci, cj = cluster_of.get(i, i), cluster_of.get(j, j)
        if ci == cj:
            continue
        left, right = clusters.get(ci, [i]), clusters.get(cj, [j])
        linkage = [pair_score(x, y).score for x in left for y in right]
        if sum(linkage) / len(linkage) < threshold:
            continue
        merged = left + right
        clusters.pop(cj, None)
        clusters[ci] = merged
        for member in merged:
            cluster_of[member] = ci
    copies_of: dict[int, list[PairScore]] = {}
    for copy in copies:
        original = row_of[copy.a.key] if row_of[copy.a.key] < row_of[copy.b.key] else row_of[copy.b.key]
        cluster = cluster_of.get(original, original)
        clusters.setdefault(cluster, [original])
        copies_of.setdefault(cluster, []).append(copy)
    paragraphs = scorer.index.paragraphs
    groups = []
    for cluster, distinct in clusters.items():
        texts = sorted(distinct)
        member_pairs = [pair_score(x, y) for n, x in enumerate(texts) for y in texts[n + 1 :]]
        member_pairs += copies_of.get(cluster, [])
        members = set(distinct) | {row_of[p.b.key] for p in copies_of.get(cluster, [])}
        members |= {row_of[p.a.key] for p in copies_of.get(cluster, [])}
        ordered = sorted(members, key=lambda r: (_meeting_order(paragraphs[r]), r))
        position = {r: n for n, r in enumerate(ordered)}
        member_pairs.sort(key=lambda p: (position[row_of[p.a.key]], position[row_of[p.b.key]]))
        groups.append(DuplicateGroup(tuple(paragraphs[r] for r in ordered), tuple(member_pairs)))
    return sorted(groups, key=lambda g: (-len(g.members), row_of[g.first.key]))


def _key(i: int, j: int) -> tuple[int, int]:
    return (i, j) if i < j else (j, i)


@dataclass(frozen=True)
class LabelledPair:
    a: str
    b: str
    duplicate: bool
    doc: str | None = None


@dataclass(frozen=True)
class CalibrationRow:
    threshold: float
    precision: float
    recall: float
    f1: float
    flagged: int  # pairs flagged in the whole corpus at this threshold
    negatives_flagged: int  # labelled hard negatives flagged


def load_pairs(path: Path | str) -> list[LabelledPair]:
    return read_labelled(
        path,
        lambda d: LabelledPair(str(d["a"]), str(d["b"]), d["label"] == "duplicate", d.get("doc")),
        '{"a": …, "b": …, "label": "duplicate"|"negative"}',
    )


def row_of_number(index: Index, number: str, doc: str | None = None) -> int:
    rows = [i for i, p in enumerate(index.paragraphs) if p.number == number and (doc is None or p.doc == doc)]
    if len(rows) != 1:
        where = f" in {doc}" if doc else ""
        raise QueryError(f"paragraph {number}{where} is {'ambiguous' if rows else 'not in the index'}")
    return rows[0]


def calibrate(
    report: DuplicateReport,
    labelled: Sequence[LabelledPair],
    steps: int = 25,
    thresholds: Sequence[float] | None = None,
) -> list[CalibrationRow]:
    """Precision and recall at each threshold, taking the labelled duplicates as the complete set: every other
    flagged pair counts against precision. Also counts how many labelled hard negatives get flagged."""
    index = report.scorer.index
    first = _first_occurrences(index.paragraphs)

    def canonical(i: int, j: int) -> tuple[int, int]:
        """Pairs as the report holds them: distinct texts by their first occurrence, copies with their original."""
        a, b = first[i], first[j]
        return _key(a, b) if a != b else (a, max(i, j))

    def keys(duplicate: bool) -> set[tuple[int, int]]:
        return {
            canonical(row_of_number(index, p.a, p.doc), row_of_number(index, p.b, p.doc))
            for p in labelled
            if p.duplicate == duplicate
        }

    positives, negatives = keys(True), keys(False)
    row_of = {p.key: i for i, p in enumerate(index.paragraphs)}
    candidate_scores = {canonical(row_of[c.a.key], row_of[c.b.key]): c.score for c in report.candidates}
    positive_scores = [candidate_scores.get(k, -1.0) for k in positives]
    negative_scores = [candidate_scores.get(k, -1.0) for k in negatives]
    rows = []
    grid = thresholds if thresholds is not None else sorted({*np.linspace(0.2, 0.9, steps), report.threshold})
    for threshold in grid:
        flagged = {k for k, s in candidate_scores.items() if s >= threshold}
        true = sum(1 for s in positive_scores if s >= threshold)
        precision = true / len(flagged) if flagged else 1.0
        recall = true / len(positives) if positives else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        hard = sum(1 for s in negative_scores if s >= threshold)
        rows.append(CalibrationRow(float(threshold), precision, recall, f1, len(flagged), hard))
    return rows
