"""Page furniture and contents pages: the lines of a document that are about its pages, not its text.

Running headers and footers (the document symbol "A/HRC/28/11", the job number "GE.14-12345", page numbers "13",
"Page 2" or "2/4") are found two ways: on a paged layout (PDF, or text with form feeds) as lines at the top or
bottom of a page whose shape (digits aside) recurs page after page; in text without pages (copied from a PDF)
as short lines of a furniture shape that recur through the document. A contents page is the block from a
"Contents" heading (or the first dot-leader line) to its last dot-leader line. The parser keeps these lines as
pieces with their role, so nothing is lost, but never reads them as text, headings or sections.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Literal

from semsearch.readers import Line

Furniture = Literal["furniture", "contents"]

_ZONE = 3  # lines at each end of a page where headers and footers sit
_DIGITS = re.compile(r"\d+")
_SYMBOL = r"[A-Z]{1,6}(?:/[A-Z0-9][A-Za-z0-9.\-]*){1,6}(?:\s*\(\d{4}\))?"
_JOB = r"GE\.\s?\d{2}-\s?\d{3,6}(?:\s*\([A-Z]\))?(?:\s+\d{6}){0,2}"
_PAGE = r"(?:page\s+)?\d{1,4}(?:\s*(?:/|of)\s*\d{1,4})?"
_FURNITURE_SHAPE = re.compile(
    rf"^(?:(?:{_PAGE})\s+)?(?:{_SYMBOL}|{_JOB}|\*\d{{5,}}\*)(?:\s+(?:{_PAGE}|{_JOB}))?$|^{_PAGE}$", re.IGNORECASE
)
_LEADER = re.compile(r"(?:\.\s?){4,}|…{2,}|_{4,}\s*\d")
_CONTENTS_HEADING = re.compile(r"^(?:table of )?contents$|^paragraphs\s+page$|^page$", re.IGNORECASE)
_PAGES = re.compile(r"^\s*\d{1,4}(?:\s*[–-]\s*\d{1,4})?(?:\s+\d{1,4})?\s*$")
_CONTENTS_SPAN = 80  # lines a contents block may run before its last leader line


def _shape(text: str) -> str:
    return _DIGITS.sub("#", " ".join(text.split())).lower()


def classify(lines: Sequence[Line], paged: bool) -> dict[int, Furniture]:
    """Index in `lines` -> role, for every line that is page furniture or part of a contents page."""
    roles: dict[int, Furniture] = dict.fromkeys(
        _running_lines(lines) if paged else _recurring_shapes(lines), "furniture"
    )
    for index in _contents(lines):
        roles.setdefault(index, "contents")
    return roles


def _running_lines(lines: Sequence[Line]) -> list[int]:
    pages: dict[int, list[int]] = {}
    for index, line in enumerate(lines):
        if line.text.strip() and line.kind not in ("heading", "paragraph", "item", "row"):
            pages.setdefault(line.page, []).append(index)
    zones = {page: indexes[:_ZONE] + indexes[-_ZONE:] for page, indexes in pages.items()}
    seen = Counter(shape for zone in zones.values() for shape in {_shape(lines[i].text) for i in zone})
    enough = max(3, int(0.3 * len(pages)))
    found = []
    for zone in zones.values():
        for index in dict.fromkeys(zone):
            text = " ".join(lines[index].text.split())
            shape = _shape(text)
            recurs = seen[shape] >= enough and any(c.isalpha() for c in shape)  # "#." is a paragraph number
            if recurs or (len(text) <= 60 and _FURNITURE_SHAPE.match(text)):
                found.append(index)
    return found


def _recurring_shapes(lines: Sequence[Line]) -> list[int]:
    candidates = [
        (i, _shape(line.text))
        for i, line in enumerate(lines)
        if line.kind == "text" and len(line.text) <= 60 and _FURNITURE_SHAPE.match(" ".join(line.text.split()))
    ]
    counts = Counter(shape for _, shape in candidates)
    return [i for i, shape in candidates if counts[shape] >= 3]


def _contents(lines: Sequence[Line]) -> list[int]:
    leaders = [i for i, line in enumerate(lines) if line.kind == "text" and _LEADER.search(line.text)]
    if not leaders:
        return []
    found: list[int] = []
    start = leaders[0]
    before = [i for i in range(start - 1, -1, -1) if lines[i].text.strip()][:8]  # the 8 lines with text above
    for index in before:
        if _CONTENTS_HEADING.match(lines[index].text.strip()):
            start = index
    end = start
    for index in leaders:
        if index - end > _CONTENTS_SPAN:
            break
        end = index
    if end == start and not _CONTENTS_HEADING.match(lines[start].text.strip()):
        return []
    # The page numbers and last entries after the last leader: to the page's end, or (without pages) while the
    # lines are only numbers and ranges.
    if lines[end].page:
        while end + 1 < len(lines) and lines[end + 1].page == lines[end].page:
            end += 1
    else:
        while end + 1 < len(lines) and (not lines[end + 1].text.strip() or _PAGES.match(lines[end + 1].text)):
            end += 1
    found += [i for i in range(start, end + 1) if lines[i].kind in ("text", "heading")]
    return found
