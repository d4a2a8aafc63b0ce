from __future__ import annotations

import pytest

from semsearch.errors import QueryError
from semsearch.labels import read_labelled


def test_reads_each_line(tmp_path):
    path = tmp_path / "set.jsonl"
    path.write_text('{"x": 1}\n\n{"x": 2}\n', encoding="utf-8")
    assert read_labelled(path, lambda d: d["x"], '{"x": N}') == [1, 2]


@pytest.mark.parametrize(
    ("content", "message"),
    [('{"x": 1}\nnot json\n', r"set\.jsonl:2: expected \{\"x\": N\}"), ('{"y": 1}\n', ":1: expected"),
     ("\n\n", "nothing labelled"), (b"\xff\xfe", "cannot be read")],
)  # fmt: skip
def test_bad_sets_say_where(tmp_path, content, message):
    path = tmp_path / "set.jsonl"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(QueryError, match=message):
        read_labelled(path, lambda d: d["x"], '{"x": N}')


def test_missing_file(tmp_path):
    with pytest.raises(QueryError, match="cannot be read"):
        read_labelled(tmp_path / "nope.jsonl", dict, "{}")
