"""How well semsearch reads real UN documents: PDF reports and Akoma Ntoso XML, against ground truth that does not
come from semsearch's own parser.

Point SEMSEARCH_REALDOCS at the real-documents folder (upr-wg-reports-pdf/, sc-resolutions-akn/,
sc-aide-memoire-akn/). Ground truth:

* PDF: each report's contents page (read from PDFium's plain page text, not from semsearch's reader) gives the
  paragraph range of every section, so the paragraphs 1..N that must exist and the section each belongs to; a
  paragraph is found with the right number when the raw text has a line starting with that number followed by
  the paragraph's first words. "N.M" recommendations are the raw lines that start "N.M "; one is its own
  paragraph when semsearch has a paragraph of that number whose text holds no "N.M+1 ". Page furniture is the
  report's own symbol, its job number ("GE.13-12484") and "Page N" found inside paragraph text.
* Text exports: where `pdftotext` (Debian's poppler-utils) is installed, the same reports exported with
  `pdftotext -layout` and with plain `pdftotext` (numbers alone on their lines), scored against the same truth.
* XML: the markup's own numbers and paragraphs (<paragraph><num>, preamble children, <point>, annex paragraphs,
  table rows); every <p> of the body must land inside a searchable paragraph.

Also times reading each PDF (median of 5) and writes bench/results/realdocs.json.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.common import save  # noqa: E402
from semsearch.corpus import read_document  # noqa: E402

_CONTENTS = re.compile(r"^\s*(?P<title>\S.*?)\s*(?:\.\s?){3,}\s*(?P<a>\d+)(?:\s*[–-]\s*(?P<b>\d+))?\s+\d+\s*$")
_JOB = re.compile(r"GE\.\d{2}-\s?\d{4,6}")
_SYMBOL = re.compile(r"A/HRC/\d+/\d+(?:/Add\.\d+)?")
_WORDS = re.compile(r"[A-Za-z]+")
_SOURCE = re.compile(r"^(?:see also|S/RES/|S/PRST/)", re.I)  # the Aide Memoire's source columns


def _norm(text: str) -> str:
    return " ".join(_WORDS.findall(text.lower()))


def pdf_truth(path: Path) -> dict:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path))
    pages = [pdf[i].get_textpage().get_text_bounded() for i in range(len(pdf))]
    lines = [line for page in pages for line in page.splitlines()]
    sections: list[tuple[str, int, int]] = []
    for line in lines:
        match = _CONTENTS.match(line)
        if match and match.group("b"):
            title = match.group("title").strip()
            if re.match(r"^(?:[IVX]+\.\s|Introduction)", title):
                sections.append((title, int(match.group("a")), int(match.group("b"))))
    symbol = _SYMBOL.search(pages[0])
    job = _JOB.search(" ".join(pages[:2]))
    return {"lines": lines, "sections": sections, "symbol": symbol.group(0) if symbol else None,
            "job": job.group(0) if job else None, "pages": len(pages)}  # fmt: skip


def evaluate_pdf(path: Path, text: Path | None = None) -> dict:
    """One report read from the PDF, or (`text`) from a text export of it, against the PDF's own contents page."""
    truth = pdf_truth(path)
    source = text or path
    started = time.perf_counter()
    document = read_document(source)
    seconds = [time.perf_counter() - started]
    for _ in range(4 if text is None else 0):
        started = time.perf_counter()
        read_document(source)
        seconds.append(time.perf_counter() - started)
    by_number = {p.number: p for p in document.paragraphs}
    raw = "\n".join(truth["lines"])
    expected = {n: title for title, a, b in truth["sections"] for n in range(a, b + 1)}
    right_number = right_section = 0
    misses = []
    for n, title in expected.items():
        paragraph = by_number.get(str(n))
        if paragraph is not None:
            first = " ".join(paragraph.text.split()[:2])
            pattern = rf"(?m)^\s*{n}\.\s+{re.escape(first)}|^\s*{n}\.\s*\n\s*{re.escape(first)}"
            if re.search(pattern, raw):
                right_number += 1
            else:
                misses.append(n)
            if paragraph.section and _norm(str(paragraph.section))[:25] == _norm(title)[:25]:
                right_section += 1
        else:
            misses.append(n)
    recommendations = sorted(
        {
            (int(m.group(1)), int(m.group(2)))
            for m in re.finditer(r"(?m)^\s*(\d{1,3})\.(\d{1,3})\.?\s+\S", raw)
            if int(m.group(1)) in expected
        }
    )
    own = 0
    for major, minor in recommendations:
        paragraph = by_number.get(f"{major}.{minor}")
        if paragraph is not None and f"{major}.{minor + 1} " not in paragraph.text:
            own += 1
    furniture_marks = [m for m in (truth["symbol"], truth["job"]) if m]
    with_furniture = [
        p.number
        for p in document.paragraphs
        if any(re.search(rf"{re.escape(m)}(?![/\w])", p.text) for m in furniture_marks)
        or re.search(r"\bPage \d+\b", p.text)
    ]
    first_line = min((p.lines[0] for p in document.paragraphs), default=0)
    inside = sum(len(x.text) for x in document.pieces if x.role in ("paragraph", "footnote"))
    outside = sum(len(x.text) for x in document.pieces if x.role == "heading" or (
        x.role == "front" and x.line > first_line))  # fmt: skip
    return {
        "file": path.name,
        "paragraphs": len(document.paragraphs),
        "expected": len(expected),
        "right_number": right_number,
        "right_section": right_section,
        "misses": misses[:10],
        "recommendations": len(recommendations),
        "recommendations_own": own,
        "with_furniture": len(with_furniture),
        "furniture_examples": with_furniture[:5],
        "text_inside": inside,
        "text_outside": outside,
        "read_seconds": statistics.median(seconds),
        "pages": truth["pages"],
    }


def xml_truth(path: Path) -> dict:
    from lxml import etree

    root = etree.parse(str(path)).getroot()

    def text(element) -> str:
        """The element's words without its authorial notes (footnotes, which semsearch keeps apart)."""
        words: list[str] = []

        def walk(node) -> None:
            if etree.QName(node).localname == "authorialNote":
                return
            words.append(node.text or "")
            for child in node:
                walk(child)
                words.append(child.tail or "")

        walk(element)
        return " ".join("".join(words).split())

    def in_note(element) -> bool:
        return any(etree.QName(a).localname == "authorialNote" for a in element.iterancestors())

    body = [e for e in root.iter("{*}mainBody")]
    main = body[0] if body else root
    operative = [text(n).rstrip(".") for p in main.iter("{*}paragraph") for n in p.findall("{*}num")
                 if not (p.get("class") or "").startswith("H")]  # fmt: skip
    preamble = [c for pre in root.iter("{*}preamble") for c in pre if etree.QName(c).localname != "formula" and text(c)]
    points = [text(c) for p in root.iter("{*}point") if p.find("{*}num") is not None
              for c in p.findall("{*}content")]  # fmt: skip
    annex = [p for a in root.iter("{*}attachment") for p in a.iter("{*}p") if text(p)]
    rows = []  # a row's text: its cells but the last (the source column) and the bold topics spanning rows
    for row in root.iter("{*}tr"):
        cells = [c for c in row if etree.QName(c).localname in ("td", "th") and text(c)]
        body = [text(c) for c in cells if not c.findall(".//{*}span[@class='bold']") and not _SOURCE.match(text(c))]
        if len(cells) >= 2 and body:
            rows.append(body[0])
    parts = [e for name in ("preamble", "mainBody", "attachments", "conclusions") for e in root.iter(f"{{*}}{name}")]
    inside = {id(p): p for e in parts for p in e.iter("{*}p") if not in_note(p)}
    texts = [t for p in inside.values() if (t := text(p))]
    headings = [text(h) for h in root.iter("{*}heading", "{*}subheading")]
    return {"operative": operative, "preamble": len(preamble), "points": points, "annex": len(annex),
            "rows": rows, "texts": texts, "headings": headings}  # fmt: skip


def evaluate_xml(path: Path) -> dict:
    truth = xml_truth(path)
    document = read_document(path)
    numbers = [p.number for p in document.paragraphs]
    joined = " \n ".join(_norm(p.text) for p in document.paragraphs) + " \n ".join(
        _norm(f) for p in document.paragraphs for f in p.footnotes
    )
    covered = sum(1 for t in truth["texts"] if _norm(t) in joined)
    headings = " \n ".join(_norm(p.text) for p in document.pieces if p.role in ("heading", "front"))
    as_headings = sum(1 for t in truth["texts"] if _norm(t) not in joined and _norm(t) in headings)
    own = {_norm(p.text) for p in document.paragraphs}
    return {
        "file": path.name,
        "symbol": document.meta.symbol,
        "paragraphs": len(numbers),
        "operative_expected": len(truth["operative"]),
        "operative_found": sum(1 for n in truth["operative"] if n in numbers),
        "preamble_expected": truth["preamble"],
        "preamble_found": sum(1 for n in numbers if n.startswith("preamble ")),
        "points_expected": len(truth["points"]),
        "points_found": sum(1 for t in truth["points"] if _norm(t) in own),
        "annex_paragraphs": truth["annex"],
        "annex_found": sum(1 for n in numbers if n.startswith("annex")),
        "rows_expected": len(truth["rows"]),
        "rows_own": sum(1 for t in truth["rows"] if any(o.startswith(_norm(t)) for o in own)),
        "texts": len(truth["texts"]),
        "texts_in_paragraphs": covered,
        "texts_as_headings": as_headings,
        "largest_words": max((len(p.text.split()) for p in document.paragraphs), default=0),
    }


def _rates(rows: list[dict]) -> dict:
    expected = sum(r["expected"] for r in rows)
    recs = sum(r["recommendations"] for r in rows)
    inside = sum(r["text_inside"] for r in rows)
    return {
        "paragraphs_expected": expected,
        "right_number": sum(r["right_number"] for r in rows) / max(expected, 1),
        "right_section": sum(r["right_section"] for r in rows) / max(expected, 1),
        "recommendations": recs,
        "recommendations_own": sum(r["recommendations_own"] for r in rows) / max(recs, 1),
        "paragraphs_with_furniture": sum(r["with_furniture"] for r in rows)
        / max(sum(r["paragraphs"] for r in rows), 1),
        "text_in_paragraphs": inside / max(inside + sum(r["text_outside"] for r in rows), 1),
    }


def main() -> None:
    folder = Path(os.environ.get("SEMSEARCH_REALDOCS", ""))
    if not folder.is_dir():
        raise SystemExit("set SEMSEARCH_REALDOCS to the real-documents folder")
    pdfs = [evaluate_pdf(p) for p in sorted(folder.glob("**/*.pdf"))]
    xmls = [evaluate_xml(p) for p in sorted(folder.glob("**/*.xml"))]
    exports = {}
    if shutil.which("pdftotext"):  # text copied out of the PDFs: what an analyst's pipeline often hands over
        with tempfile.TemporaryDirectory() as work:
            for flags in (["-layout"], []):
                rows = []
                for pdf in sorted(folder.glob("**/*.pdf")):
                    out = Path(work) / f"{pdf.stem}.txt"
                    subprocess.run(["pdftotext", *flags, str(pdf), str(out)], check=True)
                    rows.append(evaluate_pdf(pdf, out))
                exports["pdftotext " + " ".join(flags) if flags else "pdftotext"] = _rates(rows)
    summary = {
        "pdf_documents": len(pdfs),
        **_rates(pdfs),
        "pdf_read_seconds_median": statistics.median(r["read_seconds"] for r in pdfs) if pdfs else None,
        "pdf_read_seconds_max": max((r["read_seconds"] for r in pdfs), default=None),
        "pdf_read_seconds_25_pages": statistics.median(r["read_seconds"] for r in pdfs if r["pages"] == 25)
        if any(r["pages"] == 25 for r in pdfs)
        else None,
        "xml_documents": len(xmls),
        "xml_operative": f"{sum(r['operative_found'] for r in xmls)}/{sum(r['operative_expected'] for r in xmls)}",
        "xml_preamble": f"{sum(r['preamble_found'] for r in xmls)}/{sum(r['preamble_expected'] for r in xmls)}",
        "xml_points": f"{sum(r['points_found'] for r in xmls)}/{sum(r['points_expected'] for r in xmls)}",
        "xml_texts_in_paragraphs": f"{sum(r['texts_in_paragraphs'] for r in xmls)}/{sum(r['texts'] for r in xmls)}"
        f" (+{sum(r['texts_as_headings'] for r in xmls)} headings)",
        "xml_rows_own": f"{sum(r['rows_own'] for r in xmls)}/{sum(r['rows_expected'] for r in xmls)}",
    }
    summary |= {f"{name}: {key}": value for name, rates in exports.items() for key, value in rates.items()}
    for key, value in summary.items():
        print(f"{key:28} {value:.4f}" if isinstance(value, float) else f"{key:28} {value}")
    for r in pdfs:
        flag = "" if r["right_number"] == r["expected"] else f"  misses {r['misses']}"
        print(f"  {r['file']:28} {r['right_number']}/{r['expected']} numbers, {r['right_section']} sections, "
              f"{r['recommendations_own']}/{r['recommendations']} N.M, {r['with_furniture']} furniture, "
              f"{r['pages']} pages in {r['read_seconds']:.3f} s{flag}")  # fmt: skip
    for r in xmls:
        print(f"  {r['file']:28} op {r['operative_found']}/{r['operative_expected']} pre {r['preamble_found']}/"
              f"{r['preamble_expected']} pts {r['points_found']}/{r['points_expected']} annex {r['annex_found']} "
              f"texts {r['texts_in_paragraphs']}/{r['texts']}+{r['texts_as_headings']}h "
              f"rows {r['rows_own']}/{r['rows_expected']} largest {r['largest_words']}")  # fmt: skip
    print("wrote", save("realdocs", {"summary": summary, "pdf": pdfs, "xml": xmls}))


if __name__ == "__main__":
    main()
