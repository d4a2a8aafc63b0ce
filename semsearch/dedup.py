"""Near-duplicate recommendations: candidates from FAISS, each pair scored by weighing the evidence of
`semsearch.evidence`, flagged at a threshold, explained, and grouped.

A pair's score is a fixed mix of semantic, lexical (TF-IDF cosine) and containment (how much of one clause is
found in the other paragraph) evidence plus a small bonus for a shared theme and penalty for a shared meeting;
weights and the threshold presets were chosen on `tests/data/pairs.jsonl` by `bench/tune_dedup.py`.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from itertools import product

import numpy as np

from semsearch.corpus import Paragraph
from semsearch.decisions import VERDICTS, Review
from semsearch.errors import QueryError
from semsearch.evidence import CorpusEvidence, EvidenceColumns
from semsearch.index import Index
from semsearch.naming import Naming
from semsearch.pairs import (
    DEFAULT_PRESET,
    DEFAULT_THRESHOLD,
    PRESETS,
    DedupConfig,
    DiffOp,
    Kind,
    PairScore,
    Weights,
    pair_ref,
    word_diff,
)

# What callers have always imported from here, now kept in `semsearch.pairs`.
__all__ = [
    "DEFAULT_PRESET",
    "DEFAULT_THRESHOLD",
    "PRESETS",
    "RECORD_FIELDS",
    "Candidates",
    "DedupConfig",
    "DiffOp",
    "DuplicateGroup",
    "DuplicateReport",
    "PairScore",
    "PairScorer",
    "PairStatus",
    "Weights",
    "candidate_pairs",
    "find_duplicates",
    "first_occurrences",
    "group_pairs",
    "held_as",
    "word_diff",
]


@dataclass(frozen=True)
class DuplicateGroup:
    """A recommendation and its repeats, earliest first, with every member-to-member pair scored inside it (so
    the weakest link shows, flagged or not)."""

    members: tuple[Paragraph, ...]
    pairs: tuple[PairScore, ...]

    @property
    def weakest(self) -> PairScore:
        return min(self.pairs, key=lambda p: p.score)

    @property
    def first(self) -> Paragraph:
        return self.members[0]

    def path(self, start: Paragraph, end: Paragraph, threshold: float) -> list[Paragraph]:
        """The members a chain of flagged pairs runs through from `start` to `end` (fewest first): how a pair
        below the threshold came into one group, since groups merge only along flagged pairs."""
        links: dict[str, list[Paragraph]] = {}
        for pair in self.pairs:
            if pair.score >= threshold:
                links.setdefault(pair.a.key, []).append(pair.b)
                links.setdefault(pair.b.key, []).append(pair.a)
        previous: dict[str, Paragraph | None] = {start.key: None}
        queue = [start]
        for here in queue:
            for there in links.get(here.key, []):
                if there.key not in previous:
                    previous[there.key] = here
                    queue.append(there)
        chain, at = [], previous.get(end.key)
        while at is not None and at.key != start.key:
            chain.append(at)
            at = previous[at.key]
        return chain[::-1]

    def weakest_line(self, threshold: float) -> str:
        """The weakest link, and when it is below the threshold, how its paragraphs still came into one group."""
        weakest = self.weakest
        naming = weakest.naming
        line = f"weakest link {naming.mark(weakest.a)}–{naming.mark(weakest.b)}"
        if weakest.score >= threshold:
            return f"{line}, score {weakest.score:.2f}"
        through = " and ".join(naming.mark(p) for p in self.path(weakest.a, weakest.b, threshold))
        return (
            f"{line}, score {weakest.score:.3f}, below the threshold {threshold:.3f}: joined through {through} by "
            "average linkage (a paragraph joins a group when its mean score with the members clears the threshold)"
        )

    def to_dict(self, threshold: float) -> dict:
        weakest = self.weakest
        naming = weakest.naming
        return {
            "members": [pair_ref(p, naming) for p in self.members],
            "weakest": {
                "a": pair_ref(weakest.a, naming),
                "b": pair_ref(weakest.b, naming),
                "score": round(weakest.score, 4),
                "how": self.weakest_line(threshold),
            },
        }


@dataclass(frozen=True)
class Repeat:
    paragraph: Paragraph
    kind: Kind
    score: float


@dataclass(frozen=True)
class PairStatus:
    """Whether a pair is flagged and listed, and why, in one place: what --explain says and every list obeys.

    A pair is flagged when it scores at least the threshold and the candidate pair it is held as (itself, or for a
    pair implied by word-for-word copies, the pair of texts it repeats) is a candidate that does too. It is listed
    when flagged and not rejected on review, or confirmed on review whatever it scores."""

    pair: PairScore
    flagged: bool
    listed: bool
    candidate: bool  # whether FAISS proposed the pair it is held as
    held_as: PairScore | None  # the candidate pair a copy-implied pair is held as
    group: int | None

    def lines(self, threshold: float, config: DedupConfig) -> list[str]:
        pair, naming = self.pair, self.pair.naming
        a, b = naming.mark(pair.a), naming.mark(pair.b)
        compare = f"score {pair.score:.3f} {'≥' if pair.score >= threshold else '<'} threshold {threshold:.3f}"
        verdict = "flagged" if self.flagged else "not flagged"
        lines = [f"{a} and {b}: {verdict} as {pair.kind} ({compare})"]
        if pair.score >= threshold and not self.candidate:
            lines.append(
                f"  not a candidate: neither is among the other's {config.neighbours} nearest paragraphs with cosine "
                f"≥ {config.min_cosine:.2f}, so the pair was never scored"
            )
        if self.held_as is not None:
            held = self.held_as
            lines.append(
                f"  held as     {naming.mark(held.a)}–{naming.mark(held.b)} (score {held.score:.3f}): "
                "word-for-word copies are compared once, through the first copy"
            )
        decision = pair.decision
        if decision is not None:
            note = f': "{decision.note}"' if decision.note else ""
            lines.append(f"  review      {decision.decision} {decision.time}{note}")
        where = f"in group {self.group}" if self.group is not None else "outside the groups"
        lines.append(f"  listed      {'yes, ' + where if self.listed else 'no'}")
        if self.flagged and not self.listed and self.held_as is not None and decision is None:
            lines.append(
                f"  (word-for-word copies imply more than {config.max_implied} pairs here: they are not listed one "
                "by one; their first copies' pairs are)"
            )
        return lines


# One pair as a flat row (CSV, data frames): both paragraphs in full, what the pair is, and the decision.
RECORD_FIELDS = [
    "group",
    *(
        f"{name}_{side}"
        for side in "ab"
        for name in ("ref", "doc", "symbol", "number", "section", "meeting", "text", "hash")
    ),
    "kind",
    "score",
    "headline",
    "implied_by",
    "decision",
    "note",
    "semantic",
    "lexical",
    "containment",
    "cosine",
    "same_meeting",
    "same_theme",
    "closest_clause_a",
    "closest_clause_b",
    "repeated_part",
]


@dataclass
class DuplicateReport:
    """All scored candidates, what is flagged at one threshold and what an analyst decided on them; `at()`
    re-thresholds without recomputing.

    `pairs` is the one list every view and format shows: each flagged pair (those word-for-word copies imply
    included, `held_as` set), less those rejected on review, plus those confirmed on review."""

    candidates: Candidates
    threshold: float
    scorer: PairScorer = field(repr=False)
    review: Review = field(default_factory=Review, repr=False)
    pairs: list[PairScore] = field(init=False)
    rejected: list[PairScore] = field(init=False, repr=False)  # flagged, but rejected on review: not listed
    added: list[PairScore] = field(init=False, repr=False)  # confirmed on review though not flagged: listed
    implied_left_out: int = field(init=False, repr=False, default=0)  # pairs copies imply, past max_implied
    groups: list[DuplicateGroup] = field(init=False)
    ungrouped: list[PairScore] = field(init=False)  # listed pairs that no group holds (see group_pairs)
    # the group (numbered from 1, as reports number them) holding each listed pair, by the pair's paragraph keys
    group_of: dict[tuple[str, str], int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        flagged = self.candidates.pairs(self.threshold)
        flagged = [self._with_decision(p) for p in flagged + self._implied(flagged)]
        self.rejected = [p for p in flagged if p.decision is not None and p.decision.decision == "rejected"]
        seen = {_key(*self._rows(p)) for p in flagged}
        confirmed = np.array([k for k in self.review.rows("confirmed") if k not in seen], dtype=np.int64).reshape(-1, 2)
        self.added = [self._with_decision(p) for p in self._scored(confirmed[:, 0], confirmed[:, 1])]
        left_out = {p.keys for p in self.rejected}
        listed = [p for p in flagged if p.keys not in left_out] + self.added
        self.pairs = sorted(listed, key=lambda p: -p.score)
        self.groups = group_pairs([p for p in self.pairs if p.held_as is None], self.scorer, self.threshold)
        group_of_member = {m.key: n for n, g in enumerate(self.groups, start=1) for m in g.members}
        self.group_of = {
            p.keys: group_of_member[p.a.key]
            for p in self.pairs
            if p.a.key in group_of_member and group_of_member[p.a.key] == group_of_member.get(p.b.key)
        }
        self.ungrouped = [p for p in self.pairs if p.keys not in self.group_of]

    def _rows(self, pair: PairScore) -> tuple[int, int]:
        return self.scorer.row_of[pair.a.key], self.scorer.row_of[pair.b.key]

    def _with_decision(self, pair: PairScore) -> PairScore:
        decision = self.review.of_rows(*self._rows(pair))
        return pair if decision is None else replace(pair, decision=decision)

    @cached_property
    def _first(self) -> list[int]:
        return first_occurrences(self.scorer.index.paragraphs)

    @cached_property
    def _candidate_at(self) -> dict[tuple[int, int], int]:
        columns = zip(self.candidates.a.tolist(), self.candidates.b.tolist(), strict=True)
        return {_key(a, b): n for n, (a, b) in enumerate(columns)}

    def _held_as(self, i: int, j: int) -> PairScore | None:
        """The candidate a pair of rows is held as, when that is another pair (one of them copies a text)."""
        key = held_as(self._first, i, j)
        at = self._candidate_at.get(key)
        return None if key == _key(i, j) or at is None else self.candidates[at]

    def _scored(self, a: np.ndarray, b: np.ndarray) -> list[PairScore]:
        """Pairs of rows scored, each marked with the candidate it is held as when copies imply it."""
        pairs = self.scorer.score_pairs(a, b) if len(a) else []
        marked = []
        for pair in pairs:
            held = self._held_as(*self._rows(pair))
            marked.append(pair if held is None else replace(pair, held_as=(held.a, held.b)))
        return marked

    def _implied(self, flagged: Sequence[PairScore]) -> list[PairScore]:
        """Pairs that word-for-word copies imply from flagged candidates (¶20–¶22 when ¶20 copies ¶16 and ¶16–¶22
        is flagged), scored on their own and kept when they reach the threshold too. A text copied K times implies
        K² pairs, so past `DedupConfig.max_implied` none is listed one by one and the report says how many."""
        first = self._first
        copies: dict[int, list[int]] = {}
        for row, original in enumerate(first):
            copies.setdefault(original, []).append(row)

        def implied_by(pair: PairScore) -> Iterator[tuple[int, int]]:
            i, j = sorted(self._rows(pair))
            if first[i] == first[j]:  # a copy with its text's first occurrence i: other copies before j pair with j
                yield from ((c, j) for c in copies[i] if i < c < j)
                return
            yield from (_key(x, y) for x, y in product(copies[i], copies[j]) if (x, y) != (i, j))

        def count(pair: PairScore) -> int:
            i, j = sorted(self._rows(pair))
            if first[i] == first[j]:
                return copies[i].index(j) - 1
            return len(copies[i]) * len(copies[j]) - 1

        self.implied_left_out = sum(count(p) for p in flagged)
        if not self.implied_left_out or self.implied_left_out > self.scorer.config.max_implied:
            return []
        self.implied_left_out = 0
        found = {key: pair for pair in flagged for key in implied_by(pair)}
        rows = np.array(list(found), dtype=np.int64).reshape(-1, 2)
        scored = self.scorer.score_pairs(rows[:, 0], rows[:, 1])
        held = [found[_key(*self._rows(p))] for p in scored]
        return [replace(p, held_as=(h.a, h.b)) for p, h in zip(scored, held, strict=True) if p.score >= self.threshold]

    def at(self, threshold: float) -> DuplicateReport:
        return DuplicateReport(self.candidates, threshold, self.scorer, self.review)

    def reviewed(self, review: Review) -> DuplicateReport:
        """This report with an analyst's decisions applied (confirmed always listed, rejected never)."""
        return DuplicateReport(self.candidates, self.threshold, self.scorer, review)

    @property
    def naming(self) -> Naming:
        return self.scorer.naming

    def pair(self, a: str, b: str, doc: str | None = None) -> PairScore:
        """Two paragraphs by reference (a number, or `DOC:NUMBER`; `doc` for both), scored whether or not they
        are flagged: what `explain` is asked about."""
        paragraphs = self.scorer.index.paragraphs
        i, j = self.naming.row(paragraphs, a, doc), self.naming.row(paragraphs, b, doc)
        if i == j:
            raise QueryError(f"{a} and {b} are the same paragraph ({self.naming.mark(paragraphs[i])}); name two")
        (pair,) = self._scored(np.array([i]), np.array([j]))
        return self._with_decision(pair)

    def status(self, pair: PairScore) -> PairStatus:
        i, j = self._rows(pair)
        held = self._held_as(i, j)
        key = held_as(self._first, i, j)
        candidate = key in self._candidate_at
        flagged = candidate and pair.score >= self.threshold and (held is None or held.score >= self.threshold)
        return PairStatus(pair, flagged, pair.keys in self._listed, candidate, held, self.group_of.get(pair.keys))

    @cached_property
    def _listed(self) -> set[tuple[str, str]]:
        return {p.keys for p in self.pairs}

    def explain(self, pair: PairScore) -> str:
        """Why a pair is or is not flagged and listed, and how its score is made up."""
        return "\n".join(self.status(pair).lines(self.threshold, self.scorer.config) + pair.evidence_lines())

    def pairs_of(self, number: int) -> list[PairScore]:
        """The listed pairs of group `number` (from 1), in the order of its members."""
        group = self.groups[number - 1]
        position = {p.key: n for n, p in enumerate(group.members)}
        inside = [p for p in self.pairs if self.group_of.get(p.keys) == number]
        return sorted(inside, key=lambda p: (position[p.a.key], position[p.b.key]))

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
        """Paragraphs that repeat an earlier one: the later paragraph of every listed pair (within one meeting, the
        second), in document order. Group membership is not enough: a group's members need only be similar on
        average."""
        later = {p.b.key for p in self.pairs}
        return [p for p in self.scorer.index.paragraphs if p.key in later]

    @property
    def implied(self) -> list[PairScore]:
        return [p for p in self.pairs if p.held_as is not None]

    def to_record(self, pair: PairScore) -> dict[str, object]:
        """One pair as a flat record for a spreadsheet: both paragraphs in full, what the pair is, and the
        decision (RECORD_FIELDS, in that order)."""
        data = pair.to_dict()
        row: dict[str, object] = {"group": self.group_of.get(pair.keys)}
        for side in ("a", "b"):
            ref = data[side]
            row |= {
                f"ref_{side}": ref["ref"],
                f"doc_{side}": ref["doc"],
                f"symbol_{side}": ref["symbol"],
                f"number_{side}": ref["number"],
                f"section_{side}": ref["section_title"],
                f"meeting_{side}": ref["meeting_label"],
                f"text_{side}": ref["text"],
            }
        match, part = data["match"], data["repeated_part"]
        return row | {
            "hash_a": data["a"]["hash"],
            "hash_b": data["b"]["hash"],
            "kind": data["kind"],
            "score": f"{pair.score:.4f}",
            "headline": data["headline"],
            "implied_by": " ".join(data["implied_by"] or ()),
            "decision": data["decision"] or "",
            "note": data["note"] or "",
            "semantic": f"{pair.evidence.semantic:.4f}",
            "lexical": f"{pair.evidence.lexical:.4f}",
            "containment": f"{pair.evidence.containment:.4f}",
            "cosine": f"{pair.evidence.cosine:.4f}",
            "same_meeting": pair.same_meeting,
            "same_theme": pair.evidence.same_theme,
            "closest_clause_a": match["a"] if match else "",
            "closest_clause_b": match["b"] if match else "",
            "repeated_part": part["clause"] if part else "",
        }

    def to_records(self) -> list[dict[str, object]]:
        return [self.to_record(pair) for pair in self.pairs]

    def to_dataframe(self):
        """The listed pairs as a pandas DataFrame, one flat row each (pandas is optional: pip install pandas)."""
        try:
            import pandas
        except ImportError:
            raise ImportError("to_dataframe needs pandas: pip install pandas") from None
        numbers = dict.fromkeys(["score", "semantic", "lexical", "containment", "cosine"], float)
        return pandas.DataFrame.from_records(self.to_records(), columns=RECORD_FIELDS).astype(numbers)

    def to_dict(self) -> dict:
        return {
            "threshold": self.threshold,
            "documents": [vars(info) for info in self.naming.documents.values()],
            "counts": {
                "paragraphs": len(self.scorer.index.paragraphs),
                "pairs": len(self.pairs),
                "implied": len(self.implied),
                "groups": len(self.groups),
                "ungrouped": len(self.ungrouped),
                "repeated_paragraphs": len(self.repeated_paragraphs),
                **{verdict: self.review.count(verdict) for verdict in VERDICTS},
                "stale": len(self.review.stale),
            },
            "groups": [g.to_dict(self.threshold) for g in self.groups],
            "pairs": [p.to_dict() | {"group": self.group_of.get(p.keys)} for p in self.pairs],
            "stale": [
                s.decision.to_dict() | {"changed": [vars(x) for x in s.changed], "gone": [vars(x) for x in s.gone]}
                for s in self.review.stale
            ],
        }


class PairScorer(CorpusEvidence):
    """A corpus's evidence weighed by one configuration: what turns a pair of rows into a `PairScore`."""

    def __init__(self, index: Index, config: DedupConfig, clause_vectors: bool | None = None) -> None:
        super().__init__(index, clause_vectors)
        self.config = config
        self.meeting_order = np.array([p.meeting.ordinal if p.meeting else 0 for p in index.paragraphs])
        self.row_of = {p.key: row for row, p in enumerate(index.paragraphs)}
        self.naming = Naming.of_index(index.manifest, index.paragraphs)

    def reconfigured(self, config: DedupConfig) -> PairScorer:
        """This scorer with other weights or kind rules; what it computed from the corpus is shared, not redone."""
        scorer = copy.copy(self)
        scorer.config = config
        return scorer

    def ordered(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each pair as (earlier, later) by meeting, then position."""
        meeting = self.meeting_order
        swap = (meeting[a] > meeting[b]) | ((meeting[a] == meeting[b]) & (a > b))
        return np.where(swap, b, a), np.where(swap, a, b)

    def score(self, i: int, j: int) -> PairScore:
        (pair,) = self.score_pairs(np.array([i]), np.array([j]))
        return pair

    def score_pairs(self, a: np.ndarray, b: np.ndarray) -> list[PairScore]:
        return Candidates.of(self, a, b).pairs()


@dataclass(frozen=True)
class Candidates:
    """Scored candidate pairs as columns, best first: at scale there are millions, and only the few someone looks
    at (flagged, explained, listed) become `PairScore` objects."""

    scorer: PairScorer = field(repr=False)
    a: np.ndarray
    b: np.ndarray
    scores: np.ndarray
    evidence: EvidenceColumns = field(repr=False)

    @classmethod
    def of(cls, scorer: PairScorer, a: np.ndarray, b: np.ndarray) -> Candidates:
        a, b = scorer.ordered(np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64))
        evidence = scorer.evidence(a, b)
        scores = evidence.weighted(scorer.config.weights)
        order = np.argsort(-scores, kind="stable")
        return cls(scorer, a[order], b[order], scores[order], evidence.take(order))

    def __len__(self) -> int:
        return len(self.scores)

    def __getitem__(self, n: int) -> PairScore:
        paragraphs = self.scorer.index.paragraphs
        a, b = int(self.a[n]), int(self.b[n])
        return PairScore(
            paragraphs[a],
            paragraphs[b],
            float(self.scores[n]),
            self.evidence.row(n),
            self.scorer.config,
            self.scorer.naming,
            self.scorer.closest_clauses(a, b),
        )

    def __iter__(self) -> Iterator[PairScore]:
        return (self[n] for n in range(len(self)))

    def pairs(self, threshold: float = -np.inf) -> list[PairScore]:
        """Those scoring at least `threshold`, best first."""
        return [self[n] for n in range(int(np.searchsorted(-self.scores, -threshold, side="right")))]


def candidate_pairs(index: Index, neighbours: int, min_cosine: float) -> np.ndarray:
    """Pairs (i < j) among each paragraph's FAISS nearest neighbours above a cosine floor, as an (m, 2) array
    (never an n × n matrix)."""
    count = len(index.paragraphs)
    if count < 2:
        return np.zeros((0, 2), dtype=np.int64)
    similarities, ids = index.faiss_index.search(index.vectors, min(neighbours + 1, count))
    rows = np.repeat(np.arange(count), ids.shape[1])
    ids, similarities = ids.ravel(), similarities.ravel()
    keep = (ids >= 0) & (ids != rows) & (similarities >= min_cosine)
    low, high = np.minimum(rows[keep], ids[keep]), np.maximum(rows[keep], ids[keep])
    return np.unique(np.stack([low, high], axis=1), axis=0)


def find_duplicates(
    index: Index, config: DedupConfig | None = None, scorer: PairScorer | None = None, review: Review | None = None
) -> DuplicateReport:
    """Score candidate pairs and group them. Word-for-word copies are collapsed onto their first occurrence first:
    each copy is one verbatim pair with it, so a text repeated a thousand times costs a thousand pairs, not half a
    million, and grouping compares distinct texts only. Pass the `scorer` of an earlier report to try other
    settings without recomputing its evidence; `review` applies an analyst's decisions."""
    config = config or DedupConfig()
    scorer = PairScorer(index, config) if scorer is None else scorer.reconfigured(config)
    first = np.array(first_occurrences(index.paragraphs), dtype=np.int64)
    copies = np.flatnonzero(first != np.arange(len(first)))
    pairs = first[candidate_pairs(index, config.neighbours, config.min_cosine)]
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    distinct = np.unique(np.sort(pairs, axis=1), axis=0)
    a = np.concatenate([distinct[:, 0], first[copies]])
    b = np.concatenate([distinct[:, 1], copies])
    candidates = Candidates.of(scorer, a, b)
    flagged = int(np.sum(candidates.scores >= config.threshold))
    limit = max(config.max_pairs_floor, int(config.max_pairs_per_paragraph * len(index.paragraphs)))
    if flagged > limit:
        raise QueryError(
            f"threshold {config.threshold:.2f} flags {flagged:,} pairs among {len(index.paragraphs):,} paragraphs, "
            f"more than the {limit:,} a review can use; raise --threshold or choose a --preset"
        )
    return DuplicateReport(candidates, config.threshold, scorer, review or Review())


def first_occurrences(paragraphs: Sequence[Paragraph]) -> list[int]:
    """For each row, the first row with exactly the same text (itself when its text is new)."""
    seen: dict[str, int] = {}
    return [seen.setdefault(p.text, row) for row, p in enumerate(paragraphs)]


def held_as(first: Sequence[int], i: int, j: int) -> tuple[int, int]:
    """The rows under which `find_duplicates` holds the pair of rows i and j, given `first_occurrences`: two
    distinct texts by their first occurrences, lower row first; a copy with the text it copies."""
    a, b = first[i], first[j]
    return _key(a, b) if a != b else (a, max(i, j))


def group_pairs(pairs: Sequence[PairScore], scorer: PairScorer, threshold: float) -> list[DuplicateGroup]:
    """Average-linkage grouping: two groups merge only if their members are similar on average, not merely
    linked through one hub paragraph; each group keeps every member-to-member score so its weakest link shows.
    Word-for-word copies join the group of the text they copy, linked to it by their verbatim pair. A flagged pair
    whose merge is refused stays outside every group (`DuplicateReport.ungrouped`)."""
    row_of = {p.key: i for i, p in enumerate(scorer.index.paragraphs)}
    copies = [p for p in pairs if p.a.text == p.b.text]
    pairs = [p for p in pairs if p.a.text != p.b.text]
    known = {_key(row_of[p.a.key], row_of[p.b.key]): p for p in pairs}
    scores = {key: pair.score for key, pair in known.items()}

    def linkage(left: list[int], right: list[int]) -> float:
        keys = [_key(x, y) for x in left for y in right]
        missing = np.array([k for k in keys if k not in scores], dtype=np.int64).reshape(-1, 2)
        if len(missing):
            found = scorer.evidence(missing[:, 0], missing[:, 1]).weighted(scorer.config.weights)
            scores.update(zip(map(tuple, missing.tolist()), found.tolist(), strict=True))
        return sum(scores[k] for k in keys) / len(keys)

    cluster_of: dict[int, int] = {}
    clusters: dict[int, list[int]] = {}
    for pair in sorted(pairs, key=lambda p: -p.score):
        i, j = row_of[pair.a.key], row_of[pair.b.key]
        ci, cj = cluster_of.get(i, i), cluster_of.get(j, j)
        if ci == cj:
            continue
        left, right = clusters.get(ci, [i]), clusters.get(cj, [j])
        if linkage(left, right) < threshold:
            continue
        merged = left + right
        clusters.pop(cj, None)
        clusters[ci] = merged
        for member in merged:
            cluster_of[member] = ci
    copies_of: dict[int, list[PairScore]] = {}
    for verbatim in copies:
        original = min(row_of[verbatim.a.key], row_of[verbatim.b.key])
        cluster = cluster_of.get(original, original)
        clusters.setdefault(cluster, [original])
        copies_of.setdefault(cluster, []).append(verbatim)
    among = [_key(x, y) for distinct in clusters.values() for n, x in enumerate(distinct) for y in distinct[n + 1 :]]
    missing = np.array([k for k in among if k not in known], dtype=np.int64).reshape(-1, 2)
    known.update((_key(row_of[p.a.key], row_of[p.b.key]), p) for p in scorer.score_pairs(missing[:, 0], missing[:, 1]))
    groups = []
    for cluster, distinct in clusters.items():
        inside = [known[_key(x, y)] for n, x in enumerate(distinct) for y in distinct[n + 1 :]]
        groups.append(_group(scorer, distinct, inside + copies_of.get(cluster, []), row_of))
    return sorted(groups, key=lambda g: (-len(g.members), row_of[g.first.key]))


def _group(scorer: PairScorer, distinct: list[int], pairs: list[PairScore], row_of: dict[tuple, int]) -> DuplicateGroup:
    """One group: its members by meeting, linked by every pair among its distinct texts and each copy's pair."""
    members = set(distinct) | {row_of[p.a.key] for p in pairs} | {row_of[p.b.key] for p in pairs}
    ordered = sorted(members, key=lambda r: (scorer.meeting_order[r], r))
    position = {r: n for n, r in enumerate(ordered)}
    pairs = sorted(pairs, key=lambda p: (position[row_of[p.a.key]], position[row_of[p.b.key]]))
    return DuplicateGroup(tuple(scorer.index.paragraphs[r] for r in ordered), tuple(pairs))


def _key(i: int, j: int) -> tuple[int, int]:
    return (i, j) if i < j else (j, i)
