"""Word (.docx) through python-docx: one block per paragraph, headings from their styles, each table row a block.

Word's automatic numbering is not in the text: the number a reader sees is computed from the numbering part
(abstract list definitions, their level formats and start values, restarts by `startOverride`) the way Word
counts it, so "12." comes out as paragraph 12 and a lettered level as a sub-item "(a) …" of its paragraph.
"""

from __future__ import annotations

import io
import re
import zipfile

from semsearch.readers import DocumentMeta, Layout, Line, ReaderError, list_label

_MAX_UNPACKED = 256 * 2**20  # a .docx that unpacks to more than this is refused (a zip bomb, not a report)
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def read(data: bytes) -> Layout:
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ReaderError("is encrypted or an old .doc file; save it as .docx without a password")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(info.file_size for info in archive.infolist()) > _MAX_UNPACKED:
                raise ReaderError(f"unpacks to more than {_MAX_UNPACKED // 2**20} MiB; refused")
    except zipfile.BadZipFile:
        raise ReaderError("not a readable Word document (not a .docx archive); is the file complete?") from None
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile) as error:
        raise ReaderError(f"not a readable Word document ({type(error).__name__}); is the file complete?") from None
    numbering = _Numbering(document)
    lines: list[Line] = []
    for block in document.element.body.iterchildren():
        if block.tag == f"{_W}p":
            lines += _paragraph(docx.text.paragraph.Paragraph(block, document), numbering)
        elif block.tag == f"{_W}tbl":
            for row in docx.table.Table(block, document).rows:
                cells = list(dict.fromkeys(" ".join(c.text.split()) for c in row.cells))
                text = " | ".join(c for c in cells if c)
                if text:
                    lines += [Line(text, "row"), Line("", "blank")]
    properties = document.core_properties
    meta = DocumentMeta(
        title=properties.title or None, date=properties.created.date().isoformat() if properties.created else None
    )
    if not any(line.text for line in lines):
        raise ReaderError("a Word document without text")
    return Layout(tuple(lines), meta, blocks=True)


def _paragraph(paragraph, numbering: _Numbering) -> list[Line]:
    text = " ".join(paragraph.text.split())
    if not text:
        return []
    style = paragraph.style.name if paragraph.style is not None else ""
    heading = re.match(r"^Heading\s*(\d)$", style)
    if style == "Title":
        line = Line(text, "front")
    elif heading:
        line = Line(text, "heading", level=int(heading.group(1)))
    else:
        label, numeric = numbering.label(paragraph)
        if label and numeric:
            line = Line(text, "paragraph", number=label.strip().rstrip(".").strip())
        elif label:
            line = Line(f"{label} {text}", "text")
        else:
            line = Line(text, "text")
    return [line, Line("", "blank")]


class _Numbering:
    """Word's list counters: one per abstract list and level; a higher level's step restarts the levels below."""

    def __init__(self, document) -> None:
        self.instances: dict[str, tuple[str, dict[int, int]]] = {}
        self.levels: dict[str, dict[int, tuple[int, str, str]]] = {}
        self.counters: dict[str, dict[int, int]] = {}
        self.started: set[str] = set()
        try:
            root = document.part.numbering_part.element
        except (KeyError, NotImplementedError, AttributeError):
            return
        for abstract in root.iter(f"{_W}abstractNum"):
            levels = {}
            for level in abstract.iter(f"{_W}lvl"):
                start = level.find(f"{_W}start")
                kind = level.find(f"{_W}numFmt")
                text = level.find(f"{_W}lvlText")
                levels[int(level.get(f"{_W}ilvl", "0"))] = (
                    int(start.get(f"{_W}val", "1")) if start is not None else 1,
                    kind.get(f"{_W}val", "decimal") if kind is not None else "decimal",
                    text.get(f"{_W}val", "") if text is not None else "",
                )
            self.levels[abstract.get(f"{_W}abstractNumId", "")] = levels
        for num in root.iter(f"{_W}num"):
            abstract = num.find(f"{_W}abstractNumId")
            overrides = {}
            for override in num.iter(f"{_W}lvlOverride"):
                start = override.find(f"{_W}startOverride")
                if start is not None:
                    overrides[int(override.get(f"{_W}ilvl", "0"))] = int(start.get(f"{_W}val", "1"))
            if abstract is not None:
                self.instances[num.get(f"{_W}numId", "")] = (abstract.get(f"{_W}val", ""), overrides)

    def _num_pr(self, paragraph) -> tuple[str, int] | None:
        """The paragraph's list and level, set on it directly or through its style (and the styles it is based on)."""
        properties = paragraph._p.pPr
        style = paragraph.style
        for element in [properties] + [s.element.pPr for s in _style_chain(style)]:
            num_pr = element.find(f"{_W}numPr") if element is not None else None
            if num_pr is not None:
                num_id = num_pr.find(f"{_W}numId")
                level = num_pr.find(f"{_W}ilvl")
                if num_id is None:
                    continue
                return num_id.get(f"{_W}val", ""), int(level.get(f"{_W}val", "0")) if level is not None else 0
        return None

    def label(self, paragraph) -> tuple[str, bool]:
        """The number Word shows before the paragraph ("12.", "(a)"), and whether it is a paragraph number."""
        found = self._num_pr(paragraph)
        if found is None or found[0] not in self.instances:
            return "", False
        num_id, level = found
        abstract, overrides = self.instances[num_id]
        levels = self.levels.get(abstract, {})
        if level not in levels:
            return "", False
        counters = self.counters.setdefault(abstract, {})
        if num_id not in self.started:
            self.started.add(num_id)
            for overridden, start in overrides.items():
                counters[overridden] = start - 1
        start, kind, template = levels[level]
        counters[level] = counters.get(level, start - 1) + 1
        for deeper in [k for k in counters if k > level]:
            del counters[deeper]
        if kind in ("bullet", "none"):
            return ("•" if kind == "bullet" else ""), False

        def value(match: re.Match) -> str:
            k = int(match.group(1)) - 1
            k_start, k_kind, _ = levels.get(k, (1, "decimal", ""))
            return list_label(counters.get(k, k_start), k_kind)

        label = re.sub(r"%(\d)", value, template)
        return label, kind in ("decimal", "decimalZero") and bool(re.fullmatch(r"\d+(?:\.\d+)*\.?", label.strip()))


def _style_chain(style) -> list:
    chain = []
    while style is not None and len(chain) < 20:
        chain.append(style)
        style = style.base_style
    return chain
