"""Rich renderings for the CLI, and the one way anything reaches the terminal (`show`, `say`, `write_out`).

Document text, file names and messages that quote them are untrusted: a string becomes output only as a `Text`
whose control characters were made visible (`plain`), on a console that parses no markup and no emoji codes, so
neither escape sequences nor `[markup]` can reach the terminal.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from semsearch.calibration import CalibrationRow
from semsearch.corpus import Corpus, Paragraph
from semsearch.dedup import DuplicateReport, PairScore
from semsearch.evaluation import Evaluation
from semsearch.naming import Naming
from semsearch.pairs import RepeatedPart, member_label
from semsearch.passages import window
from semsearch.report import (
    STALE_TITLE,
    UNGROUPED_NOTE,
    UNGROUPED_TITLE,
    pair_notes,
    repeated_part_line,
    section_label,
    stale_lines,
)
from semsearch.sanitize import unicode_safe, visible
from semsearch.search import WEAK_BELOW, SearchResult

MIN_WIDTH = 40
DEFAULT_WIDTH = 80
MAX_SHOWN_CHARS = 5_000  # of one paragraph in `show`: a 20 MB paragraph would take minutes to lay out


def plain(text: str, style: str = "") -> Text:
    """Untrusted text as one inert line (see `visible`)."""
    return Text(visible(text), style=style)


def aligned(text: str) -> Group:
    """Lines of "label   value" (an explanation): each value wraps under itself, not back at the margin."""
    rows: list = []
    for line in text.split("\n"):
        match = re.match(r"^(\s*(?:\S+ \S+\s{2,}|\S+\s+))(\S.*)$", line)
        if match is None:
            rows.append(plain(line))
            continue
        grid = Table.grid()
        grid.add_column(no_wrap=True, width=len(match.group(1)))
        grid.add_column(ratio=1)
        grid.add_row(plain(match.group(1)), plain(match.group(2)))
        rows.append(grid)
    return Group(*rows)


def lines(text: str, style: str = "") -> Group:
    """A message of several lines that quotes untrusted text: each line made inert on its own."""
    return Group(*(plain(line, style) for line in text.split("\n")))


def _width() -> int | None:
    """Rich's own width, unless COLUMNS is too small to lay anything out (COLUMNS=0 would print nothing)."""
    columns = os.environ.get("COLUMNS", "")
    if not columns.isdigit() or int(columns) >= MIN_WIDTH:
        return None
    return DEFAULT_WIDTH if int(columns) == 0 else MIN_WIDTH


def console(stderr: bool = False) -> Console:
    """The only consoles the CLI prints on: no markup, no emoji codes, no highlighting, a usable width."""
    return Console(stderr=stderr, highlight=False, markup=False, emoji=False, width=_width())


def show(*items: RenderableType | str, style: str = "", stderr: bool = False) -> None:
    """Print renderables; a plain string is untrusted and goes through `plain`, and is one line that the terminal
    may wrap but Rich never breaks (piped, a summary would otherwise break mid-bracket)."""
    for item in items:
        if isinstance(item, str):
            console(stderr).print(plain(item, style), soft_wrap=True)
        else:
            console(stderr).print(item)


def say(message: str, style: str = "dim") -> None:
    """A one-line message on stderr (notes, skipped files, errors), never broken into lines by Rich: a wrap
    could start a line with text quoted from a file name."""
    console(stderr=True).print(plain(message, style), soft_wrap=True)


def write_out(text: str) -> None:
    """Machine-readable output (JSON, CSV, Markdown, HTML) on stdout, always valid UTF-8."""
    sys.stdout.flush()
    sys.stdout.buffer.write(text.encode("utf-8", "backslashreplace"))
    sys.stdout.buffer.flush()


def write_json(data: Any) -> None:
    write_out(json.dumps(unicode_safe(data), ensure_ascii=False) + "\n")


def meeting_label(paragraph: Paragraph) -> str:
    return str(paragraph.meeting) if paragraph.meeting else "—"


def shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def highlighted(text: str, spans: Sequence[tuple[int, int]], start: int = 0, end: int | None = None) -> Text:
    """text[start:end], inert, with the query's matching words in bold (no colour: readable on any theme), and "…"
    where it was cut."""
    end = len(text) if end is None else end
    piece = Text(("…" if start else "") + visible(text[start:end]) + ("…" if end < len(text) else ""))
    offset = 1 if start else 0
    for a, b in spans:
        if a >= start and b <= end and visible(text[a:b]) == text[a:b] and visible(text[start:a]) == text[start:a]:
            piece.stylize("bold underline", a - start + offset, b - start + offset)
    return piece


def snippet_width(total: int) -> int:
    """About four lines of the results table's text column at this terminal width: room for a whole clause."""
    return max(80, 4 * (max(total, 40) - 34) * 5 // 7)


def results_table(result: SearchResult, naming: Naming, width: int = 100, full: bool = False) -> Table:
    """Ranked hits; each shows the clause that best answers the query, as much of it as the terminal's width
    allows (all of the paragraph with `full`); weak matches are dimmed and marked."""
    title = plain(f"“{result.query}” — {result.mode}; score: {result.scale}, 0–1")
    caption = (
        f"dim rows score under {WEAK_BELOW[result.mode]:.2f}: weak matches"
        if any(h.weak for h in result.hits)
        else None
    )
    table = Table(title=title, title_justify="left", caption=caption, caption_justify="left", expand=True)
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("score", justify="right", no_wrap=True)
    table.add_column("¶", justify="right", no_wrap=True, style="bold")
    table.add_column("section", ratio=2, min_width=14)
    table.add_column("meeting", no_wrap=True)
    table.add_column("text", ratio=5)
    room = snippet_width(width)
    for hit in result.hits:
        p = hit.paragraph
        section = plain(shorten(section_label(p), 34))
        if p.subtheme:
            section.append("\n")
            section.append(plain(shorten(p.subtheme, 34), style="dim"))
        part = window(p.text, hit.passage, len(p.text) if full else room, hit.highlights)
        table.add_row(
            str(hit.rank),
            f"{hit.score:.2f}" + (" weak" if hit.weak else ""),
            plain(naming.ref(p)),  # DOC:NUMBER whenever the index holds several documents
            section,
            meeting_label(p),
            highlighted(p.text, hit.highlights, part.start, part.end),
            style="dim" if hit.weak else ("bold" if hit.rank == 1 else None),
        )
    return table


def paragraph_panel(
    paragraph: Paragraph,
    naming: Naming,
    neighbours: Iterable[tuple[Paragraph, float]] = (),
    repeats: Iterable[tuple[Paragraph, str, float]] = (),
) -> Panel:
    meta = Table.grid(padding=(0, 2))
    meta.add_column(style="dim")
    meta.add_column()
    meta.add_row("document", plain(naming.describe(paragraph.doc)))
    meta.add_row("section", plain(str(paragraph.section) if paragraph.section else "—"))
    meta.add_row("sub-theme", plain(paragraph.subtheme or "—"))
    meeting = paragraph.meeting
    meta.add_row("meeting", plain(f"{meeting} — {meeting.date}" if meeting else "—"))
    meta.add_row("lines", f"{paragraph.lines[0]}–{paragraph.lines[1]}")
    parts: list = [meta, Text(""), plain(paragraph.text[:MAX_SHOWN_CHARS])]
    if len(paragraph.text) > MAX_SHOWN_CHARS:
        hidden = len(paragraph.text) - MAX_SHOWN_CHARS
        parts.append(Text(f"… {hidden:,} more characters not shown (semsearch query --json prints the whole text)"))
    for note in paragraph.footnotes:
        parts.append(plain(f"footnote: {note}", style="dim"))
    repeats = list(repeats)
    if repeats:
        parts += [Text(""), Text("Flagged repeats", style="bold")]
        parts += [plain(f"  {member_label(p, naming)}: {kind}, score {s:.2f}") for p, kind, s in repeats]
    neighbours = list(neighbours)
    if neighbours:
        parts += [Text(""), Text("Nearest paragraphs", style="bold")]
        near = Table.grid(padding=(0, 1))  # columns, so a long line wraps under its own text, not at the margin
        near.add_column(no_wrap=True)
        near.add_column(justify="right", no_wrap=True)
        near.add_column(ratio=1)
        for p, s in neighbours:
            near.add_row(plain(f"  {member_label(p, naming)}"), f"{s:.2f}", plain(shorten(p.text, 140)))
        parts.append(near)
    return Panel(Group(*parts), title=plain(naming.mark(paragraph)), title_align="left")


def corpus_table(corpus: Corpus) -> Table:
    """Paragraphs per section × meeting, the shape of the document at a glance."""
    paragraphs = corpus.paragraphs
    meetings = sorted({p.meeting.ordinal for p in paragraphs if p.meeting})
    counts = Counter((section_label(p), p.meeting.ordinal if p.meeting else None) for p in paragraphs)
    sections = list(dict.fromkeys(section_label(p) for p in paragraphs))
    years = {p.meeting.ordinal: p.meeting.year for p in paragraphs if p.meeting}
    docs = ", ".join(d.doc for d in corpus.documents)
    table = Table(title=plain(f"{len(paragraphs)} paragraphs in {docs}"), title_justify="left")
    table.add_column("section")
    for ordinal in meetings:
        table.add_column(f"{ordinal}" + (f"\n{years[ordinal]}" if years.get(ordinal) else ""), justify="right")
    table.add_column("none", justify="right")
    table.add_column("total", justify="right", style="bold")
    for section in sections:
        row = [counts.get((section, m), 0) for m in [*meetings, None]]
        table.add_row(plain(section), *[str(c) if c else "·" for c in row], str(sum(row)))
    totals = [sum(counts.get((s, m), 0) for s in sections) for m in [*meetings, None]]
    table.add_row("total", *[str(t) for t in totals], str(len(paragraphs)), style="bold")
    return table


def evaluation_table(evaluation: Evaluation) -> Table:
    table = Table(title=f"Retrieval quality (k = {evaluation.k})", title_justify="left")
    table.add_column("mode")
    for column in (f"nDCG@{evaluation.k}", "MRR", f"recall@{evaluation.k}"):
        table.add_column(column, justify="right")
    table.add_column(f"nDCG@{evaluation.k} reworded", justify="right")
    table.add_column("queries", justify="right")
    for mode, scores in evaluation.overall.items():
        reworded = evaluation.reworded[mode]
        table.add_row(
            mode,
            f"{scores.ndcg:.3f}",
            f"{scores.mrr:.3f}",
            f"{scores.recall:.3f}",
            f"{reworded.ndcg:.3f}" if reworded.queries else "—",
            f"{scores.queries} ({reworded.queries} reworded)",
        )
    return table


def diff_texts(pair: PairScore) -> tuple[Text, Text]:
    """Both paragraphs with word-level differences coloured: red struck words only in the earlier, green only in
    the later one."""
    left, right = Text(), Text()
    for op in pair.diff():
        if op.op == "equal":
            left.append(visible(op.a) + " ")
            right.append(visible(op.b) + " ")
            continue
        if op.a:
            left.append(visible(op.a), style="red strike")
            left.append(" ")
        if op.b:
            right.append(visible(op.b), style="green bold")
            right.append(" ")
    return left, right


def pair_table(pair: PairScore) -> Table:
    table = Table(show_header=True, expand=True, box=None, padding=(0, 1))
    table.add_column(plain(member_label(pair.a, pair.naming)), ratio=1)
    table.add_column(plain(member_label(pair.b, pair.naming)), ratio=1)
    table.add_row(*diff_texts(pair))
    return table


def repeated_part_table(pair: PairScore, part: RepeatedPart) -> Table:
    """The clauses a partial repeat shares, so the analyst need not find them in the diff of two long paragraphs."""
    table = Table(show_header=True, expand=True, box=None, padding=(0, 1))
    table.add_column(plain(repeated_part_line(pair) or "", style="dim"), ratio=1)
    for paragraph, clause in ((part.short, part.clause), (part.long, part.counterpart)):
        table.add_row(plain(f"{pair.naming.mark(paragraph)}: ", style="dim") + plain(clause, style="cyan"))
    return table


def _pair_lines(pair: PairScore, diffs: bool) -> list:
    lines: list = [plain(pair.headline, style="bold"), plain(f"  {pair.kind} · {pair.figures}", style="dim")]
    lines += [plain(f"  {note}", style="magenta") for note in pair_notes(pair)]
    if (part := pair.repeated_part) is not None:
        lines.append(repeated_part_table(pair, part))
    if diffs:
        lines.append(pair_table(pair))
    return lines


def group_panel(report: DuplicateReport, number: int, diffs: bool = True) -> Panel:
    group = report.groups[number - 1]
    members = ", ".join(member_label(p, report.naming) for p in group.members)
    lines: list = [
        plain(members, style="bold"),  # in the panel, not its title, which a narrow terminal would cut
        plain(section_label(group.first), style="dim"),
        plain(group.weakest_line(report.threshold), style="yellow"),
    ]
    for pair in report.pairs_of(number):
        lines += _pair_lines(pair, diffs)
    return Panel(Group(*lines), title=plain(f"Group {number} ({len(group.members)} paragraphs)"), title_align="left")


def ungrouped_panel(pairs: Sequence[PairScore], diffs: bool = True) -> Panel:
    lines: list = [plain(UNGROUPED_NOTE, style="dim")]
    for pair in pairs:
        lines += _pair_lines(pair, diffs)
    return Panel(Group(*lines), title=plain(UNGROUPED_TITLE), title_align="left")


def stale_panel(report: DuplicateReport) -> Panel:
    return Panel(Group(*(plain(line) for line in stale_lines(report))), title=plain(STALE_TITLE), title_align="left")


def calibration_table(rows: Sequence[CalibrationRow], current: float) -> Table:
    table = Table(title="Precision and recall per threshold (on the labelled pairs)", title_justify="left")
    for column in ("threshold", "precision", "recall", "F1", "flagged pairs", "hard negatives flagged"):
        table.add_column(column, justify="right")
    best = max(rows, key=lambda r: r.f1)
    for row in rows:
        style = "bold green" if row is best else ("yellow" if abs(row.threshold - current) < 1e-9 else None)
        table.add_row(
            f"{row.threshold:.3f}",
            f"{row.precision:.2f}",
            f"{row.recall:.2f}",
            f"{row.f1:.2f}",
            str(row.flagged),
            str(row.negatives_flagged),
            style=style,
        )
    return table
