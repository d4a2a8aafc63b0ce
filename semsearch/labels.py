"""Reading labelled sets (queries, pairs): one JSON object per line, each bad line reported by number."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from semsearch.errors import QueryError

T = TypeVar("T")


def read_labelled(path: Path | str, parse: Callable[[dict], T], expected: str) -> list[T]:
    """Parse every non-blank line with `parse`; `expected` shows the line format in the error message."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise QueryError(f"{path}: cannot be read ({getattr(error, 'strerror', None) or error})") from None
    items = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            items.append(parse(json.loads(line)))
        except (ValueError, KeyError, TypeError, AttributeError):
            raise QueryError(f"{path}:{number}: expected {expected} on each line") from None
    if not items:
        raise QueryError(f"{path}: nothing labelled in it")
    return items
