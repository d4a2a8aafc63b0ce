"""HTML through lxml: each block element a block, headings by rank, ordered lists numbered as a browser shows them.

Scripts, styles, navigation and forms are dropped; a lone `<h1>` that titles the page is the document's title,
and the next heading rank down is its sections. `<ol>` items carry the number a browser would print (`start`,
`value`, `reversed` aside) as paragraph numbers when decimal, as sub-items "(a) …" when lettered or roman.
"""

from __future__ import annotations

import re

from semsearch.readers import DocumentMeta, Layout, Line, ReaderError, list_label

_DROP = {"script", "style", "noscript", "template", "nav", "form", "button", "select", "svg", "iframe", "object"}
_BLOCKS = {
    "p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "blockquote", "pre", "dt", "dd", "section",
    "article", "main", "aside", "header", "footer", "figcaption", "caption", "address", "table", "tbody",
    "thead", "tfoot", "ul", "ol", "dl", "figure", "body", "hr",
}  # fmt: skip


def read(data: bytes) -> Layout:
    import lxml.html
    from lxml import etree

    if not data.strip():
        raise ReaderError("the file is empty; add text to it or leave it out")
    try:
        root = lxml.html.document_fromstring(data)
    except (etree.ParserError, ValueError) as error:
        raise ReaderError(f"not readable HTML ({error})") from None
    title = root.findtext(".//title")
    for element in list(root.iter(*_DROP, "head", etree.Comment, etree.ProcessingInstruction)):
        if element.getparent() is not None:
            element.drop_tree()
    headings = [int(h.tag[1]) for h in root.iter("h1", "h2", "h3", "h4", "h5", "h6")]
    ranks = sorted(set(headings))
    if headings.count(1) == 1 and len(ranks) > 1:
        ranks.remove(1)  # the page's title, not a section
    reader = _Reader({rank: position + 1 for position, rank in enumerate(ranks)})
    body = root.find("body")
    reader.block(body if body is not None else root)
    if not any(line.text for line in reader.lines):
        raise ReaderError("an HTML page without text")
    meta = DocumentMeta(title=" ".join(title.split()) if title and title.strip() else None)
    return Layout(tuple(reader.lines), meta, blocks=True)


class _Reader:
    def __init__(self, levels: dict[int, int]) -> None:
        self.levels = levels
        self.lines: list[Line] = []

    def emit(self, text: str, element, label: str = "", numeric: bool = False) -> None:
        text = " ".join(text.split())
        if not text:
            return
        tag = element.tag if isinstance(element.tag, str) else ""
        if re.fullmatch(r"h[1-6]", tag):
            level = self.levels.get(int(tag[1]))
            line = Line(text, "heading", level=level) if level else Line(text, "front")
        elif tag == "tr":
            line = Line(text, "row")
        elif label and numeric:
            line = Line(text, "paragraph", number=label)
        elif label:
            line = Line(f"{label} {text}", "text")
        else:
            line = Line(text, "text")
        self.lines += [line, Line("", "blank")]

    def block(self, element, label: str = "", numeric: bool = False) -> None:
        """An element's own text as one block, its block children as blocks of their own, in document order."""
        if element.tag == "tr":
            cells = [" ".join(c.text_content().split()) for c in element if c.tag in ("td", "th")]
            self.emit(" | ".join(c for c in cells if c), element)
            return
        buffer = [element.text or ""]
        first = True
        for child in element:
            if not isinstance(child.tag, str):
                buffer.append(child.tail or "")
                continue
            if child.tag in _BLOCKS:
                text = "".join(buffer)
                if text.strip():
                    self.emit(text, element, label if first else "", numeric)
                    first = False
                if child.tag == "ol":
                    self.ordered(child, label if numeric else "")
                elif first and label:
                    self.block(child, label, numeric)
                    first = False
                else:
                    self.block(child)
                buffer = [child.tail or ""]
            elif child.tag == "br":
                buffer += [" ", child.tail or ""]
            else:
                buffer += [child.text_content(), child.tail or ""]
        self.emit("".join(buffer), element, label if first else "", numeric)

    def ordered(self, element, parent: str) -> None:
        kind = element.get("type", "1")
        try:
            value = int(element.get("start", "1")) - 1
        except ValueError:
            value = 0
        for item in element:
            if item.tag != "li":
                continue
            try:
                value = int(item.get("value", "")) if item.get("value") else value + 1
            except ValueError:
                value += 1
            style = {"a": "lowerLetter", "A": "upperLetter", "i": "lowerRoman", "I": "upperRoman"}.get(kind)
            if style is not None:
                self.block(item, f"({list_label(value, style)})")
            else:
                self.block(item, f"{parent}.{value}" if parent else str(value), True)
