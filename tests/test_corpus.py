from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from semsearch.corpus import (
    Section,
    content_signature,
    load_corpus,
    parse_text,
    read_document,
    source_lines,
)
from semsearch.errors import CorpusError

from .conftest import CORPUS_FILE

# Meeting of every paragraph, read by hand from the headings (ordinal word and date, not the letter).
EXPECTED_MEETINGS = {
    (1, 5): None,
    (6, 6): 1,
    (7, 8): 2,
    (9, 9): 3,
    (10, 15): 4,  # II
    (16, 19): 1,
    (20, 21): 2,
    (22, 23): 3,
    (24, 29): 4,  # III
    (30, 31): 1,
    (32, 33): 2,
    (34, 34): 3,
    (35, 36): 4,  # IV, its D heading reads "Adopted by …"
    (37, 42): 1,
    (43, 43): 2,
    (44, 44): 3,
    (45, 56): 4,  # V manufacturing; marking, record-keeping, tracing
    (57, 60): 1,
    (61, 61): 2,
    (62, 62): 4,  # V licensing: its "C." heading is the fourth meeting
    (63, 63): 1,  # VI
    (64, 67): 1,
    (68, 70): 2,
    (71, 72): 4,  # VII: "C." is the fourth meeting
    (73, 75): 1,
    (76, 77): 2,
    (78, 78): 3,
    (79, 84): 4,  # VIII
    (85, 87): 2,
    (88, 98): 3,
    (99, 102): 4,  # IX starts at the second meeting under "A."
    (103, 111): 1,
    (112, 116): 2,
    (117, 122): 3,
    (123, 139): 4,  # X
    (140, 142): 1,
    (143, 144): 2,
    (145, 146): 3,
    (147, 149): 4,  # XI
    (150, 151): 1,
    (152, 155): 2,
    (156, 157): 3,
    (158, 166): 4,  # XII
}
MEETING_YEARS = {1: 2012, 2: 2014, 3: 2015, 4: 2016}
SECTION_STARTS = {
    1: "I",
    6: "II",
    16: "III",
    30: "IV",
    37: "V",
    63: "VI",
    64: "VII",
    73: "VIII",
    85: "IX",
    103: "X",
    140: "XI",
    150: "XII",
}
# Paragraphs cut by a page break, with words on both sides of the break.
JOINED = {
    4: "themes of the Protocol, and indicated that such work",
    19: "the features of the Firearms Protocol, including information on the relationship",
    52: "paragraph 1 (b) of the Protocol; the Conference may further wish",
    73: "that would enable them to prevent, combat and eradicate",
    80: "trafficking in firearms and ammunition. The Conference may also wish",
    94: "between Member States and the availability of data,",
    99: "suspected of being connected to illicit activities, with a view",
    131: "the Conference may wish to invite UNODC",
    145: "in investigating and prosecuting their illicit manufacturing",
    158: "subregional and regional organizations and relevant non-governmental organizations",
}


@pytest.fixture(scope="module")
def document():
    return read_document(CORPUS_FILE)


def test_all_166_paragraphs_in_order(document):
    assert [p.number for p in document.paragraphs] == [str(n) for n in range(1, 167)]
    assert document.doc == "firearms-working-group-consolidated-recommendations-2016"


def test_every_meeting_attribution(document):
    by_number = {int(p.number): p for p in document.paragraphs}
    for (first, last), ordinal in EXPECTED_MEETINGS.items():
        for number in range(first, last + 1):
            meeting = by_number[number].meeting
            if ordinal is None:
                assert meeting is None, number
            else:
                assert meeting is not None and meeting.ordinal == ordinal, number
                assert meeting.year == MEETING_YEARS[ordinal], number
    assert sum(last - first + 1 for first, last in EXPECTED_MEETINGS) == 166


def test_meeting_dates_read_from_headings(document):
    by_number = {int(p.number): p for p in document.paragraphs}
    assert by_number[6].meeting.date == "21 and 22 May 2012"
    assert by_number[30].meeting.date == "21 to 22 May 2012"
    assert by_number[7].meeting.date == "26 to 28 May 2014"
    assert by_number[9].meeting.date == "9 June 2015"
    assert str(by_number[62].meeting) == "4th (2016)"
    assert by_number[6].meeting == by_number[30].meeting, "one meeting, whatever its date's wording"


def test_sections_and_subthemes(document):
    numerals = [p.section.numeral for p in document.paragraphs]
    for start, numeral in SECTION_STARTS.items():
        assert numerals[start - 1] == numeral
        if start > 1:
            assert numerals[start - 2] != numeral
    by_number = {int(p.number): p for p in document.paragraphs}
    assert by_number[37].subtheme == "Manufacturing of Firearms"
    assert by_number[38].subtheme == "Marking, Record-Keeping and Tracing of Firearms"
    assert by_number[57].subtheme.startswith("General Requirements for Export")
    assert by_number[63].subtheme is None
    assert by_number[36].section == Section(
        "IV", "Recommendations in the area of Strengthening National Legislation on Firearms"
    )
    assert by_number[36].section.short == "IV. Strengthening National Legislation on Firearms"


def test_page_break_paragraphs_joined(document):
    by_number = {int(p.number): p for p in document.paragraphs}
    for number, phrase in JOINED.items():
        paragraph = by_number[number]
        assert phrase in paragraph.text, number
        assert paragraph.lines[1] > paragraph.lines[0], number
    single_line = [p for p in document.paragraphs if p.lines[0] == p.lines[1]]
    assert len(single_line) == 166 - len(JOINED)


def test_footnotes_removed_from_text_and_attached(document):
    by_number = {int(p.number): p for p in document.paragraphs}
    assert by_number[4].text.endswith("conference room paper.")
    assert by_number[4].footnotes[0].startswith("Report on the meeting of the Working Group")
    assert by_number[94].footnotes[0].startswith("This paragraph refers to recommendation 93")
    assert "¹" not in "".join(p.text for p in document.paragraphs)
    assert "CTOC/COP/2016/1." not in " ".join(by_number[99].text.split())
    with_footnotes = sorted(n for n, p in by_number.items() if p.footnotes)
    assert with_footnotes == [4, 19, 85, 94, 104]


def test_emphasis_removed(document):
    by_number = {int(p.number): p for p in document.paragraphs}
    assert "use of the Legislative Guides for the Implementation" in by_number[36].text
    assert "*" not in "".join(p.text for p in document.paragraphs)
    assert "inter alia by promoting" in by_number[118].text


def test_front_matter_and_glued_headings(document):
    assert "Note by the Secretariat" in document.front_matter.splitlines()
    assert "28 September 2016" in document.front_matter
    headings = [p.text for p in document.pieces if p.role == "heading"]
    assert headings[0] == "I. Introduction"


def test_nothing_lost_rebuilds_every_line(document):
    lines = source_lines(CORPUS_FILE.read_text(encoding="utf-8"))
    pieces_by_line: dict[int, list[str]] = {}
    for piece in document.pieces:
        pieces_by_line.setdefault(piece.line, []).append(piece.text)
    for number, line in enumerate(lines, start=1):
        if line.strip():
            assert content_signature("".join(pieces_by_line[number])) == content_signature(line), number
        else:
            assert number not in pieces_by_line
    rebuilt = {
        p.number: " ".join(
            x.text for x in document.pieces if x.role == "paragraph" and p.lines[0] <= x.line <= p.lines[1]
        )
        for p in document.paragraphs
    }
    for paragraph in document.paragraphs:
        printed = content_signature(rebuilt[paragraph.number])
        assert printed == content_signature(f"{paragraph.number}.{paragraph.text}")


def test_sub_numbered_paragraphs_and_lettered_items():
    text = (
        "115. The Conference:\n(a) may wish to act;\n(b) may wish to report.\n\n"
        "115.1 First sub.\n\n115.2 Second sub\ncontinued.\n\n116. Next one.\n"
    )
    paragraphs, _ = parse_text(text)
    assert [p.number for p in paragraphs] == ["115", "115.1", "115.2", "116"]
    assert paragraphs[0].text == "The Conference: (a) may wish to act; (b) may wish to report."
    assert paragraphs[2].text == "Second sub continued."


def test_document_without_meeting_headings():
    text = "I. Scope\n\n1. First paragraph.\n\n2. Second paragraph.\n\nII. Other\n\n3. Third paragraph.\n"
    paragraphs, _ = parse_text(text, "plain")
    assert [(p.number, p.section.numeral, p.meeting) for p in paragraphs] == [
        ("1", "I", None),
        ("2", "I", None),
        ("3", "II", None),
    ]


def test_lettered_sections_are_not_mistaken_for_roman_numerals():
    text = "I. Scope\n\nA. Background\n\n1. One.\n\nC. Costs\n\n2. Two.\n\nII. Next\n\n3. Three.\n"
    paragraphs, _ = parse_text(text)
    assert [(p.section.numeral, p.subtheme) for p in paragraphs] == [("I", "Background"), ("I", "Costs"), ("II", None)]


def test_unnumbered_markdown_uses_blocks():
    text = "# Title\n\nIntro text.\n\n## Part\n\nA block\nwrapped.\n\nAnother block.\n"
    paragraphs, _ = parse_text(text, "md")
    assert [(p.number, p.section.title, p.text) for p in paragraphs] == [
        ("1", "Title", "Intro text."),
        ("2", "Part", "A block wrapped."),
        ("3", "Part", "Another block."),
    ]


def test_directory_gives_distinct_doc_ids(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "note.txt").write_text("1. One.\n\n2. Two.\n", encoding="utf-8")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "note.md").write_text("Just a block.\n", encoding="utf-8")
    (tmp_path / "ignored.pdf").write_bytes(b"%PDF")
    corpus = load_corpus([tmp_path])
    assert [d.doc for d in corpus.documents] == ["a/note", "b/note"]
    assert corpus.find("2", doc="a/note").text == "Two."
    with pytest.raises(CorpusError, match="several documents"):
        corpus.find("1")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"  \n\n", "empty"),
        (b"\x89PNG\x00\x00binary", "binary"),
        (b"caf\xe9 au lait\n", "not UTF-8"),
    ],
)
def test_bad_files_named_explicitly_are_errors(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(CorpusError, match=message) as error:
        load_corpus([path])
    assert str(path) in str(error.value) and "\n" not in str(error.value)


def test_missing_path_and_empty_directory(tmp_path):
    with pytest.raises(CorpusError, match="no such file"):
        load_corpus([tmp_path / "nope.txt"])
    with pytest.raises(CorpusError, match="no readable documents"):
        load_corpus([tmp_path])


def test_bad_files_in_a_directory_are_skipped_and_reported(tmp_path):
    (tmp_path / "good.txt").write_text("1. One.\n\n2. Two.\n", encoding="utf-8")
    (tmp_path / "latin.txt").write_bytes(b"caf\xe9\n")
    (tmp_path / "nul.txt").write_bytes(b"a\x00b")
    os.symlink(tmp_path, tmp_path / "loop")
    corpus = load_corpus([tmp_path], max_bytes=1024)
    assert [d.doc for d in corpus.documents] == ["good"]
    reasons = {Path(s.path).name: s.reason for s in corpus.skipped}
    assert "not UTF-8" in reasons["latin.txt"] and "binary" in reasons["nul.txt"]
    assert "not followed" in reasons["loop"]


def test_huge_file_is_refused(tmp_path):
    path = tmp_path / "huge.txt"
    path.write_text("1. x\n" * 1000, encoding="utf-8")
    with pytest.raises(CorpusError, match="larger than"):
        load_corpus([path], max_bytes=1000)


lines = st.one_of(
    st.text(max_size=80),
    st.sampled_from(
        [
            "",
            "II. General",
            "A. Recommendations adopted at its second meeting, held on 9 June 2015",
            "12. The Conference may wish to urge States.",
            "12.3 Sub item",
            "(a) lettered",
            "¹ Footnote text.",
            "* Star footnote",
            "Heading Words",
            "**Bold** and *em*",
            "text¹ with mark*",
            "# Markdown",
            "continues here without end",
            "3. ",
            "I. **Intro**",
            "x****y",
        ]
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(lines, max_size=30), st.sampled_from(["\n", "\r\n", "\r"]))
def test_parser_never_crashes_or_drops_text(chunks, newline):
    text = newline.join(chunks)
    paragraphs, pieces = parse_text(text)
    assert content_signature("".join(p.text for p in pieces)) == content_signature(text)
    assert all(p.text.strip() for p in paragraphs)
    assert len({p.number for p in paragraphs}) == len(paragraphs)


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_parser_on_arbitrary_text(text):
    _, pieces = parse_text(text)
    assert content_signature("".join(p.text for p in pieces)) == content_signature(text)


def test_numbering_runs_past_9999():
    text = "\n\n".join(f"{n}. The Conference may wish to adopt recommendation {n}." for n in range(1, 10_051))
    paragraphs, _ = parse_text(text)
    assert len(paragraphs) == 10_050 and paragraphs[-1].number == "10050"
    assert paragraphs[-1].text == "The Conference may wish to adopt recommendation 10050."


def test_a_run_on_paragraph_keeps_every_line():
    # Thousands of unfinished lines glued into one paragraph (the parser judges each join on the last line only).
    lines = [f"clause {n} of a very long recommendation without a full stop" for n in range(3000)]
    paragraphs, _ = parse_text("1. Opening words\n" + "\n".join(lines) + ".\n")
    assert len(paragraphs) == 1 and paragraphs[0].text.endswith(
        "clause 2999 of a very long recommendation without a full stop."
    )
    assert paragraphs[0].text.count("clause") == 3000


def _numbered(text: str) -> str:
    return f"1. {text} first.\n\n2. {text} second.\n"


def test_colliding_stems_get_distinct_ids_that_keep(tmp_path):
    for name in ("a.md", "a.txt", "a-2.txt"):
        (tmp_path / name).write_text(_numbered(name), encoding="utf-8")
    corpus = load_corpus([tmp_path])
    assert sorted(d.doc for d in corpus.documents) == ["a-2", "a.md", "a.txt"]
    assert {p.doc for p in corpus.paragraphs} == {"a-2", "a.md", "a.txt"}
    assert [d.doc for d in load_corpus([tmp_path]).documents] == [d.doc for d in corpus.documents]
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "a-2.txt").write_text(_numbered("again"), encoding="utf-8")
    twice = load_corpus([tmp_path / "a-2.txt", tmp_path / "other" / "a-2.txt"])
    assert [d.doc for d in twice.documents] == ["a-2", "a-2-2"]


def test_a_file_symlink_out_of_the_corpus_is_skipped(tmp_path):
    outside = tmp_path / "private.txt"
    outside.write_text(_numbered("private"), encoding="utf-8")
    corpus_dir = tmp_path / "corpus"
    corpus_dir.mkdir()
    (corpus_dir / "a.txt").write_text(_numbered("public"), encoding="utf-8")
    (corpus_dir / "p.txt").symlink_to(outside)
    (corpus_dir / "inside.txt").symlink_to(corpus_dir / "a.txt")
    corpus = load_corpus([corpus_dir])
    assert sorted(d.doc for d in corpus.documents) == ["a", "inside"]
    (skipped,) = corpus.skipped
    assert skipped.path.endswith("p.txt") and "outside the corpus" in skipped.reason


def test_a_very_deep_tree_is_walked_without_recursion(tmp_path):
    chain = [tmp_path.joinpath(*["d"] * depth) for depth in range(1, 1101)]
    for directory in chain:  # Path.mkdir(parents=True) and shutil.rmtree would recurse themselves
        directory.mkdir()
    deepest = chain[-1]
    (tmp_path / "top.txt").write_text(_numbered("top"), encoding="utf-8")
    (tmp_path.joinpath(*["d"] * 150) / "mid.txt").write_text(_numbered("mid"), encoding="utf-8")
    (deepest / "bottom.txt").write_text(_numbered("bottom"), encoding="utf-8")
    corpus = load_corpus([tmp_path])
    assert [d.doc.rsplit("/", 1)[-1] for d in corpus.documents] == ["top", "mid"]
    (skipped,) = corpus.skipped
    assert "more than 200 directories deep" in skipped.reason
    (deepest / "bottom.txt").unlink()
    (chain[149] / "mid.txt").unlink()
    for directory in reversed(chain):
        directory.rmdir()


def test_a_file_name_that_is_not_utf8_is_kept_and_shown_escaped(tmp_path):
    name = os.fsdecode(b"caf\xe9.txt")
    (tmp_path / name).write_text(_numbered("latin"), encoding="utf-8")
    (tmp_path / os.fsdecode(b"bad\xff.png.txt")).write_bytes(b"\xff\xfe not text")
    corpus = load_corpus([tmp_path])
    (document,) = corpus.documents
    assert document.doc == "caf\\xe9" and document.source == str(tmp_path / name)
    assert corpus.skipped[0].path.endswith(os.fsdecode(b"bad\xff.png.txt"))
