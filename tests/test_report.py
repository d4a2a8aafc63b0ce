from __future__ import annotations

import csv
import errno
import html
import io
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from semsearch.dedup import PRESETS
from semsearch.errors import WriteError
from semsearch.report import _umask, render, summary_line, to_html, write_atomic

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


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing; `make test` installs Debian's chromium package")
        pytest.skip("chromium is not installed (make test installs it)")
    return found


def headless(page: Path, tmp_path: Path, *arguments: str) -> subprocess.CompletedProcess:
    command = [
        chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,2000", *arguments, page.as_uri(),
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)


def test_html_report_loads_in_chromium_and_shows_groups(duplicates, tmp_path):
    page = tmp_path / "report.html"
    write_atomic(page, to_html(duplicates))
    dom = headless(page, tmp_path, "--dump-dom").stdout
    assert 'id="summary"' in dom and dom.count('class="group"') == len(duplicates.groups) > 5
    assert "<del>" in dom and "<ins>" in dom and "weakest link" in dom
    partial = sum(p.repeated_part is not None for p in duplicates.pairs)
    assert dom.count('class="part"') == partial > 0, "each partial repeat names the part repeated"
    assert dom.count('class="meta">¶') == len(duplicates.pairs), "every flagged pair is shown once"
    assert 'id="ungrouped"' in dom and duplicates.ungrouped
    shot = tmp_path / "report.png"
    headless(page, tmp_path, f"--screenshot={shot}")
    assert shot.stat().st_size > 10_000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_html_report_renders_hostile_text_inert(tmp_path):
    from semsearch.dedup import find_duplicates
    from semsearch.index import build_index, open_index

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "hostile.txt").write_text(HOSTILE, encoding="utf-8")
    build_index([corpus], tmp_path / "index")
    report = find_duplicates(open_index(tmp_path / "index")).at(0.0)  # every pair, so every paragraph is shown
    assert len(report.pairs) == 3
    html = to_html(report)
    assert "<script" not in html and "<img" not in html and "<a href" not in html
    assert "&lt;script&gt;" in html
    page = tmp_path / "hostile.html"
    page.write_text(html, encoding="utf-8")
    dom = headless(page, tmp_path, "--dump-dom").stdout
    assert "<body>" in dom and "data-pwned=" not in dom.split("<body")[1].split(">")[0]
    assert "<script" not in dom and "<img" not in dom


def test_other_formats(duplicates):
    data = json.loads(render(duplicates, "json"))
    assert set(data) == {"threshold", "groups", "pairs"}
    pair = data["pairs"][0]
    assert {"a", "b", "score", "kind"} <= set(pair) and {"doc", "number"} <= set(pair["a"])
    assert set(data["groups"][0]) == {"members", "weakest"}
    assert {"doc", "number", "meeting", "section"} <= set(data["groups"][0]["members"][0])
    rows = list(csv.DictReader(io.StringIO(render(duplicates, "csv"))))
    assert len(rows) == len(duplicates.pairs) and rows[0]["kind"] in {"verbatim", "paraphrase", "partial"}
    matched = {(r["number_a"], r["number_b"]): r["closest_clause_b"] for r in rows}
    assert all(matched[(p.a.number, p.b.number)] == (p.match.b if p.match else "") for p in duplicates.pairs)
    assert {p["match"] is None for p in data["pairs"]} == {True, False}
    ungrouped = {(p.a.number, p.b.number) for p in duplicates.ungrouped}
    assert {(r["number_a"], r["number_b"]) for r in rows if not r["group"]} == ungrouped
    assert {(p["a"]["number"], p["b"]["number"]) for p in data["pairs"] if p["group"] is None} == ungrouped
    markdown = render(duplicates, "md")
    assert markdown.startswith("# Repeated recommendations") and "## Group 1" in markdown and "~~" in markdown
    assert markdown.count("Repeated part (closest clauses") == sum(
        p.repeated_part is not None for p in duplicates.pairs
    )
    assert markdown.count("\n### ¶") == len(duplicates.pairs) and "## Flagged pairs outside the groups" in markdown


def test_every_format_heads_a_pair_alike(duplicates):
    markdown, page = render(duplicates, "md"), render(duplicates, "html")
    for pair in duplicates.pairs:
        assert f"### {pair.headline}\n" in markdown and f'<p class="meta">{html.escape(pair.headline)}</p>' in page
    assert any(p.same_meeting for p in duplicates.pairs), "the corpus has repeats within one meeting"


def test_summary_names_the_preset_it_was_run_at(duplicates):
    outside = len(duplicates.ungrouped)
    assert summary_line(duplicates).endswith(
        f"at threshold {PRESETS['precise']:.2f}, preset precise; {outside} of them outside the groups)."
    )
    assert summary_line(duplicates.at(0.9)).endswith("at threshold 0.90).")


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
    from semsearch.dedup import find_duplicates
    from semsearch.index import build_index, open_index
    from semsearch.report import to_csv

    from .conftest import small_corpus

    corpus = small_corpus(tmp_path / "corpus")
    (corpus / "small.txt").rename(corpus / "=HYPERLINK(x).txt")
    build_index([corpus], tmp_path / "index")
    rows = list(csv.reader(io.StringIO(to_csv(find_duplicates(open_index(tmp_path / "index"))))))
    assert rows[1][1] == rows[1][4] == "'=HYPERLINK(x)"
    assert not any(cell.startswith(("=", "+", "@")) for row in rows for cell in row)
