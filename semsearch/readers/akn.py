"""Akoma Ntoso XML (the UN's AKN4UN): structure from the markup, which is the ground truth for it.

Preamble paragraphs become "preamble 1", "preamble 2" …; numbered paragraphs keep their `<num>`; list points
become paragraphs of their own under their parent's number ("7(a)", "7(a)(ii)"), the list's introduction staying
with the parent; sub-headings and headings are headings; unnumbered content and table rows are blocks of their
own; each attachment is an annex, numbered apart by the parser; authorial notes are footnotes. Entities are never
resolved and nothing is fetched, so a hostile file cannot read local files or the network.
"""

from __future__ import annotations

import re

from semsearch.readers import DocumentMeta, Layout, Line, ReaderError

_BLOCK_PARENTS = {
    "paragraph", "subparagraph", "point", "alinea", "container", "hcontainer", "article", "section", "subsection",
    "chapter", "part", "division", "clause", "item", "indent", "tblock",
}  # fmt: skip
_LISTS = {"list", "blockList", "sublist"}
# A table cell that cites its source: "S/RES/2122 (2013), pp. 9", "See also, for example, …".
_CITATION = re.compile(
    r"^(?:see also\b|(?:S|A|E)/(?:RES|PRST|\d{4})/)|\((?:19|20)\d{2}\)(?:,\s*\w+\.?\s*[\d,\s–-]+)?$", re.I
)


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _text(element, skip: frozenset[str] = frozenset({"num", "authorialNote"})) -> str:
    parts: list[str] = []

    def walk(node) -> None:
        if node is not element and _local(node.tag) in skip:
            if node.tail:
                parts.append(node.tail)
            return
        if node.text:
            parts.append(node.text)
        for child in node:
            walk(child)
        if node is not element and node.tail:
            parts.append(node.tail)

    walk(element)
    return " ".join("".join(parts).split())


def read(data: bytes) -> Layout:
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(data, parser=parser)
    except etree.XMLSyntaxError as error:
        raise ReaderError(f"not well-formed XML ({error}); is the file complete?") from None
    if _local(root.tag) != "akomaNtoso":
        raise ReaderError(f"an XML file whose root is <{_local(root.tag)}>, not Akoma Ntoso <akomaNtoso>")
    reader = _Reader()
    for document in root:
        reader.document(document)
    if not reader.lines:
        raise ReaderError("an Akoma Ntoso file without text")
    return Layout(tuple(reader.lines), reader.meta(root), blocks=True)


class _Reader:
    def __init__(self) -> None:
        self.lines: list[Line] = []

    def add(self, text: str, kind: str = "row", number: str | None = None, level: int = 0) -> None:
        if text:
            self.lines.append(Line(text, kind, number, level))  # type: ignore[arg-type]
            self.lines.append(Line("", "blank"))

    def meta(self, root) -> DocumentMeta:
        def first(name: str):
            return next(iter(root.iter(f"{{*}}{name}")), None)

        number, date, title = first("docNumber"), first("docDate"), first("docTitle")
        return DocumentMeta(
            title=_text(title) if title is not None else None,
            symbol=_text(number) if number is not None else None,
            date=(date.get("date") or _text(date)) if date is not None else None,
        )

    def document(self, document) -> None:
        for part in document:
            name = _local(part.tag)
            if name in ("meta", ""):
                continue
            if name == "coverPage" or name == "preface":
                for p in part.iter("{*}p"):
                    self.add(_text(p), "front")
            elif name == "preamble":
                self.preamble(part)
            elif name in ("mainBody", "body"):
                self.body(part)
            elif name == "attachments":
                for attachment in part.iter("{*}attachment"):
                    for doc in attachment:
                        self.annex(doc)
            elif name == "conclusions":
                for p in part.iter("{*}p"):
                    self.add(_text(p))

    def annex(self, doc) -> None:
        heading = next(iter(doc.iter("{*}heading")), None)
        text = _text(heading) if heading is not None else ""
        if not text.lower().startswith(("annex", "appendix", "attachment", "enclosure")):
            self.add("Annex", "heading", level=1)
        self.document(doc)

    def preamble(self, preamble) -> None:
        count = 0
        for child in preamble:
            name = _local(child.tag)
            if name == "formula":
                self.add(_text(child), "front")
            else:
                for recital in child if name in ("recitals", "citations") else [child]:
                    if _text(recital):
                        count += 1
                        self.add(_text(recital), "paragraph", f"preamble {count}")
                        self.notes(recital)

    def body(self, body) -> None:
        for child in body:
            self.element(child)

    def element(self, element, parent: str = "") -> None:
        """One structural element: its number goes on its first block, points number under their parent."""
        name = _local(element.tag)
        if name in ("heading", "subheading"):
            self.add(_text(element), "heading", level=1 if name == "heading" else 2)
            return
        if name == "table":
            self.table(element)
            return
        if name == "authorialNote":
            self.add(_text(element), "footnote")
            return
        num = element.find("{*}num")
        number = _text(num, frozenset()).rstrip(".") if num is not None else ""
        if re.match(r"^H\d", element.get("class") or "") and len(_text(element).split()) <= 20:
            title = _text(element, frozenset({"authorialNote"}))
            self.add(title, "heading", level=1 if element.get("class") == "H1" else 2)
            return
        point = bool(parent) and bool(number)
        own = _point_number(parent, number) if point else number
        pending = [own]  # the number still to be printed on this element's first block

        def block(content) -> None:
            self.block(content, pending[0], "item" if point else "paragraph")
            pending[0] = ""

        for child in element:
            child_name = _local(child.tag)
            if child_name in ("heading", "subheading"):
                self.add(_text(child), "heading", level=1 if child_name == "heading" else 2)
            elif child_name in ("content", "intro", "wrapUp"):
                block(child)
            elif child_name in _LISTS:
                for item in child:
                    if _local(item.tag) in ("intro", "wrapUp", "listIntroduction", "listWrapUp"):
                        block(item)
                    else:
                        self.element(item, own or parent)
            elif child_name in _BLOCK_PARENTS or child_name == "table":
                self.element(child, own or parent)
            elif child_name == "authorialNote":
                self.add(_text(child), "footnote")

    def block(self, content, number: str, kind: str) -> None:
        """A content's paragraphs: the number on the first, later ones unnumbered blocks; tables row by row."""
        children = [c for c in content if _local(c.tag) not in ("num",)] or [content]
        for child in children:
            if _local(child.tag) == "table":
                self.table(child)
                continue
            text = _text(child)
            if not text:
                continue
            self.add(text, kind if number else "row", number or None)
            number = ""
            self.notes(child)

    def notes(self, element) -> None:
        for note in element.iter("{*}authorialNote"):
            self.add(_text(note), "footnote")

    def table(self, table) -> None:
        """Each row its own block; a row of one bold cell is a heading; a row's source citation is its footnote."""
        for row in table.iter("{*}tr"):
            cells = [c for c in row if _local(c.tag) in ("td", "th")]
            texts = [_text(c) for c in cells]
            if not any(texts):
                continue
            if len(cells) == 1 and _all_bold(cells[0]):
                self.add(texts[0], "heading", level=1 if re.match(r"^[IVXLC]+\.\s", texts[0]) else 2)
                continue
            topics = [
                t for c, t in zip(cells, texts, strict=True) if t and int(c.get("rowspan", "1")) > 1 and _all_bold(c)
            ]
            rest = [t for t in texts if t and t not in topics]
            citations = [t for t in rest[1:] if _CITATION.search(t)]
            for topic in topics:
                self.add(topic, "heading", level=3)
            self.add(" | ".join(t for t in rest if t not in citations))
            for citation in citations:
                self.add(citation, "footnote")


def _point_number(parent: str, number: str) -> str:
    """A list point's number under its parent: 7 and "a." or "(a)" give 7(a); "2.1." under 2 stays 2.1."""
    label = number.strip("().")
    if re.fullmatch(r"\d+(?:\.\d+)*", label):
        return label if label.startswith(f"{parent}.") else f"{parent}.{label}"
    return f"{parent}({label})"


def _all_bold(cell) -> bool:
    spans = list(cell.iter("{*}span"))
    bold = " ".join(_text(s) for s in spans if "bold" in (s.get("class") or ""))
    return bool(bold) and len(bold) >= 0.9 * len(_text(cell))
