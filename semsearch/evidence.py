"""Evidence that two paragraphs carry the same recommendation, learned from the corpus so that its template
counts for little.

Every paragraph of this genre opens with the same formula ("The Conference may wish to urge States parties
to …"), which pushes all raw cosines up. Two general rules, learned from the corpus itself, take it out:

* **lexical evidence is weighted by inverse document frequency** over the corpus, so words that every paragraph
  shares count for almost nothing;
* **semantic evidence is compared after centring**: the corpus's mean embedding (the shared formula's direction)
  is subtracted before the cosine, and it is taken per clause, so one repeated ask inside a longer paragraph
  still shows.

A third rule comes from the genre's structure: a recommendation adopted again is filed under the same theme
(section) as before, and one meeting seldom adopts the same ask twice, so whether a pair shares a theme and a
meeting is evidence too. Paragraphs without a theme or meeting share neither.

How much each piece counts is `Weights`, chosen by `bench/tune_dedup.py`; `semsearch.dedup` turns the weighted
evidence into flagged pairs and groups.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields

import numpy as np

from semsearch.clauses import CLAUSE_LEVEL_UP_TO, split_clauses
from semsearch.index import Index, content_hash
from semsearch.lexical import tokenize


@dataclass(frozen=True)
class Weights:
    """How much each piece of evidence counts, as chosen by `bench/tune_dedup.py`. The positive weights add up to
    1, so a word-for-word repeat under its old theme scores 1."""

    semantic: float = 0.27
    lexical: float = 0.47
    containment: float = 0.18
    same_theme: float = 0.08
    same_meeting: float = -0.03


@dataclass(frozen=True)
class Evidence:
    """The parts of a pair's score, each in [0, 1]-ish, the structural adjustments, and the raw cosine for
    comparison."""

    semantic: float
    lexical: float
    containment: float
    cosine: float
    same_theme: bool
    same_meeting: bool


@dataclass(frozen=True)
class ClauseMatch:
    """The clause of each paragraph that the semantic evidence rests on (their centred cosine): for a partial
    repeat, the part that is repeated."""

    a: str
    b: str
    cosine: float


def _centred(vectors: np.ndarray) -> np.ndarray:
    centred = vectors - vectors.mean(axis=0, keepdims=True)
    return centred / np.clip(np.linalg.norm(centred, axis=1, keepdims=True), 1e-12, None)


def _spans(starts: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The items starts[r]..starts[r+1]-1 of every r in `rows`, concatenated, and which position of `rows` each
    came from: how per-paragraph clauses are looked up for a whole batch of pairs at once."""
    lengths = starts[rows + 1] - starts[rows]
    owner = np.repeat(np.arange(len(rows)), lengths)
    offsets = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return starts[rows][owner] + offsets, owner


@dataclass(frozen=True)
class SparseRows:
    """Rows of sorted distinct column ids with a value each (CSR without a library): bags of words."""

    starts: np.ndarray
    columns: np.ndarray
    values: np.ndarray
    width: int  # number of distinct columns there can be

    @classmethod
    def build(cls, rows: Iterable[dict[int, float]], width: int) -> SparseRows:
        starts, columns, values = [0], [], []
        for row in rows:
            ordered = sorted(row.items())
            columns.extend(c for c, _ in ordered)
            values.extend(v for _, v in ordered)
            starts.append(len(columns))
        return cls(np.array(starts, dtype=np.int64), np.array(columns, dtype=np.int64), np.array(values), width)

    def __len__(self) -> int:
        return len(self.starts) - 1

    def shared(self, other: SparseRows, mine: np.ndarray, theirs: np.ndarray) -> tuple[np.ndarray, ...]:
        """For each n, the columns row mine[n] here and row theirs[n] of `other` have in common, as
        (n, position here, position there) triples, found by one sort for the whole batch."""
        here, owner_here = _spans(self.starts, mine)
        there, owner_there = _spans(other.starts, theirs)
        width = max(self.width, other.width)
        _, at_here, at_there = np.intersect1d(
            owner_here * width + self.columns[here],
            owner_there * width + other.columns[there],
            assume_unique=True,
            return_indices=True,
        )
        return owner_here[at_here], here[at_here], there[at_there]


def _row_max(values: np.ndarray, owner: np.ndarray, count: int) -> np.ndarray:
    best = np.zeros(count)
    np.maximum.at(best, owner, values)
    return best


@dataclass(frozen=True)
class EvidenceColumns:
    """Evidence for a batch of pairs, one array per component."""

    semantic: np.ndarray
    lexical: np.ndarray
    containment: np.ndarray
    cosine: np.ndarray
    same_theme: np.ndarray
    same_meeting: np.ndarray

    def weighted(self, weights: Weights) -> np.ndarray:
        return sum(getattr(weights, f.name) * getattr(self, f.name) for f in fields(weights))

    def take(self, rows: np.ndarray) -> EvidenceColumns:
        return EvidenceColumns(*(getattr(self, f.name)[rows] for f in fields(self)))

    def row(self, n: int) -> Evidence:
        return Evidence(
            float(self.semantic[n]),
            float(self.lexical[n]),
            float(self.containment[n]),
            float(self.cosine[n]),
            bool(self.same_theme[n]),
            bool(self.same_meeting[n]),
        )


class CorpusEvidence:
    """The evidence for pairs of paragraphs of one index, a batch at a time; what it needs from the corpus is
    computed once and kept in flat arrays, so 200k paragraphs fit in a few hundred MB."""

    BATCH = 20_000
    COMBINATIONS = 400_000

    def __init__(self, index: Index, clause_vectors: bool | None = None) -> None:
        self.index = index
        paragraphs = index.paragraphs
        vocabulary: dict[str, int] = {}
        counts = [Counter(vocabulary.setdefault(t, len(vocabulary)) for t in tokenize(p.text)) for p in paragraphs]
        frequency = np.bincount([c for row in counts for c in row], minlength=len(vocabulary))
        self.idf = np.log((len(paragraphs) + 1) / (frequency + 1)) + 1.0
        self.tfidf = SparseRows.build((self._tfidf(row) for row in counts), len(vocabulary))
        del counts
        clauses = [split_clauses(p.text) for p in paragraphs]
        self.rare_clauses, self.rare_clause_starts = self._rare_clauses(clauses, vocabulary)
        self.rare_clause_weight = np.add.reduceat(self.rare_clauses.values, self.rare_clauses.starts[:-1])
        self.themes = _label_ids([p.section.title.lower() if p.section else None for p in paragraphs])
        self.meetings = _label_ids([(p.doc, p.meeting.ordinal) if p.meeting else None for p in paragraphs])
        self.vectors = _centred(index.vectors)
        self.cosines = index.vectors
        self.clause_vectors: np.ndarray | None = None
        if len(paragraphs) <= CLAUSE_LEVEL_UP_TO if clause_vectors is None else clause_vectors:
            self.clause_texts = [c for own in clauses for c in own]  # row for row with clause_vectors
            self.clause_vectors = _centred(self._clause_vectors(self.clause_texts))
            self.clause_starts = np.concatenate([[0], np.cumsum([len(cs) for cs in clauses])])

    def _clause_vectors(self, texts: list[str]) -> np.ndarray:
        """Every clause's embedding, looked up in the index by content hash (the build stored them); only an
        index built before clauses were stored costs an encoder pass here."""
        known = self.index.vectors_by_hash()
        hashes = [content_hash(c) for c in texts]
        pending = {h: c for h, c in zip(hashes, texts, strict=True) if h not in known}
        if pending:
            known |= dict(zip(pending, self.index.query_encoder().encode(list(pending.values())), strict=True))
        return np.array([known[h] for h in hashes], dtype=np.float32)

    def _tfidf(self, counts: Counter[int]) -> dict[int, float]:
        weights = {t: (1.0 + math.log(c)) * self.idf[t] for t, c in counts.items()}
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        return {t: w / norm for t, w in weights.items()}

    def _rare_clauses(self, clauses: list[list[str]], vocabulary: dict[str, int]) -> tuple[SparseRows, np.ndarray]:
        """Each clause's distinct words weighted by IDF, and which clauses are each paragraph's; clauses too
        slight to stand alone (total IDF under 15) are left out."""
        kept, starts = [], [0]
        for paragraph_clauses in clauses:
            for clause in paragraph_clauses:
                words = {vocabulary[t]: float(self.idf[vocabulary[t]]) for t in tokenize(clause) if t in vocabulary}
                if sum(words.values()) >= 15.0:
                    kept.append(words)
            starts.append(len(kept))
        return SparseRows.build(kept, len(vocabulary)), np.array(starts, dtype=np.int64)

    def _lexical(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """TF-IDF cosine."""
        n, here, there = self.tfidf.shared(self.tfidf, a, b)
        return np.bincount(n, weights=self.tfidf.values[here] * self.tfidf.values[there], minlength=len(a))

    def _containment(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """The largest share of a clause's rare words (by IDF) found anywhere in the other paragraph."""
        best = np.zeros(len(a))
        for own, other in ((a, b), (b, a)):
            clauses, pair = _spans(self.rare_clause_starts, own)
            if len(clauses):
                n, here, _ = self.rare_clauses.shared(self.tfidf, clauses, other[pair])
                found = np.bincount(n, weights=self.rare_clauses.values[here], minlength=len(clauses))
                best = np.maximum(best, _row_max(found / self.rare_clause_weight[clauses], pair, len(a)))
        return best

    def _semantic(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Best clause-to-clause cosine after centring (paragraph vectors above CLAUSE_LEVEL_UP_TO)."""
        if self.clause_vectors is None:
            return np.einsum("ij,ij->i", self.vectors[a], self.vectors[b])
        left, pair = _spans(self.clause_starts, a)
        right, combination = _spans(self.clause_starts, b[pair])
        left, pair = left[combination], pair[combination]
        cosines = np.einsum("ij,ij->i", self.clause_vectors[left], self.clause_vectors[right])
        return np.maximum.reduceat(cosines, np.flatnonzero(np.diff(pair, prepend=-1)))

    def closest_clauses(self, i: int, j: int) -> ClauseMatch | None:
        """The clause pair behind the semantic evidence; None where whole paragraphs were compared (large corpora,
        or two single-clause paragraphs), since the texts themselves are then the match."""
        if self.clause_vectors is None:
            return None
        left = self.clause_vectors[self.clause_starts[i] : self.clause_starts[i + 1]]
        right = self.clause_vectors[self.clause_starts[j] : self.clause_starts[j + 1]]
        if len(left) == len(right) == 1:
            return None
        cosines = left @ right.T
        x, y = np.unravel_index(int(np.argmax(cosines)), cosines.shape)
        texts, starts = self.clause_texts, self.clause_starts
        return ClauseMatch(texts[starts[i] + x], texts[starts[j] + y], float(cosines[x, y]))

    def _batches(self, a: np.ndarray, b: np.ndarray) -> list[tuple[int, int]]:
        """Slices of the pairs holding at most BATCH pairs and COMBINATIONS clause pairs each, so memory stays
        bounded however many clauses the paragraphs have."""
        if self.clause_vectors is None:
            return [(s, min(s + self.BATCH, len(a))) for s in range(0, len(a), self.BATCH)]
        counts = np.diff(self.clause_starts)
        load = np.cumsum(counts[a] * counts[b])
        slices, start = [], 0
        while start < len(a):
            done = int(load[start - 1]) if start else 0
            end = int(np.searchsorted(load, done + self.COMBINATIONS, side="right"))
            end = min(max(end, start + 1), start + self.BATCH)
            slices.append((start, end))
            start = end
        return slices

    def evidence(self, a: np.ndarray, b: np.ndarray) -> EvidenceColumns:
        parts = []
        for start, end in self._batches(a, b):
            x, y = a[start:end], b[start:end]
            parts.append(
                (
                    np.clip(self._semantic(x, y), 0.0, None),
                    self._lexical(x, y),
                    self._containment(x, y),
                    np.einsum("ij,ij->i", self.cosines[x], self.cosines[y]),
                )
            )
        scores = [np.concatenate(column).astype(np.float64) for column in zip(*parts, strict=True)] or [np.zeros(0)] * 4
        return EvidenceColumns(*scores, _same(self.themes, a, b), _same(self.meetings, a, b))


def _label_ids(labels: Sequence[object]) -> np.ndarray:
    """Each label as a small integer, the same for equal labels; -1 where there is none."""
    ids: dict[object, int] = {}
    return np.array([-1 if label is None else ids.setdefault(label, len(ids)) for label in labels], dtype=np.int64)


def _same(ids: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (ids[a] == ids[b]) & (ids[a] >= 0)
