"""Read the structure of a UN-style document from its lines, whatever format they came from, losing none.

The parser reads structure from the text itself, never from one document's paragraph numbers: roman-numeral
section headings, sub-theme headings, meeting headings read from their ordinal word and date, numbered and
sub-numbered paragraphs, lettered sub-items, page-break continuations and footnotes. What a format's markup says
(Akoma Ntoso numbers, Word list numbering, headings) is taken as given.

Numbering is chosen for the whole document before it is read: of all the lines that could open a numbered
paragraph, the longest plausibly increasing sequence wins, so a wrapped "2008." or one misprinted number cannot
swallow what follows; a list restarting at "1." inside paragraph N becomes N.1, N.2 …; an annex numbers apart
from the body. Text outside numbered paragraphs (preambles, text under a sub-heading, table rows) becomes a
paragraph of its own, keyed "N+k" (the k-th unnumbered block after paragraph N). Page furniture and contents
pages are kept as pieces but never read (see `semsearch.furniture`). Documents without any numbering fall back
to blank-line blocks. Every non-blank line is kept as a `Piece`, so a document can be rebuilt from its records.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from semsearch import furniture
from semsearch.document import (
    SUPERSCRIPT_DIGITS,
    YEAR,
    Meeting,
    Paragraph,
    Piece,
    Role,
    Section,
    clean_text,
    marks,
)
from semsearch.readers import DocumentMeta, Layout, Line
from semsearch.readers.text import layout_of

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
_FOOTNOTE_SUP = re.compile(rf"^({_SUP}+)\s*(\S.*)$")
_FOOTNOTE_STAR = re.compile(r"^(\*{1,3})\s+(\S.*)$")
_FOOTNOTE_MARK = re.compile(rf"^(?:{_SUP}+|\*+)")
_MD_HEADING = re.compile(r"^#{1,6}\s+(\S.*?)\s*#*$")
_SECTION = re.compile(r"^([IVXLC]+)\.\s+(\S.*)$")
_LETTERED_HEADING = re.compile(r"^([A-Z])\.\s+(\S.*)$")
_PARAGRAPH = re.compile(r"^(\d{1,6})\.\s+(\S.*)$")
_SUB_PARAGRAPH = re.compile(r"^(\d{1,6}(?:\.\d{1,3})+)\.?\s+(\S.*)$")
_NUMBER_ALONE = re.compile(r"^(\d{1,6})\.$|^(\d{1,6}(?:\.\d{1,3})+)\.?$")
_LABEL_ALONE = re.compile(r"^(?:[IVXLC]+\.|[A-Z]\.|\((?:[a-z]{1,2}|[ivx]{1,5})\))$")
_SUB_ITEM = re.compile(r"^\((?:[a-z]{1,2}|[ivx]{1,5})\)\s+\S")
_BULLET = re.compile(r"^[•◦▪●■\-–]\s+\S")
_ANNEX = re.compile(r"^(?:annex|appendix|attachment|enclosure)(?:\s+([IVXLC]+|[A-Z]|\d{1,2}))?\b[.:]?", re.I)
_ORDINAL = re.compile(
    r"\b(" + "|".join(ORDINAL_WORDS) + r"|\d{1,2}(?:st|nd|rd|th))\s+(?:\w+\s+)?(?:meeting|session)\b",
    re.IGNORECASE,
)
_MEETING_DATE = re.compile(r"\b(\d{1,2}(?:\s*(?:and|to|-|–)\s*\d{1,2})?\s+[A-Z][a-z]+\s+(?:19|20)\d{2})\b")
_TERMINAL = re.compile(r"[.!?;:][\"'”’)\]]*$")
_HYPHENATED = re.compile(r"[A-Za-zÀ-ÿ]-$")
_WORD = re.compile(r"[A-Za-zÀ-ÿ]+(?:-[A-Za-zÀ-ÿ]+)*")
_SYMBOL = re.compile(r"\b[A-Z]{1,6}(?:/[A-Z0-9][A-Za-z0-9.\-]*){2,6}(?:\s\(\d{4}\))?")
_DATE = re.compile(
    r"\b\d{1,2}\s+(?:January|February|March|April|May|June|July|August|September|October|November|"
    r"December)\s+(?:19|20)\d{2}\b"
)
_TITLE_START = re.compile(r"^(?:report|note|resolution|statement|letter|decision|draft|aide|annual|review)\b", re.I)
_KEEP_HYPHEN_BEFORE = frozenset({"and", "or", "to", "as"})
_MAX_GAP = 10  # a numbered paragraph may skip at most this many numbers
_WINDOW = 80  # candidates looked back over when choosing the numbering


def is_roman(text: str) -> bool:
    return bool(text) and all(c in ROMAN_VALUES for c in text)


def roman_value(numeral: str) -> int:
    values = [ROMAN_VALUES[c] for c in numeral]
    return sum(-v if i + 1 < len(values) and v < values[i + 1] else v for i, v in enumerate(values))


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
    year = YEAR.search(text[match.end() :])
    return Meeting(ordinal, date.group(1) if date else (year.group(1) if year else ""))


@dataclass(frozen=True)
class _Logical:
    """One line as the parser reads it: its source line number, text, and what the format said it is."""

    line: int
    text: str
    source: Line


def _logical_lines(lines: Sequence[Line], skip: dict[int, str]) -> Iterator[_Logical]:
    """Lines to read, in order; headings glued together by conversion (`…**Note**I. Intro**`) split apart, and a
    heading's numeral or an item's letter alone on its line ("II." then its title) joined to the line after."""
    held: tuple[int, str] | None = None
    for index, source in enumerate(lines):
        if index in skip:
            continue
        line = source.text.strip() if source.kind != "blank" else ""
        if held is not None:
            if not line:
                continue
            if source.kind == "text":
                yield _Logical(held[0], f"{held[1]} {line}", source)
                held = None
                continue
            yield _Logical(held[0], held[1], lines[held[0] - 1])
            held = None
        if source.kind == "text" and _LABEL_ALONE.match(line):
            held = (index + 1, line)
            continue
        if source.kind == "text" and "**" in line and not _PARAGRAPH.match(line):
            parts = [p.strip() for p in line.split("**")]
            if "****" in line or any(_SECTION.match(p) for p in parts[1:]):
                for part in parts:
                    if part:
                        yield _Logical(index + 1, part, source)
                continue
        yield _Logical(index + 1, line, source)
    if held is not None:
        yield _Logical(held[0], held[1], lines[held[0] - 1])


def _paragraph_key(number: str) -> tuple[int, ...]:
    return tuple(int(n) for n in number.split("."))


def _candidate(text: str) -> tuple[str, str] | None:
    """(number, rest) if the line could open a numbered paragraph; a number alone on its line has no rest."""
    match = _PARAGRAPH.match(text) or _SUB_PARAGRAPH.match(text)
    if match:
        return match.group(1), match.group(2)
    alone = _NUMBER_ALONE.match(text)
    return (alone.group(1) or alone.group(2), "") if alone else None


def _follows(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    if b <= a or b[0] - a[0] > _MAX_GAP:
        return False
    if b[0] == a[0] and len(b) > 1:
        before = a[len(b) - 1] if len(a) >= len(b) and a[: len(b) - 1] == b[:-1] else 0
        return b[-1] - before <= _MAX_GAP
    return True


def _longest_numbering(keys: Sequence[tuple[int, ...]]) -> set[int]:
    """Positions of the longest sequence of keys in which each plausibly follows the one before."""
    if not keys:
        return set()
    best = [1] * len(keys)
    back = [-1] * len(keys)
    for i, key in enumerate(keys):
        for j in range(max(0, i - _WINDOW), i):
            if best[j] + 1 > best[i] and _follows(keys[j], key):
                best[i], back[i] = best[j] + 1, j
    position = max(range(len(keys)), key=lambda i: (best[i], -i))
    chosen = set()
    while position >= 0:
        chosen.add(position)
        position = back[position]
    return chosen


def _restarts(keys: Sequence[tuple[int, ...]]) -> set[int]:
    """Positions of lists restarting at 1 after the numbering began: runs 1, 2, 3 … of two or more."""
    found: set[int] = set()
    position = 1
    while position < len(keys):
        if keys[position] == (1,):
            run = [position]
            while run[-1] + 1 < len(keys) and keys[run[-1] + 1] == (len(run) + 1,):
                run.append(run[-1] + 1)
            if len(run) >= 2:
                found.update(run)
            position = run[-1] + 1
        else:
            position += 1
    return found


def _numbering(logical: Sequence[_Logical], annexes: frozenset[int]) -> dict[int, str]:
    """Line -> paragraph number for every line that opens a numbered paragraph in the text.

    The body and each annex are numbered apart; inside each, the longest plausible sequence is the numbering,
    and a run restarting at 1 inside paragraph N gives N.1, N.2 ….
    """
    scopes: list[list[tuple[int, str]]] = [[]]
    for item in logical:
        if item.line in annexes:
            scopes.append([])
        elif item.source.kind == "text" and (found := _candidate(item.text)):
            scopes[-1].append((item.line, found[0]))
    numbers: dict[int, str] = {}
    for scope in scopes:
        restarts = _restarts([_paragraph_key(n) for _, n in scope])
        body = [position for position in range(len(scope)) if position not in restarts]
        chosen = {body[i] for i in _longest_numbering([_paragraph_key(scope[p][1]) for p in body])}
        parent = None
        for position, (line, number) in enumerate(scope):
            if position in chosen:
                numbers[line] = number
                parent = number
            elif position in restarts and parent is not None:
                numbers[line] = f"{parent}.{number}"
    return numbers


@dataclass
class _State:
    """What the parser knows at the current line: the open paragraph and the headings above it."""

    numbered: bool
    star_marks: frozenset[str]
    layout: Layout
    annex_lines: frozenset[int]
    pieces: list[Piece] = field(default_factory=list)
    paragraphs: list[dict] = field(default_factory=list)
    section: Section | None = None
    subtheme: str | None = None
    meeting: Meeting | None = None
    open_paragraph: dict | None = None
    previous_blank: bool = True
    next_blank: bool = True
    page_start: bool = False
    seen_structure: bool = False
    scope: str = ""
    anchor: str = "0"
    unnumbered: int = 0
    annexes: int = 0
    used: dict[str, int] = field(default_factory=dict)

    def add(self, line: int, role: Role, text: str) -> None:
        self.pieces.append(Piece(line, role, clean_text(text)))

    def heading(self, line: int, text: str) -> None:
        self.add(line, "heading", text)
        self.open_paragraph = None
        self.seen_structure = True

    def start_paragraph(self, line: int, number: str | None, text: str, printed: str) -> None:
        """`text` is the paragraph's own words; `printed` is the whole line, number included, for the pieces.
        A paragraph without a number of its own is keyed after the last numbered one ("12+1")."""
        if number is None:
            self.unnumbered += 1
            number = f"{self.anchor}+{self.unnumbered}"
        else:
            self.anchor, self.unnumbered = number, 0
        number = self.scope + number
        self.used[number] = self.used.get(number, 0) + 1
        if self.used[number] > 1:  # markup can print a number twice (two Word lists); keys stay unique
            number = f"{number} ({self.used[number]})"
        self.open_paragraph = {
            "number": number,
            "raw": [text],
            "section": self.section,
            "subtheme": self.subtheme,
            "meeting": self.meeting,
            "lines": [line, line],
            "notes": [],
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
        return not ending or _is_unfinished(ending)

    def enter_annex(self, line: int, text: str) -> None:
        """Paragraphs after an annex heading number apart: "annex 3", or "annex B 3" for the second annex."""
        match = _ANNEX.match(text)
        self.annexes += 1
        label = (match.group(1) if match else None) or (str(self.annexes) if self.annexes > 1 else None)
        self.section = Section("", clean_text(text))
        self.subtheme = self.meeting = None
        self.scope = f"annex {label} " if label else "annex "
        self.anchor, self.unnumbered = "0", 0
        self.heading(line, text)


def _is_annex_heading(text: str) -> bool:
    return bool(_ANNEX.match(text)) and len(text.split()) <= 12 and not _TERMINAL.search(text.rstrip(":"))


def _annex_lines(logical: Sequence[_Logical]) -> frozenset[int]:
    """Text lines that open an annex: an annex heading after the body's first numbered paragraph, standing
    apart (after a blank or a finished line, never inside a wrapped sentence)."""
    found = set()
    numbered_yet = False
    previous = ""
    for item in logical:
        if item.source.kind != "text":
            previous = "." if item.source.kind == "heading" else previous
            continue
        if numbered_yet and _is_annex_heading(item.text) and (not previous or _TERMINAL.search(previous)):
            found.add(item.line)
        numbered_yet = numbered_yet or bool(_PARAGRAPH.match(item.text))
        previous = item.text
    return frozenset(found)


def _handle_text(state: _State, line: int, text: str) -> None:
    """A line that is neither footnote nor numbered paragraph nor an unambiguous heading."""
    continues = text[0].islower() or bool(_SUB_ITEM.match(text))
    if state.open_paragraph is not None and (
        continues or (not state.layout.blocks and (not state.previous_blank or state.open_is_unfinished()))
    ):
        state.extend_paragraph(line, text)
        return
    meeting = _meeting_from(text) if state.seen_structure and not _TERMINAL.search(text) else None
    if meeting is not None and len(text.split()) <= 40:
        state.meeting = meeting
        state.heading(line, text)
    elif _continues_heading(state, text):
        _extend_heading(state, line, text)
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
    elif state.open_paragraph is not None and not (_block_break(state) and _starts_block(text)):
        state.extend_paragraph(line, text)
    else:
        state.start_paragraph(line, None, text, text)


def _continues_heading(state: _State, text: str) -> bool:
    """A short line right under a heading, before any paragraph: the heading wrapped onto a second line."""
    return (
        state.numbered
        and not state.layout.blocks
        and not state.previous_blank
        and state.open_paragraph is None
        and bool(state.pieces)
        and state.pieces[-1].role == "heading"
        and len(text.split()) <= 12
        and not _TERMINAL.search(text)
    )


def _extend_heading(state: _State, line: int, text: str) -> None:
    """Add the wrapped line to whichever title the heading above set (section, sub-theme or meeting)."""
    above = state.pieces[-1].text
    whole = clean_text(f"{above} {text}")
    state.add(line, "heading", text)
    if state.section is not None and above.endswith(state.section.title):
        state.section = Section(state.section.numeral, clean_text(f"{state.section.title} {text}"))
    elif state.subtheme is not None and above.endswith(state.subtheme):
        state.subtheme = clean_text(f"{state.subtheme} {text}")
    if state.meeting is not None and (meeting := _meeting_from(whole)) is not None:
        state.meeting = meeting


def _block_break(state: _State) -> bool:
    """Whether the blank before this line ends a block: always in Word and HTML, on a PDF page except at its top
    (a page break is no paragraph break), never in plain text, where a blank line can be a page break too."""
    layout = state.layout
    return layout.blocks or (layout.paged and state.previous_blank and not state.page_start)


def _starts_block(text: str) -> bool:
    return text[0].isupper() or text[0].isdigit() or bool(_BULLET.match(text)) or text[0] in "“\"‘'("


def _handle_markup(state: _State, item: _Logical) -> None:
    """A line whose role the format's markup gave: taken as given."""
    source, text = item.source, item.text
    if source.kind == "heading":
        if _is_annex_heading(text) and state.paragraphs:
            state.enter_annex(item.line, text)
        elif source.level <= 1:
            section = _SECTION.match(text) or _LETTERED_HEADING.match(text)
            state.section = Section(*section.groups()) if section else Section("", clean_text(text))
            state.subtheme = state.meeting = None
            state.heading(item.line, text)
        else:
            state.subtheme = clean_text(text)
            state.heading(item.line, text)
    elif source.kind in ("paragraph", "item", "row"):
        state.start_paragraph(item.line, source.number, text, f"{source.number or ''} {text}".strip())
    elif source.kind == "front":
        state.add(item.line, "front", text)


def _handle_line(state: _State, item: _Logical, number: str | None) -> None:
    line, text = item.line, item.text
    if item.source.kind == "footnote":
        state.pieces.append(Piece(line, "footnote", clean_text(text)))
        if state.open_paragraph is not None and not _FOOTNOTE_MARK.match(text):
            # A note with a mark goes to the paragraph that cites it (below); one without, to the paragraph the
            # page's text was in when the note was printed.
            state.open_paragraph["notes"].append(clean_text(text))
        return
    if item.source.kind != "text":
        _handle_markup(state, item)
        return
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
    if number is not None and not (
        "." in number
        and not _is_successor(state.anchor, number)
        and state.open_is_unfinished()
        and state.open_paragraph
        and state.open_paragraph["raw"][0]
    ):
        if state.section is None:
            _front_heading_as_section(state)
        found = _candidate(text)
        state.start_paragraph(line, number, found[1] if found else text, text)
        return
    if line in state.annex_lines:
        state.enter_annex(line, text)
        return
    if state.open_paragraph is not None and not state.open_paragraph["raw"][0]:
        state.extend_paragraph(line, text)  # the text after a number alone on its line
        return
    _handle_text(state, line, text)


def _is_successor(previous: str, number: str) -> bool:
    """Whether `number` is the very next one after `previous` (92.17 -> 92.18, 120 -> 120.1): a sub-number that
    continues the sequence opens a paragraph even after a line without a full stop."""
    if not re.fullmatch(r"\d+(?:\.\d+)*", previous):
        return False
    a, b = _paragraph_key(previous), _paragraph_key(number)
    return b == (*a[:-1], a[-1] + 1) or b == (*a, 1)


def _front_heading_as_section(state: _State) -> None:
    """A heading without a numeral right before the first numbered paragraph ("Introduction") is its section."""
    if state.pieces and state.pieces[-1].role == "front" and _looks_like_heading(state.pieces[-1].text):
        last = state.pieces.pop()
        state.pieces.append(Piece(last.line, "heading", last.text))
        state.section = Section("", last.text.rstrip("*").strip())


def _is_next_section(state: _State, numeral: str) -> bool:
    if not is_roman(numeral):
        return False
    if state.section is None or not is_roman(state.section.numeral):
        return True
    return roman_value(numeral) == roman_value(state.section.numeral) + 1


def _footnote_texts(paragraph: dict, footnotes: list[Piece]) -> tuple[str, ...]:
    """Footnote texts whose marks appear in the paragraph, preferring the first definition after it, then the
    footnotes printed under a rule while the paragraph was open."""
    found = []
    for mark in marks(" ".join(paragraph["raw"])):
        candidates = [f for f in footnotes if (m := _FOOTNOTE_MARK.match(f.text)) and m.group(0) == mark]
        after = [f for f in candidates if f.line >= paragraph["lines"][0]]
        chosen = (after or candidates[::-1])[:1]
        found += [f.text[len(mark) :].strip() for f in chosen]
    return tuple(found + [n for n in paragraph["notes"] if n not in found])


def join_lines(raw: Sequence[str], vocabulary: Counter) -> str:
    """A paragraph's lines as one text: hard wraps become spaces, and a word broken by a hyphen at a line's end
    is joined, keeping the hyphen where the document writes the word with one (or the next word is 'and' …)."""
    parts: list[str] = []
    for line in (clean_text(r) for r in raw):
        if not line:
            continue
        if parts and _HYPHENATED.search(parts[-1]) and line[0].islower():
            head = parts[-1].rsplit(" ", 1)[-1][:-1]
            tail = _WORD.match(line)
            tail_word = tail.group(0) if tail else ""
            joined = (head + tail_word).lower()
            hyphenated = f"{head}-{tail_word}".lower()
            keep = tail_word.lower() in _KEEP_HYPHEN_BEFORE or vocabulary[hyphenated] > vocabulary[joined]
            parts[-1] = parts[-1] + line if keep else parts[-1][:-1] + line
        else:
            parts.append(line)
    return " ".join(parts)


def _vocabulary(lines: Sequence[Line]) -> Counter:
    return Counter(w.lower() for line in lines if line.kind != "blank" for w in _WORD.findall(line.text))


def parse_layout(layout: Layout, doc: str = "doc") -> tuple[list[Paragraph], list[Piece], DocumentMeta]:
    """Parse one document's lines; returns its paragraphs, the piece accounting of every non-blank line, and
    what its front matter or markup says about it."""
    lines = layout.lines
    skip = furniture.classify(lines, layout.paged)
    logical = list(_logical_lines(lines, skip))
    texts = [item.text for item in logical if item.source.kind == "text"]
    markup = any(item.source.kind in ("paragraph", "item") for item in logical)
    numbered = markup or sum(1 for t in texts if _PARAGRAPH.match(t) or _NUMBER_ALONE.match(t)) >= 2
    star_marks = frozenset(m for t in texts for m in marks(t) if m.startswith("*"))
    annexes = _annex_lines(logical) if numbered else frozenset()
    numbers = _numbering(logical, annexes) if numbered else {}
    state = _State(numbered=numbered, star_marks=star_marks, layout=layout, annex_lines=annexes)
    pieces_from_skip = [
        Piece(i + 1, "furniture" if role == "furniture" else "front", clean_text(lines[i].text))
        for i, role in skip.items()
        if lines[i].text.strip()
    ]
    page = None
    for index, item in enumerate(logical):
        if not item.text:
            state.previous_blank = True
            continue
        state.next_blank = index + 1 == len(logical) or not logical[index + 1].text
        state.page_start = layout.paged and item.source.page != page
        page = item.source.page
        _handle_line(state, item, numbers.get(item.line))
        state.previous_blank = False
    footnotes = [p for p in state.pieces if p.role == "footnote"]
    vocabulary = _vocabulary(lines)
    paragraphs = [
        Paragraph(
            doc=doc,
            number=p["number"],
            text=join_lines(p["raw"], vocabulary),
            section=p["section"],
            subtheme=p["subtheme"],
            meeting=p["meeting"],
            footnotes=_footnote_texts(p, footnotes),
            lines=(p["lines"][0], p["lines"][1]),
        )
        for p in state.paragraphs
    ]
    pieces = sorted(state.pieces + pieces_from_skip, key=lambda p: p.line)
    return [p for p in paragraphs if p.text], pieces, _meta(layout.meta, pieces)


def _meta(given: DocumentMeta, pieces: Sequence[Piece]) -> DocumentMeta:
    """Title, symbol and date from the markup where it gave them, else from the front matter and page furniture."""
    front_pieces = [p for p in pieces if p.role in ("front", "furniture")][:60]
    front = [p.text for p in front_pieces]
    symbol = given.symbol or next((m.group(0) for t in front if (m := _SYMBOL.search(t))), None)
    date = given.date or next((m.group(0) for t in front if (m := _DATE.search(t))), None)
    start = next((i for i, t in enumerate(front) if _TITLE_START.match(t) and len(t) > 12), None)
    title = given.title
    if title is None and start is not None:
        # A title wraps over the lines right below it ("Report of the Working Group on the Universal" /
        # "Periodic Review*"); a blank line ends it.
        parts = [front_pieces[start]]
        for piece in front_pieces[start + 1 : start + 4]:
            if piece.role != "front" or piece.line != parts[-1].line + 1 or _TERMINAL.search(parts[-1].text):
                break
            parts.append(piece)
        title = " ".join(p.text.rstrip("* ") for p in parts)
    return DocumentMeta(title=title, symbol=symbol, date=date)


def parse_text(text: str, doc: str = "doc") -> tuple[list[Paragraph], list[Piece]]:
    """Parse plain text (as a `.txt` file holds it): its paragraphs and the piece of every non-blank line."""
    paragraphs, pieces, _ = parse_layout(layout_of(text), doc)
    return paragraphs, pieces
