"""Untrusted text made safe for terminals, spreadsheets and strict UTF-8 readers, whatever it holds."""

from __future__ import annotations

import csv
import io
import json
import re

from hypothesis import given
from hypothesis import strategies as st

from semsearch.sanitize import SafeCsvWriter, csv_cell, display_name, unicode_safe, visible

UNSAFE = re.compile(
    "[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
HOSTILE = st.text(
    st.one_of(
        st.characters(),
        st.sampled_from(["\x1b", "\x9b", "\n", "\r", "\u202e", "\u2066", "\u2069", "\u202a", "\u202d", "\udcff"]),
    )
)


@given(HOSTILE)
def test_visible_text_holds_no_control_and_stays_one_line(text):
    shown = visible(text)
    assert not UNSAFE.search(shown) and "\n" not in shown
    shown.encode("utf-8")  # strict: no lone surrogate survives


def test_visible_names_what_it_replaces():
    assert visible("a\x1b[2Jb") == "a⟨ESC⟩[2Jb"
    assert visible("x\u2066y\u2069\u202a\u202d") == "x⟨U+2066⟩y⟨U+2069⟩⟨U+202A⟩⟨U+202D⟩"
    assert visible("one\nerror: two") == "one⟨LF⟩error: two"
    assert visible("caf\udce9") == "caf⟨\\xe9⟩"
    assert visible("tab\tand ünïcode ✓") == "tab\tand ünïcode ✓"


def test_file_names_and_json_are_valid_unicode():
    assert display_name("caf\udce9.txt") == "caf\\xe9.txt"
    data = unicode_safe({"caf\udce9": ["a\udcff", 1, None]})
    assert json.loads(json.dumps(data, ensure_ascii=False).encode("utf-8")) == {"caf\\xe9": ["a\\xff", 1, None]}


@given(HOSTILE)
def test_no_csv_cell_starts_a_formula(text):
    cell = csv_cell(text)
    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")) or re.fullmatch(r"[+-][\d.eE+-]+", cell)


def test_csv_cells_keep_numbers_and_quote_formulas():
    buffer = io.StringIO()
    SafeCsvWriter(buffer).writerow(['=HYPERLINK("http://x")', "=cmd|' /C calc'!A0", "-0.25", "+1", "@SUM(A1)", "ok", 3])
    row = next(csv.reader(io.StringIO(buffer.getvalue())))
    assert row == ['\'=HYPERLINK("http://x")', "'=cmd|' /C calc'!A0", "-0.25", "+1", "'@SUM(A1)", "ok", "3"]
