"""Plain text and Markdown: lines as they are; form feeds (as `pdftotext` writes them) mark pages."""

from __future__ import annotations

import re

from semsearch.readers import Layout, Line, ReaderError

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# Characters an 8-bit export of UN text plausibly holds: accented letters and typographic punctuation.
_PLAUSIBLE = frozenset("àâäáãåçéèêëíìîïñóòôöõúùûüÿœæÀÂÄÁÇÉÈÊËÍÎÏÑÓÔÖÚÙÛÜŒÆßø’‘“”–—…«»°€£§©®·•\u00a0")
_CANDIDATES = ("cp1252", "mac_roman", "latin-1", "cp850")
_ICONV = {
    "cp1252": ("Windows-1252 (cp1252)", "CP1252"),
    "mac_roman": ("Mac Roman", "MACINTOSH"),
    "latin-1": ("Latin-1", "LATIN1"),
    "cp850": ("DOS Latin-1 (cp850)", "CP850"),
}


def source_lines(text: str) -> list[str]:
    return _LINE_BREAK.split(text)


def read(data: bytes) -> Layout:
    if not data.strip():
        raise ReaderError("the file is empty; add text to it or leave it out")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ReaderError("is UTF-16 text; convert it to UTF-8, e.g. `iconv -f utf-16 -t utf-8`")
    if b"\x00" in data:
        raise ReaderError("looks binary (contains NUL bytes); pass a text, PDF, Word, HTML or XML document")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        name, iconv = _ICONV[likely_encoding(data)]
        raise ReaderError(
            f"not UTF-8 text (byte 0x{data[error.start]:02x} at offset {error.start}); it reads as {name}: "
            f"convert it with `iconv -f {iconv} -t UTF-8`"
        ) from None
    return layout_of(text)


def layout_of(text: str) -> Layout:
    """Text as lines, one per source line; form feeds (page breaks as `pdftotext` writes them) number pages."""
    page = 1 if "\f" in text else 0
    lines = []
    for raw in source_lines(text):
        page += raw.count("\f") if page else 0
        lines.append(Line(raw, "text" if raw.strip() else "blank", page=page))
    return Layout(tuple(lines), paged=bool(page))


def likely_encoding(data: bytes) -> str:
    """The 8-bit encoding under which the file's non-ASCII bytes read most like accented letters and typographic
    punctuation (Mac Roman and cp1252 put quotes and dashes at different bytes)."""

    def score(encoding: str) -> int:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            return -(10**9)
        return sum(1 if c in _PLAUSIBLE else -1 for c in text if ord(c) > 127)

    return max(_CANDIDATES, key=score)
