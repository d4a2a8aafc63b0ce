"""The duplicates report as one self-contained HTML page an analyst reviews in the browser: a header saying what it
was made from, a table of contents, filters, and for each pair its headline, its evidence folded under it, the
diff, and buttons to confirm, reject or mark it unsure with a note. Marks are kept in the browser's storage and
exported as a decisions file (`semsearch.decisions`) that `semsearch duplicates --decisions` applies.

Document text is untrusted: every piece of it is escaped, and the page's Content-Security-Policy allows no remote
load and only the one inline script whose sha256 it names, so a paragraph holding `<script>` or `javascript:`
stays inert text. Nothing is fetched: no font, image or script from anywhere.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re

from semsearch.corpus import Paragraph
from semsearch.dedup import DiffOp, DuplicateReport, PairScore
from semsearch.index import content_hash
from semsearch.naming import Naming
from semsearch.pairs import member_label
from semsearch.report import (
    STALE_TITLE,
    UNGROUPED_NOTE,
    UNGROUPED_TITLE,
    header_fields,
    meeting_labels,
    pair_notes,
    repeated_part_line,
    repeats_table,
    section_label,
    stale_lines,
    summary_line,
)

_CSS = """
*{box-sizing:border-box}
body{font:15px/1.5 system-ui,sans-serif;margin:0 auto;max-width:72rem;padding:0 1rem 2rem;color:#222;
overflow-wrap:anywhere}
h1{font-size:1.5rem;margin:1rem 0 .5rem}h2{font-size:1.15rem}h3{font-size:1rem;margin:.2rem 0}
dl.about{display:grid;grid-template-columns:max-content 1fr;gap:0 .8rem;margin:.5rem 0}dl.about dt{color:#555}
dl.about dd{margin:0}
.scroll{overflow-x:auto;max-width:100%}table{border-collapse:collapse;margin:.5rem 0}
td,th{border:1px solid #ccc;padding:.2rem .5rem}td.n{text-align:right}
nav#toc ol{padding-left:1.4rem}nav#toc li{margin:.15rem 0}
.controls{position:sticky;top:0;background:#f4f6f8;border:1px solid #ccd;border-radius:6px;padding:.4rem .6rem;
display:flex;flex-wrap:wrap;gap:.4rem .8rem;align-items:center;z-index:1}
.controls select{max-width:14rem}#counts{margin:0;flex-basis:100%}
.group{border:1px solid #bbb;border-radius:6px;margin:1.2rem 0;padding:.3rem .8rem}
.members{margin:.3rem 0;padding-left:1.2rem}
article.pair{border-top:1px solid #ddd;padding:.5rem 0 .5rem .7rem}[id]{scroll-margin-top:7rem}
.sides{display:grid;grid-template-columns:1fr 1fr;gap:.8rem}.sides>div{background:#fafafa;padding:.4rem}
.part .sides>div{background:#f1efff}.part p{margin:.3rem 0 .2rem}
del{background:#fdd;text-decoration:line-through}ins{background:#dfd;text-decoration:none}
.meta{color:#555;font-size:.9em}.weak{color:#a40}.note-line{font-style:italic;color:#444;margin:.1rem 0}
.review{display:flex;flex-wrap:wrap;gap:.3rem;align-items:center;margin:.3rem 0}
.review button{border:1px solid #999;border-radius:4px;background:#fff;padding:.15rem .6rem;font:inherit}
.review button[aria-pressed=true]{background:#234;color:#fff}
.review textarea{flex:1 1 12rem;min-width:0;max-width:100%;height:2.1rem;font:inherit}
article[data-state=confirmed]{box-shadow:inset 4px 0 #2a7}article[data-state=rejected]{box-shadow:inset 4px 0 #c33}
article[data-state=unsure]{box-shadow:inset 4px 0 #d90}
[hidden]{display:none!important}
@media (max-width:40rem){.sides{grid-template-columns:1fr}dl.about{grid-template-columns:1fr}body{padding:0 .5rem}}
@media print{nav#toc,.controls,.review,.members{display:none!important}body{max-width:none;font-size:9.5pt;padding:0}
.group{border:none;padding:0;margin:0 0 1rem;break-inside:avoid-page}article.pair{break-inside:avoid}
h2,h3{break-after:avoid}
a{color:inherit;text-decoration:none}.sides>div{background:none;border:1px solid #ddd}}
"""

# The review loop: marks kept in localStorage under each pair's two content hashes (so one mark holds in every
# report of the same texts), filters, counts, and the decisions file export. Pinned by its sha256 in the CSP.
_SCRIPT = """
(() => {
  "use strict";
  const KEY = "semsearch-decisions";
  const pairs = [...document.querySelectorAll("article.pair")];
  const filters = [...document.querySelectorAll(".controls select")];
  let stored = {};
  try { stored = JSON.parse(localStorage.getItem(KEY) || "{}") || {}; } catch (error) { stored = {}; }
  const save = () => { try { localStorage.setItem(KEY, JSON.stringify(stored)); } catch (error) { /* private */ } };
  const given = (el) => el.dataset.decision
    ? {decision: el.dataset.decision, note: el.dataset.note || "", time: el.dataset.time || ""} : null;
  const current = (el) => {
    const mine = stored[el.dataset.pair], theirs = given(el);
    return mine && (!theirs || mine.time >= theirs.time) ? mine : theirs;
  };
  const show = (el) => {
    const decided = current(el);
    el.dataset.state = decided ? decided.decision : "unreviewed";
    for (const button of el.querySelectorAll("button[data-decision]")) {
      button.setAttribute("aria-pressed", String(button.dataset.decision === el.dataset.state));
    }
    const note = el.querySelector("textarea");
    if (decided && document.activeElement !== note) note.value = decided.note || "";
  };
  const matches = (el) => filters.every((select) => {
    const wanted = select.value;
    return !wanted || (el.dataset[select.dataset.field] || "").split("|").includes(wanted);
  });
  const refresh = () => {
    const counts = {confirmed: 0, rejected: 0, unsure: 0, unreviewed: 0};
    let shown = 0;
    for (const el of pairs) {
      counts[el.dataset.state] += 1;
      el.hidden = !matches(el);
      shown += el.hidden ? 0 : 1;
    }
    for (const block of document.querySelectorAll("section.group")) {
      block.hidden = !block.querySelector("article.pair:not([hidden])");
    }
    document.getElementById("counts").textContent = `${shown} of ${pairs.length} pairs shown · ` +
      `${counts.confirmed} confirmed · ${counts.rejected} rejected · ${counts.unsure} unsure · ` +
      `${counts.unreviewed} unreviewed`;
  };
  const decide = (el, decision) => {
    const note = el.querySelector("textarea").value;
    stored[el.dataset.pair] = {decision, note, time: new Date().toISOString()};
    save();
    for (const same of pairs) if (same.dataset.pair === el.dataset.pair) show(same);  // copies: the same two texts
    refresh();
  };
  for (const el of pairs) {
    show(el);
    for (const button of el.querySelectorAll("button[data-decision]")) {
      button.addEventListener("click", () => decide(el, button.dataset.decision));
    }
    el.querySelector("textarea").addEventListener("change", () => {
      if (current(el)) decide(el, current(el).decision);
    });
  }
  for (const select of filters) select.addEventListener("change", refresh);
  document.getElementById("export").addEventListener("click", () => {
    const side = (el, s) => ({
      doc: el.dataset["doc" + s], number: el.dataset["number" + s], hash: el.dataset["hash" + s]});
    const first = (el) => pairs.find((other) => other.dataset.pair === el.dataset.pair) === el;
    const once = pairs.filter((el) => current(el) && first(el));
    const lines = once.map((el) => JSON.stringify({a: side(el, "A"), b: side(el, "B"), ...current(el)}));
    const link = document.getElementById("download");
    link.href = URL.createObjectURL(new Blob([lines.map((l) => l + "\\n").join("")], {type: "application/x-ndjson"}));
    link.download = "decisions.jsonl";
    link.click();
    document.getElementById("exported").textContent = `${lines.length} decisions exported to decisions.jsonl`;
  });
  refresh();
})();
"""
_SCRIPT_HASH = base64.b64encode(hashlib.sha256(_SCRIPT.encode("utf-8")).digest()).decode("ascii")
CSP = f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{_SCRIPT_HASH}'"
STATES = ("unreviewed", "confirmed", "rejected", "unsure")
_SLUG = re.compile(r"[^A-Za-z0-9]+")


def _e(text: object) -> str:
    return html.escape(str(text))


class _Anchors:
    """One id per paragraph, readable (`p-16`, `p-A-HRC-28-11-7`) and unique; the first place it appears owns it."""

    def __init__(self, naming: Naming) -> None:
        self.naming = naming
        self.ids: dict[str, str] = {}
        self.placed: set[str] = set()

    def of(self, paragraph: Paragraph) -> str:
        if paragraph.key not in self.ids:
            base = "p-" + (_SLUG.sub("-", self.naming.ref(paragraph)).strip("-") or "x")
            taken = set(self.ids.values())
            candidate, n = base, 1
            while candidate in taken:
                n += 1
                candidate = f"{base}-{n}"
            self.ids[paragraph.key] = candidate
        return self.ids[paragraph.key]

    def place(self, paragraph: Paragraph) -> str:
        """` id="…"` the first time a paragraph is placed, nothing after."""
        if paragraph.key in self.placed:
            return ""
        self.placed.add(paragraph.key)
        return f' id="{self.of(paragraph)}"'


def _diff(ops: list[DiffOp]) -> tuple[str, str]:
    left, right = [], []
    for op in ops:
        a, b = _e(op.a), _e(op.b)
        if op.op == "equal":
            left.append(a)
            right.append(b)
        else:
            if a:
                left.append(f"<del>{a}</del>")
            if b:
                right.append(f"<ins>{b}</ins>")
    return " ".join(left), " ".join(right)


def _meeting(paragraph: Paragraph) -> str:
    """As the meeting filter names it (a missing meeting in words, the filter's option for it)."""
    return str(paragraph.meeting) if paragraph.meeting else "no meeting"


def _data(pair: PairScore) -> str:
    """The pair's attributes the script reads: its key, what the filters match, and the decision already applied."""
    hashes = {"a": content_hash(pair.a.text), "b": content_hash(pair.b.text)}
    fields = {
        "pair": ":".join(sorted(hashes.values())),
        "section": "|".join(dict.fromkeys((section_label(pair.a), section_label(pair.b)))),
        "meeting": "|".join(dict.fromkeys((_meeting(pair.a), _meeting(pair.b)))),
        "kind": pair.kind,
        "state": pair.decision.decision if pair.decision else "unreviewed",
    }
    for side, paragraph in (("a", pair.a), ("b", pair.b)):
        fields |= {f"doc-{side}": paragraph.doc, f"number-{side}": paragraph.number, f"hash-{side}": hashes[side]}
    if pair.decision is not None:
        fields |= {"decision": pair.decision.decision, "note": pair.decision.note, "time": pair.decision.time}
    return "".join(f' data-{name}="{_e(value)}"' for name, value in fields.items())


def _pair(pair: PairScore, anchors: _Anchors, number: int) -> str:
    naming = pair.naming
    left, right = _diff(pair.diff())
    notes = "".join(f'<p class="note-line">{_e(note)}</p>' for note in pair_notes(pair))
    buttons = "".join(
        f'<button type="button" data-decision="{state}" aria-pressed="false">{label}</button>'
        for state, label in (("confirmed", "Confirm"), ("rejected", "Reject"), ("unsure", "Unsure"))
    )
    sides = "".join(
        f"<div{anchors.place(p)}><b>{_e(naming.mark(p))}</b> · {_e(_meeting(p))} · {_e(section_label(p))}<br>"
        f"{text}</div>"
        for p, text in ((pair.a, left), (pair.b, right))
    )
    return (
        f'<article class="pair" id="pair-{number}"{_data(pair)}><h3 class="headline">{_e(pair.headline)}</h3>{notes}'
        f'<div class="review">{buttons}<textarea aria-label="note" placeholder="note"></textarea></div>'
        f"<details><summary>{_e(pair.kind)}, score {pair.score:.2f}: the evidence</summary>"
        f'<p class="meta">{_e(pair.figures)}</p></details>{_repeated_part(pair)}<div class="sides">{sides}</div>'
        "</article>"
    )


def _repeated_part(pair: PairScore) -> str:
    if (part := pair.repeated_part) is None:
        return ""
    mark = pair.naming.mark
    return (
        f'<div class="part"><p class="meta">{_e(repeated_part_line(pair))}</p><div class="sides">'
        f"<div><b>{_e(mark(part.short))}</b> {_e(part.clause)}</div>"
        f"<div><b>{_e(mark(part.long))}</b> {_e(part.counterpart)}</div></div></div>"
    )


def _options(field: str, label: str, values: list[str]) -> str:
    options = "".join(f'<option value="{_e(v)}">{_e(v)}</option>' for v in values)
    return f'<label>{label} <select data-field="{field}"><option value="">all</option>{options}</select></label>'


def _controls(report: DuplicateReport) -> str:
    paragraphs = [p for pair in report.pairs for p in (pair.a, pair.b)]
    order = {p.key: n for n, p in enumerate(report.scorer.index.paragraphs)}
    paragraphs.sort(key=lambda p: order[p.key])
    meetings = sorted({p.meeting.ordinal for p in paragraphs if p.meeting})
    labels = meeting_labels(report)
    meeting_values = [labels[m] for m in meetings] + (["no meeting"] if any(not p.meeting for p in paragraphs) else [])
    return (
        '<div class="controls" role="search">'
        + _options("section", "Section", list(dict.fromkeys(section_label(p) for p in paragraphs)))
        + _options("meeting", "Meeting", meeting_values)
        + _options("kind", "Kind", ["verbatim", "paraphrase", "partial"])
        + _options("state", "Review", list(STATES))
        + '<button type="button" id="export">Export decisions</button><a id="download" hidden></a>'
        '<span id="exported" class="meta" role="status"></span><p id="counts" aria-live="polite"></p></div>'
    )


def _toc(report: DuplicateReport, anchors: _Anchors) -> str:
    naming = report.naming
    items = []
    for number, group in enumerate(report.groups, start=1):
        links = ", ".join(f'<a href="#{anchors.of(p)}">{_e(naming.mark(p))}</a>' for p in group.members)
        count = len(report.pairs_of(number))
        items.append(
            f'<li><a href="#group-{number}">Group {number}</a> · {len(group.members)} paragraphs, {count} pairs: '
            f"{links}</li>"
        )
    if report.ungrouped:
        items.append(f'<li><a href="#ungrouped">{UNGROUPED_TITLE}</a> · {len(report.ungrouped)} pairs</li>')
    if report.review.stale:
        items.append(f'<li><a href="#stale">{STALE_TITLE}</a> · {len(report.review.stale)}</li>')
    return f'<nav id="toc"><h2>Contents</h2><ol>{"".join(items)}</ol></nav>'


def _group(report: DuplicateReport, number: int, anchors: _Anchors, numbering: dict[tuple[str, str], int]) -> str:
    group = report.groups[number - 1]
    naming = report.naming
    title = ", ".join(member_label(p, naming) for p in group.members)
    members = "".join(
        f'<li{anchors.place(p)}><a href="#{anchors.of(p)}">{_e(naming.mark(p))}</a> · {_e(_meeting(p))} · '
        f"{_e(section_label(p))}</li>"
        for p in group.members
    )
    pairs = "".join(_pair(p, anchors, numbering[p.keys]) for p in report.pairs_of(number))
    return (
        f'<section class="group" id="group-{number}"><h2>Group {number}: {_e(title)}</h2>'
        f'<p class="meta"><span class="weak">{_e(group.weakest_line(report.threshold))}</span></p>'
        f'<ul class="members">{members}</ul>{pairs}</section>'
    )


def to_html(report: DuplicateReport, generated: str | None = None) -> str:
    anchors = _Anchors(report.naming)
    numbering = {p.keys: n for n, p in enumerate(report.pairs, start=1)}
    sections, meetings, counts = repeats_table(report)
    labels = meeting_labels(report)
    head = "".join(f"<th>{_e(labels[m])}</th>" for m in meetings)
    rows = "".join(
        f"<tr><td>{_e(s)}</td>"
        + "".join(f'<td class="n">{counts.get((s, m), 0) or "·"}</td>' for m in meetings)
        + "</tr>"
        for s in sections
        if any(counts.get((s, m), 0) for m in meetings)
    )
    about = "".join(f"<dt>{_e(name)}</dt><dd>{_e(value)}</dd>" for name, value in header_fields(report, generated))
    body = "".join(_group(report, n, anchors, numbering) for n in range(1, len(report.groups) + 1))
    if report.ungrouped:
        pairs = "".join(_pair(p, anchors, numbering[p.keys]) for p in report.ungrouped)
        body += (
            f'<section class="group ungrouped" id="ungrouped"><h2>{UNGROUPED_TITLE}</h2>'
            f'<p class="meta">{UNGROUPED_NOTE}</p>{pairs}</section>'
        )
    if report.review.stale:
        stale = "".join(f"<li>{_e(line)}</li>" for line in stale_lines(report))
        body += f'<section id="stale"><h2>{STALE_TITLE}</h2><ul>{stale}</ul></section>'
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>Repeated recommendations</title><style>{_CSS}</style></head><body>"
        f'<header><h1>Repeated recommendations</h1><dl class="about">{about}</dl>'
        f'<p id="summary">{_e(summary_line(report))}</p></header>{_toc(report, anchors)}'
        f'<h2>Repeats by section and meeting</h2><div class="scroll"><table id="repeats"><tr><th>section</th>{head}'
        f"</tr>{rows}</table></div>"
        '<p class="meta">Each group lists a recommendation and its later repeats, earliest first. Deleted words are '
        "<del>struck</del>, added words <ins>highlighted</ins>. Mark each pair, then export your decisions and apply "
        "them with <code>semsearch duplicates --decisions decisions.jsonl</code>.</p>"
        f"{_controls(report)}<main>{body}</main><script>{_SCRIPT}</script></body></html>\n"
    )
