"""Duplicates reports as Markdown, self-contained HTML, CSV or JSON, written atomically.

Document text is untrusted: in HTML every piece of it is escaped and the page carries a Content-Security-Policy
that forbids scripts and remote loads, so a paragraph holding `<script>` or `javascript:` stays inert text.
"""

from __future__ import annotations

import html
import io
import json
import os
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from semsearch.corpus import Paragraph
from semsearch.dedup import PRESETS, DiffOp, DuplicateGroup, DuplicateReport, PairScore
from semsearch.errors import WriteError
from semsearch.sanitize import SafeCsvWriter
from semsearch.storage import check_replaceable

Format = Literal["md", "html", "csv", "json"]
FORMATS: tuple[Format, ...] = ("md", "html", "csv", "json")


def _section(paragraph: Paragraph) -> str:
    return paragraph.section.short if paragraph.section else "—"


def _meeting(paragraph: Paragraph) -> str:
    return str(paragraph.meeting) if paragraph.meeting else "—"


def repeats_table(report: DuplicateReport) -> tuple[list[str], list[int | None], dict[tuple[str, int | None], int]]:
    """Counts of paragraphs that repeat an earlier recommendation, by section × meeting."""
    repeated = report.repeated_paragraphs
    counts = Counter((_section(p), p.meeting.ordinal if p.meeting else None) for p in repeated)
    sections = list(dict.fromkeys(_section(p) for p in report.scorer.index.paragraphs))
    meetings = sorted({m for _, m in counts if m is not None}) + ([None] if any(m is None for _, m in counts) else [])
    return sections, meetings, counts


def summary_line(report: DuplicateReport) -> str:
    total = len(report.scorer.index.paragraphs)
    repeated = len(report.repeated_paragraphs)
    preset = next((f", preset {name}" for name, value in PRESETS.items() if value == report.threshold), "")
    outside = f"; {len(report.ungrouped)} of them outside the groups" if report.ungrouped else ""
    return (
        f"{repeated} of {total} paragraphs repeat an earlier recommendation, in {len(report.groups)} groups "
        f"({len(report.pairs)} flagged pairs at threshold {report.threshold:.2f}{preset}{outside})."
    )


UNGROUPED_TITLE = "Flagged pairs outside the groups"
UNGROUPED_NOTE = (
    "These pairs clear the threshold, but joining their paragraphs' groups would have put together paragraphs that "
    "are not similar on average, so each is listed on its own."
)


def to_json(report: DuplicateReport) -> str:
    return json.dumps(report.to_dict(), ensure_ascii=False, indent=2)


def to_csv(report: DuplicateReport) -> str:
    buffer = io.StringIO()
    writer = SafeCsvWriter(buffer)  # a cell of document text never runs as a spreadsheet formula
    writer.writerow(
        [
            "group",
            "doc_a",
            "number_a",
            "meeting_a",
            "doc_b",
            "number_b",
            "meeting_b",
            "score",
            "kind",
            "semantic",
            "lexical",
            "containment",
            "cosine",
            "same_meeting",
            "same_theme",
            "closest_clause_a",
            "closest_clause_b",
        ]
    )
    for pair in report.pairs:
        e, match, group = pair.evidence, pair.match, report.group_of.get((pair.a.key, pair.b.key), "")
        writer.writerow([
            group, pair.a.doc, pair.a.number, _meeting(pair.a), pair.b.doc, pair.b.number,
            _meeting(pair.b), f"{pair.score:.4f}", pair.kind, f"{e.semantic:.4f}", f"{e.lexical:.4f}",
            f"{e.containment:.4f}", f"{e.cosine:.4f}", pair.same_meeting, e.same_theme,
            match.a if match else "", match.b if match else "",
        ])  # fmt: skip
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


def _md_pair(pair: PairScore) -> list[str]:
    left, right = _md_diff([DiffOp(o.op, _md_escape(o.a), _md_escape(o.b)) for o in pair.diff()])
    lines = [
        f"### {pair.headline}",
        "",
    ]
    if (match := pair.repeated_part) is not None:
        lines += [
            f"Repeated part (closest clauses, cosine {match.cosine:.2f}):",
            "",
            f"- ¶{pair.a.number}: {_md_escape(match.a)}",
            f"- ¶{pair.b.number}: {_md_escape(match.b)}",
            "",
        ]
    return [*lines, f"- ¶{pair.a.number}: {left}", f"- ¶{pair.b.number}: {right}", ""]


def to_markdown(report: DuplicateReport) -> str:
    lines = ["# Repeated recommendations", "", summary_line(report), ""]
    sections, meetings, counts = repeats_table(report)
    lines += [
        "| section | " + " | ".join(f"meeting {m}" if m else "none" for m in meetings) + " |",
        "|---|" + "---:|" * len(meetings),
    ]
    for section in sections:
        row = [counts.get((section, m), 0) for m in meetings]
        if any(row):
            lines.append(f"| {_md_escape(section)} | " + " | ".join(str(c) for c in row) + " |")
    for number, group in enumerate(report.groups, start=1):
        members = ", ".join(f"¶{p.number} ({_meeting(p)})" for p in group.members)
        weakest = group.weakest
        lines += [
            "",
            f"## Group {number}: {members}",
            "",
            f"Weakest link: ¶{weakest.a.number}–¶{weakest.b.number}, score {weakest.score:.2f}.",
            "",
        ]
        lines += [line for pair in group.pairs if pair.score >= report.threshold for line in _md_pair(pair)]
    if report.ungrouped:
        lines += ["", f"## {UNGROUPED_TITLE}", "", UNGROUPED_NOTE, ""]
        lines += [line for pair in report.ungrouped for line in _md_pair(pair)]
    return "\n".join(lines) + "\n"


_CSS = """
body{font:15px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:70rem;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.25rem .6rem}
td.n{text-align:right}.group{border:1px solid #bbb;border-radius:6px;margin:1.5rem 0;padding:.5rem 1rem}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:1rem}.pair div{background:#fafafa;padding:.5rem}
del{background:#fdd;text-decoration:line-through}ins{background:#dfd;text-decoration:none}
.meta{color:#555;font-size:.9em}h2{font-size:1.15rem}.weak{color:#a40}
.part .pair div{background:#f1efff}.part p{margin:.4rem 0 .2rem}
"""


def _html_diff(ops: list[DiffOp]) -> tuple[str, str]:
    left, right = [], []
    for op in ops:
        a, b = html.escape(op.a), html.escape(op.b)
        if op.op == "equal":
            left.append(a)
            right.append(b)
        else:
            if a:
                left.append(f"<del>{a}</del>")
            if b:
                right.append(f"<ins>{b}</ins>")
    return " ".join(left), " ".join(right)


def _html_pair(pair: PairScore) -> str:
    left, right = _html_diff(pair.diff())
    a, b = html.escape(pair.a.number), html.escape(pair.b.number)
    return (
        f'<p class="meta">{html.escape(pair.headline)}</p>'
        f"{_html_repeated_part(pair, a, b)}"
        f'<div class="pair"><div><b>¶{a}</b> · {html.escape(_meeting(pair.a))}<br>{left}'
        f"</div><div><b>¶{b}</b> · {html.escape(_meeting(pair.b))}<br>{right}</div></div>"
    )


def _html_repeated_part(pair: PairScore, a: str, b: str) -> str:
    """`a` and `b`: the pair's paragraph numbers, already escaped."""
    if (match := pair.repeated_part) is None:
        return ""
    return (
        f'<div class="part"><p class="meta">Repeated part (closest clauses, cosine {match.cosine:.2f})</p>'
        f'<div class="pair"><div><b>¶{a}</b> {html.escape(match.a)}</div>'
        f"<div><b>¶{b}</b> {html.escape(match.b)}</div></div></div>"
    )


def _html_group(number: int, group: DuplicateGroup, threshold: float) -> str:
    members = ", ".join(f"¶{html.escape(p.number)} ({html.escape(_meeting(p))})" for p in group.members)
    weakest = group.weakest
    pairs = "".join(_html_pair(p) for p in group.pairs if p.score >= threshold)
    section = html.escape(_section(group.first))
    return (
        f'<section class="group" id="group-{number}"><h2>Group {number}: {members}</h2>'
        f'<p class="meta">{section} · <span class="weak">weakest link ¶{html.escape(weakest.a.number)}–'
        f"¶{html.escape(weakest.b.number)}, score {weakest.score:.2f}</span></p>{pairs}</section>"
    )


def to_html(report: DuplicateReport) -> str:
    sections, meetings, counts = repeats_table(report)
    header = "".join(f"<th>meeting {m}</th>" if m else "<th>none</th>" for m in meetings)
    rows = "".join(
        f"<tr><td>{html.escape(s)}</td>"
        + "".join(f'<td class="n">{counts.get((s, m), 0) or "·"}</td>' for m in meetings)
        + "</tr>"
        for s in sections
        if any(counts.get((s, m), 0) for m in meetings)
    )
    groups = "".join(_html_group(n, g, report.threshold) for n, g in enumerate(report.groups, start=1))
    if report.ungrouped:
        pairs = "".join(_html_pair(p) for p in report.ungrouped)
        groups += (
            f'<section class="group ungrouped" id="ungrouped"><h2>{UNGROUPED_TITLE}</h2>'
            f'<p class="meta">{UNGROUPED_NOTE}</p>{pairs}</section>'
        )
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        "<meta http-equiv=Content-Security-Policy content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        "<meta name=viewport content='width=device-width,initial-scale=1'>"
        f"<title>Repeated recommendations</title><style>{_CSS}</style></head><body>"
        f"<h1>Repeated recommendations</h1><p id=summary>{html.escape(summary_line(report))}</p>"
        f"<h2>Repeats by section and meeting</h2><table id=repeats><tr><th>section</th>{header}</tr>{rows}</table>"
        f"<p class=meta>Each group lists a recommendation and its later repeats, earliest first. Deleted words are "
        f"<del>struck</del>, added words <ins>highlighted</ins>.</p>{groups}</body></html>\n"
    )


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
