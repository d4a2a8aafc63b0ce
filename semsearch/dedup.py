"""Near-duplicate recommendations: candidates from FAISS, each pair scored by weighing the evidence of
`semsearch.evidence`, flagged at a threshold, explained, and grouped.

A pair's score is a fixed mix of semantic, lexical (TF-IDF cosine) and containment (how much of one clause is
found in the other paragraph) evidence plus a small bonus for a shared theme and penalty for a shared meeting;
weights and the threshold presets were chosen on `tests/data/pairs.jsonl` by `bench/tune_dedup.py`.
"""

from __future__ import annotations

import copy
import difflib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import numpy as np

from semsearch.corpus import Paragraph, paragraph_row
from semsearch.errors import QueryError
from semsearch.evidence import ClauseMatch, CorpusEvidence, Evidence, EvidenceColumns, Weights
from semsearch.index import Index

Kind = Literal["verbatim", "paraphrase", "partial"]
# Thresholds by what they promise, chosen by bench/tune_dedup.py on tests/data/pairs.jsonl (measured there:
# precision / recall / hard negatives flagged). precise: the lowest threshold keeping precision >= 0.80 and at most
# 2 hard negatives in 25 (0.87 / 0.43 / 2 of 50); balanced: the best F1 (0.71 / 0.58 / 4 of 50); thorough: the
# highest threshold reaching recall 0.70, for reviewing candidates by hand (0.53 / 0.71 / 7 of 50).
PRESETS: dict[str, float] = {"precise": 0.49, "balanced": 0.44, "thorough": 0.41}
DEFAULT_PRESET = "precise"
DEFAULT_THRESHOLD = PRESETS[DEFAULT_PRESET]
_WORDS = re.compile(r"\S+")


@dataclass(frozen=True)
class DedupConfig:
    threshold: float = DEFAULT_THRESHOLD
    weights: Weights = field(default_factory=Weights)
    neighbours: int = 50
    min_cosine: float = 0.4
    verbatim_ratio: float = 0.9
    partial_length_ratio: float = 0.6
    # Each paragraph has at most `neighbours` candidates; a threshold flagging more than this many pairs per
    # paragraph flags nearly all of them, a list nobody reviews that costs minutes and gigabytes to group.
    max_pairs_per_paragraph: float = 20.0
    max_pairs_floor: int = 1000  # however small the corpus

    @classmethod
    def preset(cls, name: str) -> DedupConfig:
        if name not in PRESETS:
            raise QueryError(f"no preset {name!r}: choose {', '.join(PRESETS)}")
        return cls(threshold=PRESETS[name])


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
    match: ClauseMatch | None = field(default=None, compare=False)  # None where whole paragraphs were compared

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
    def repeated_part(self) -> ClauseMatch | None:
        """For a partial repeat, the matching clauses: what one paragraph repeats of the other. Reports show it only
        there; for a verbatim or reworded pair the side-by-side diff says it all."""
        return self.match if self.kind == "partial" else None

    @property
    def same_meeting(self) -> bool:
        return self.evidence.same_meeting

    @property
    def meetings(self) -> str:
        first = str(self.a.meeting) if self.a.meeting else "—"
        second = str(self.b.meeting) if self.b.meeting else "—"
        return first if self.same_meeting else f"{first} → {second}"

    @property
    def headline(self) -> str:
        """What the pair is and what its score rests on, in one line that every report format shows alike."""
        e = self.evidence
        return (
            f"¶{self.a.number} → ¶{self.b.number}: {self.kind}, score {self.score:.2f} (semantic {e.semantic:.2f}, "
            f"lexical {e.lexical:.2f}, containment {e.containment:.2f}; raw cosine {e.cosine:.2f})"
            + (" · same theme" if e.same_theme else "")
            + (" · same meeting" if self.same_meeting else "")
        )

    def diff(self) -> list[DiffOp]:
        return word_diff(self.a.text, self.b.text)

    def explain(self, threshold: float) -> str:
        e, w = self.evidence, self.config.weights
        verdict = "flagged" if self.score >= threshold else "not flagged"
        parts = [
            f"¶{self.a.number} and ¶{self.b.number}: {verdict} as {self.kind} "
            f"(score {self.score:.3f} {'≥' if self.score >= threshold else '<'} threshold {threshold:.3f})",
            f"  semantic    {e.semantic:.3f} × {w.semantic}  (best clause-to-clause cosine, template removed)",
            f"  lexical     {e.lexical:.3f} × {w.lexical}  (TF-IDF cosine; words the whole corpus shares count little)",
            f"  containment {e.containment:.3f} × {w.containment}  (share of one clause's rare words found "
            "in the other)",
            f"  same theme  {_yes(e.same_theme)}   {w.same_theme:+.2f} if yes  (a repeat is filed under "
            "the theme it had)",
            f"  same meeting {_yes(e.same_meeting)}  {w.same_meeting:+.2f} if yes  (a meeting seldom adopts "
            "the same ask twice)",
            f"  raw cosine  {e.cosine:.3f}  (inflated by the shared formula; not used directly)",
            f"  word overlap {self.word_ratio:.2f}, length ratio {self.length_ratio:.2f}, meetings {self.meetings}",
            *self._explain_match(),
            "  presets     "
            + " · ".join(
                f"{name} ({value:.2f}) {'yes' if self.score >= value else 'no'}" for name, value in PRESETS.items()
            ),
        ]
        return "\n".join(parts)

    def _explain_match(self) -> list[str]:
        if self.match is None:
            return []
        return [
            f"  closest clauses (cosine {self.match.cosine:.3f}):",
            f"    ¶{self.a.number}: {self.match.a}",
            f"    ¶{self.b.number}: {self.match.b}",
        ]

    def to_dict(self) -> dict:
        e = self.evidence
        return {
            "a": _ref(self.a),
            "b": _ref(self.b),
            "score": round(self.score, 4),
            "kind": self.kind,
            "same_meeting": self.same_meeting,
            "same_theme": e.same_theme,
            "semantic": round(e.semantic, 4),
            "lexical": round(e.lexical, 4),
            "containment": round(e.containment, 4),
            "cosine": round(e.cosine, 4),
            "match": None if self.match is None else vars(self.match) | {"cosine": round(self.match.cosine, 4)},
            "diff": [[op.op, op.a, op.b] for op in self.diff()],
        }


def _yes(flag: bool) -> str:
    return "yes" if flag else "no "


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

    candidates: Candidates
    threshold: float
    scorer: PairScorer = field(repr=False)
    pairs: list[PairScore] = field(init=False)
    groups: list[DuplicateGroup] = field(init=False)
    ungrouped: list[PairScore] = field(init=False)  # flagged pairs that no group holds (see group_pairs)
    # the group (numbered from 1, as reports number them) holding each pair, by the pair's paragraph keys
    group_of: dict[tuple[str, str], int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.pairs = self.candidates.pairs(self.threshold)
        self.groups = group_pairs(self.pairs, self.scorer, self.threshold)
        self.group_of = {(p.a.key, p.b.key): n for n, g in enumerate(self.groups, start=1) for p in g.pairs}
        self.ungrouped = [p for p in self.pairs if (p.a.key, p.b.key) not in self.group_of]

    def at(self, threshold: float) -> DuplicateReport:
        return DuplicateReport(self.candidates, threshold, self.scorer)

    def pair(self, a: str, b: str, doc: str | None = None) -> PairScore:
        """Two paragraphs by number, scored whether or not they are flagged: what `explain` is asked about."""
        paragraphs = self.scorer.index.paragraphs
        return self.scorer.score(paragraph_row(paragraphs, a, doc), paragraph_row(paragraphs, b, doc))

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
        """Paragraphs that repeat an earlier one: the later paragraph of every flagged pair (within one meeting, the
        second), in document order. Group membership is not enough: a group's members need only be similar on
        average."""
        later = {p.b.key for p in self.pairs}
        return [p for p in self.scorer.index.paragraphs if p.key in later]

    def to_dict(self) -> dict:
        return {
            "threshold": self.threshold,
            "groups": [g.to_dict() for g in self.groups],
            "pairs": [p.to_dict() | {"group": self.group_of.get((p.a.key, p.b.key))} for p in self.pairs],
        }


def word_diff(a: str, b: str) -> list[DiffOp]:
    """Word-level differences, case and punctuation kept, for side-by-side display."""
    words_a, words_b = _WORDS.findall(a), _WORDS.findall(b)
    matcher = difflib.SequenceMatcher(a=[w.lower() for w in words_a], b=[w.lower() for w in words_b], autojunk=False)
    return [
        DiffOp(tag, " ".join(words_a[i1:i2]), " ".join(words_b[j1:j2]))  # type: ignore[arg-type]
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
    ]


class PairScorer(CorpusEvidence):
    """A corpus's evidence weighed by one configuration: what turns a pair of rows into a `PairScore`."""

    def __init__(self, index: Index, config: DedupConfig, clause_vectors: bool | None = None) -> None:
        super().__init__(index, clause_vectors)
        self.config = config
        self.meeting_order = np.array([p.meeting.ordinal if p.meeting else 0 for p in index.paragraphs])

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
    index: Index, config: DedupConfig | None = None, scorer: PairScorer | None = None
) -> DuplicateReport:
    """Score candidate pairs and group them. Word-for-word copies are collapsed onto their first occurrence first:
    each copy is one verbatim pair with it, so a text repeated a thousand times costs a thousand pairs, not half a
    million, and grouping compares distinct texts only. Pass the `scorer` of an earlier report to try other
    settings without recomputing its evidence."""
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
    return DuplicateReport(candidates, config.threshold, scorer)


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
