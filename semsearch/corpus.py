"""Turn UN-style documents of numbered paragraphs into `Paragraph` records without losing a line.

The parser reads structure from the text itself, never from one document's paragraph numbers: roman-numeral
section headings, sub-theme headings, meeting headings read from their ordinal word and date, numbered and
sub-numbered paragraphs, lettered sub-items, page-break continuations and footnotes. Documents without any
numbering fall back to blank-line blocks. Every non-blank source line is kept as a `Piece` (front matter,
heading, paragraph text or footnote), so a document can be rebuilt from its records.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Literal

from semsearch.errors import CorpusError
from semsearch.sanitize import display_name

SUPERSCRIPT_DIGITS = "⁰¹²³⁴⁵⁶⁷⁸⁹"
TEXT_SUFFIXES = frozenset({".txt", ".text", ".md", ".markdown"})
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
MAX_DEPTH = 200  # directories below a corpus root; a deeper tree is a mistake or a trap

ORDINAL_WORDS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
    "eleventh": 11,
    "twelfth": 12,
}
ROMAN_VALUES = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100}

_SUP = f"[{SUPERSCRIPT_DIGITS}]"
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_FOOTNOTE_SUP = re.compile(rf"^({_SUP}+)\s*(\S.*)$")
_FOOTNOTE_STAR = re.compile(r"^(\*{1,3})\s+(\S.*)$")
_STAR_MARK = re.compile(r"(?<=[^\s*])(\*{1,3})(?=[\s.,;:)]|$)")
_FOOTNOTE_MARK = re.compile(rf"^(?:{_SUP}+|\*+)")
_SUP_MARK = re.compile(rf"(?<=\S){_SUP}+")
_EMPHASIS = re.compile(r"(\*{1,3})(?=\S)(.+?)(?<=\S)\1")
_MD_HEADING = re.compile(r"^#{1,6}\s+(\S.*?)\s*#*$")
_SECTION = re.compile(r"^([IVXLC]+)\.\s+(\S.*)$")
_LETTERED_HEADING = re.compile(r"^([A-Z])\.\s+(\S.*)$")
_PARAGRAPH = re.compile(r"^(\d{1,6})\.\s+(\S.*)$")
_SUB_PARAGRAPH = re.compile(r"^(\d{1,6}(?:\.\d{1,3})+)\.?\s+(\S.*)$")
_SUB_ITEM = re.compile(r"^\((?:[a-z]{1,2}|[ivx]{1,5})\)\s+\S")
_ORDINAL = re.compile(
    r"\b(" + "|".join(ORDINAL_WORDS) + r"|\d{1,2}(?:st|nd|rd|th))\s+(?:\w+\s+)?(?:meeting|session)\b",
    re.IGNORECASE,
)
_MEETING_DATE = re.compile(r"\b(\d{1,2}(?:\s*(?:and|to|-|–)\s*\d{1,2})?\s+[A-Z][a-z]+\s+(?:19|20)\d{2})\b")
_YEAR = re.compile(r"\b((?:19|20)\d{2})\b")
_TERMINAL = re.compile(r"[.!?;:][\"'”’)\]]*$")
_WORDS_OR_MARKUP = re.compile(rf"[\s*{SUPERSCRIPT_DIGITS}]")

Role = Literal["front", "heading", "paragraph", "footnote"]


@dataclass(frozen=True)
class Section:
    numeral: str
    title: str

    def __str__(self) -> str:
        return f"{self.numeral}. {self.title}" if self.numeral else self.title

    @property
    def short(self) -> str:
        """The title without the genre's 'Recommendations in the area of …' lead-in, for narrow tables."""
        title = re.sub(
            r"^(?:other\s+)?recommendations\s+(?:in the area of|concerning|on)\s+", "", self.title, flags=re.I
        )
        title = title[:1].upper() + title[1:]
        return f"{self.numeral}. {title}" if self.numeral else title


@dataclass(frozen=True)
class Meeting:
    """A meeting is its ordinal; the date is as printed, which can vary ("on 21 and 22 May", "from 21 to 22 May")."""

    ordinal: int
    date: str = field(compare=False)

    @property
    def year(self) -> int | None:
        years = _YEAR.findall(self.date)
        return int(years[-1]) if years else None

    def __str__(self) -> str:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(self.ordinal if self.ordinal < 20 else self.ordinal % 10, "th")
        return f"{self.ordinal}{suffix} ({self.year})" if self.year else f"{self.ordinal}{suffix}"


@dataclass(frozen=True)
class Paragraph:
    """One numbered paragraph with where it sits in the document and which lines it came from."""

    doc: str
    number: str
    text: str
    section: Section | None = None
    subtheme: str | None = None
    meeting: Meeting | None = None
    footnotes: tuple[str, ...] = ()
    lines: tuple[int, int] = (0, 0)

    @property
    def key(self) -> str:
        return f"{self.doc}#{self.number}"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Paragraph:
        section = data.get("section")
        meeting = data.get("meeting")
        return cls(
            doc=data["doc"],
            number=data["number"],
            text=data["text"],
            section=Section(**section) if section else None,
            subtheme=data.get("subtheme"),
            meeting=Meeting(**meeting) if meeting else None,
            footnotes=tuple(data.get("footnotes", ())),
            lines=tuple(data.get("lines", (0, 0))),  # type: ignore[arg-type]
        )


@dataclass(frozen=True)
class Piece:
    """The cleaned text of one source line (or one glued heading inside it) and what the parser took it for."""

    line: int
    role: Role
    text: str


@dataclass(frozen=True)
class Document:
    doc: str
    source: str
    sha256: str
    paragraphs: tuple[Paragraph, ...]
    pieces: tuple[Piece, ...]

    @property
    def front_matter(self) -> str:
        return "\n".join(p.text for p in self.pieces if p.role == "front")


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass(frozen=True)
class Corpus:
    documents: tuple[Document, ...]
    skipped: tuple[Skipped, ...] = field(default=())

    @property
    def paragraphs(self) -> list[Paragraph]:
        return [p for d in self.documents for p in d.paragraphs]

    def find(self, number: str, doc: str | None = None) -> Paragraph:
        return find_paragraph(self.paragraphs, number, doc)


def find_paragraph(paragraphs: Sequence[Paragraph], number: str, doc: str | None = None) -> Paragraph:
    """The paragraph printed with this number; with several documents, `doc` says which."""
    return paragraphs[paragraph_row(paragraphs, number, doc)]


def paragraph_row(paragraphs: Sequence[Paragraph], number: str, doc: str | None = None) -> int:
    """Where `find_paragraph`'s paragraph sits in `paragraphs`: an index's row, for its vectors."""
    rows = [row for row, p in enumerate(paragraphs) if p.number == number and (doc is None or p.doc == doc)]
    if not rows:
        raise CorpusError(f"no paragraph numbered {number}{f' in {doc}' if doc else ''}")
    if len(rows) > 1:
        docs = ", ".join(paragraphs[row].doc for row in rows)
        raise CorpusError(f"paragraph {number} exists in several documents ({docs}); pass --doc to choose")
    return rows[0]


def clean_text(text: str) -> str:
    """Drop emphasis markup and footnote marks, collapse whitespace."""
    text = _EMPHASIS.sub(r"\2", text)
    text = _STAR_MARK.sub("", text)
    text = _SUP_MARK.sub("", text)
    return " ".join(text.split())


def content_signature(text: str) -> str:
    """The text with whitespace, asterisks and superscript digits removed: what 'nothing lost' compares."""
    return _WORDS_OR_MARKUP.sub("", text)


def source_lines(text: str) -> list[str]:
    return _LINE_BREAK.split(text)


def is_roman(text: str) -> bool:
    return bool(text) and all(c in ROMAN_VALUES for c in text)


def roman_value(numeral: str) -> int:
    values = [ROMAN_VALUES[c] for c in numeral]
    return sum(-v if i + 1 < len(values) and v < values[i + 1] else v for i, v in enumerate(values))


def _marks(text: str) -> list[str]:
    plain = _EMPHASIS.sub(r"\2", text)
    return _SUP_MARK.findall(plain) + _STAR_MARK.findall(plain)


def _is_unfinished(text: str) -> bool:
    return not _TERMINAL.search(text)


def _looks_like_heading(text: str) -> bool:
    words = text.split()
    return 0 < len(words) <= 14 and text[0].isupper() and not re.search(r"[.,;:]$", text)


def _meeting_from(text: str) -> Meeting | None:
    match = _ORDINAL.search(text)
    if not match:
        return None
    word = match.group(1).lower()
    ordinal = ORDINAL_WORDS.get(word) or int(re.sub(r"\D", "", word))
    date = _MEETING_DATE.search(text)
    year = _YEAR.search(text[match.end() :])
    return Meeting(ordinal, date.group(1) if date else (year.group(1) if year else ""))


def _logical_lines(lines: Sequence[str]) -> Iterator[tuple[int, str]]:
    """Yield (line number, text) pairs; headings glued together by conversion (`…**Note**I. Intro**`) split apart."""
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if "**" in line and not _PARAGRAPH.match(line):
            parts = [p.strip() for p in line.split("**")]
            if "****" in line or any(_SECTION.match(p) for p in parts[1:]):
                for part in parts:
                    if part:
                        yield number, part
                continue
        yield number, line


@dataclass
class _State:
    """What the parser knows at the current line: the open paragraph and the headings above it."""

    doc: str
    numbered: bool
    star_marks: frozenset[str]
    pieces: list[Piece] = field(default_factory=list)
    paragraphs: list[dict] = field(default_factory=list)
    section: Section | None = None
    subtheme: str | None = None
    meeting: Meeting | None = None
    open_paragraph: dict | None = None
    last_key: tuple[int, ...] | None = None
    previous_blank: bool = True
    next_blank: bool = True
    seen_structure: bool = False

    def add(self, line: int, role: Role, text: str) -> None:
        self.pieces.append(Piece(line, role, clean_text(text)))

    def heading(self, line: int, text: str) -> None:
        self.add(line, "heading", text)
        self.open_paragraph = None
        self.seen_structure = True

    def start_paragraph(self, line: int, number: str, text: str, printed: str) -> None:
        """`text` is the paragraph's own words; `printed` is the whole line, number included, for the pieces."""
        self.open_paragraph = {
            "number": number,
            "raw": [text],
            "section": self.section,
            "subtheme": self.subtheme,
            "meeting": self.meeting,
            "lines": [line, line],
        }
        self.paragraphs.append(self.open_paragraph)
        self.add(line, "paragraph", printed)
        self.seen_structure = True

    def extend_paragraph(self, line: int, text: str) -> None:
        assert self.open_paragraph is not None
        self.open_paragraph["raw"].append(text)
        self.open_paragraph["lines"][1] = line
        self.add(line, "paragraph", text)

    def open_is_unfinished(self) -> bool:
        """Whether the open paragraph stops mid-sentence, judged on its last line that has text: cleaning the
        whole paragraph at every line would make a long run-on paragraph quadratic."""
        if self.open_paragraph is None:
            return False
        ending = next((c for c in map(clean_text, reversed(self.open_paragraph["raw"])) if c), "")
        return _is_unfinished(ending)


def _paragraph_key(number: str) -> tuple[int, ...]:
    return tuple(int(n) for n in number.split("."))


def _numbered_start(state: _State, text: str) -> tuple[str, str] | None:
    """A paragraph number at the start of the line, if it continues the document's numbering."""
    match = _PARAGRAPH.match(text) or _SUB_PARAGRAPH.match(text)
    if not match:
        return None
    key = _paragraph_key(match.group(1))
    if state.last_key is not None:
        if key <= state.last_key or key[0] > state.last_key[0] + 10:
            return None
        if len(key) > 1 and state.open_is_unfinished():
            return None
    return match.group(1), match.group(2)


def _handle_text(state: _State, line: int, text: str) -> None:
    """A line that is neither footnote nor numbered paragraph nor an unambiguous heading."""
    if state.open_paragraph is not None and (
        not state.previous_blank or state.open_is_unfinished() or text[0].islower() or _SUB_ITEM.match(text)
    ):
        state.extend_paragraph(line, text)
        return
    meeting = _meeting_from(text) if state.seen_structure and not _TERMINAL.search(text) else None
    if meeting is not None and len(text.split()) <= 40:
        state.meeting = meeting
        state.heading(line, text)
    elif not state.numbered:
        if _looks_like_heading(text) and state.previous_blank and state.next_blank:
            state.subtheme = clean_text(text)
            state.heading(line, text)
        else:
            state.start_paragraph(line, str(len(state.paragraphs) + 1), text, text)
    elif not state.seen_structure:
        state.add(line, "front", text)
    elif _looks_like_heading(text) and state.next_blank:
        state.subtheme = clean_text(text)
        state.meeting = None
        state.heading(line, text)
    elif state.open_paragraph is not None:
        state.extend_paragraph(line, text)
    else:
        state.add(line, "heading", text)


def _handle_line(state: _State, line: int, text: str) -> None:
    footnote = _FOOTNOTE_SUP.match(text) or _FOOTNOTE_STAR.match(text)
    if footnote and (footnote.group(1)[0] != "*" or footnote.group(1) in state.star_marks):
        state.pieces.append(Piece(line, "footnote", clean_text(text)))
        return
    markdown = _MD_HEADING.match(text)
    section = _SECTION.match(text)
    lettered = _LETTERED_HEADING.match(text)
    if markdown:
        inner = _SECTION.match(markdown.group(1))
        state.section = Section(*inner.groups()) if inner else Section("", clean_text(markdown.group(1)))
        state.subtheme = state.meeting = None
        state.heading(line, text)
        return
    meeting = _meeting_from(text) if lettered and state.seen_structure else None
    if meeting is not None:
        state.meeting = meeting
        state.heading(line, text)
        return
    if section and _is_next_section(state, section.group(1)) and len(text.split()) <= 40:
        state.section = Section(section.group(1), clean_text(section.group(2)))
        state.subtheme = state.meeting = None
        state.heading(line, text)
        return
    if lettered and state.seen_structure and _looks_like_heading(lettered.group(2)):
        state.subtheme = clean_text(lettered.group(2))
        state.meeting = None
        state.heading(line, text)
        return
    numbered = _numbered_start(state, text) if state.numbered else None
    if numbered:
        state.last_key = _paragraph_key(numbered[0])
        state.start_paragraph(line, numbered[0], numbered[1], text)
        return
    _handle_text(state, line, text)


def _is_next_section(state: _State, numeral: str) -> bool:
    if not is_roman(numeral):
        return False
    if state.section is None or not state.section.numeral:
        return True
    return roman_value(numeral) == roman_value(state.section.numeral) + 1


def _footnote_texts(paragraph: dict, footnotes: list[Piece]) -> tuple[str, ...]:
    """Footnote texts whose marks appear in the paragraph, preferring the first definition after it."""
    found = []
    for mark in _marks(" ".join(paragraph["raw"])):
        candidates = [f for f in footnotes if _FOOTNOTE_MARK.match(f.text).group(0) == mark]
        after = [f for f in candidates if f.line >= paragraph["lines"][0]]
        chosen = (after or candidates[::-1])[:1]
        found += [f.text[len(mark) :].strip() for f in chosen]
    return tuple(found)


def parse_text(text: str, doc: str = "doc") -> tuple[list[Paragraph], list[Piece]]:
    """Parse one document's text; returns its paragraphs and the piece accounting of every non-blank line."""
    lines = source_lines(text)
    numbered = sum(1 for line in lines if _PARAGRAPH.match(line.strip())) >= 2
    star_marks = frozenset(mark for mark in _marks(text) if mark.startswith("*"))
    state = _State(doc=doc, numbered=numbered, star_marks=star_marks)
    logical = list(_logical_lines(lines))
    for index, (line, content) in enumerate(logical):
        if not content:
            state.previous_blank = True
            continue
        state.next_blank = index + 1 == len(logical) or not logical[index + 1][1]
        _handle_line(state, line, content)
        state.previous_blank = False
    footnotes = [p for p in state.pieces if p.role == "footnote"]
    paragraphs = [
        Paragraph(
            doc=doc,
            number=p["number"],
            text=clean_text(" ".join(p["raw"])),
            section=p["section"],
            subtheme=p["subtheme"],
            meeting=p["meeting"],
            footnotes=_footnote_texts(p, footnotes),
            lines=(p["lines"][0], p["lines"][1]),
        )
        for p in state.paragraphs
    ]
    return paragraphs, state.pieces


def _decode(path: Path, data: bytes) -> str:
    if not data.strip():
        raise CorpusError(f"{path}: the file is empty; add text to it or leave it out")
    if b"\x00" in data:
        raise CorpusError(f"{path}: looks binary (contains NUL bytes); pass a UTF-8 text or Markdown file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise CorpusError(
            f"{path}: not UTF-8 text (byte 0x{data[error.start]:02x} at offset {error.start}); "
            "convert it, e.g. `iconv -f latin1 -t utf-8`"
        ) from None


def read_document(path: Path, doc: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> Document:
    """Read and parse one file; every way it can be unusable becomes a one-line `CorpusError`."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise CorpusError(
                f"{path}: {size / 2**20:.0f} MiB is larger than the {max_bytes / 2**20:.0f} MiB limit; "
                "split it or raise the limit"
            )
        data = path.read_bytes()
    except IsADirectoryError:
        raise CorpusError(f"{path}: is a directory; pass it as a corpus directory") from None
    except FileNotFoundError:
        raise CorpusError(f"{path}: no such file or directory") from None
    except PermissionError:
        raise CorpusError(f"{path}: permission denied; make it readable or leave it out") from None
    except OSError as error:
        raise CorpusError(f"{path}: cannot be read ({error.strerror or error}); leave it out") from None
    text = _decode(path, data)
    doc_id = doc or path.stem
    paragraphs, pieces = parse_text(text, doc_id)
    if not paragraphs:
        raise CorpusError(f"{path}: no paragraphs found; is it a text document?")
    return Document(doc_id, str(path), hashlib.sha256(data).hexdigest(), tuple(paragraphs), tuple(pieces))


def find_documents(root: Path, max_depth: int = MAX_DEPTH) -> Iterator[Path | Skipped]:
    """Text files under root in a stable order (each directory's files, then its subdirectories, by name).

    The walk is iterative (no recursion limit), follows no directory symlink (so loops cannot trap it) and no file
    symlink that leads outside the corpus; each of those, and whatever lies deeper than `max_depth`, is skipped
    with its reason.
    """
    real_root = root.resolve()
    pending: list[tuple[Path, int]] = [(root, 0)]
    while pending:
        here, depth = pending.pop()
        try:
            entries = sorted(os.scandir(here), key=lambda e: e.name)
        except OSError as error:
            yield Skipped(str(here), f"cannot be listed ({error.strerror or error})")
            continue
        subdirs = []
        for entry in entries:
            if not entry.name.startswith(".") and _is_directory(entry):
                if entry.is_symlink():
                    yield Skipped(str(here / entry.name), "symbolic link to a directory, not followed")
                elif depth + 1 > max_depth:
                    yield Skipped(str(here / entry.name), f"more than {max_depth} directories deep, not read")
                else:
                    subdirs.append(here / entry.name)
        for entry in entries:
            path = here / entry.name
            if entry.name.startswith(".") or path.suffix.lower() not in TEXT_SUFFIXES or _is_directory(entry):
                continue
            if (reason := _unreadable_reason(path, entry, real_root)) is not None:
                yield Skipped(str(path), reason)
                continue
            yield path
        pending.extend((directory, depth + 1) for directory in reversed(subdirs))


def _is_directory(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _unreadable_reason(path: Path, entry: os.DirEntry[str], real_root: Path) -> str | None:
    """Why a file of the corpus is not read, or None: not a regular file, a broken link, a link out of the corpus."""
    try:
        target = path.resolve(strict=True)
    except (OSError, RuntimeError) as error:
        return f"broken or looping symbolic link ({getattr(error, 'strerror', error)})"
    if entry.is_symlink() and not target.is_relative_to(real_root):
        return "symbolic link to a file outside the corpus, not followed"
    if not target.is_file():
        return "not a regular file"
    return None


def _doc_id(root: Path, path: Path) -> str:
    return display_name(path.relative_to(root).with_suffix("").as_posix())


def load_corpus(paths: Iterable[Path | str], max_bytes: int = DEFAULT_MAX_BYTES) -> Corpus:
    """Read files and directories into one corpus.

    A file named explicitly must be readable (its problem is an error); inside a directory, unreadable files are
    skipped and reported so that one bad file does not stop the rest of the corpus.
    """
    documents: list[Document] = []
    skipped: list[Skipped] = []
    for raw in paths:
        root = Path(raw)
        if not root.exists() and not root.is_symlink():
            raise CorpusError(f"{root}: no such file or directory")
        if not root.is_dir():
            documents.append(read_document(root, display_name(root.stem), max_bytes))
            continue
        found = 0
        for item in find_documents(root):
            if isinstance(item, Skipped):
                skipped.append(item)
                continue
            found += 1
            try:
                documents.append(read_document(item, _doc_id(root, item), max_bytes))
            except CorpusError as error:
                skipped.append(Skipped(str(item), str(error).removeprefix(f"{item}: ")))
        if not found:
            raise CorpusError(f"{root}: no readable documents (looked for {', '.join(sorted(TEXT_SUFFIXES))} files)")
    if not documents:
        reasons = "; ".join(str(s) for s in skipped[:3])
        raise CorpusError(f"no readable documents: {reasons}")
    return Corpus(tuple(_unique_ids(documents)), tuple(skipped))


def _unique_ids(documents: list[Document]) -> list[Document]:
    """Every document a distinct id that does not change from build to build: its stem, or, where stems collide
    and its suffix tells it apart (a.md, a.txt), its name with the suffix; still-equal names (the same file name
    under two arguments) get -2, -3 … in argument order, skipping ids another document has."""
    stems = Counter(d.doc for d in documents)
    named = Counter((d.doc, Path(d.source).suffix) for d in documents)
    names = [
        d.doc + Path(d.source).suffix if stems[d.doc] > 1 and named[d.doc, Path(d.source).suffix] == 1 else d.doc
        for d in documents
    ]
    wanted = set(names)
    given: set[str] = set()
    result = []
    for document, name in zip(documents, names, strict=True):
        new_id, count = name, 1
        while new_id in given or (new_id != name and new_id in wanted):
            count += 1
            new_id = f"{name}-{count}"
        given.add(new_id)
        if new_id != document.doc:
            paragraphs = tuple(replace(p, doc=new_id) for p in document.paragraphs)
            document = replace(document, doc=new_id, paragraphs=paragraphs)
        result.append(document)
    return result
