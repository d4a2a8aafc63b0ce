"""One scored pair of paragraphs and how it reads: the thresholds it is judged at, what kind of repeat it is,
its headline in plain words, the figures behind its score, its word diff, and its fields for review elsewhere.
`semsearch.dedup` scores candidate pairs, flags and groups them."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

from semsearch.clauses import split_clauses
from semsearch.corpus import Paragraph
from semsearch.decisions import Decision
from semsearch.errors import QueryError
from semsearch.evidence import ClauseMatch, Evidence, Weights
from semsearch.index import content_hash
from semsearch.lexical import tokenize
from semsearch.naming import Naming

Kind = Literal["verbatim", "paraphrase", "partial"]
# Thresholds by what they promise, chosen by bench/tune_dedup.py on tests/data/pairs.jsonl (measured there:
# precision / recall / hard negatives flagged). precise: the lowest threshold keeping precision >= 0.80 and at most
# 2 hard negatives in 25 (0.87 / 0.43 / 2 of 50); balanced: the best F1 (0.71 / 0.58 / 4 of 50); thorough: the
# highest threshold reaching recall 0.70, for reviewing candidates by hand (0.53 / 0.71 / 7 of 50).
PRESETS: dict[str, float] = {"precise": 0.49, "balanced": 0.44, "thorough": 0.41}
DEFAULT_PRESET = "precise"
DEFAULT_THRESHOLD = PRESETS[DEFAULT_PRESET]
_WORDS = re.compile(r"\S+")
MAX_DIFF_WORDS = 2_000


@dataclass(frozen=True)
class DedupConfig:
    threshold: float = DEFAULT_THRESHOLD
    weights: Weights = field(default_factory=Weights)
    neighbours: int = 50
    min_cosine: float = 0.4
    verbatim_ratio: float = 0.9
    partial_length_ratio: float = 0.6
    max_implied: int = 20_000  # pairs that word-for-word copies imply, listed one by one up to this many
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
class RepeatedPart:
    """What a partial repeat repeats: the clause of the shorter paragraph most of whose words are found in the
    longer one, the longer paragraph's clause that shares most of them, and that share."""

    short: Paragraph
    clause: str
    long: Paragraph
    counterpart: str
    share: float


@dataclass(frozen=True)
class PairScore:
    """One scored pair; `a` is the earlier paragraph (by meeting, then position). `held_as` is set on a pair that
    word-for-word copies imply (the candidate pair it was found through) and `decision` where an analyst decided."""

    a: Paragraph
    b: Paragraph
    score: float
    evidence: Evidence
    config: DedupConfig = field(repr=False, compare=False)
    naming: Naming = field(repr=False, compare=False)
    match: ClauseMatch | None = field(default=None, compare=False)  # None where whole paragraphs were compared
    held_as: tuple[Paragraph, Paragraph] | None = field(default=None, compare=False)
    decision: Decision | None = field(default=None, compare=False)

    @property
    def keys(self) -> tuple[str, str]:
        return (self.a.key, self.b.key)

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

    @cached_property
    def repeated_part(self) -> RepeatedPart | None:
        """For a partial repeat, the part one paragraph repeats of the other, found by the words they share (the
        semantic closest clauses can be a poor pick there: centred cosines of unrelated clauses run near 0). For a
        verbatim or reworded pair the side-by-side diff says it all."""
        if self.kind != "partial":
            return None
        short, long = (self.a, self.b) if len(self.a.text.split()) <= len(self.b.text.split()) else (self.b, self.a)
        found = set(tokenize(long.text))
        clauses = [(c, set(tokenize(c))) for c in split_clauses(short.text)]
        clause, words = max(clauses, key=lambda c: len(c[1] & found) / max(len(c[1]), 1))
        counterpart = max(split_clauses(long.text), key=lambda c: len(words & set(tokenize(c))))
        return RepeatedPart(short, clause, long, counterpart, len(words & found) / max(len(words), 1))

    @property
    def same_meeting(self) -> bool:
        return self.evidence.same_meeting

    @property
    def meetings(self) -> str:
        first, second = _meeting(self.a), _meeting(self.b)
        return f"both {first}" if self.same_meeting else f"{first} → {second}"

    @property
    def headline(self) -> str:
        """What the pair is, in plain words: which paragraph repeats which, how much of it, and the meetings; every
        view shows it first, the same way."""
        a, b = self.naming.mark(self.a), self.naming.mark(self.b)
        if self.kind == "verbatim":
            what = (
                f"{b} repeats {a} word for word"
                if self.a.text == self.b.text
                else f"{b} repeats {a} almost word for word"
            )
        elif self.kind == "paraphrase":
            what = f"{b} rewords {a} ({self.word_ratio:.0%} of the words in order)"
        else:
            part = self.repeated_part
            assert part is not None
            shorter = self.naming.mark(part.short)
            what = (
                f"{b} repeats part of {a}" if part.short is self.b else f"{b} takes {a} into a longer paragraph"
            ) + f" ({shorter} is {self.length_ratio:.0%} as long)"
        return f"{what} · {self.meetings}"

    @property
    def figures(self) -> str:
        """What the score rests on, in one line every format shows alike (folded under the headline)."""
        e = self.evidence
        return (
            f"score {self.score:.2f} (semantic {e.semantic:.2f}, lexical {e.lexical:.2f}, "
            f"containment {e.containment:.2f}; raw cosine {e.cosine:.2f})"
            + (" · same theme" if e.same_theme else "")
            + (" · same meeting" if self.same_meeting else "")
        )

    @property
    def implied_note(self) -> str | None:
        """For a pair found through word-for-word copies, which candidate pair it was found through and why."""
        if self.held_as is None:
            return None
        x, y = self.held_as
        copies = [
            (p, q) for p, q in ((self.a, x), (self.a, y), (self.b, x), (self.b, y)) if p != q and p.text == q.text
        ]
        said = "; ".join(f"{self.naming.mark(p)} is a word-for-word copy of {self.naming.mark(q)}" for p, q in copies)
        return f"implied by {self.naming.mark(x)}–{self.naming.mark(y)} ({said})"

    def diff(self) -> list[DiffOp]:
        return word_diff(self.a.text, self.b.text)

    def evidence_lines(self) -> list[str]:
        """How the score is made up, line by line, for --explain."""
        e, w = self.evidence, self.config.weights
        return [
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

    def _explain_match(self) -> list[str]:
        if self.match is None:
            return []
        return [
            f"  closest clauses (cosine {self.match.cosine:.3f}):",
            f"    {self.naming.mark(self.a)}: {self.match.a}",
            f"    {self.naming.mark(self.b)}: {self.match.b}",
        ]

    def to_dict(self) -> dict:
        """Both paragraphs in full (document, number, section, meeting, text, hash), what the pair is and why, and
        the analyst's decision: everything a review in another tool needs, the same fields as the CSV."""
        e, part = self.evidence, self.repeated_part
        return {
            "a": pair_ref(self.a, self.naming),
            "b": pair_ref(self.b, self.naming),
            "headline": self.headline,
            "score": round(self.score, 4),
            "kind": self.kind,
            "same_meeting": self.same_meeting,
            "same_theme": e.same_theme,
            "semantic": round(e.semantic, 4),
            "lexical": round(e.lexical, 4),
            "containment": round(e.containment, 4),
            "cosine": round(e.cosine, 4),
            "implied_by": None if self.held_as is None else [self.naming.ref(p) for p in self.held_as],
            "decision": None if self.decision is None else self.decision.decision,
            "note": None if self.decision is None else self.decision.note,
            "match": None if self.match is None else vars(self.match) | {"cosine": round(self.match.cosine, 4)},
            "repeated_part": None
            if part is None
            else {"paragraph": self.naming.ref(part.short), "clause": part.clause, "share": round(part.share, 4)},
            "diff": [[op.op, op.a, op.b] for op in self.diff()],
        }


def _yes(flag: bool) -> str:
    return "yes" if flag else "no "


def _meeting(paragraph: Paragraph) -> str:
    return str(paragraph.meeting) if paragraph.meeting else "—"


def member_label(paragraph: Paragraph, naming: Naming) -> str:
    """¶16 · 1st (2012): a paragraph and its meeting, as group titles list them (no brackets inside brackets)."""
    return f"{naming.mark(paragraph)} · {_meeting(paragraph)}"


def pair_ref(paragraph: Paragraph, naming: Naming) -> dict:
    meeting = paragraph.meeting
    return {
        "ref": naming.ref(paragraph),
        "doc": paragraph.doc,
        "symbol": naming.documents[paragraph.doc].symbol if paragraph.doc in naming.documents else None,
        "number": paragraph.number,
        "meeting": meeting.ordinal if meeting else None,
        "meeting_label": _meeting(paragraph),
        "year": meeting.year if meeting else None,
        "section": paragraph.section.numeral if paragraph.section else None,
        "section_title": str(paragraph.section) if paragraph.section else None,
        "text": paragraph.text,
        "hash": content_hash(paragraph.text),
    }


def word_diff(a: str, b: str) -> list[DiffOp]:
    """Word-level differences, case and punctuation kept, for side-by-side display; past MAX_DIFF_WORDS words
    the rest is one uncompared block, since a word diff costs the product of the two lengths."""
    words_a, words_b = _WORDS.findall(a), _WORDS.findall(b)
    head_a, head_b = words_a[:MAX_DIFF_WORDS], words_b[:MAX_DIFF_WORDS]
    matcher = difflib.SequenceMatcher(a=[w.lower() for w in head_a], b=[w.lower() for w in head_b], autojunk=False)
    ops = [
        DiffOp(tag, " ".join(head_a[i1:i2]), " ".join(head_b[j1:j2]))  # type: ignore[arg-type]
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
    ]
    rest_a, rest_b = words_a[MAX_DIFF_WORDS:], words_b[MAX_DIFF_WORDS:]
    if rest_a or rest_b:
        ops.append(DiffOp("replace", " ".join(rest_a), " ".join(rest_b)))
    return ops
