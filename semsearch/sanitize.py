"""Untrusted text (document text, file names, whatever an index holds) made safe for where it is going: a terminal,
a spreadsheet, a strict UTF-8 reader. Each function is the one place its kind of output is made safe."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any

_CONTROL_NAMES = {0x1B: "ESC", 0x07: "BEL", 0x08: "BS", 0x0A: "LF", 0x0D: "CR", 0x7F: "DEL"}
# C0 controls but the tab, DEL and C1 controls, the bidirectional controls (marks, embeddings, overrides, isolates)
# and line separators, which can reorder or break lines, and lone surrogates, which no UTF-8 output can carry.
_UNSAFE = re.compile(
    "[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
_SURROGATE = re.compile("[\ud800-\udfff]")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _surrogate(code: int) -> str:
    """A byte that was not UTF-8 in a file name (decoded by Python as U+DC80–U+DCFF) as `\\xNN`."""
    return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"U+{code:04X}"


def _name(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xD800 <= code <= 0xDFFF:
        return f"⟨{_surrogate(code)}⟩"
    return f"⟨{_CONTROL_NAMES.get(code, f'U+{code:04X}')}⟩"


def visible(text: str) -> str:
    """Text that cannot drive a terminal: escape sequences, bells, carriage returns, newlines, C1 codes and
    bidirectional controls become a visible ⟨name⟩, so one line stays one line, read in its real order."""
    return _UNSAFE.sub(_name, text)


def display_name(name: str) -> str:
    """A file name fit for an id or a message: bytes that were not UTF-8 become a visible `\\xNN`."""
    return _SURROGATE.sub(lambda m: _surrogate(ord(m.group())), name)


def unicode_safe(value: Any) -> Any:
    """`value` (JSON-like) with every string valid Unicode, so it encodes as UTF-8 whatever file names it holds."""
    if isinstance(value, str):
        return display_name(value)
    if isinstance(value, dict):
        return {unicode_safe(k): unicode_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [unicode_safe(v) for v in value]
    return value


def csv_cell(value: object) -> object:
    """A cell a spreadsheet shows as text: one starting like a formula (= + - @, tab, CR) gets a leading
    apostrophe, unless it is a plain number (a negative score stays a number)."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


class SafeCsvWriter:
    """`csv.writer` whose every cell goes through `csv_cell`: for any CSV holding document text or file names."""

    def __init__(self, handle: Any, **options: Any) -> None:
        self._writer = csv.writer(handle, **options)

    def writerow(self, row: Iterable[object]) -> None:
        self._writer.writerow([csv_cell(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for row in rows:
            self.writerow(row)
