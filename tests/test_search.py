from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from semsearch.corpus import load_corpus
from semsearch.errors import QueryError
from semsearch.evaluation import load_queries, ndcg_at, recall_at, reciprocal_rank
from semsearch.search import MAX_QUERY_CHARS, Filters, Searcher, meeting_ordinals, neighbours_of

from .conftest import CORPUS_FILE, DATA


@pytest.fixture(scope="module")
def searcher(index):
    return Searcher(index)


def numbers(result) -> list[str]:
    return [h.paragraph.number for h in result.hits]


def test_import_marking_finds_the_import_marking_paragraphs(searcher):
    result = searcher.search("import marking", k=5)
    assert {"39", "52", "107"} <= set(numbers(result)[:4])
    assert [h.rank for h in result.hits] == [1, 2, 3, 4, 5]
    assert all(a.score >= b.score for a, b in zip(result.hits, result.hits[1:], strict=False))
    top = result.hits[0]
    assert any(top.paragraph.text[a:b].lower().startswith("mark") for a, b in top.highlights)


@pytest.mark.parametrize("mode", ["dense", "lexical", "hybrid"])
def test_every_mode_answers(searcher, mode):
    result = searcher.search("ballistic imaging", k=3, mode=mode)
    assert numbers(result)[0] == "71"
    assert len(result.hits) == (2 if mode == "lexical" else 3)  # only ¶69 and ¶71 say "ballistic"


def test_lexical_mode_lists_only_paragraphs_sharing_a_word(searcher):
    result = searcher.search("stamping", k=10, mode="lexical")
    assert numbers(result) == ["53"]


def test_reworded_query_found_by_meaning(searcher):
    assert "166" in numbers(searcher.search("women and guns", k=3))


def test_filters_apply_before_ranking(searcher):
    result = searcher.search("marking", k=10, filters=Filters(sections=("V",), meetings=(1,)))
    assert len(result.hits) == 10
    assert all(h.paragraph.section.numeral == "V" and h.paragraph.meeting.ordinal == 1 for h in result.hits)
    few = searcher.search("marking", k=10, filters=Filters(sections=("VI",)))
    assert numbers(few) == ["63"]
    by_words = searcher.search("seized weapons", k=3, filters=Filters(sections=("confiscation",)))
    assert numbers(by_words) == ["63"]


def test_filter_matching_nothing_returns_no_results(searcher):
    result = searcher.search("marking", filters=Filters(sections=("VI",), meetings=(4,)))
    assert result.hits == [] and "no paragraph matches" in result.notes[0]


def test_unknown_filter_values_list_the_valid_ones(searcher, index):
    with pytest.raises(QueryError, match="valid sections: I, II, III"):
        searcher.search("x", filters=Filters(sections=("XL",)))
    with pytest.raises(QueryError, match="valid values: 1, 2, 3, 4"):
        searcher.search("x", filters=Filters(meetings=(9,)))
    with pytest.raises(QueryError, match="unknown document"):
        searcher.search("x", filters=Filters(docs=("nope",)))
    with pytest.raises(QueryError, match="valid meetings: 1 \\(2012\\)"):
        meeting_ordinals(["1999"], index.paragraphs)
    assert meeting_ordinals(["2014", "third", "4th"], index.paragraphs) == (2, 3, 4)


@pytest.mark.parametrize("query", ["", "   ", "\t\n", "\x1b\x07\x00"])
def test_empty_queries_are_refused(searcher, query):
    with pytest.raises(QueryError, match="empty"):
        searcher.search(query)


@pytest.mark.parametrize(
    "query", ["Огнестрельное оружие", "枪支标记", "🔫🔫 marking", "mark\x00ing\x1b[2J", "a" * 3, "of the to and"]
)
def test_odd_queries_do_not_crash(searcher, query):
    result = searcher.search(query, k=3)
    assert len(result.hits) == 3


def test_long_query_is_truncated_and_says_so(searcher):
    result = searcher.search("marking " * 2000, k=2)
    assert result.truncated and "truncated" in result.notes[0]
    assert len(result.query) == MAX_QUERY_CHARS


def test_json_shape(searcher):
    data = searcher.search("import marking", k=2).to_dict()
    assert data["query"] == "import marking"
    assert set(data["results"][0]) >= {"rank", "score", "doc", "number", "section", "subtheme", "meeting", "text"}
    assert isinstance(data["results"][0]["number"], str)


def test_neighbours_exclude_the_paragraph_itself(index):
    paragraph = next(p for p in index.paragraphs if p.number == "16")
    near = neighbours_of(index, paragraph, 3)
    assert paragraph.key not in {p.key for p, _ in near}
    assert near[0][0].number in {"20", "22"} and near[0][1] > 0.95


def test_metrics():
    relevant = {"1": 2, "2": 1}
    assert ndcg_at(["1", "2"], relevant, 10) == pytest.approx(1.0)
    assert ndcg_at(["2", "1"], relevant, 10) < 1.0
    assert reciprocal_rank(["9", "2"], relevant) == 0.5
    assert recall_at(["1", "9"], relevant, 10) == 0.5


def test_labelled_query_set_is_well_formed():
    queries = load_queries(DATA / "queries.jsonl")
    assert len(queries) >= 30 and sum(q.reworded for q in queries) >= 10
    assert all(q.relevant and set(q.relevant.values()) <= {1, 2} for q in queries)


MEETING_FORMS = {1: (1, "1", "1st", "first", 2012), 2: (2, "2nd", "second", "2014", 2014), 3: (3, "3rd", 2015),
                 4: ("4", "fourth", 2016)}  # fmt: skip
NUMERALS = ["II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII"]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.sampled_from(NUMERALS), min_size=1, max_size=3, unique=True),
    st.lists(st.sampled_from(sorted(MEETING_FORMS)), min_size=1, max_size=2, unique=True),
    st.data(),
)
def test_filters_take_one_value_or_a_sequence_in_any_form(numerals, ordinals, data):
    paragraphs = load_corpus([CORPUS_FILE]).paragraphs
    meetings = [data.draw(st.sampled_from(MEETING_FORMS[o])) for o in ordinals]
    shape = data.draw(st.sampled_from([tuple, list, "bare"]))

    def shaped(values):
        return values[0] if shape == "bare" and len(values) == 1 else (list(values) if shape is list else tuple(values))

    rows = Filters(sections=shaped(numerals), meetings=shaped(meetings)).allowed(paragraphs)
    expected = [
        i for i, p in enumerate(paragraphs)
        if p.section and p.section.numeral in numerals and p.meeting and p.meeting.ordinal in ordinals
    ]  # fmt: skip
    assert rows.tolist() == expected


def test_a_section_string_is_one_value_not_its_letters():
    paragraphs = load_corpus([CORPUS_FILE]).paragraphs
    rows = Filters(sections="XII").allowed(paragraphs)
    assert {paragraphs[i].section.numeral for i in rows} == {"XII"} and len(rows) == 17


@pytest.mark.parametrize("bad", [2.5, None, {"V": 1}, [b"V"], [True], object()])
def test_filters_of_the_wrong_type_name_the_expected_form(bad):
    with pytest.raises(QueryError, match=r"Filters\(meetings=…\) takes an ordinal"):
        Filters(meetings=bad)


def test_records_are_flat_and_name_the_query(searcher):
    result = searcher.search("how long must records be kept?", k=3)
    records = result.to_records()
    assert [r["rank"] for r in records] == [1, 2, 3]
    assert all(not isinstance(v, dict | list | tuple) for r in records for v in r.values())
    assert records[0]["query"] == "how long must records be kept?" and records[0]["meeting_year"] in (2012, 2014)


def test_dir_lists_the_lazy_public_api():
    import semsearch

    assert {"Searcher", "Filters", "build_index", "find_duplicates", "load_corpus"} <= set(dir(semsearch))


@pytest.mark.parametrize("mode", ["dense", "lexical", "hybrid"])
def test_every_mode_scores_on_zero_to_one_and_marks_weak_hits(searcher, mode):
    from semsearch.search import WEAK_BELOW

    result = searcher.search("work of the working group", k=20, mode=mode)
    assert all(0.0 <= h.score <= 1.0 for h in result.hits)
    assert all(h.weak == (h.score < WEAK_BELOW[mode]) for h in result.hits)
    assert result.to_dict()["score"] == result.scale and result.to_dict()["weak_below"] == WEAK_BELOW[mode]
