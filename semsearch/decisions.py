"""An analyst's decisions on flagged pairs (confirmed, rejected, unsure, with a note), kept as JSONL.

A decision names both paragraphs by document, number and content hash, and is keyed by the two hashes: it holds
for the same two texts wherever they sit after a rebuild or a renumbering, and a decision none of whose pairs is in
the index any more because one paragraph's text changed is *stale*, reported so it can be made again. The HTML
report writes these files (its export button); `semsearch duplicates --decisions FILE` applies one and keeps it,
merged, in the index directory (`KEPT`), where every later report finds it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import combinations, product
from pathlib import Path
from typing import Literal

from semsearch.corpus import Paragraph
from semsearch.labels import read_labelled

Verdict = Literal["confirmed", "rejected", "unsure"]
VERDICTS: tuple[Verdict, ...] = ("confirmed", "rejected", "unsure")
KEPT = "decisions.jsonl"  # beside the index's versions, in the index directory
LINE_FORMAT = (
    '{"a": {"doc": …, "number": …, "hash": …}, "b": {…}, "decision": "confirmed"|"rejected"|"unsure", '
    '"note": …, "time": …}'
)


@dataclass(frozen=True)
class Side:
    """One paragraph of a decided pair, as it was when the decision was made."""

    doc: str
    number: str
    hash: str


@dataclass(frozen=True)
class Decision:
    a: Side
    b: Side
    decision: Verdict
    note: str = ""
    time: str = ""  # ISO 8601 in UTC, as the browser writes it; decisions on one pair compare by it

    @property
    def key(self) -> tuple[str, str]:
        return _key(self.a.hash, self.b.hash)

    def to_dict(self) -> dict:
        return {
            "a": vars(self.a),
            "b": vars(self.b),
            "decision": self.decision,
            "note": self.note,
            "time": self.time,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Decision:
        if data["decision"] not in VERDICTS:
            raise ValueError(data["decision"])
        sides = [Side(str(data[s]["doc"]), str(data[s]["number"]), str(data[s]["hash"])) for s in ("a", "b")]
        return cls(*sides, data["decision"], str(data.get("note") or ""), str(data.get("time") or ""))


def _key(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a <= b else (b, a)


def read_decisions(path: Path | str) -> list[Decision]:
    return read_labelled(path, Decision.from_dict, LINE_FORMAT)


def is_decisions_line(data: dict) -> bool:
    """Whether a JSON line is a decision rather than a hand-labelled pair (what --calibrate takes either of)."""
    return "decision" in data


def latest(decisions: Iterable[Decision]) -> list[Decision]:
    """One decision per pair of texts, the newest (the later one in the input when the times are equal)."""
    newest: dict[tuple[str, str], Decision] = {}
    for decision in decisions:
        kept = newest.get(decision.key)
        if kept is None or decision.time >= kept.time:
            newest[decision.key] = decision
    return sorted(newest.values(), key=lambda d: (d.time, d.a.doc, d.a.number, d.b.doc, d.b.number))


def to_jsonl(decisions: Iterable[Decision]) -> str:
    return "".join(json.dumps(d.to_dict(), ensure_ascii=False) + "\n" for d in decisions)


@dataclass(frozen=True)
class Stale:
    """A decision none of whose pairs is in the index any more, and why: a paragraph whose text changed (it is still
    there under its number) or that is gone."""

    decision: Decision
    changed: tuple[Side, ...]
    gone: tuple[Side, ...]


@dataclass
class Review:
    """Decisions matched against one index's paragraphs: which pairs of rows each applies to, and the stale ones."""

    decisions: list[Decision] = field(default_factory=list)
    applies: dict[tuple[str, str], Decision] = field(default_factory=dict)  # by the two texts' hashes
    stale: list[Stale] = field(default_factory=list)
    hashes: Sequence[str] = ()

    @classmethod
    def of(cls, decisions: Iterable[Decision], paragraphs: Sequence[Paragraph], hashes: Sequence[str]) -> Review:
        decisions = latest(decisions)
        present = set(hashes)
        by_number = {(p.doc, p.number) for p in paragraphs}
        applies, stale = {}, []
        for decision in decisions:
            if decision.a.hash in present and decision.b.hash in present:
                applies[decision.key] = decision
                continue
            missing = [s for s in (decision.a, decision.b) if s.hash not in present]
            changed = tuple(s for s in missing if (s.doc, s.number) in by_number)
            gone = tuple(s for s in missing if (s.doc, s.number) not in by_number)
            stale.append(Stale(decision, changed, gone))
        return cls(decisions, applies, stale, hashes)

    def of_rows(self, i: int, j: int) -> Decision | None:
        if not self.applies:
            return None
        return self.applies.get(_key(self.hashes[i], self.hashes[j]))

    def rows(self, verdict: Verdict) -> list[tuple[int, int]]:
        """Every pair of rows (lower first) that a decision of this verdict applies to: a text repeated word for
        word is decided along with its copies."""
        rows_of: dict[str, list[int]] = {}
        for row, digest in enumerate(self.hashes):
            rows_of.setdefault(digest, []).append(row)
        found: set[tuple[int, int]] = set()
        for (x, y), decision in self.applies.items():
            if decision.decision != verdict:
                continue
            pairs = combinations(rows_of[x], 2) if x == y else product(rows_of[x], rows_of[y])
            found.update((min(i, j), max(i, j)) for i, j in pairs)
        return sorted(found)

    def count(self, verdict: Verdict) -> int:
        return sum(d.decision == verdict for d in self.applies.values())
