from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from semsearch.passages import best_passage, clause_spans, mark, window

TEXT = (
    "The Conference should invite States parties to ensure adequate maintenance of the necessary records, for the "
    "purpose of facilitating traceability, and to consider keeping their records for an adequate time, in the light "
    "of the long life cycle of firearms, of not less than 10 years."
)


def test_the_clause_holding_the_query_words_is_the_passage():
    start = TEXT.index("keeping")
    highlights = [(start, start + 7), (TEXT.index("years"), TEXT.index("years") + 5)]
    a, b = best_passage(TEXT, highlights)
    assert TEXT[a:b].startswith("to consider keeping") and TEXT[a:b].endswith("10 years.")


def test_a_dense_match_wins_over_the_opening_clause():
    spans = clause_spans(TEXT)
    vectors = {TEXT[a:b]: [1.0, 0.0] if n == 1 else [0.0, 1.0] for n, (a, b) in enumerate(spans)}
    import numpy as np

    a, _ = best_passage(TEXT, [], np.array([1.0, 0.0]), lambda c: np.array(vectors[c]))
    assert a == spans[1][0]


def test_window_shows_the_whole_passage_when_it_fits():
    a = TEXT.index("to consider")
    snippet = window(TEXT, (a, len(TEXT)), 140)
    assert str(snippet).endswith("not less than 10 years.") and str(snippet).startswith("…")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab cd,;. "), max_size=400), st.integers(10, 200), st.data())
def test_window_cuts_at_word_boundaries_and_keeps_its_width(text, width, data):
    a = data.draw(st.integers(0, len(text)))
    b = data.draw(st.integers(a, len(text)))
    snippet = window(text, (a, b), width)
    assert 0 <= snippet.start <= snippet.end <= len(text)
    assert snippet.end - snippet.start <= max(width, 0) or len(text) <= width
    if snippet.cut_before and snippet.start <= a:
        assert a <= snippet.start + width, "the passage's start is in the window"
    if snippet.cut_before and any(c.isspace() for c in text[snippet.start : a]):  # a word boundary was there
        assert text[snippet.start - 1].isspace()


def test_mark_wraps_each_span_once():
    assert mark("import marking rules", [(7, 14), (0, 6), (3, 9)]) == "«import» «marking» rules"
