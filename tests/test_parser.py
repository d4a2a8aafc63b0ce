"""The parser on its own: numbering chosen as the longest plausible sequence, sub-numbers and restarts, annexes,
unnumbered blocks, and a property test over arbitrary lines as any reader could lay them out."""

from __future__ import annotations

from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from semsearch.document import content_signature
from semsearch.parser import parse_layout, parse_text
from semsearch.readers import Layout, Line


def numbers_and_texts(text: str) -> list[tuple[str, str]]:
    paragraphs, _ = parse_text(text)
    return [(p.number, p.text) for p in paragraphs]


def numbers(text: str) -> list[str]:
    return [number for number, _ in numbers_and_texts(text)]


def test_a_misprinted_number_does_not_swallow_what_follows():
    text = "I. Scope\n\n1. One.\n\n2. Two.\n\n3. Three.\n\n40. Misprinted four.\n\n5. Five.\n\n6. Six.\n\n7. Seven.\n"
    found = numbers_and_texts(text)
    assert [n for n, _ in found] == ["1", "2", "3", "5", "6", "7"]
    assert dict(found)["7"] == "Seven."
    assert "Misprinted four." in " ".join(t for _, t in found)  # kept, though not as paragraph 40


def test_a_repeated_number_is_not_a_new_paragraph():
    text = "I. Scope\n\n1. One.\n\n2. Two.\n\n3. Three.\n\n3. Misprinted four.\n\n5. Five.\n\n6. Six.\n"
    assert numbers(text) == ["1", "2", "3", "5", "6"]


def test_a_year_wrapped_to_a_line_start_is_not_a_paragraph():
    text = (
        "I. Scope\n\n1. The Council adopted resolution 62/1 in December\n2008. It was welcomed by all.\n\n"
        "2. Second paragraph.\n\n3. Third paragraph.\n"
    )
    found = dict(numbers_and_texts(text))
    assert list(found) == ["1", "2", "3"]
    assert found["1"] == "The Council adopted resolution 62/1 in December 2008. It was welcomed by all."


def test_a_number_alone_on_its_line_opens_a_paragraph():
    text = "I. Scope\n\n11. Eleven.\n\n12.\nThe twelfth paragraph text\ncontinues here.\n\n13. Thirteen.\n"
    assert numbers_and_texts(text) == [
        ("11", "Eleven."),
        ("12", "The twelfth paragraph text continues here."),
        ("13", "Thirteen."),
    ]


def test_a_list_restarting_at_one_inside_a_paragraph_numbers_under_it():
    text = (
        "I. Scope\n\n7. The Conference recommends:\n1. first thing;\n2. second thing;\n3. third thing.\n\n"
        "8. Eight.\n\n9. Nine.\n"
    )
    found = dict(numbers_and_texts(text))
    assert list(found) == ["7", "7.1", "7.2", "7.3", "8", "9"]
    assert found["7"] == "The Conference recommends:" and found["7.2"] == "second thing;"


def test_sub_numbers_open_after_a_line_without_full_stop():
    text = (
        "I. Scope\n\n92. The following recommendations will be examined:\n"
        "92.1 Ratify the Convention (Norway)\n92.2 Strengthen the national institution in line with the\n"
        "Paris Principles (Ghana)\n92.3 Adopt the plan (Chile)\n\n93. Next paragraph.\n"
    )
    found = dict(numbers_and_texts(text))
    assert list(found) == ["92", "92.1", "92.2", "92.3", "93"]
    assert found["92.2"] == "Strengthen the national institution in line with the Paris Principles (Ghana)"


def test_sub_numbers_after_a_paragraph_number():
    text = "I. Scope\n\n119. A.\n\n120. The Government accepts:\n120.1 first;\n120.2 second.\n\n121. Next.\n"
    assert numbers(text) == ["119", "120", "120.1", "120.2", "121"]


def test_annexes_number_apart():
    text = (
        "I. Scope\n\n1. One.\n\n2. Two.\n\n3. Three.\n\nAnnex I\n\n1. Annex one.\n\n2. Annex two.\n\n"
        "Annex II\n\n1. Second annex one.\n\n2. Second annex two.\n"
    )
    found = dict(numbers_and_texts(text))
    assert list(found) == ["1", "2", "3", "annex I 1", "annex I 2", "annex II 1", "annex II 2"]
    assert found["annex II 1"] == "Second annex one."
    paragraphs, _ = parse_text(text)
    assert str(paragraphs[-1].section) == "Annex II"


def test_unlabelled_annexes_number_apart_and_stay_unique():
    text = "I. Scope\n\n1. One.\n\n2. Two.\n\nAnnex\n\n1. Annex one.\n\n2. Annex two.\n\nAnnex\n\n1. B one.\n"
    found = numbers(text)
    assert found[:4] == ["1", "2", "annex 1", "annex 2"]
    assert len(found) == 5 and len(set(found)) == 5 and found[4].startswith("annex ")


def test_an_annex_mentioned_in_a_sentence_is_not_an_annex():
    text = "I. Scope\n\n1. The report is contained in the\nannex to the present note.\n\n2. Two.\n\n3. Three.\n"
    assert numbers(text) == ["1", "2", "3"]


def test_introduction_heading_before_paragraph_one_is_its_section():
    text = "Report of the Working Group\n\nIntroduction\n\n1. One.\n\n2. Two.\n\nI. Summary\n\n3. Three.\n"
    paragraphs, pieces = parse_text(text)
    assert [str(p.section) for p in paragraphs] == ["Introduction", "Introduction", "I. Summary"]
    assert [p.text for p in pieces if p.role == "heading"] == ["Introduction", "I. Summary"]
    assert [p.text for p in pieces if p.role == "front"] == ["Report of the Working Group"]


def test_hyphen_kept_where_the_document_spells_the_word_with_one():
    text = (
        "I. Scope\n\n1. The non-governmental organizations met the self-\nemployed and the well-\n"
        "being of all was consid-\nered; non-\ngovernmental bodies agreed.\n\n2. Self-employed persons spoke.\n"
    )
    found = dict(numbers_and_texts(text))
    assert found["1"] == (
        "The non-governmental organizations met the self-employed and the wellbeing of all was considered; "
        "non-governmental bodies agreed."
    )


def test_meta_from_front_matter():
    text = (
        "United Nations A/HRC/23/3\n\nDistr.: General\n4 April 2013\n\n"
        "Report of the Working Group on the Universal Periodic Review\n\nI. Scope\n\n1. One.\n\n2. Two.\n"
    )
    from semsearch.readers.text import layout_of

    _, _, meta = parse_layout(layout_of(text))
    assert meta.symbol == "A/HRC/23/3" and meta.date == "4 April 2013"
    assert meta.title == "Report of the Working Group on the Universal Periodic Review"


# ---------------------------------------------------------------------------------------------------------------
# Unnumbered blocks, keyed "N+k", where a format says what a block is (Word, HTML, AKN, table rows)


def block_layout(blocks: list[tuple[str, str | None]]) -> Layout:
    """Blocks as a markup reader gives them: (text, number) - a numbered paragraph, or an unnumbered one."""
    lines: list[Line] = [Line("I. Scope", "heading", level=1), Line("", "blank")]
    for text, number in blocks:
        lines += [Line(text, "paragraph", number) if number else Line(text, "text"), Line("", "blank")]
    return Layout(tuple(lines), blocks=True)


BLOCKS = [
    ("One.", "1"),
    ("Unnumbered block one.", None),
    ("Unnumbered block two.", None),
    ("Two.", "2"),
    ("Unnumbered after two.", None),
    ("Three.", "3"),
    ("Unnumbered after three.", None),
]


def keys(blocks) -> dict[str, str]:
    paragraphs, _, _ = parse_layout(block_layout(blocks))
    return {p.number: p.text for p in paragraphs}


def test_unnumbered_blocks_are_keyed_after_the_last_numbered_paragraph():
    assert keys(BLOCKS) == {
        "1": "One.",
        "1+1": "Unnumbered block one.",
        "1+2": "Unnumbered block two.",
        "2": "Two.",
        "2+1": "Unnumbered after two.",
        "3": "Three.",
        "3+1": "Unnumbered after three.",
    }


def test_unnumbered_keys_stable_when_a_later_paragraph_is_edited_or_added():
    before = keys(BLOCKS)
    edited = [*BLOCKS]
    edited[5] = ("Three, now rewritten at much greater length.", "3")
    edited.insert(6, ("A new unnumbered block after three.", None))
    edited.append(("Four.", "4"))
    after = keys(edited)
    for key in ("1", "1+1", "1+2", "2", "2+1"):
        assert after[key] == before[key], key
    assert after["3+1"] == "A new unnumbered block after three." and after["3+2"] == "Unnumbered after three."


def test_unnumbered_blocks_in_plain_text_after_a_heading():
    text = "I. Scope\n\n1. One.\n\nB. A sub-heading\n\nText under the sub-heading.\n\n2. Two.\n"
    assert numbers_and_texts(text) == [("1", "One."), ("1+1", "Text under the sub-heading."), ("2", "Two.")]


def test_a_number_printed_twice_by_markup_stays_unique():
    blocks = [("Alpha.", "1"), ("Beta.", "2"), ("Gamma.", "1"), ("Delta.", "2")]
    found = list(keys(blocks))
    assert len(set(found)) == 4 and found[:2] == ["1", "2"]


def test_a_lettered_markup_section_then_a_roman_line_does_not_crash():
    layout = Layout((Line("A. Background", "heading", level=1), Line("I. Scope"), Line("1. One."), Line("2. Two.")))
    paragraphs, _, _ = parse_layout(layout)
    assert [p.number for p in paragraphs] == ["1", "2"]


def test_an_item_letter_alone_at_a_page_end_is_not_glued_to_a_footnote():
    layout = Layout(
        (
            Line("I. Scope", page=1),
            Line("1. The State should:", page=1),
            Line("(a)", page=1),
            Line("\u00b9 See the report.", "footnote", page=1),
            Line("", "blank", page=1),
            Line("ratify the Convention.", page=2),
            Line("2. Two.", page=2),
        ),
        paged=True,
    )
    paragraphs, pieces, _ = parse_layout(layout)
    assert [p.text for p in pieces if p.role == "footnote"] == ["\u00b9 See the report."]
    assert "(a)" in paragraphs[0].text and all("(a)" not in note for note in paragraphs[0].footnotes)


# ---------------------------------------------------------------------------------------------------------------
# Property: any lines, as any reader could lay them out

TEXTS = st.one_of(
    st.text(max_size=60),
    st.sampled_from(
        [
            "I. Introduction",
            "II. Recommendations",
            "A. Recommendations adopted at its second meeting, held on 9 June 2015",
            "Introduction",
            "Annex",
            "Annex II",
            "1.",
            "12.",
            "II.",
            "B.",
            "(a)",
            "1. One.",
            "2. The Council decides",
            "3. Three.",
            "2008. It was welcomed.",
            "92.1 Ratify the Convention (Norway)",
            "92.2 Strengthen it",
            "(a) lettered point;",
            "continues in lower case",
            "non-",
            "consid-",
            "governmental bodies.",
            "¹ A footnote.",
            "* Star footnote",
            "text¹ with a mark*",
            "A/HRC/23/3",
            "GE.13-12484",
            "3",
            "Page 4",
            "Contents",
            "Introduction . . . . . . . . . 1-4 3",
            "- a bullet",
            "**Bold** I. Glued**",
            "Country | Visits",
        ]
    ),
)
KINDS = st.sampled_from(["text", "text", "text", "heading", "paragraph", "item", "row", "footnote", "front", "blank"])
NUMBERS = st.one_of(st.none(), st.sampled_from(["1", "2", "2", "7(a)", "preamble 1", "12.3", "annex 1"]))


@st.composite
def layouts(draw) -> Layout:
    paged = draw(st.booleans())
    blocks = draw(st.booleans())
    page = 1 if paged else 0
    lines = []
    for _ in range(draw(st.integers(0, 40))):
        if paged and draw(st.integers(0, 7)) == 0:
            page += 1
        kind = draw(KINDS)
        text = "" if kind == "blank" else draw(TEXTS)
        number = draw(NUMBERS) if kind in ("paragraph", "item") else None
        level = draw(st.integers(0, 3)) if kind == "heading" else 0
        lines.append(Line(text, kind, number, level, page))
    return Layout(tuple(lines), paged=paged, blocks=blocks)


@settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(layouts())
def test_parse_layout_never_crashes_loses_text_or_repeats_a_number(layout):
    paragraphs, pieces, _ = parse_layout(layout)
    # every line's characters in the pieces, and nothing else (markup numbers are printed on their pieces)
    printed = [
        f"{line.number} {line.text}" if line.number and line.kind in ("paragraph", "item", "row") else line.text
        for line in layout.lines
        if line.kind != "blank" and line.text.strip()
    ]
    kept = Counter(content_signature("".join(p.text for p in pieces)))
    assert kept == Counter(content_signature("".join(printed)))
    assert all(p.text.strip() for p in paragraphs)
    assert len({p.number for p in paragraphs}) == len(paragraphs)
    assert all(p.lines[0] <= p.lines[1] for p in paragraphs)
