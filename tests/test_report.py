from __future__ import annotations

import base64
import csv
import errno
import hashlib
import html
import io
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from semsearch.dedup import PRESETS, RECORD_FIELDS
from semsearch.errors import WriteError
from semsearch.html_report import CSP, to_html
from semsearch.report import _umask, render, summary_line, write_atomic

from .browser import chromium, chromium_flags

HOSTILE = (
    "I. Hostile\n\nA. Recommendations adopted by the Working Group at its first meeting, held in Vienna on 21 and 22 "
    "May 2012\n\n"
    "1. The Conference may wish to urge States parties to mark imported firearms <script>document.body.setAttribute("
    "'data-pwned','script')</script> and keep records.\n\n"
    '2. The Conference may wish to urge States parties to mark imported firearms <img src=x onerror="document.body.'
    "setAttribute('data-pwned','img')\"> and keep records.\n\n"
    "B. Recommendations adopted by the Working Group at its second meeting, held in Vienna from 26 to 28 May 2014\n\n"
    '3. The Conference may wish to urge States parties to mark imported firearms <a href="javascript:document.body.'
    "setAttribute('data-pwned','link')\">and keep records</a>.\n"
)


def headless(page: Path, tmp_path: Path, *arguments: str) -> subprocess.CompletedProcess:
    command = [chromium(), *chromium_flags(tmp_path / "profile"), "--window-size=1280,2000", *arguments, page.as_uri()]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)


def test_html_report_lists_every_pair_once_with_its_headline_first(duplicates):
    page = to_html(duplicates)
    assert page.count('<section class="group" id="group-') == len(duplicates.groups) > 5
    assert "<del>" in page and "<ins>" in page and "weakest link" in page and 'id="ungrouped"' in page
    assert page.count('<div class="part">') == sum(p.repeated_part is not None for p in duplicates.pairs) > 0
    assert page.count('<article class="pair"') == len(duplicates.pairs)
    for pair in duplicates.pairs:
        headline = f'<h3 class="headline">{html.escape(pair.headline)}</h3>'
        assert page.count(headline) == 1 and f'<p class="meta">{html.escape(pair.figures)}</p></details>' in page
    assert "implied by ¶16–¶22 (¶20 is a word-for-word copy of ¶16)" in page
    assert "joined through ¶10 by average linkage" in page and "cosine 0.09" not in page


def test_html_report_is_navigable(duplicates):
    page = to_html(duplicates, generated="2026-01-01T00:00:00+00:00")
    about = page.split('<dl class="about">')[1].split("</dl>")[0]
    for field in ("corpus", "documents", "model", "preset", "threshold", "generated"):
        assert f"<dt>{field}</dt>" in about
    assert "<dd>precise</dd>" in about and "<dd>2026-01-01T00:00:00+00:00</dd>" in about and "166 paragraphs" in about
    toc = page.split('<nav id="toc">')[1].split("</nav>")[0]
    assert toc.count('href="#group-') == len(duplicates.groups) and 'href="#ungrouped"' in toc
    links = set(re.findall(r'href="#([^"]+)"', page))
    ids = re.findall(r' id="([^"]+)"', page)
    assert len(ids) == len(set(ids)) and links <= set(ids), "every link has its anchor, and every id is unique"
    members = {p.key for g in duplicates.groups for p in g.members}
    assert sum(1 for i in ids if i.startswith("p-")) >= len(members) and 'id="p-16"' in page
    table = page.split('<table id="repeats">')[1].split("</table>")[0]
    assert "<th>1st (2012)</th>" in table and "meeting 1" not in page
    assert "(1st (2012))" not in page and "Group 1: ¶16 · 1st (2012), ¶20 · 2nd (2014)" in page


def test_html_report_script_is_pinned_by_its_hash():
    from semsearch.html_report import _SCRIPT

    digest = base64.b64encode(hashlib.sha256(_SCRIPT.encode()).digest()).decode()
    assert f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{digest}'" == CSP
    assert "http" not in _SCRIPT and "fetch(" not in _SCRIPT and "XMLHttpRequest" not in _SCRIPT


def test_html_report_renders_hostile_text_inert(tmp_path):
    from semsearch.build import build_index
    from semsearch.dedup import find_duplicates
    from semsearch.index import open_index

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "hostile.txt").write_text(HOSTILE, encoding="utf-8")
    build_index([corpus], tmp_path / "index")
    report = find_duplicates(open_index(tmp_path / "index")).at(0.0)  # every pair, so every paragraph is shown
    assert len(report.pairs) == 3
    page_text = to_html(report)
    assert page_text.count("<script") == 1 and "<img" not in page_text and '<a href="javascript' not in page_text
    assert "&lt;script&gt;" in page_text
    page = tmp_path / "hostile.html"
    page.write_text(page_text, encoding="utf-8")
    dom = headless(page, tmp_path, "--dump-dom").stdout
    assert "<body>" in dom and "data-pwned=" not in dom.split("<body")[1].split(">")[0]
    assert dom.count("<script") == 1 and "<img" not in dom, "only the report's own script runs"


def test_csv_and_json_carry_what_a_review_needs(duplicates):
    data = json.loads(render(duplicates, "json"))
    assert {"threshold", "summary", "header", "documents", "counts", "groups", "pairs", "stale"} <= set(data)
    pair = data["pairs"][0]
    assert {"a", "b", "score", "kind", "headline", "decision", "note", "implied_by", "group"} <= set(pair)
    assert {"ref", "doc", "number", "section_title", "meeting_label", "text", "hash"} <= set(pair["a"])
    weakest = data["groups"][0]["weakest"]
    assert {"doc", "number", "meeting", "section"} <= set(data["groups"][0]["members"][0])
    assert weakest["a"]["doc"] and weakest["b"]["doc"] and weakest["how"].startswith("weakest link")
    rows = list(csv.DictReader(io.StringIO(render(duplicates, "csv"))))
    assert list(rows[0]) == RECORD_FIELDS and len(rows) == len(duplicates.pairs) == len(data["pairs"])
    for row, listed in zip(rows, data["pairs"], strict=True):
        for side in "ab":
            ref = listed[side]
            assert (row[f"doc_{side}"], row[f"number_{side}"]) == (ref["doc"], ref["number"])
            assert (row[f"text_{side}"], row[f"section_{side}"]) == (ref["text"], ref["section_title"])
            assert row[f"meeting_{side}"] == ref["meeting_label"] and row[f"text_{side}"]
        assert (row["kind"], float(row["score"]), row["decision"]) == (listed["kind"], listed["score"], "")
        assert row["group"] == str(listed["group"] or "")
    assert {p["match"] is None for p in data["pairs"]} == {True, False}
    ungrouped = {(p.a.number, p.b.number) for p in duplicates.ungrouped}
    assert {(r["number_a"], r["number_b"]) for r in rows if not r["group"]} == ungrouped
    assert {(p["a"]["number"], p["b"]["number"]) for p in data["pairs"] if p["group"] is None} == ungrouped
    implied = [(r["number_a"], r["number_b"], r["implied_by"]) for r in rows if r["implied_by"]]
    assert sorted(implied) == [("20", "22", "16 22"), ("20", "28", "16 28")]
    markdown = render(duplicates, "md")
    assert markdown.startswith("# Repeated recommendations") and "## Group 1" in markdown and "~~" in markdown
    assert markdown.count("Repeated part: ") == sum(p.repeated_part is not None for p in duplicates.pairs)
    assert markdown.count("\n### ¶") == len(duplicates.pairs) and "## Flagged pairs outside the groups" in markdown
    assert "| section | 1st (2012) | 2nd (2014)" in markdown


def test_every_format_heads_a_pair_alike(duplicates):
    markdown, page = render(duplicates, "md"), render(duplicates, "html")
    data = json.loads(render(duplicates, "json"))
    for pair, listed in zip(duplicates.pairs, data["pairs"], strict=True):
        assert listed["headline"] == pair.headline
        escaped = pair.headline.replace("(", "\\(").replace(")", "\\)")
        assert f"### {escaped}\n" in markdown and f'<h3 class="headline">{html.escape(pair.headline)}</h3>' in page
    assert any(p.same_meeting for p in duplicates.pairs), "the corpus has repeats within one meeting"


def test_summary_names_the_preset_it_was_run_at(duplicates):
    outside = len(duplicates.ungrouped)
    assert summary_line(duplicates).endswith(
        f"at threshold {PRESETS['precise']:.2f}, preset precise; 2 of them implied by word-for-word copies; "
        f"{outside} of them outside the groups)."
    )
    assert summary_line(duplicates.at(0.9)).endswith("at threshold 0.90; 1 of them implied by word-for-word copies).")


@pytest.mark.parametrize(("code", "message"), [(errno.ENOSPC, "No space left"), (errno.EACCES, "Permission denied")])
def test_report_write_failures_leave_nothing_behind(tmp_path, duplicates, monkeypatch, code, message):
    target = tmp_path / "report.html"
    target.write_text("previous", encoding="utf-8")

    def fail(*_args: object) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr("semsearch.report.os.fsync", fail)
    with pytest.raises(WriteError, match=message):
        write_atomic(target, to_html(duplicates))
    assert target.read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_report_gets_ordinary_permissions(tmp_path):
    target = tmp_path / "report.md"
    write_atomic(target, "# report\n")
    assert target.stat().st_mode & 0o777 == 0o666 & ~_umask()


def test_report_into_missing_directory(tmp_path):
    with pytest.raises(WriteError, match="could not write"):
        write_atomic(tmp_path / "out" / "report.html", "x")


def test_review_loop_in_chromium(duplicates, tmp_path):
    """The analyst's round trip: mark pairs in the page, filter, reload, export, apply the file; the page makes no
    request and logs no error, reads at 1280 and 420 px without sideways scrolling, and prints."""
    from semsearch.decisions import Review, read_decisions

    from .browser import Browser

    page = tmp_path / "report.html"
    write_atomic(page, to_html(duplicates))
    browser = Browser(tmp_path / "profile")
    try:
        browser.open(page)
        count = len(duplicates.pairs)
        counts = "document.getElementById('counts').textContent"
        assert (
            browser.evaluate(counts)
            == f"{count} of {count} pairs shown · 0 confirmed · 0 rejected · 0 unsure · {count} unreviewed"
        )
        confirm, reject = duplicates.pairs[0], duplicates.pairs[1]
        texts = frozenset((reject.a.text, reject.b.text))
        twins = [n for n, p in enumerate(duplicates.pairs, 1) if frozenset((p.a.text, p.b.text)) == texts]
        assert [p.number for p in reject.held_as or (reject.a, reject.b)] == ["16", "22"] and len(twins) == 2
        browser.evaluate("document.querySelector('#pair-1 button[data-decision=confirmed]').click()")
        browser.evaluate("document.querySelector('#pair-2 textarea').value = 'different asks'")
        browser.evaluate("document.querySelector('#pair-2 button[data-decision=rejected]').click()")
        # ¶16–¶22 and ¶20–¶22 are the same two texts (¶20 copies ¶16): one decision marks both
        marked = f"{count} of {count} pairs shown · 1 confirmed · 2 rejected · 0 unsure · {count - 3} unreviewed"
        assert browser.evaluate(counts) == marked
        state = "document.querySelector('select[data-field=state]')"
        browser.evaluate(f"{state}.value = 'rejected'; {state}.dispatchEvent(new Event('change'))")
        visible = "[...document.querySelectorAll('article.pair')].filter(a => !a.hidden).map(a => a.id)"
        assert browser.evaluate(visible) == [f"pair-{n}" for n in twins]
        assert browser.evaluate(counts).startswith(f"2 of {count} pairs")
        groups = "[...document.querySelectorAll('section.group')].filter(g => !g.hidden).length"
        assert browser.evaluate(groups) == 1
        browser.call("Page.reload")
        browser.wait_for("Page.loadEventFired")
        assert browser.evaluate(counts) == marked, "marks are kept in the browser's storage across reloads"
        assert browser.evaluate("document.querySelector('#pair-2 textarea').value") == "different asks"

        browser.allow_downloads(tmp_path / "downloads")
        browser.evaluate("document.getElementById('export').click()")
        browser.wait_for("Browser.downloadProgress")  # started
        while browser.wait_for("Browser.downloadProgress")["params"]["state"] != "completed":
            pass
        exported = tmp_path / "downloads" / "decisions.jsonl"
        lines = [json.loads(line) for line in exported.read_text(encoding="utf-8").splitlines()]
        assert [(d["decision"], d["note"]) for d in lines] == [("confirmed", ""), ("rejected", "different asks")]
        assert set(lines[0]) == {"a", "b", "decision", "note", "time"} and set(lines[0]["a"]) == {
            "doc",
            "number",
            "hash",
        }
        index = duplicates.scorer.index
        applied = duplicates.reviewed(Review.of(read_decisions(exported), index.paragraphs, index.hashes))
        listed = {p.keys: p for p in applied.pairs}
        assert listed[confirm.keys].decision.decision == "confirmed" and reject.keys not in listed
        assert len(applied.pairs) == count - 2 and len(applied.rejected) == 2

        overflow = "[document.documentElement.scrollWidth, window.innerWidth]"
        for width in (1280, 420):
            browser.resize(width)
            scroll_width, inner_width = browser.evaluate(overflow)
            assert inner_width == width and scroll_width <= inner_width, f"sideways scrolling at {width} px"
            shot = browser.screenshot(tmp_path / f"report-{width}.png")
            assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
        browser.call("Emulation.setEmulatedMedia", media="print")
        hidden = "['#toc', '.controls', '.review'].map(s => getComputedStyle(document.querySelector(s)).display)"
        assert browser.evaluate(hidden) == ["none"] * 3, "printing leaves out navigation and review controls"
        pdf = browser.pdf(tmp_path / "report.pdf")
        assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 20_000
        assert browser.errors() == [] and browser.requests() == []
    finally:
        browser.close()


@pytest.mark.parametrize("kind", ["symlink", "fifo", "directory"])
def test_report_never_replaces_what_is_not_a_regular_file(tmp_path, kind):
    target = tmp_path / "report.csv"
    if kind == "symlink":
        (tmp_path / "elsewhere.csv").write_text("kept", encoding="utf-8")
        target.symlink_to(tmp_path / "elsewhere.csv")
    elif kind == "fifo":
        os.mkfifo(target)
    else:
        target.mkdir()
    with pytest.raises(WriteError, match="not replacing it") as error:
        write_atomic(target, "x")
    assert "\n" not in str(error.value)
    assert target.is_symlink() if kind == "symlink" else not target.is_file()
    assert kind != "symlink" or (tmp_path / "elsewhere.csv").read_text() == "kept"


def test_csv_cells_from_documents_never_start_a_formula(tmp_path):
    from semsearch.build import build_index
    from semsearch.dedup import find_duplicates
    from semsearch.index import open_index
    from semsearch.report import to_csv

    from .conftest import small_corpus

    corpus = small_corpus(tmp_path / "corpus")
    (corpus / "small.txt").rename(corpus / "=HYPERLINK(x).txt")
    build_index([corpus], tmp_path / "index")
    rows = list(csv.DictReader(io.StringIO(to_csv(find_duplicates(open_index(tmp_path / "index"))))))
    assert rows[0]["doc_a"] == rows[0]["doc_b"] == "'=HYPERLINK(x)"
    assert not any(cell.startswith(("=", "+", "@")) for row in rows for cell in row.values())


def test_a_report_is_a_data_frame_of_its_listed_pairs(duplicates):
    frame = duplicates.to_dataframe()
    assert list(frame.columns) == RECORD_FIELDS and len(frame) == len(duplicates.pairs)
    assert frame["score"].dtype == float and frame["score"].min() >= duplicates.threshold
    assert frame.sort_values("score", ascending=False).iloc[0]["kind"] == "verbatim"
