"""The records a document is read into: paragraphs with where they sit, and every source line as a `Piece`.

They are shared by the parser (which makes them), the index (which stores them) and every view; they carry no
parsing logic beyond what their own text needs.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Literal

from semsearch.readers import DocumentMeta

SUPERSCRIPT_DIGITS = "⁰¹²³⁴⁵⁶⁷⁸⁹"
_SUP = f"[{SUPERSCRIPT_DIGITS}]"
_STAR_MARK = re.compile(r"(?<=[^\s*])(\*{1,3})(?=[\s.,;:)]|$)")
_SUP_MARK = re.compile(rf"(?<=\S){_SUP}+")
_EMPHASIS = re.compile(r"(\*{1,3})(?=\S)(.+?)(?<=\S)\1")
YEAR = re.compile(r"\b((?:19|20)\d{2})\b")  # a year in a date, also read by the parser
_WORDS_OR_MARKUP = re.compile(rf"[\s*{SUPERSCRIPT_DIGITS}]")

Role = Literal["front", "heading", "paragraph", "footnote", "furniture"]


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
        years = YEAR.findall(self.date)
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
    """One source file, read: its paragraphs, every line's piece, and what it says about itself."""

    doc: str
    source: str
    sha256: str
    paragraphs: tuple[Paragraph, ...]
    pieces: tuple[Piece, ...]
    meta: DocumentMeta = field(default_factory=DocumentMeta)

    @property
    def front_matter(self) -> str:
        return "\n".join(p.text for p in self.pieces if p.role == "front")


def clean_text(text: str) -> str:
    """Drop emphasis markup and footnote marks, collapse whitespace."""
    text = _EMPHASIS.sub(r"\2", text)
    text = _STAR_MARK.sub("", text)
    text = _SUP_MARK.sub("", text)
    return " ".join(text.split())


def content_signature(text: str) -> str:
    """The text with whitespace, asterisks and superscript digits removed: what 'nothing lost' compares."""
    return _WORDS_OR_MARKUP.sub("", text)


def marks(text: str) -> list[str]:
    """The footnote marks inside a text (superscript digits, asterisks after a word)."""
    plain = _EMPHASIS.sub(r"\2", text)
    return _SUP_MARK.findall(plain) + _STAR_MARK.findall(plain)
