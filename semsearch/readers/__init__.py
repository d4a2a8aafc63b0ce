"""Document readers: one module per format, each turning a file's bytes into a `Layout` of lines.

A reader only lays the text out in reading order and says what the format itself knows about each line: a page
it sits on, a paragraph number the markup carries (Akoma Ntoso `<num>`, Word's automatic list numbering, an HTML
`<ol>`), a heading and its level. Everything the text has to be read for (numbering in the text, sections,
meetings, page furniture, footnotes) is the parser's job in `semsearch.corpus`, the same for every format.

Each format's library is imported only when a file of that kind is read, so a query never pays for them.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from semsearch.errors import CorpusError

LineKind = Literal["text", "heading", "paragraph", "item", "row", "footnote", "front", "blank"]

# suffix -> reader module; a `.xml` file must be Akoma Ntoso (the reader checks its root).
FORMATS = {
    ".txt": "text",
    ".text": "text",
    ".md": "text",
    ".markdown": "text",
    ".pdf": "pdf",
    ".docx": "docx",
    ".html": "html",
    ".htm": "html",
    ".xml": "akn",
}
SUFFIXES = frozenset(FORMATS)
# Document formats found in corpora that no reader takes: listed as skipped, with what to convert them to.
UNSUPPORTED = frozenset({".doc", ".rtf", ".odt", ".pages", ".wpd", ".wps", ".epub", ".xls", ".xlsx", ".ppt", ".pptx"})


@dataclass(frozen=True)
class Line:
    """One line of a document in reading order.

    `kind` is what the format's markup says the line is: plain `text` (to be read by the parser), a `heading`
    (`level` 1 is a section, 2 a sub-theme), a numbered `paragraph` or `item` whose `number` the markup gives, a
    table `row`, a `footnote`, `front` matter, or a `blank` that separates blocks. `page` is the page a PDF line
    sits on (0 when the format has no pages).
    """

    text: str
    kind: LineKind = "text"
    number: str | None = None
    level: int = 0
    page: int = 0


@dataclass(frozen=True)
class DocumentMeta:
    """What a document says about itself, from its markup or front matter; any part may be unknown."""

    title: str | None = None
    symbol: str | None = None
    date: str | None = None


@dataclass(frozen=True)
class Layout:
    lines: tuple[Line, ...]
    meta: DocumentMeta = field(default_factory=DocumentMeta)
    paged: bool = False  # lines carry page numbers (PDF, or text with form feeds)
    blocks: bool = False  # each non-blank line is a whole block (Word and HTML paragraphs, table rows)


class ReaderError(CorpusError):
    """A file of a supported format that cannot be read (encrypted, corrupt, no text layer …)."""


_ROMAN = [(1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"), (50, "l"), (40, "xl"),
          (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i")]  # fmt: skip


def list_label(value: int, style: str) -> str:
    """A list item's number as a document shows it, in Word's style names (HTML's `type` maps onto them):
    decimal 3, lowerLetter c (27 is aa), upperLetter C, lowerRoman iii, upperRoman III."""
    if style in ("lowerLetter", "upperLetter"):
        label = ""
        while value > 0:
            value, rest = divmod(value - 1, 26)
            label = chr(ord("a") + rest) + label
    elif style in ("lowerRoman", "upperRoman"):
        label = ""
        for amount, numeral in _ROMAN:
            while value >= amount:
                label, value = label + numeral, value - amount
    else:
        return str(value)
    return label.upper() if style.startswith("upper") else label


def reader_name(path: Path) -> str | None:
    return FORMATS.get(path.suffix.lower())


def read_layout(path: Path, data: bytes) -> Layout:
    """The file's lines, read by the reader for its suffix; every failure is a one-line `CorpusError`."""
    name = reader_name(path)
    if name is None:
        raise CorpusError(f"{path}: unsupported file type; supported: {', '.join(sorted(SUFFIXES))}")
    module = importlib.import_module(f"semsearch.readers.{name}")
    try:
        return module.read(data)
    except ReaderError as error:
        raise CorpusError(f"{path}: {error}") from None
