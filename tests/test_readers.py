"""Document readers on documents the tests generate: a UPR-shaped PDF (fpdf2), Akoma Ntoso XML, text copied
from a PDF, 8-bit text, and the ways a file can be unreadable."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from semsearch.corpus import load_corpus, parse_text, read_document
from semsearch.errors import CorpusError
from semsearch.parser import parse_layout
from semsearch.readers import Layout, read_layout

fpdf = pytest.importorskip("fpdf")
pytest.importorskip("pypdfium2")
pytest.importorskip("lxml")

SYMBOL = "A/HRC/23/3"
JOB = "GE.13-12484"
GAP = None  # a vertical gap between blocks (before and after a heading)

# ---------------------------------------------------------------------------------------------------------------
# A UPR Working Group report, five pages: cover, contents, body across two page breaks, recommendations, annex.

COVER = [
    "United Nations                                  " + SYMBOL,
    "General Assembly                       Distr.: General",
    "4 April 2013",
    "Original: English",
    GAP,
    "Human Rights Council",
    "Twenty-third session",
    "Agenda item 6",
    "Universal Periodic Review",
    GAP,
    "Report of the Working Group on the Universal Periodic Review*",
    "Freedonia",
]
CONTENTS = [
    "Contents",
    GAP,
    "Paragraphs Page",
    "Introduction" + " ." * 40 + " 1-4 3",
    "I. Summary of the proceedings of the review process" + "." * 40 + " 5-7 3",
    "A. Presentation by the State under review" + "." * 48 + " 5-7 3",
    "II. Conclusions and/or recommendations" + " ." * 26 + " 8-9 4",
    "Annex",
    "Composition of the delegation" + " ." * 30 + " 5",
]
BODY = [
    "Introduction",
    GAP,
    "1. The Working Group on the Universal Periodic Review, established in accordance with",
    "Human Rights Council resolution 5/1, held its fifteenth session from 21 January to",
    "1 February 2013.",
    "2. The review of Freedonia was held at the 3rd meeting, on 22 January 2013, with the",
    "rapporteurs (troika) of Chile, Japan and Senegal.",
    "3. The following documents were issued for the review, including a compilation of",
    "non-governmental submissions and a national report by the Government.",
    "4. A list of questions prepared in advance was transmitted to Freedonia through the",
    "troika, together with a note on the consid-",
    "eration of non-",
    "governmental organizations.",
    GAP,
    "I. Summary of the proceedings of the review process",
    GAP,
    "A. Presentation by the State under review",
    GAP,
    "5. The delegation presented the national report and described the reforms adopted",
    "since the first review.",
    "6. The delegation stated that the review had been prepared in consultation with the",
    "ministries concerned and was headed by the Minister of",
]
RECOMMENDATIONS = [
    "Justice, who recalled the measures taken since the first cycle.",  # paragraph 6 across the page break
    "7. The delegation noted that the Constitution guaranteed equality before the law and",
    "that an ombudsman had been",
]
RECOMMENDATIONS_2 = [
    "established in every province.",  # paragraph 7 across a page break, continuing in lower case
    GAP,
    "II. Conclusions and/or recommendations",
    GAP,
    "8. The following recommendations enjoy the support of Freedonia:",
    "8.1 Ratify the Optional Protocol to the Convention against Torture (Denmark);",
    "8.2 Strengthen the national human rights institution in accordance with the Paris",
    "Principles (Ghana)",  # no full stop: 8.3 still opens a recommendation
    "8.3 Continue its efforts to combat domestic violence (Norway);",
    "8.4 Adopt a national action plan on human rights\u00b9 (Mexico).",
]
ANNEX = [
    "9. All conclusions and/or recommendations contained in the present report reflect the",
    "position of the submitting State(s) and/or the State under review.",
    GAP,
    "Annex",
    GAP,
    "Composition of the delegation",
    GAP,
    "The delegation of Freedonia was headed by the Minister of Justice and composed of:",
    "- Ms. Ada Lovelace, Minister of Justice;",
    "- Mr. Alan Turing, Ambassador, Permanent Representative;",
    "- Ms. Grace Hopper, Legal Adviser;",
    "- Mr. Claude Shannon, Counsellor;",
    "- Ms. Hedy Lamarr, First Secretary.",
]
UPR_PAGES = [COVER, CONTENTS, BODY, RECOMMENDATIONS, RECOMMENDATIONS_2, ANNEX]
UPR_FOOTNOTES = {
    1: ["* The annex to the present report is circulated as received."],
    5: ["\u00b9 See the national report, paragraph 12."],
}


def make_pdf(pages, footnotes=None, symbol: str = SYMBOL, job: str = JOB) -> bytes:
    """A PDF with one text line per entry (GAP: a wider gap), the symbol as running header, the job number and
    page number as footer, and each page's footnotes in smaller print under a short rule drawn with line()."""
    footnotes = footnotes or {}
    pdf = fpdf.FPDF(format="A4", unit="mm")
    pdf.set_auto_page_break(False)
    for number, body in enumerate(pages, start=1):
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 9)
        pdf.text(20, 15, symbol)
        pdf.set_font("Helvetica", "", 10)
        y = 30.0
        for line in body:
            if line is GAP:
                y += 5
                continue
            pdf.text(20, y, line)
            y += 4.6
        notes = footnotes.get(number, [])
        if notes:
            top = 262 - 4 * len(notes)
            pdf.set_line_width(0.3)
            pdf.line(20, top, 70, top)
            pdf.set_font("Helvetica", "", 8)
            for offset, note in enumerate(notes):
                pdf.text(20, top + 4 + 4 * offset, note)
        pdf.set_font("Helvetica", "", 8)
        pdf.text(20, 285, job)
        pdf.text(185, 285, str(number))
    return bytes(pdf.output())


@pytest.fixture(scope="module")
def upr_pdf(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("pdf") / "freedonia2013.pdf"
    path.write_bytes(make_pdf(UPR_PAGES, UPR_FOOTNOTES))
    return path


@pytest.fixture(scope="module")
def upr(upr_pdf):
    return read_document(upr_pdf)


def test_pdf_layout_has_pages_and_footnotes_under_the_rule(upr_pdf):
    layout = read_layout(upr_pdf, upr_pdf.read_bytes())
    assert layout.paged and {line.page for line in layout.lines} == set(range(1, len(UPR_PAGES) + 1))
    footnotes = [line.text for line in layout.lines if line.kind == "footnote"]
    assert "\u00b9 See the national report, paragraph 12." in footnotes
    assert "* The annex to the present report is circulated as received." in footnotes
    body = {line.text for line in layout.lines if line.kind == "text"}
    assert "8.4 Adopt a national action plan on human rights\u00b9 (Mexico)." in body
    assert any(line.kind == "blank" for line in layout.lines if line.page == 3)


def test_pdf_paragraph_numbers_in_order(upr):
    numbers = [p.number for p in upr.paragraphs]
    body = [n for n in numbers if not n.startswith("annex")]
    assert body == ["1", "2", "3", "4", "5", "6", "7", "8", "8.1", "8.2", "8.3", "8.4", "9"]
    assert len(set(numbers)) == len(numbers)


def test_pdf_sections_and_introduction(upr):
    by_number = {p.number: p for p in upr.paragraphs}
    assert [str(by_number[n].section) for n in ("1", "4")] == ["Introduction"] * 2
    assert by_number["5"].section.numeral == "I"
    assert by_number["5"].subtheme == "Presentation by the State under review"
    assert by_number["7"].section.numeral == "I"
    assert str(by_number["8.2"].section) == "II. Conclusions and/or recommendations"
    assert by_number["9"].section.numeral == "II"
    headings = [p.text for p in upr.pieces if p.role == "heading"]
    assert headings[:3] == ["Introduction", "I. Summary of the proceedings of the review process", headings[2]]


def test_pdf_paragraphs_continue_across_page_breaks(upr):
    by_number = {p.number: p for p in upr.paragraphs}
    assert by_number["6"].text.endswith(
        "headed by the Minister of Justice, who recalled the measures taken since the first cycle."
    )
    assert by_number["7"].text.endswith("an ombudsman had been established in every province.")
    assert by_number["6"].lines[1] > by_number["6"].lines[0]


def test_pdf_no_paragraph_holds_running_headers_or_footers(upr):
    for paragraph in upr.paragraphs:
        assert SYMBOL not in paragraph.text, paragraph.number
        assert "GE.13" not in paragraph.text, paragraph.number
        assert not re.search(r"\b(?:Page|GE)\b|\s\d$", paragraph.text), paragraph.number
    furniture = [p.text for p in upr.pieces if p.role == "furniture"]
    assert furniture.count(SYMBOL) >= len(UPR_PAGES) - 1
    footers = [text for text in furniture if JOB in text]
    assert footers == [f"{JOB} {number}" for number in range(1, len(UPR_PAGES) + 1)]


def test_pdf_hyphenated_line_ends_joined(upr):
    text = {p.number: p.text for p in upr.paragraphs}["4"]
    assert "a note on the consideration of non-governmental organizations." in text
    assert "consid-" not in text and "consid eration" not in text


def test_pdf_recommendations_after_a_line_without_full_stop(upr):
    by_number = {p.number: p for p in upr.paragraphs}
    assert by_number["8"].text == "The following recommendations enjoy the support of Freedonia:"
    assert by_number["8.2"].text == (
        "Strengthen the national human rights institution in accordance with the Paris Principles (Ghana)"
    )
    assert by_number["8.3"].text == "Continue its efforts to combat domestic violence (Norway);"


def test_pdf_footnote_attached_not_in_text(upr):
    by_number = {p.number: p for p in upr.paragraphs}
    marked = by_number["8.4"]
    assert marked.text == "Adopt a national action plan on human rights (Mexico)."
    assert "See the national report, paragraph 12." in marked.footnotes
    for paragraph in upr.paragraphs:
        assert "national report, paragraph 12" not in paragraph.text
    assert any(p.role == "footnote" and "paragraph 12" in p.text for p in upr.pieces)


def test_pdf_footnote_attached_once_without_its_mark(upr):
    marked = {p.number: p for p in upr.paragraphs}["8.4"]
    assert marked.footnotes == ("See the national report, paragraph 12.",)


def test_pdf_footnote_not_given_to_the_paragraph_open_at_the_page_end(tmp_path):
    page = list(RECOMMENDATIONS_2)
    page[-2] = "8.3 Continue its efforts to combat domestic violence\u00b9 (Norway);"
    page[-1] = "8.4 Adopt a national action plan on human rights (Mexico)."
    path = tmp_path / "moved.pdf"
    path.write_bytes(make_pdf([*UPR_PAGES[:4], page, ANNEX], UPR_FOOTNOTES))
    by_number = {p.number: p for p in read_document(path).paragraphs}
    assert by_number["8.3"].footnotes == ("See the national report, paragraph 12.",)
    assert by_number["8.4"].footnotes == ()


def test_pdf_contents_page_is_front_matter(upr):
    contents = [p for p in upr.pieces if "Composition of the delegation . ." in p.text or p.text == "Contents"]
    assert contents and all(p.role == "front" for p in contents)
    leader_lines = [p for p in upr.pieces if re.search(r"(?:\. ?){4}", p.text)]
    assert len(leader_lines) == 5 and all(p.role == "front" for p in leader_lines)
    assert all(not re.search(r"(?:\. ?){4}", p.text) for p in upr.paragraphs)
    assert "Contents" in upr.front_matter.splitlines()


def test_pdf_meta_from_front_matter(upr):
    assert upr.meta.symbol == SYMBOL
    assert upr.meta.date == "4 April 2013"
    assert upr.meta.title.startswith("Report of the Working Group on the Universal Periodic Review")


def test_pdf_annex_numbers_apart_and_keeps_its_list(upr):
    annex = [p for p in upr.paragraphs if p.number.startswith("annex")]
    assert annex and all(str(p.section) == "Annex" for p in annex)
    assert annex[0].subtheme == "Composition of the delegation"
    assert annex[0].text.startswith("The delegation of Freedonia")
    text = " ".join(p.text for p in annex)
    for name in ("Ada Lovelace", "Alan Turing", "Grace Hopper", "Claude Shannon", "Hedy Lamarr"):
        assert name in text
        assert all(name not in p.text for p in upr.paragraphs if p not in annex)
    assert "composed of:" in text


def test_pdf_every_line_is_kept_as_a_piece(upr_pdf, upr):
    from semsearch.document import content_signature

    layout = read_layout(upr_pdf, upr_pdf.read_bytes())
    pieces = content_signature("".join(p.text for p in upr.pieces))
    for line in layout.lines:
        if line.text.strip():
            assert content_signature(line.text) in pieces, line


def test_pdf_short_last_page_keeps_its_block_breaks(tmp_path):
    path = tmp_path / "short.pdf"
    path.write_bytes(make_pdf([*UPR_PAGES[:5], ANNEX[:10]], UPR_FOOTNOTES))
    annex = [p for p in read_document(path).paragraphs if p.number.startswith("annex")]
    assert annex[0].subtheme == "Composition of the delegation"
    assert annex[0].text.startswith("The delegation of Freedonia")


# ---------------------------------------------------------------------------------------------------------------
# PDFs that cannot be read


def _no_text_pdf() -> bytes:
    pdf = fpdf.FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 80, 120, style="F")  # a scan's page: drawing, no text
    pdf.add_page()
    pdf.line(20, 20, 150, 20)
    return bytes(pdf.output())


def _encrypted_pdf() -> bytes:
    pdf = fpdf.FPDF()
    pdf.set_encryption(owner_password="owner", user_password="secret")
    pdf.add_page()
    pdf.set_font("Helvetica", "", 10)
    pdf.text(20, 20, "1. A secret paragraph.")
    pdf.text(20, 30, "2. Another one.")
    return bytes(pdf.output())


BAD_PDFS = {
    "scan.pdf": (_no_text_pdf, ("no text layer", "OCR")),
    "locked.pdf": (_encrypted_pdf, ("encrypted",)),
    "truncated.pdf": (lambda: make_pdf(UPR_PAGES)[:1200], ("not a readable PDF",)),
    "garbage.pdf": (lambda: b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\n%%EOF-not-really", ("not a readable PDF",)),
}


@pytest.mark.parametrize("name", sorted(BAD_PDFS))
def test_bad_pdf_named_explicitly_is_a_one_line_error(tmp_path, name):
    make, phrases = BAD_PDFS[name]
    path = tmp_path / name
    path.write_bytes(make())
    with pytest.raises(CorpusError) as error:
        read_document(path)
    message = str(error.value)
    assert message.startswith(f"{path}:") and "\n" not in message
    for phrase in phrases:
        assert phrase.lower() in message.lower()


def test_pdf_readable_without_password_when_only_an_owner_password(tmp_path):
    pdf = fpdf.FPDF()
    pdf.set_encryption(owner_password="owner")  # permissions only: any reader may open it
    pdf.add_page()
    pdf.set_font("Helvetica", "", 10)
    pdf.text(20, 20, "1. An open paragraph.")
    pdf.text(20, 26, "2. Another open one.")
    path = tmp_path / "owner.pdf"
    path.write_bytes(bytes(pdf.output()))
    assert [p.text for p in read_document(path).paragraphs] == ["An open paragraph.", "Another open one."]


def test_bad_pdfs_in_a_directory_are_skipped_with_their_reasons(tmp_path, upr_pdf):
    for name, (make, _) in BAD_PDFS.items():
        (tmp_path / name).write_bytes(make())
    (tmp_path / "good.pdf").write_bytes(upr_pdf.read_bytes())
    (tmp_path / "note.txt").write_text("1. One.\n\n2. Two.\n", encoding="utf-8")
    corpus = load_corpus([tmp_path])
    assert [d.doc for d in corpus.documents] == ["good", "note"]
    reasons = {Path(s.path).name: s.reason for s in corpus.skipped}
    assert set(reasons) == set(BAD_PDFS)
    for name, (_, phrases) in BAD_PDFS.items():
        assert all(phrase.lower() in reasons[name].lower() for phrase in phrases), reasons[name]
        assert "\n" not in reasons[name]


# ---------------------------------------------------------------------------------------------------------------
# Akoma Ntoso XML

AKN_NS = "http://docs.oasis-open.org/legaldocml/ns/akn/3.0"
AKN = f"""<?xml version="1.0" encoding="UTF-8"?>
<akomaNtoso xmlns="{AKN_NS}">
  <statement name="resolution">
    <meta><identification source="#x"><FRBRWork><FRBRdate date="2031-03-04" name="adoption"/></FRBRWork>
    </identification></meta>
    <preface>
      <p><docNumber>S/RES/9999 (2031)</docNumber></p>
      <p><docTitle>Resolution 9999 (2031)</docTitle></p>
      <p><docDate date="2031-03-04">4 March 2031</docDate></p>
    </preface>
    <preamble>
      <formula name="enactingFormula"><p><span class="italic">The Security Council</span>,</p></formula>
      <container name="Recalling"><p><span class="italic">Recalling</span> its previous resolutions on the
        situation in Freedonia,</p></container>
      <container name="Reaffirming"><p><span class="italic">Reaffirming</span> its commitment to the sovereignty
        of Freedonia<authorialNote marker="1" placement="bottom"><p>See S/2031/100.</p></authorialNote>,</p>
      </container>
      <container name="Welcoming"><p><span class="italic">Welcoming</span> the report of the
        Secretary-General,</p></container>
    </preamble>
    <mainBody>
      <paragraph class="SingleTxt"><num>1.</num><content><p><span class="italic">Decides</span> to extend the
        mandate of the Mission until 31 March 2032;</p></content></paragraph>
      <paragraph class="SingleTxt"><num>2.</num>
        <list>
          <intro><p><span class="italic">Requests</span> the Secretary-General:</p></intro>
          <point><num>(a)</num><content><p>to report every six months;</p></content></point>
          <point><num>(b)</num>
            <list>
              <intro><p>to include in each report:</p></intro>
              <point><num>(i)</num><content><p>an assessment of the security situation;</p></content></point>
              <point><num>(ii)</num><content><p>progress on the elections;</p></content></point>
            </list>
          </point>
        </list>
      </paragraph>
      <paragraph class="H23"><subheading>Sanctions</subheading></paragraph>
      <paragraph class="SingleTxt"><num>3.</num><content><p><span class="italic">Decides</span> to renew the
        measures<authorialNote marker="2" placement="bottom"><p>As set out in resolution 9000 (2030).</p>
        </authorialNote> for one year;</p></content></paragraph>
      <paragraph class="SingleTxt"><num>4.</num><content><p><span class="italic">Decides</span> to remain seized
        of the matter.</p></content></paragraph>
    </mainBody>
    <attachments>
      <attachment>
        <doc name="annex">
          <meta><identification source="#x"/></meta>
          <mainBody>
            <paragraph class="H1"><heading>Annex</heading></paragraph>
            <paragraph class="SingleTxt"><num>1.</num><content><p>The Mission shall consist of a civilian
              component.</p></content></paragraph>
            <paragraph class="SingleTxt"><num>2.</num><content><p>The Mission shall report to the
              Council.</p></content></paragraph>
            <paragraph class="SingleTxt"><content><table>
              <tr><td><p><span class="bold">Protection of civilians</span></p></td></tr>
              <tr><td><p>Ensure access for humanitarian actors</p></td><td><p>S/RES/2122 (2013), pp. 9</p></td></tr>
              <tr><td><p>Support the disarmament programme</p></td>
                  <td><p>See also, for example, S/RES/2100 (2013)</p></td></tr>
            </table></content></paragraph>
          </mainBody>
        </doc>
      </attachment>
    </attachments>
  </statement>
</akomaNtoso>
"""


@pytest.fixture(scope="module")
def resolution(tmp_path_factory):
    path = tmp_path_factory.mktemp("akn") / "S_RES_9999.xml"
    path.write_text(AKN, encoding="utf-8")
    return read_document(path)


def test_akn_every_paragraph_point_and_annex_paragraph_numbered(resolution):
    texts = {p.number: p.text for p in resolution.paragraphs}
    assert list(texts) == [
        "preamble 1",
        "preamble 2",
        "preamble 3",
        "1",
        "2",
        "2(a)",
        "2(b)",
        "2(b)(i)",
        "2(b)(ii)",
        "3",
        "4",
        "annex 1",
        "annex 2",
        "annex 2+1",
        "annex 2+2",
    ]
    assert texts["preamble 1"] == "Recalling its previous resolutions on the situation in Freedonia,"
    assert texts["preamble 2"] == "Reaffirming its commitment to the sovereignty of Freedonia,"
    assert texts["2"] == "Requests the Secretary-General:"
    assert texts["2(a)"] == "to report every six months;"
    assert texts["2(b)"] == "to include in each report:"
    assert texts["2(b)(ii)"] == "progress on the elections;"
    assert texts["3"] == "Decides to renew the measures for one year;"
    assert texts["annex 1"] == "The Mission shall consist of a civilian component."
    assert texts["annex 2+1"] == "Ensure access for humanitarian actors"


def test_akn_headings_annex_and_front_matter(resolution):
    by_number = {p.number: p for p in resolution.paragraphs}
    assert by_number["2"].subtheme is None and by_number["3"].subtheme == "Sanctions"
    assert by_number["4"].subtheme == "Sanctions"
    assert all(str(by_number[n].section) == "Annex" for n in ("annex 1", "annex 2", "annex 2+2"))
    assert by_number["annex 2+1"].subtheme == "Protection of civilians"
    assert "The Security Council," in resolution.front_matter
    assert resolution.meta.symbol == "S/RES/9999 (2031)"
    assert resolution.meta.title == "Resolution 9999 (2031)"
    assert resolution.meta.date in ("2031-03-04", "4 March 2031")


def test_akn_table_source_citations_are_footnotes(resolution):
    by_number = {p.number: p for p in resolution.paragraphs}
    assert by_number["annex 2+1"].footnotes == ("S/RES/2122 (2013), pp. 9",)
    assert by_number["annex 2+2"].text == "Support the disarmament programme"
    assert by_number["annex 2+2"].footnotes == ("See also, for example, S/RES/2100 (2013)",)


def test_akn_authorial_notes_kept_out_of_the_text(resolution):
    for paragraph in resolution.paragraphs:
        assert "S/2031/100" not in paragraph.text and "9000 (2030)" not in paragraph.text


def test_akn_authorial_notes_are_footnotes(resolution):
    by_number = {p.number: p for p in resolution.paragraphs}
    assert by_number["preamble 2"].footnotes == ("See S/2031/100.",)
    assert by_number["3"].footnotes == ("As set out in resolution 9000 (2030).",)


@pytest.mark.parametrize(
    ("content", "phrase"),
    [
        (b"<?xml version='1.0'?><html><body><p>1. Text.</p></body></html>", "not Akoma Ntoso"),
        (b"<?xml version='1.0'?><root xmlns='urn:other'/>", "<root>"),
        (f"<akomaNtoso xmlns='{AKN_NS}'><statement><mainBody>".encode(), "not well-formed XML"),
        (b"\x00\x01 not xml at all", "not well-formed XML"),
    ],
)
def test_akn_bad_xml_is_a_clear_one_line_error(tmp_path, content, phrase):
    path = tmp_path / "bad.xml"
    path.write_bytes(content)
    with pytest.raises(CorpusError) as error:
        read_document(path)
    message = str(error.value)
    assert message.startswith(f"{path}:") and phrase in message and "\n" not in message


def test_akn_external_entity_is_never_resolved(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT", encoding="utf-8")
    xxe = f"""<?xml version="1.0"?>
<!DOCTYPE akomaNtoso [<!ENTITY x SYSTEM "file://{secret}"><!ENTITY pw SYSTEM "file:///etc/passwd">]>
<akomaNtoso xmlns="{AKN_NS}"><statement><mainBody>
<paragraph><num>1.</num><content><p>Before &x; after &pw;.</p></content></paragraph>
<paragraph><num>2.</num><content><p>Two.</p></content></paragraph>
</mainBody></statement></akomaNtoso>"""
    path = tmp_path / "xxe.xml"
    path.write_text(xxe, encoding="utf-8")
    try:
        document = read_document(path)
    except CorpusError:
        return  # refusing the file is as safe as not resolving the entity
    everything = " ".join([*(p.text for p in document.paragraphs), *(p.text for p in document.pieces)])
    assert "TOP-SECRET" not in everything and "root:" not in everything


# ---------------------------------------------------------------------------------------------------------------
# Text copied from a PDF, and 8-bit text

CLEAN = (
    "I. Scope\n\n"
    "1. The Working Group held its session in Geneva and considered the reports of the\n"
    "States under review.\n\n"
    "2. The delegation described the consideration given to non-governmental organizations.\n\n"
    "3. A non-governmental organization spoke on behalf of civil society.\n\n"
    "4. The Working Group adopted the report.\n"
)
COPIED = (
    "A/HRC/23/3\n\nI. Scope\n\n"
    "1. The Working Group held its session in Geneva and considered the reports of the\n"
    "\nGE.13-12484\n3\n\nA/HRC/23/3\n\n"
    "States under review.\n"
    "2. The delegation described the consid-\n"
    "eration given to non-\n"
    "governmental organizations.\n"
    "\n4\nGE.13-12484\n\nA/HRC/23/3\n\n"
    "3. A non-governmental organization spoke on behalf of civil so-\n"
    "ciety.\n"
    "4. The Working Group adopted the report.\n"
    "\n5\nGE.13-12484\n"
)


def test_text_copied_from_a_pdf_reads_as_the_clean_text():
    clean, _ = parse_text(CLEAN)
    copied, pieces = parse_text(COPIED)
    assert [(p.number, p.text) for p in copied] == [(p.number, p.text) for p in clean]
    assert [p.number for p in clean] == ["1", "2", "3", "4"]
    furniture = [p.text for p in pieces if p.role == "furniture"]
    assert furniture.count("A/HRC/23/3") == 3 and furniture.count("GE.13-12484") == 3
    assert {"3", "4", "5"} <= set(furniture)


def test_text_with_form_feeds_is_paged_and_its_furniture_dropped():
    pages = [
        "A/HRC/23/3\n\nI. Scope\n\n1. The Working Group held its session in Geneva and considered the\n3\n",
        "A/HRC/23/3\n\nreports of the States under review.\n\n2. The delegation spoke.\n4\n",
        "A/HRC/23/3\n\n3. The Working Group adopted the report.\n5\n",
    ]
    paragraphs, pieces = parse_text("\f".join(pages))  # as pdftotext writes pages
    assert [(p.number, p.text) for p in paragraphs] == [
        ("1", "The Working Group held its session in Geneva and considered the reports of the States under review."),
        ("2", "The delegation spoke."),
        ("3", "The Working Group adopted the report."),
    ]
    assert sum(p.role == "furniture" for p in pieces) == 6


SMART = "1. The \u201cright to development\u201d \u2013 a caf\u00e9 \u2018r\u00e9sum\u00e9\u2019\u2026\n\n2. Two.\n"


@pytest.mark.parametrize(
    ("encoding", "named"), [("cp1252", r"cp1252|cp-1252|windows-1252"), ("mac_roman", r"mac.?roman|macintosh")]
)
def test_non_utf8_text_error_names_its_encoding(tmp_path, encoding, named):
    path = tmp_path / "legacy.txt"
    path.write_bytes(SMART.encode(encoding))
    with pytest.raises(CorpusError, match="not UTF-8") as error:
        read_document(path)
    message = str(error.value)
    assert re.search(named, message, re.IGNORECASE), message
    assert "\n" not in message and message.startswith(f"{path}:")


def test_layout_of_a_text_file(tmp_path):
    layout = read_layout(tmp_path / "a.txt", b"1. One.\n\n2. Two.\n")
    assert isinstance(layout, Layout) and not layout.paged
    assert [line.kind for line in layout.lines] == ["text", "blank", "text", "blank"]
    paragraphs, _, _ = parse_layout(layout)
    assert [p.number for p in paragraphs] == ["1", "2"]


# ---------------------------------------------------------------------------------------------------------------
# Word: automatic list numbering as Word counts it

W_MAIN = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def make_docx() -> bytes:
    """A report whose paragraph numbers exist only in Word's numbering part: a decimal level with a lettered
    sub-level, counting on across headings, and a second list over the same definition restarting at 1."""
    docx = pytest.importorskip("docx")
    from docx.oxml import parse_xml

    w = f'xmlns:w="{W_MAIN}"'
    document = docx.Document()
    numbering = document.part.numbering_part.element
    numbering.append(
        parse_xml(
            f"""<w:abstractNum {w} w:abstractNumId="90">
              <w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="decimal"/><w:lvlText w:val="%1."/></w:lvl>
              <w:lvl w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="lowerLetter"/><w:lvlText w:val="(%2)"/></w:lvl>
              <w:lvl w:ilvl="2"><w:start w:val="1"/><w:numFmt w:val="bullet"/><w:lvlText w:val="o"/></w:lvl>
            </w:abstractNum>"""
        )
    )
    numbering.append(parse_xml(f'<w:num {w} w:numId="90"><w:abstractNumId w:val="90"/></w:num>'))
    numbering.append(
        parse_xml(
            f"""<w:num {w} w:numId="91"><w:abstractNumId w:val="90"/>
              <w:lvlOverride w:ilvl="0"><w:startOverride w:val="1"/></w:lvlOverride></w:num>"""
        )
    )

    def numbered(text: str, num: str = "90", level: int = 0) -> None:
        paragraph = document.add_paragraph(text)
        paragraph._p.get_or_add_pPr().append(
            parse_xml(f'<w:numPr {w}><w:ilvl w:val="{level}"/><w:numId w:val="{num}"/></w:numPr>')
        )

    document.core_properties.title = "Report of the Special Rapporteur"
    document.add_paragraph("Report of the Special Rapporteur on freedom of expression", style="Title")
    document.add_heading("I. Introduction", level=1)
    numbered("The present report is submitted pursuant to resolution 44/12.")
    numbered("The Special Rapporteur recommends that States:")
    numbered("repeal laws criminalizing defamation;", level=1)
    numbered("protect journalists.", level=1)
    document.add_heading("II. Conclusions", level=1)
    numbered("The Special Rapporteur concludes as follows.")
    document.add_paragraph("An unnumbered paragraph under the conclusions.")
    numbered("A bulleted point.", level=2)
    document.add_heading("Recent developments", level=2)
    numbered("States should act.")
    table = document.add_table(rows=2, cols=2)
    for (row, column), text in {(0, 0): "Country", (0, 1): "Visits", (1, 0): "Freedonia", (1, 1): "2"}.items():
        table.cell(row, column).text = text
    document.add_heading("Annex", level=1)
    numbered("First annex paragraph.", num="91")
    numbered("Second annex paragraph.", num="91")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def word(tmp_path_factory):
    path = tmp_path_factory.mktemp("docx") / "rapporteur.docx"
    path.write_bytes(make_docx())
    return read_document(path)


def test_docx_automatic_numbering_gives_paragraph_numbers(word):
    texts = {p.number: p.text for p in word.paragraphs}
    assert [n for n in texts if "+" not in n] == ["1", "2", "3", "4", "annex 1", "annex 2"]
    assert texts["1"] == "The present report is submitted pursuant to resolution 44/12."
    assert (
        texts["2"] == "The Special Rapporteur recommends that States: (a) repeal laws criminalizing defamation; "
        "(b) protect journalists."
    )
    assert texts["4"] == "States should act."  # counting on across headings and an unnumbered paragraph
    assert texts["annex 2"] == "Second annex paragraph."  # the annex's list restarts at 1


def test_docx_headings_sections_title_and_tables(word):
    by_number = {p.number: p for p in word.paragraphs}
    assert str(by_number["1"].section) == "I. Introduction"
    assert by_number["3"].section.numeral == "II" and by_number["3"].subtheme is None
    assert by_number["4"].subtheme == "Recent developments"
    assert str(by_number["annex 1"].section) == "Annex"
    assert word.meta.title == "Report of the Special Rapporteur"
    assert "Report of the Special Rapporteur on freedom of expression" in word.front_matter
    rows = [p.text for p in word.paragraphs if "|" in p.text]
    assert rows == ["Country | Visits", "Freedonia | 2"]
    unnumbered = [p for p in word.paragraphs if "+" in p.number]
    assert unnumbered[0].number == "3+1" and unnumbered[0].text.startswith("An unnumbered paragraph")
    assert any("A bulleted point." in p.text for p in word.paragraphs)
    assert len({p.number for p in word.paragraphs}) == len(word.paragraphs)


def test_docx_restarted_list_in_the_body_keeps_numbers_unique(tmp_path):
    docx = pytest.importorskip("docx")
    document = docx.Document(io.BytesIO(make_docx()))
    body = document.element.body
    # the annex heading removed: the restarted list now sits in the body, printing 1 and 2 a second time
    annex = next(p for p in document.paragraphs if p.text == "Annex")
    body.remove(annex._p)
    path = tmp_path / "restart.docx"
    document.save(path)
    numbers = [p.number for p in read_document(path).paragraphs]
    assert len(set(numbers)) == len(numbers)
    assert numbers[:4] == ["1", "2", "3", "3+1"]


@pytest.mark.parametrize(
    ("content", "phrase"),
    [
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "old .doc"),
        (b"PK\x03\x04 truncated zip", "not a readable Word document"),
        (b"just some text, not a zip", "not a readable Word document"),
    ],
)
def test_bad_docx_is_a_one_line_error(tmp_path, content, phrase):
    path = tmp_path / "bad.docx"
    path.write_bytes(content)
    with pytest.raises(CorpusError) as error:
        read_document(path)
    message = str(error.value)
    assert message.startswith(f"{path}:") and phrase in message and "\n" not in message


def test_zip_that_is_not_a_word_document(tmp_path):
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "1. Not Word.")
    path = tmp_path / "other.docx"
    path.write_bytes(buffer.getvalue())
    with pytest.raises(CorpusError) as error:
        read_document(path)
    assert str(error.value).startswith(f"{path}:") and "\n" not in str(error.value)


# ---------------------------------------------------------------------------------------------------------------
# HTML: ordered lists numbered as a browser shows them

HTML = """<!DOCTYPE html><html><head><title>Report of the Special Rapporteur</title>
<style>p { color: red }</style><script>var x = "1. Not a paragraph.";</script></head><body>
<nav><a href="/">Home</a> <a href="/about">About us</a></nav>
<h1>Report of the Special Rapporteur</h1>
<h2>I. Introduction</h2>
<ol>
<li>The present report is submitted pursuant to resolution 44/12.</li>
<li>The Special Rapporteur recommends that States:
  <ol type="a"><li>repeal laws criminalizing <em>defamation</em>;</li><li>protect journalists.</li></ol></li>
</ol>
<h2>II. Conclusions</h2>
<ol start="3">
<li>The Special Rapporteur concludes as follows.</li>
<li value="7">States should act.</li>
</ol>
<p>An unnumbered paragraph.</p>
<h3>Recent developments</h3>
<ol start="8"><li>The situation has evolved.<ol><li>First sub-point.</li><li>Second sub-point.</li></ol></li></ol>
<table><tr><th>Country</th><th>Visits</th></tr><tr><td>Freedonia</td><td>2</td></tr></table>
<form><input name="q"><button>Search</button></form>
<h2>Annex</h2>
<ol><li>First annex paragraph.</li><li>Second annex paragraph.</li></ol>
</body></html>"""


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    path = tmp_path_factory.mktemp("html") / "rapporteur.html"
    path.write_text(HTML, encoding="utf-8")
    return read_document(path)


def test_html_ordered_lists_give_paragraph_numbers(page):
    texts = {p.number: p.text for p in page.paragraphs}
    assert [n for n in texts if "+" not in n] == ["1", "2", "3", "7", "8", "8.1", "8.2", "annex 1", "annex 2"]
    assert (
        texts["2"] == "The Special Rapporteur recommends that States: (a) repeal laws criminalizing defamation; "
        "(b) protect journalists."
    )
    assert texts["7"] == "States should act."
    assert texts["8.2"] == "Second sub-point."
    assert texts["7+1"] == "An unnumbered paragraph."


def test_html_headings_by_rank_and_dropped_chrome(page):
    by_number = {p.number: p for p in page.paragraphs}
    assert str(by_number["1"].section) == "I. Introduction"  # the lone h1 is the page's title
    assert by_number["8"].section.numeral == "II" and by_number["8"].subtheme == "Recent developments"
    assert str(by_number["annex 1"].section) == "Annex"
    assert page.meta.title == "Report of the Special Rapporteur"
    everything = " ".join(p.text for p in page.pieces)
    for dropped in ("Not a paragraph", "color: red", "About us", "Search"):
        assert dropped not in everything
    assert any(p.text == "Country | Visits" for p in page.paragraphs)


@pytest.mark.parametrize("content", [b"", b"  \n ", b"<html><body><script>x()</script></body></html>"])
def test_html_without_text_is_a_one_line_error(tmp_path, content):
    path = tmp_path / "empty.html"
    path.write_bytes(content)
    with pytest.raises(CorpusError) as error:
        read_document(path)
    assert str(error.value).startswith(f"{path}:") and "\n" not in str(error.value)


def test_every_format_in_one_directory(tmp_path, upr_pdf):
    (tmp_path / "report.pdf").write_bytes(upr_pdf.read_bytes())
    (tmp_path / "resolution.xml").write_text(AKN, encoding="utf-8")
    (tmp_path / "word.docx").write_bytes(make_docx())
    (tmp_path / "page.htm").write_text(HTML, encoding="utf-8")
    (tmp_path / "note.md").write_text("1. One.\n\n2. Two.\n", encoding="utf-8")
    (tmp_path / "notes.rtf").write_text("{\\rtf1 ignored}", encoding="utf-8")
    corpus = load_corpus([tmp_path])
    assert [d.doc for d in corpus.documents] == ["note", "page", "report", "resolution", "word"]
    assert [Path(s.path).name for s in corpus.skipped] == ["notes.rtf"]  # an unsupported format, listed


def test_html_lettered_section_then_roman_paragraph_loads(tmp_path):
    (tmp_path / "good.txt").write_text("1. One.\n\n2. Two.\n", encoding="utf-8")
    (tmp_path / "lettered.html").write_text(
        "<html><body><h2>A. Background</h2><p>I. Introduction</p><ol><li>One.</li><li>Two.</li></ol></body></html>",
        encoding="utf-8",
    )
    corpus = load_corpus([tmp_path])
    assert [d.doc for d in corpus.documents] == ["good", "lettered"]


def test_a_well_read_pdf_gets_no_reading_warning(upr):
    from semsearch.corpus import reading_warning

    assert reading_warning(upr) is None


def test_a_poorly_read_document_is_warned_of(tmp_path, upr_pdf):
    headings = "".join(f"\n\nB. A sub-heading number {n} with many words in its long title\n" for n in range(30))
    (tmp_path / "headings.txt").write_text(f"I. Scope\n\n1. One.{headings}\n2. Two.\n", encoding="utf-8")
    (tmp_path / "good.pdf").write_bytes(upr_pdf.read_bytes())
    corpus = load_corpus([tmp_path])
    assert len(corpus.warnings) == 1 and "headings.txt" in corpus.warnings[0]
    assert "in paragraphs" in corpus.warnings[0] and "\n" not in corpus.warnings[0]


def test_akn_entity_expansion_bomb_is_refused_quickly(tmp_path):
    import time

    entities = '<!ENTITY a "lol">' + "".join(f'<!ENTITY {chr(98 + i)} "{f"&{chr(97 + i)};" * 10}">' for i in range(9))
    xml = (
        f'<?xml version="1.0"?><!DOCTYPE akomaNtoso [{entities}]><akomaNtoso xmlns="{AKN_NS}"><statement>'
        "<mainBody><paragraph><num>1.</num><content><p>Boom &j; here.</p></content></paragraph></mainBody>"
        "</statement></akomaNtoso>"
    )
    path = tmp_path / "bomb.xml"
    path.write_text(xml, encoding="utf-8")
    start = time.perf_counter()
    try:
        document = read_document(path)
    except CorpusError as error:
        assert str(error).startswith(f"{path}:") and "\n" not in str(error)
    else:
        assert sum(len(p.text) for p in document.paragraphs) < 10_000
    assert time.perf_counter() - start < 5


def test_aes_encrypted_pdf_is_reported_as_encrypted(tmp_path):
    from fpdf.enums import EncryptionMethod

    pdf = fpdf.FPDF()
    pdf.set_encryption(owner_password="o", user_password="u", encryption_method=EncryptionMethod.AES_128)
    pdf.add_page()
    pdf.set_font("Helvetica", "", 10)
    pdf.text(20, 20, "1. Secret.")
    path = tmp_path / "aes.pdf"
    path.write_bytes(bytes(pdf.output()))
    with pytest.raises(CorpusError, match="encrypted"):
        read_document(path)


def test_utf16_and_utf8_bom_text(tmp_path):
    utf16 = tmp_path / "wide.txt"
    utf16.write_bytes("1. One.\n\n2. Two.\n".encode("utf-16"))
    with pytest.raises(CorpusError, match="UTF-16"):
        read_document(utf16)
    bom = tmp_path / "bom.txt"
    bom.write_bytes(b"\xef\xbb\xbf1. One.\n\n2. Two.\n")
    assert [p.number for p in read_document(bom).paragraphs] == ["1", "2"]


def test_docx_numbering_through_the_paragraph_style(tmp_path):
    docx = pytest.importorskip("docx")
    document = docx.Document()
    document.add_heading("I. Scope", level=1)
    for text in ("One.", "Two.", "Three."):
        document.add_paragraph(text, style="List Number")  # the number comes from the style's numPr
    document.add_paragraph("A bulleted note.", style="List Bullet")
    path = tmp_path / "styled.docx"
    document.save(path)
    paragraphs = read_document(path).paragraphs
    assert [(p.number, p.text) for p in paragraphs[:3]] == [("1", "One."), ("2", "Two."), ("3", "Three.")]
    assert "A bulleted note." in " ".join(p.text for p in paragraphs)


def test_list_labels_as_word_and_browsers_print_them():
    from semsearch.readers import list_label

    assert [list_label(n, "lowerLetter") for n in (1, 26, 27)] == ["a", "z", "aa"]
    assert [list_label(n, "upperRoman") for n in (4, 9, 14, 1990)] == ["IV", "IX", "XIV", "MCMXC"]
    assert list_label(3, "lowerRoman") == "iii" and list_label(12, "decimal") == "12"
