"""Duplicates reports as Markdown, self-contained HTML (`semsearch.html_report`), CSV or JSON, written
atomically. Every format lists the same pairs (`DuplicateReport.pairs`), with the same counts and headlines; CSV
and JSON carry both paragraphs in full and the analyst's decision, for review in other tools.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from semsearch.corpus import Paragraph
from semsearch.dedup import PRESETS, RECORD_FIELDS, DiffOp, DuplicateReport, PairScore
from semsearch.errors import WriteError
from semsearch.pairs import member_label
from semsearch.sanitize import SafeCsvWriter
from semsearch.storage import check_replaceable

Format = Literal["md", "html", "csv", "json"]
FORMATS: tuple[Format, ...] = ("md", "html", "csv", "json")


def section_label(paragraph: Paragraph) -> str:
    """A paragraph's section as narrow views show it (without the genre's lead-in)."""
    return paragraph.section.short if paragraph.section else "—"


def meeting_labels(report: DuplicateReport) -> dict[int | None, str]:
    """Column labels of the section × meeting table, as every other view writes a meeting: 1st (2012)."""
    labels: dict[int | None, str] = {
        p.meeting.ordinal: str(p.meeting) for p in report.scorer.index.paragraphs if p.meeting
    }
    return labels | {None: "no meeting"}


def repeats_table(report: DuplicateReport) -> tuple[list[str], list[int | None], dict[tuple[str, int | None], int]]:
    """Counts of paragraphs that repeat an earlier recommendation, by section × meeting."""
    repeated = report.repeated_paragraphs
    counts = Counter((section_label(p), p.meeting.ordinal if p.meeting else None) for p in repeated)
    sections = list(dict.fromkeys(section_label(p) for p in report.scorer.index.paragraphs))
    meetings = sorted({m for _, m in counts if m is not None}) + ([None] if any(m is None for _, m in counts) else [])
    return sections, meetings, counts


def preset_name(threshold: float) -> str | None:
    return next((name for name, value in PRESETS.items() if value == threshold), None)


def summary_line(report: DuplicateReport) -> str:
    """The counts every view and format agrees on, in one sentence."""
    total = len(report.scorer.index.paragraphs)
    repeated = len(report.repeated_paragraphs)
    preset = f", preset {name}" if (name := preset_name(report.threshold)) else ""
    notes = []
    if report.implied:
        notes.append(f"{len(report.implied)} of them implied by word-for-word copies")
    if report.implied_left_out:
        notes.append(f"{report.implied_left_out} more implied by word-for-word copies, not listed one by one")
    if report.ungrouped:
        notes.append(f"{len(report.ungrouped)} of them outside the groups")
    if report.added:
        notes.append(f"{len(report.added)} confirmed on review though below the threshold")
    if report.rejected:
        notes.append(f"{len(report.rejected)} rejected on review and left out")
    if report.review.stale:
        count = len(report.review.stale)
        notes.append(f"{count} stale decision{'s' if count != 1 else ''}")
    return (
        f"{repeated} of {total} paragraphs repeat an earlier recommendation, in {len(report.groups)} groups "
        f"({len(report.pairs)} flagged pairs at threshold {report.threshold:.2f}{preset}"
        + "".join(f"; {note}" for note in notes)
        + ")."
    )


def header_fields(report: DuplicateReport, generated: str | None = None) -> list[tuple[str, str]]:
    """What a report was made from and how: corpus, documents, model, preset, threshold, date."""
    manifest = report.scorer.index.manifest
    naming = report.naming
    return [
        ("corpus", ", ".join(manifest.get("sources", [])) or "—"),
        ("documents", "; ".join(naming.describe(doc) for doc in naming.documents)),
        ("model", report.scorer.index.model_name),
        ("preset", preset_name(report.threshold) or "none (threshold given)"),
        ("threshold", f"{report.threshold:.2f}"),
        ("index built", str(manifest.get("created", "—"))),
        ("generated", generated or datetime.now(UTC).isoformat(timespec="seconds")),
    ]


def stale_lines(report: DuplicateReport) -> list[str]:
    """Each stale decision in words: which paragraph changed or is gone, and what had been decided."""
    naming = report.naming
    lines = []
    for stale in report.review.stale:
        d = stale.decision
        why = [f"the text of {naming.mark_of(s.doc, s.number)} changed" for s in stale.changed]
        why += [f"{naming.mark_of(s.doc, s.number)} is no longer in the corpus" for s in stale.gone]
        pair = f"{naming.mark_of(d.a.doc, d.a.number)}–{naming.mark_of(d.b.doc, d.b.number)}"
        note = f' ("{d.note}")' if d.note else ""
        lines.append(f"{pair} was {d.decision} {d.time}{note}, but {' and '.join(why)} since: decide it again")
    return lines


UNGROUPED_TITLE = "Flagged pairs outside the groups"
UNGROUPED_NOTE = (
    "These pairs clear the threshold, but joining their paragraphs' groups would have put together paragraphs that "
    "are not similar on average, so each is listed on its own."
)
STALE_TITLE = "Stale decisions"


def pair_notes(pair: PairScore) -> list[str]:
    """What a row says besides its headline: a pair found through copies, and the analyst's decision."""
    notes = [note] if (note := pair.implied_note) else []
    if pair.decision is not None:
        note = f': "{pair.decision.note}"' if pair.decision.note else ""
        notes.append(f"{pair.decision.decision} on review{note}")
    return notes


def to_json(report: DuplicateReport) -> str:
    data = report.to_dict()
    data["summary"] = summary_line(report)
    data["header"] = dict(header_fields(report))
    return json.dumps(data, ensure_ascii=False, indent=2)


def to_csv(report: DuplicateReport) -> str:
    rows = report.to_records()
    buffer = io.StringIO()
    writer = SafeCsvWriter(buffer)  # a cell of document text never runs as a spreadsheet formula
    writer.writerow(RECORD_FIELDS)
    writer.writerows([["" if row.get(k) is None else row[k] for k in RECORD_FIELDS] for row in rows])
    return buffer.getvalue()


def _md_diff(ops: list[DiffOp]) -> tuple[str, str]:
    left, right = [], []
    for op in ops:
        if op.op == "equal":
            left.append(op.a)
            right.append(op.b)
        else:
            if op.a:
                left.append(f"~~{op.a}~~")
            if op.b:
                right.append(f"**{op.b}**")
    return " ".join(left), " ".join(right)


def _md_escape(text: str) -> str:
    return "".join("\\" + c if c in "\\`*_{}[]<>()#+-!|~" else c for c in text)


def repeated_part_line(pair: PairScore) -> str | None:
    """The repeated part in words (without the clauses themselves, which each format sets out its own way)."""
    if (part := pair.repeated_part) is None:
        return None
    naming = pair.naming
    return (
        f"Repeated part: {part.share:.0%} of the words of this clause of {naming.mark(part.short)} "
        f"are in {naming.mark(part.long)}"
    )


def _md_pair(pair: PairScore) -> list[str]:
    left, right = _md_diff([DiffOp(o.op, _md_escape(o.a), _md_escape(o.b)) for o in pair.diff()])
    naming = pair.naming
    lines = [f"### {_md_escape(pair.headline)}", "", f"{pair.kind} · {pair.figures}", ""]
    lines += [f"*{_md_escape(note)}*\n" for note in pair_notes(pair)]
    if (part := pair.repeated_part) is not None:
        lines += [
            f"{repeated_part_line(pair)}:",
            "",
            f"- {naming.mark(part.short)}: {_md_escape(part.clause)}",
            f"- {naming.mark(part.long)}: {_md_escape(part.counterpart)}",
            "",
        ]
    return [*lines, f"- {naming.mark(pair.a)}: {left}", f"- {naming.mark(pair.b)}: {right}", ""]


def to_markdown(report: DuplicateReport) -> str:
    lines = ["# Repeated recommendations", "", summary_line(report), ""]
    lines += [f"- {name}: {_md_escape(value)}" for name, value in header_fields(report)] + [""]
    sections, meetings, counts = repeats_table(report)
    labels = meeting_labels(report)
    lines += [
        "| section | " + " | ".join(labels[m] for m in meetings) + " |",
        "|---|" + "---:|" * len(meetings),
    ]
    for section in sections:
        row = [counts.get((section, m), 0) for m in meetings]
        if any(row):
            lines.append(f"| {_md_escape(section)} | " + " | ".join(str(c) for c in row) + " |")
    for number, group in enumerate(report.groups, start=1):
        members = ", ".join(member_label(p, report.naming) for p in group.members)
        lines += ["", f"## Group {number}: {_md_escape(members)}", "", f"{group.weakest_line(report.threshold)}.", ""]
        lines += [line for pair in report.pairs_of(number) for line in _md_pair(pair)]
    if report.ungrouped:
        lines += ["", f"## {UNGROUPED_TITLE}", "", UNGROUPED_NOTE, ""]
        lines += [line for pair in report.ungrouped for line in _md_pair(pair)]
    if report.review.stale:
        lines += ["", f"## {STALE_TITLE}", ""] + [f"- {_md_escape(line)}" for line in stale_lines(report)]
    return "\n".join(lines) + "\n"


def to_html(report: DuplicateReport) -> str:
    from semsearch.html_report import to_html as page

    return page(report)


RENDERERS: dict[Format, Callable[[DuplicateReport], str]] = {
    "md": to_markdown,
    "html": to_html,
    "csv": to_csv,
    "json": to_json,
}


def render(report: DuplicateReport, fmt: Format) -> str:
    return RENDERERS[fmt](report)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: Path, text: str) -> None:
    """Write beside the target and rename, so a failure never leaves a half-written report in its place."""
    path = Path(path)
    check_replaceable(path)
    temporary = None
    try:
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=path.parent or ".", prefix=f".{path.name}.", delete=False
        ) as handle:
            temporary = Path(handle.name)
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o666 & ~_umask())  # temporary files are private; a report is an ordinary file
        os.replace(temporary, path)
    except OSError as error:
        if temporary is not None:
            temporary.unlink(missing_ok=True)
        raise WriteError(
            f"could not write {path}: {error.strerror or error}; check free space and permissions"
        ) from None
