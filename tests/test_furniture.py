"""Page furniture (running headers and footers) and contents pages, on layouts built line by line."""

from __future__ import annotations

from semsearch.furniture import classify
from semsearch.parser import parse_layout
from semsearch.readers import Layout, Line

SENTENCES = [
    "The Working Group held its fifteenth session from 21 January to 1 February 2013.",
    "The delegation presented the national report and described the reforms adopted",
    "since the first review, including the establishment of an ombudsman.",
    "During the interactive dialogue, 52 delegations made statements.",
    "Several delegations welcomed the ratification of the Convention against Torture",
    "and encouraged the State to withdraw its reservations.",
    "The delegation noted that the Constitution guaranteed equality before the law",
    "and that the national human rights institution had been accredited with A status.",
    "Recommendations made during the interactive dialogue are listed in section II.",
    "The State under review expressed its appreciation to the troika.",
    "Questions submitted in advance were transmitted through the troika.",
    "The national report was prepared through broad consultations with civil society.",
]


def paged_layout(pages: list[list[str]]) -> Layout:
    lines = []
    for number, texts in enumerate(pages, start=1):
        lines += [Line(text, "text" if text else "blank", page=number) for text in texts]
        lines.append(Line("", "blank", page=number))
    return Layout(tuple(lines), paged=True)


def report_pages(count: int = 6, top: str | None = None) -> list[list[str]]:
    """Pages with a running header (the symbol), a footer (job number, page number), varied body text."""
    pages = []
    for number in range(1, count + 1):
        body = [f"{number * 3 + k}. {SENTENCES[(number + k) % len(SENTENCES)]}" for k in range(3)]
        body += [SENTENCES[(number * 5 + k) % len(SENTENCES)] for k in range(9)]
        header = ["A/HRC/23/3", ""] if number % 2 else ["", "A/HRC/23/3"]  # odd and even pages differ
        pages.append([*([top] if top else []), *header, *body, "", "GE.13-12484", str(number)])
    return pages


def roles(layout: Layout) -> dict[str, set[str | None]]:
    found = classify(layout.lines, layout.paged)
    result: dict[str, set[str | None]] = {}
    for index, line in enumerate(layout.lines):
        if line.text:
            result.setdefault(line.text, set()).add(found.get(index))
    return result


def test_running_headers_and_footers_on_a_paged_layout():
    layout = paged_layout(report_pages(top="Advance unedited version"))
    found = roles(layout)
    for text in ("A/HRC/23/3", "GE.13-12484", "Advance unedited version", *map(str, range(1, 7))):
        assert found[text] == {"furniture"}, text
    body = {text: role for text, role in found.items() if text in SENTENCES or (text[:1].isdigit() and ". " in text)}
    assert body and all(role == {None} for role in body.values()), body


def test_paged_furniture_is_kept_as_pieces_but_never_read():
    paragraphs, pieces, meta = parse_layout(paged_layout(report_pages()))
    assert all("A/HRC" not in p.text and "GE.13" not in p.text for p in paragraphs)
    assert all(not p.text.rstrip(".").split()[-1].isdigit() for p in paragraphs)
    furniture = [p.text for p in pieces if p.role == "furniture"]
    assert furniture.count("A/HRC/23/3") == 6 and furniture.count("GE.13-12484") == 6
    assert meta.symbol == "A/HRC/23/3"


def test_a_recurring_line_of_furniture_shape_in_a_page_zone():
    # a header printed with its page number ("4 A/HRC/23/3"), differing page by page in digits only
    pages = report_pages()
    for number, page in enumerate(pages, start=1):
        page[page.index("A/HRC/23/3")] = f"{number} A/HRC/23/3" if number % 2 == 0 else f"A/HRC/23/3 {number}"
    found = roles(paged_layout(pages))
    assert found["2 A/HRC/23/3"] == {"furniture"} and found["A/HRC/23/3 5"] == {"furniture"}


def test_a_body_line_repeated_twice_on_page_tops_is_not_furniture():
    pages = report_pages()
    repeated = "The Working Group adopted the present report on 25 January 2013."
    for page in pages[1:3]:  # on two pages, right under the header
        page.insert(2, repeated)
    found = roles(paged_layout(pages))
    assert found[repeated] == {None}


def test_a_paragraph_number_alone_at_page_tops_is_not_furniture():
    pages = report_pages()
    for number, page in enumerate(pages, start=1):
        page[2:2] = [f"{40 + number}.", SENTENCES[number]]  # "41." alone on its line, its text below
    found = roles(paged_layout(pages))
    for number in range(1, 7):
        assert found[f"{40 + number}."] == {None}


def text_layout(texts: list[str]) -> Layout:
    return Layout(tuple(Line(t, "text" if t.strip() else "blank") for t in texts))


def copied_text(repeats: int) -> list[str]:
    """Text copied from a PDF: the symbol, job number and page number between paragraphs, `repeats` times."""
    texts = ["I. Scope", ""]
    for number in range(1, repeats + 1):
        texts += [f"{number}. {SENTENCES[number]}", SENTENCES[number + 1], ""]
        texts += ["GE.13-12484", str(number + 1), "", "A/HRC/23/3", ""]
    return texts


def test_unpaged_symbol_job_number_and_page_numbers_recurring_three_times_are_furniture():
    found = roles(text_layout(copied_text(3)))
    assert found["A/HRC/23/3"] == {"furniture"} and found["GE.13-12484"] == {"furniture"}
    assert found["2"] == found["3"] == found["4"] == {"furniture"}
    assert found["I. Scope"] == {None}
    assert all(found[s] == {None} for s in SENTENCES[2:5])


def test_unpaged_lines_seen_twice_are_not_furniture():
    found = roles(text_layout(copied_text(2)))
    assert found["A/HRC/23/3"] == {None} and found["GE.13-12484"] == {None}


def test_unpaged_recurring_sentence_is_not_furniture():
    texts = [*copied_text(3)]
    for _ in range(4):
        texts += ["The Working Group adopted the report.", ""]
    found = roles(text_layout(texts))
    assert found["The Working Group adopted the report."] == {None}


def test_job_number_variants_are_furniture():
    texts = ["I. Scope", ""]
    for number in range(1, 4):
        texts += [f"{number}. {SENTENCES[number]}", "", f"GE.13-1248{number} (E) 0{number}0413 0{number}0413", ""]
    found = roles(text_layout(texts))
    assert found["GE.13-12481 (E) 010413 010413"] == {"furniture"}


CONTENTS = [
    "Report of the Working Group",
    "",
    "Contents",
    "Paragraphs Page",
    "Introduction .......................................... 1-4 3",
    "I. Summary of the proceedings of the review process ... 5-60 3",
    "A. Presentation by the State under review ............ 5-20 3",
    "II. Conclusions and/or recommendations .............. 61-63 12",
    "Annex",
    "Composition of the delegation ......................... 20",
    "",
    "Introduction",
    "",
    "1. The Working Group held its session.",
    "2. The review was held on 22 January 2013.",
]


def test_contents_block_from_its_heading_to_its_last_leader_line():
    found = classify(text_layout(CONTENTS).lines, False)
    contents = sorted(i for i, role in found.items() if role == "contents")
    assert contents == list(range(2, 10))
    assert found.get(0) is None and found.get(11) is None and found.get(13) is None


def test_contents_page_is_front_matter_and_its_headings_are_not_sections():
    paragraphs, pieces, _ = parse_layout(text_layout(CONTENTS))
    assert [(p.number, str(p.section)) for p in paragraphs] == [("1", "Introduction"), ("2", "Introduction")]
    front = [p.text for p in pieces if p.role == "front"]
    assert "Contents" in front and "Annex" in front
    assert [p.text for p in pieces if p.role == "heading"] == ["Introduction"]


def test_one_dot_leader_line_in_the_body_is_not_a_contents_page():
    texts = ["I. Scope", "", "1. The form reads: Name ........ and date.", "", "2. Two.", ""]
    assert not classify(text_layout(texts).lines, False)


def test_contents_without_a_heading_start_at_the_first_leader_line():
    texts = ["Report", "", "Introduction ........ 1-4 3", "I. Scope ........ 5-9 4", "", "Introduction", ""]
    found = classify(text_layout(texts).lines, False)
    assert sorted(found) == [2, 3] and set(found.values()) == {"contents"}


def test_furniture_wins_over_contents_on_a_paged_contents_page():
    pages = report_pages(3)
    pages.insert(1, ["A/HRC/23/3", "", "Contents", *CONTENTS[3:10], "", "GE.13-12484", "2"])
    layout = paged_layout(pages)
    found = classify(layout.lines, True)
    by_text = {layout.lines[i].text: role for i, role in found.items() if layout.lines[i].page == 2}
    assert by_text["A/HRC/23/3"] == "furniture" and by_text["Contents"] == "contents"
    assert by_text["Composition of the delegation ......................... 20"] == "contents"
