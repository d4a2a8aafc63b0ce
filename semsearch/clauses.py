"""Clauses: the sentences and coordinated asks of a paragraph, the unit at which one repeated ask shows.

Duplicate detection compares paragraphs clause by clause, so a build embeds every clause once and stores it beside
the paragraph vectors; above CLAUSE_LEVEL_UP_TO paragraphs that pass would cost too much, and whole paragraphs
stand in.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

CLAUSE_LEVEL_UP_TO = 5_000
# Clauses kept apart per paragraph; the rest of a longer one is its last clause, so comparing two paragraphs costs
# at most MAX_CLAUSES² cosines however long they are (a table pasted as one paragraph, a run-on text).
MAX_CLAUSES = 24
_CLAUSE_SPLIT = re.compile(r"(?<=[.;:])\s+|,\s+(?:and|as well as|while)\s+(?=to\s)|,\s+and\s+(?=(?:to|may|should)\s)")


def split_clauses(text: str) -> list[str]:
    """Sentences and coordinated asks ('…, and to …'); short fragments stay with the whole paragraph."""
    parts = [p for p in _CLAUSE_SPLIT.split(text) if len(p.split()) >= 5]
    if len(parts) > MAX_CLAUSES:
        parts = [*parts[: MAX_CLAUSES - 1], " ".join(parts[MAX_CLAUSES - 1 :])]
    return parts or [text]


def clauses_to_embed(texts: Sequence[str]) -> list[str]:
    """The clauses that need vectors of their own: a paragraph that is one clause already has its vector."""
    if len(texts) > CLAUSE_LEVEL_UP_TO:
        return []
    return [clause for text in texts for clause in split_clauses(text) if clause != text]
