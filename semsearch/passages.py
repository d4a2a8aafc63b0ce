"""Which part of a paragraph answers the query, and a window of it that fits a given width.

A paragraph's answer is often one clause of a long ask ("… for not less than 10 years"), so a snippet taken
around the first matching word hides it. Each clause is scored by its cosine to the query (its vector was stored
by the build) plus the share of the query's words it holds; the best one is the passage, and a snippet is that
passage widened at word boundaries to the room there is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from semsearch.clauses import split_clauses

_SPACE = re.compile(r"\s")


@dataclass(frozen=True)
class Snippet:
    """A window of a paragraph: text[start:end], and whether text was cut off before or after it."""

    text: str
    start: int
    end: int

    @property
    def cut_before(self) -> bool:
        return self.start > 0

    @property
    def cut_after(self) -> bool:
        return self.end < len(self.text)

    def __str__(self) -> str:
        return ("…" if self.cut_before else "") + self.text[self.start : self.end] + ("…" if self.cut_after else "")


def clause_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the paragraph's clauses, as the index split and embedded them."""
    spans, position = [], 0
    for clause in split_clauses(text):
        start = text.find(clause, position)
        if start < 0:
            continue
        spans.append((start, start + len(clause)))
        position = start + len(clause)
    return spans or [(0, len(text))]


def best_passage(
    text: str,
    highlights: Sequence[tuple[int, int]],
    query_vector: np.ndarray | None = None,
    clause_vector: Callable[[str], np.ndarray | None] | None = None,
) -> tuple[int, int]:
    """The span of the clause that best answers the query: dense cosine (where the clause's vector is known) plus
    the share of highlighted query words inside it."""
    spans = clause_spans(text)
    if len(spans) == 1:
        return spans[0]
    total = max(len(highlights), 1)
    best, best_score = spans[0], -np.inf
    for start, end in spans:
        lexical = sum(1 for a, b in highlights if a >= start and b <= end) / total
        dense = 0.0
        if query_vector is not None and clause_vector is not None:
            vector = clause_vector(text[start:end])
            dense = float(vector @ query_vector) if vector is not None else 0.0
        score = dense + 0.3 * lexical
        if score > best_score:
            best, best_score = (start, end), score
    return best


def window(text: str, passage: tuple[int, int], width: int, highlights: Sequence[tuple[int, int]] = ()) -> Snippet:
    """About `width` characters of the text around the passage, cut at word boundaries: the whole passage when it
    fits (with some context before it), else the part of it from just before its first highlighted word."""
    if len(text) <= width:
        return Snippet(text, 0, len(text))
    start, end = passage
    inside = [a for a, b in highlights if start <= a and b <= end]
    keep = start  # the window may start later to avoid half a word, never after this
    if end - start > width and inside:
        start, keep = max(start, inside[0] - width // 4), inside[0]
    else:
        room = max(width - (end - start), 0)
        start = max(0, start - min(room // 3, start))
    end = min(len(text), start + width)
    if start > 0 and not text[start - 1].isspace():
        space = _SPACE.search(text, start, keep + 1)
        start = space.end() if space else start
    if end < len(text):
        cut = text.rfind(" ", start, end)
        end = cut if cut > start else end
    return Snippet(text, start, end)


def mark(text: str, spans: Sequence[tuple[int, int]], left: str = "«", right: str = "»") -> str:
    """The text with each span wrapped in markers, for plain-text displays (notebooks, logs) without colour."""
    out, last = [], 0
    for start, end in sorted(spans):
        if start < last:
            continue
        out += [text[last:start], left, text[start:end], right]
        last = end
    return "".join(out) + text[last:]
