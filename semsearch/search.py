"""Ranked answers to plain-language queries: dense (FAISS), lexical (BM25) or a weighted hybrid of both.

Filters are applied before ranking: candidates come only from the allowed paragraphs, so `k` results come back
whenever `k` paragraphs match, and a filtered-out paragraph can never re-enter through a score.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from semsearch.corpus import Paragraph, is_roman, roman_value
from semsearch.errors import QueryError
from semsearch.index import Index, content_hash
from semsearch.lexical import matching_spans
from semsearch.passages import best_passage

Mode = Literal["dense", "lexical", "hybrid"]
MODES: tuple[Mode, ...] = ("dense", "lexical", "hybrid")
MAX_QUERY_CHARS = 2000
# Hybrid score = cosine + LEXICAL_WEIGHT × (BM25 / its ceiling for the query); chosen on
# tests/data/queries.jsonl by bench/tune_hybrid.py (normalising by the per-query maximum instead, or fusing
# ranks, let spurious word matches drown the reworded queries).
DEFAULT_LEXICAL_WEIGHT = 0.3
CANDIDATES = 200
EXHAUSTIVE_UP_TO = 50_000  # rows scored exactly without FAISS: faster than any index at this size
# Every mode scores on 0–1 (dense: cosine; lexical: the share of the query's BM25 ceiling; hybrid: their weighted
# mean). Below these, a hit is marked weak: on tests/data/queries.jsonl, 5–10 % of the top-10 hits scoring under
# them are relevant, against 25–40 % above.
WEAK_BELOW: dict[str, float] = {"dense": 0.25, "lexical": 0.1, "hybrid": 0.25}
SCALES: dict[str, str] = {
    "dense": "cosine similarity to the query",
    "lexical": "share of the query's words' BM25 weight",
    "hybrid": f"cosine and {DEFAULT_LEXICAL_WEIGHT} × BM25 share, averaged",
}


@dataclass(frozen=True)
class Filters:
    """Hard filters; a section matches by numeral ("V") or by words of its title ("marking"), a meeting by its
    ordinal (2, "2nd", "second") or its year (2014). Each takes one value or a sequence of them, as the CLI's
    repeated options do; anything else is a `QueryError` naming the expected form."""

    sections: tuple[str, ...] = ()
    meetings: tuple[int | str, ...] = ()
    docs: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        forms = {
            "sections": ((str,), 'a numeral ("V") or title words ("marking")'),
            "meetings": ((int, str), 'an ordinal (2, "2nd", "second") or a year (2014)'),
            "docs": ((str,), "a document id"),
        }
        for name, (types, form) in forms.items():
            object.__setattr__(self, name, _values(name, getattr(self, name), types, form))

    def __bool__(self) -> bool:
        return bool(self.sections or self.meetings or self.docs)

    def allowed(self, paragraphs: Sequence[Paragraph]) -> np.ndarray:
        """Row numbers that pass every filter; unknown values are errors that list the valid ones."""
        mask = np.ones(len(paragraphs), dtype=bool)
        if self.docs:
            known = sorted({p.doc for p in paragraphs})
            _check_known("document", self.docs, known)
            mask &= np.array([p.doc in self.docs for p in paragraphs])
        if self.meetings:
            ordinals = meeting_ordinals([str(m) for m in self.meetings], paragraphs)
            known_meetings = sorted({p.meeting.ordinal for p in paragraphs if p.meeting})
            _check_known("meeting", [str(m) for m in ordinals], [str(m) for m in known_meetings])
            mask &= np.array([bool(p.meeting and p.meeting.ordinal in ordinals) for p in paragraphs])
        if self.sections:
            section_mask = np.zeros(len(paragraphs), dtype=bool)
            for wanted in self.sections:
                hits = np.array([_section_matches(p, wanted) for p in paragraphs])
                if not hits.any():
                    known = sorted(
                        {p.section.numeral or p.section.title for p in paragraphs if p.section}, key=_roman_sort_key
                    )
                    raise QueryError(f"unknown section '{wanted}'; valid sections: {', '.join(known)}")
                section_mask |= hits
            mask &= section_mask
        return np.flatnonzero(mask)


def _values(name: str, value: object, types: tuple[type, ...], form: str) -> tuple:
    """One filter value or a sequence of them as a tuple; a bare string is one value, never its letters."""
    items = (value,) if isinstance(value, str | int) else value
    if isinstance(items, list | tuple | set | frozenset) and all(
        isinstance(v, types) and not isinstance(v, bool) for v in items
    ):
        return tuple(sorted(items, key=str) if isinstance(items, set | frozenset) else items)
    raise QueryError(f"Filters({name}=…) takes {form}, or a list of them; got {value!r}")


def _roman_sort_key(numeral: str) -> tuple[int, str]:
    """Sections in document order (II before IX), titles without numerals after them."""
    return (roman_value(numeral), "") if is_roman(numeral) else (10_000, numeral)


def _check_known(what: str, wanted: Sequence[str], known: Sequence[str]) -> None:
    unknown = [w for w in wanted if w not in known]
    if unknown:
        raise QueryError(f"unknown {what} '{unknown[0]}'; valid values: {', '.join(known)}")


def _section_matches(paragraph: Paragraph, wanted: str) -> bool:
    """A roman numeral matches that section only; other words must each start a word of its title or sub-theme."""
    section = paragraph.section
    if section is None:
        return False
    if wanted.strip().upper() == section.numeral or (wanted.isupper() and is_roman(wanted.strip())):
        return wanted.strip().upper() == section.numeral
    titles = f"{section.title} {paragraph.subtheme or ''}".lower()
    return all(re.search(rf"\b{re.escape(word)}", titles) for word in wanted.lower().split())


@dataclass(frozen=True)
class Hit:
    """One ranked paragraph, with the evidence behind its score."""

    rank: int
    score: float
    paragraph: Paragraph
    dense: float
    lexical: float
    highlights: tuple[tuple[int, int], ...] = ()
    passage: tuple[int, int] = (0, 0)  # the clause that best answers the query (see `semsearch.passages`)
    weak: bool = False  # scored under the mode's WEAK_BELOW

    RECORD_FIELDS = ("rank", "score", "doc", "number", "section", "subtheme", "meeting", "meeting_date",
                     "meeting_year", "dense", "lexical", "weak", "text")  # fmt: skip

    def to_record(self) -> dict:
        """One flat row (no nested values), for CSV, JSON Lines or a data frame."""
        p = self.paragraph
        return {
            "rank": self.rank,
            "score": round(self.score, 4),
            "doc": p.doc,
            "number": p.number,
            "section": str(p.section) if p.section else None,
            "subtheme": p.subtheme,
            "meeting": p.meeting.ordinal if p.meeting else None,
            "meeting_date": p.meeting.date if p.meeting else None,
            "meeting_year": p.meeting.year if p.meeting else None,
            "dense": round(self.dense, 4),
            "lexical": round(self.lexical, 4),
            "weak": self.weak,
            "text": p.text,
        }

    def to_dict(self) -> dict:
        p = self.paragraph
        return {
            "rank": self.rank,
            "score": round(self.score, 4),
            "doc": p.doc,
            "number": p.number,
            "section": str(p.section) if p.section else None,
            "subtheme": p.subtheme,
            "meeting": {"ordinal": p.meeting.ordinal, "date": p.meeting.date} if p.meeting else None,
            "text": p.text,
            "dense": round(self.dense, 4),
            "lexical": round(self.lexical, 4),
            "weak": self.weak,
        }


@dataclass(frozen=True)
class SearchResult:
    query: str
    mode: Mode
    hits: list[Hit]
    matched: int
    truncated: bool = False
    notes: tuple[str, ...] = field(default=())

    @property
    def scale(self) -> str:
        """What the score means in this result's mode, for a header."""
        return SCALES[self.mode]

    def to_dict(self) -> dict:
        return {
            "query": self.query,
            "mode": self.mode,
            "score": self.scale,
            "weak_below": WEAK_BELOW[self.mode],
            "results": [h.to_dict() for h in self.hits],
        }

    def to_records(self) -> list[dict]:
        """Flat rows, one per hit, each naming the query and mode."""
        return [{"query": self.query, "mode": self.mode, **h.to_record()} for h in self.hits]

    def to_csv(self) -> str:
        """The flat rows as CSV, safe to open in a spreadsheet (no cell can start a formula)."""
        import csv
        import io

        from semsearch.sanitize import SafeCsvWriter

        buffer = io.StringIO()
        writer = SafeCsvWriter(buffer, quoting=csv.QUOTE_MINIMAL)
        fields = list(self.to_records()[0]) if self.hits else ["query", "mode", *Hit.RECORD_FIELDS]
        writer.writerow(fields)
        writer.writerows([["" if r[f] is None else r[f] for f in fields] for r in self.to_records()])
        return buffer.getvalue()

    def to_jsonl(self) -> str:
        """The flat rows as JSON Lines."""
        import json

        return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in self.to_records())

    def to_dataframe(self):
        """The hits as a pandas DataFrame (pandas is optional: pip install pandas)."""
        try:
            import pandas
        except ImportError:
            raise ImportError("to_dataframe needs pandas: pip install pandas") from None
        return pandas.DataFrame.from_records(self.to_records())


class Searcher:
    """Answers queries against one loaded index; keep it around for warm queries (shell, notebooks)."""

    def __init__(self, index: Index, lexical_weight: float = DEFAULT_LEXICAL_WEIGHT) -> None:
        self.index = index
        self.lexical_weight = lexical_weight

    def search(self, query: str, k: int = 10, mode: Mode = "hybrid", filters: Filters | None = None) -> SearchResult:
        query, truncated = _clean_query(query)
        if mode not in MODES:
            raise QueryError(f"unknown mode '{mode}'; choose dense, lexical or hybrid")
        if k < 1:
            raise QueryError("--k must be at least 1")
        paragraphs = self.index.paragraphs
        allowed = (filters or Filters()).allowed(paragraphs)
        notes = (f"query truncated to its first {MAX_QUERY_CHARS} characters",) if truncated else ()
        if allowed.size == 0:
            return SearchResult(query, mode, [], 0, truncated, (*notes, "no paragraph matches these filters"))
        rows, dense, lexical, query_vector = self._candidates(query, mode, allowed, k)
        scores = self._fuse(mode, dense, lexical, query)
        order = np.argsort(-scores, kind="stable")[:k]
        if mode == "lexical":  # no query word in a paragraph is no evidence for it: do not pad with zeros
            order = order[scores[order] > 0]
        hits = []
        for rank, i in enumerate(order, start=1):
            paragraph = paragraphs[rows[i]]
            spans = tuple(matching_spans(paragraph.text, query))
            passage = best_passage(paragraph.text, spans, query_vector, self._clause_vector)
            score = float(np.clip(scores[i], 0.0, 1.0))
            weak = score < WEAK_BELOW[mode]
            hits.append(Hit(rank, score, paragraph, float(dense[i]), float(lexical[i]), spans, passage, weak))
        return SearchResult(query, mode, hits, int(allowed.size), truncated, notes)

    def _clause_vector(self, clause: str) -> np.ndarray | None:
        return self.index.clauses.get(content_hash(clause))

    def _candidates(
        self, query: str, mode: Mode, allowed: np.ndarray, k: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        """Rows worth ranking with their dense and BM25 scores; exact over the allowed rows when they are few."""
        lexical_all = self.index.lexical.scores(query) if mode != "dense" else None
        query_vector = self.index.query_encoder().encode([query])[0] if mode != "lexical" else None
        exhaustive = allowed.size <= EXHAUSTIVE_UP_TO or mode == "lexical"
        if exhaustive:
            rows = allowed
        else:
            pool = max(CANDIDATES, 5 * k)
            rows = self._dense_rows(query_vector, allowed, pool)
            if lexical_all is not None:
                top_lexical = allowed[np.argsort(-lexical_all[allowed])[:pool]]
                rows = np.union1d(rows, top_lexical)
        dense = self.index.vectors[rows] @ query_vector if query_vector is not None else np.zeros(rows.size)
        lexical = lexical_all[rows] if lexical_all is not None else np.zeros(rows.size)
        return rows, dense.astype(np.float32), lexical.astype(np.float32), query_vector

    def _dense_rows(self, vector: np.ndarray, allowed: np.ndarray, count: int) -> np.ndarray:
        import faiss

        index = self.index.faiss_index
        parameters = None
        if allowed.size < len(self.index.paragraphs):
            selector = faiss.IDSelectorBatch(allowed.astype(np.int64))
            parameters = faiss.SearchParameters(sel=selector)
            kind = self.index.manifest["index"]["type"]
            if kind == "hnsw":
                parameters = faiss.SearchParametersHNSW(sel=selector, efSearch=max(128, count))
            elif kind in ("ivf", "ivfpq"):
                parameters = faiss.SearchParametersIVF(sel=selector, nprobe=index.nprobe)  # type: ignore[attr-defined]
        _, ids = index.search(vector[None, :], min(count, allowed.size), params=parameters)  # type: ignore[attr-defined]
        return np.unique(ids[0][ids[0] >= 0])

    def _fuse(self, mode: Mode, dense: np.ndarray, lexical: np.ndarray, query: str) -> np.ndarray:
        """Ranking scores on the 0–1 scale of SCALES (a cosine can still fall below 0; hits show it clipped)."""
        if mode == "dense":
            return dense
        ceiling = self.index.lexical.ceiling(query)
        share = lexical / ceiling if ceiling > 0 else np.zeros_like(lexical)
        if mode == "lexical":
            return share
        return (dense + self.lexical_weight * share) / (1.0 + self.lexical_weight)


def check_query(query: str) -> None:
    """Fail early, before any index or model is loaded, on a query with nothing to search for."""
    _clean_query(query)


def meeting_ordinals(values: Sequence[str], paragraphs: Sequence[Paragraph]) -> tuple[int, ...]:
    """Meeting filters given as ordinals ("2", "second") or years ("2014")."""
    meetings = {p.meeting for p in paragraphs if p.meeting}
    by_year = {m.year: m.ordinal for m in meetings if m.year}
    words = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6}
    ordinals = []
    for value in values:
        text = value.strip().lower().rstrip(".")
        text = text[:-2] if text[-2:] in ("st", "nd", "rd", "th") and text[:-2].isdigit() else text
        if text.isdigit() and int(text) in by_year:
            ordinals.append(by_year[int(text)])
        elif (text.isdigit() and int(text) < 100) or text in words:
            ordinals.append(int(text) if text.isdigit() else words[text])
        else:
            valid = ", ".join(f"{m.ordinal} ({m.year})" for m in sorted(meetings, key=lambda m: m.ordinal))
            raise QueryError(f"unknown meeting '{value}'; valid meetings: {valid}")
    return tuple(ordinals)


def neighbours_of(index: Index, paragraph: Paragraph, count: int = 5) -> list[tuple[Paragraph, float]]:
    """The paragraphs whose stored vectors are closest to this one's."""
    row = next(i for i, p in enumerate(index.paragraphs) if p.key == paragraph.key)
    scores = index.vectors @ index.vectors[row]
    scores[row] = -np.inf
    order = np.argsort(-scores)[: min(count, len(scores) - 1)]  # never the paragraph itself
    return [(index.paragraphs[i], float(scores[i])) for i in order]


def _clean_query(query: str) -> tuple[str, bool]:
    text = " ".join("".join(c if c.isprintable() else " " for c in query).split())
    if not text:
        raise QueryError('the query is empty; ask in plain words, e.g. semsearch query "import marking"')
    if len(text) > MAX_QUERY_CHARS:
        return text[:MAX_QUERY_CHARS], True
    return text, False
