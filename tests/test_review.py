"""Several documents kept apart in every view, and an analyst's decisions on flagged pairs: applied, kept beside the
index, surviving a rebuild, stale when a paragraph's text changes, and usable to calibrate."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from semsearch.build import build_index
from semsearch.calibration import calibrate, load_pairs
from semsearch.corpus import paragraph_row, split_reference
from semsearch.decisions import KEPT, Review, read_decisions
from semsearch.dedup import DedupConfig, find_duplicates
from semsearch.errors import CorpusError, QueryError
from semsearch.html_report import to_html
from semsearch.index import open_index
from semsearch.naming import Naming
from semsearch.report import render

from .test_cli import assert_user_error, run

HEADING = (
    "I. Marking\n\nA. Recommendations adopted by the Working Group at its first meeting, held in Vienna on 21 and 22 "
    "May 2012\n\n"
)
ALPHA = HEADING + (
    "1. The Conference may wish to urge States parties to mark imported firearms.\n\n"
    "2. The Conference may wish to encourage States to keep records of firearms for at least ten years.\n\n"
    "3. The Conference may wish to invite States to destroy surplus weapons and ammunition safely.\n"
)
BETA = HEADING + (
    "1. The Conference may wish to urge States parties to mark imported firearms.\n\n"
    "2. The Conference may wish to urge States to keep records on firearms for no less than ten years.\n\n"
    "3. The Conference may wish to promote public awareness campaigns on the dangers of illicit firearms.\n"
)
EVERY_PAIR = DedupConfig(min_cosine=0.0)  # every pair of the six paragraphs is a candidate


def two_documents(directory: Path, beta: str = BETA) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "alpha.txt").write_text(ALPHA, encoding="utf-8")
    (directory / "beta.txt").write_text(beta, encoding="utf-8")
    return directory


@pytest.fixture(scope="module")
def two(tmp_path_factory) -> Path:
    """A workspace: corpus/ of two documents sharing paragraph numbers, and its index/."""
    root = tmp_path_factory.mktemp("two")
    build_index([two_documents(root / "corpus")], root / "index")
    return root


def test_a_reference_is_split_at_its_last_colon():
    assert split_reference("A/HRC/28/11:134.4") == ("A/HRC/28/11", "134.4")
    assert split_reference("doc:with:colons:7") == ("doc:with:colons", "7")
    assert split_reference("annex 3") == (None, "annex 3") and split_reference("¶16") == (None, "16")
    assert split_reference("¶beta:pre.2") == ("beta", "pre.2")


def test_paragraphs_of_several_documents_are_named_everywhere(two):
    report = find_duplicates(open_index(two / "index"), EVERY_PAIR)
    (copy,) = [p for p in report.pairs if p.a.text == p.b.text]
    assert copy.headline.startswith("¶beta:1 repeats ¶alpha:1 word for word")
    explained = report.explain(report.pair("alpha:1", "beta:1"))
    assert explained.startswith("¶alpha:1 and ¶beta:1: flagged as verbatim")
    with pytest.raises(QueryError, match="same paragraph"):
        report.pair("1", "1", doc="alpha")
    with pytest.raises(CorpusError, match="several documents"):
        report.pair("1", "2")
    group = next(g for g in report.groups if copy.a in g.members)
    assert group.weakest_line(report.threshold).startswith("weakest link ¶")
    assert ":" in group.weakest_line(report.threshold).split(",")[0]
    data = json.loads(render(report, "json"))
    assert {d["doc"] for d in data["documents"]} == {"alpha", "beta"}
    assert all(g["weakest"]["a"]["doc"] and g["weakest"]["b"]["doc"] for g in data["groups"])
    assert {(p["a"]["ref"], p["b"]["ref"]) for p in data["pairs"]} >= {("alpha:1", "beta:1")}
    rows = list(csv.DictReader(io.StringIO(render(report, "csv"))))
    assert {(r["ref_a"], r["doc_a"], r["ref_b"], r["doc_b"]) for r in rows} >= {("alpha:1", "alpha", "beta:1", "beta")}
    markdown, page = render(report, "md"), to_html(report)
    assert "¶alpha:1 · 1st \\(2012\\)" in markdown and "¶alpha:1 · 1st (2012)" in page
    assert "alpha, 3 paragraphs; beta, 3 paragraphs" in page and 'id="p-alpha-1"' in page and 'id="p-beta-1"' in page


def test_a_document_is_named_by_its_symbol_where_it_has_one(two):
    index = open_index(two / "index")
    index.manifest["documents"]["beta"]["symbol"] = "A/HRC/28/11"  # what a reader finds in front matter or markup
    naming = Naming.of_index(index.manifest, index.paragraphs)
    beta_1 = paragraph_row(index.paragraphs, "1", "beta")
    assert naming.ref(index.paragraphs[beta_1]) == "A/HRC/28/11:1"
    assert naming.row(index.paragraphs, "A/HRC/28/11:1") == naming.row(index.paragraphs, "1", "a/hrc/28/11") == beta_1
    assert naming.resolve("beta") == naming.resolve("A/HRC/28/11") == "beta"
    with pytest.raises(CorpusError, match="no document 'A/HRC/99/1'"):
        naming.resolve("A/HRC/99/1")
    report = find_duplicates(index, EVERY_PAIR)
    assert report.pair("alpha:1", "A/HRC/28/11:1").headline.startswith("¶A/HRC/28/11:1 repeats ¶alpha:1")
    assert "beta (A/HRC/28/11), 3 paragraphs" in to_html(report)


def test_the_command_line_names_documents_and_reads_doc_number(two):
    shown = run("show", "beta:2", cwd=two)
    assert shown.returncode == 0, shown.stderr
    assert "¶beta:2" in shown.stdout and "keep records on firearms for no less" in shown.stdout
    assert run("show", "2", "--doc", "beta", cwd=two).stdout == shown.stdout
    assert_user_error(run("show", "2", cwd=two), "several documents", "DOC:2")
    explained = run("duplicates", "--explain", "alpha:1", "beta:1", cwd=two)
    assert explained.returncode == 0 and explained.stdout.startswith("¶alpha:1 and ¶beta:1: ")
    assert_user_error(run("duplicates", "--explain", "1", "1", "--doc", "alpha", cwd=two), "the same paragraph")
    terminal = " ".join(run("duplicates", "--threshold", "0.3", cwd=two).stdout.split())
    assert "Group 1 (2 paragraphs)" in terminal and "¶alpha:1 · 1st (2012), ¶beta:1 · 1st (2012)" in terminal
    assert "¶beta:1 repeats ¶alpha:1" in terminal
    found = json.loads(run("query", "mark imported firearms", "--doc", "beta", "--json", cwd=two).stdout)
    assert {r["doc"] for r in found["results"]} == {"beta"}
    table = run("query", "mark imported firearms", "-k", "2", cwd=two).stdout
    assert "alpha:1" in table and "beta:1" in table, "hits from two documents are named DOC:NUMBER"


def decision(pair: dict, verdict: str, note: str = "", time: str = "2026-01-01T00:00:00.000Z") -> dict:
    """A line as the HTML report's export writes it, for a pair of the JSON report."""
    sides = {s: {k: pair[s][k] for k in ("doc", "number", "hash")} for s in "ab"}
    return {**sides, "decision": verdict, "note": note, "time": time}


def write_lines(path: Path, lines: list[dict]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def test_decisions_hold_after_a_rebuild_and_go_stale_when_a_text_changes(tmp_path):
    corpus = two_documents(tmp_path / "corpus")
    build_index([corpus], tmp_path / "index")
    index = open_index(tmp_path / "index")
    report = find_duplicates(index, EVERY_PAIR)
    everything = report.at(-1.0).to_dict()["pairs"]
    by_refs = {(p["a"]["ref"], p["b"]["ref"]): p for p in everything}
    flagged = {(p.naming.ref(p.a), p.naming.ref(p.b)) for p in report.pairs}
    rejected, confirmed, unsure = ("alpha:1", "beta:1"), ("alpha:3", "beta:3"), ("alpha:2", "beta:2")
    assert rejected in flagged and confirmed not in flagged, "the test needs a flagged pair and an unflagged one"
    path = write_lines(
        tmp_path / "decisions.jsonl",
        [
            decision(by_refs[rejected], "rejected", "same words, different context"),
            decision(by_refs[confirmed], "confirmed", "both ask for the same thing"),
            decision(by_refs[unsure], "unsure"),
        ],
    )
    reviewed = report.reviewed(Review.of(read_decisions(path), index.paragraphs, index.hashes))
    listed = {(p.naming.ref(p.a), p.naming.ref(p.b)): p for p in reviewed.pairs}
    assert rejected not in listed and confirmed in listed and listed[confirmed].decision.decision == "confirmed"
    assert (reviewed.added, reviewed.rejected) == ([listed[confirmed]], [report.pairs[0]])
    assert "1 confirmed on review though below the threshold; 1 rejected on review and left out" in render(
        reviewed, "md"
    )
    assert "rejected 2026-01-01T00:00:00.000Z" in reviewed.explain(reviewed.pair("alpha:1", "beta:1"))

    (corpus / "beta.txt").write_text(BETA.replace("no less than ten years", "no less than twenty years"), "utf-8")
    build_index([corpus], tmp_path / "index")
    rebuilt = open_index(tmp_path / "index")
    review = Review.of(read_decisions(path), rebuilt.paragraphs, rebuilt.hashes)
    assert {d.decision for d in review.applies.values()} == {"rejected", "confirmed"}, (
        "unchanged paragraphs keep theirs"
    )
    (stale,) = review.stale
    assert stale.decision.decision == "unsure" and [(s.doc, s.number) for s in stale.changed] == [("beta", "2")]
    again = find_duplicates(rebuilt, EVERY_PAIR, review=review)
    assert "the text of ¶beta:2 changed since: decide it again" in render(again, "md")
    assert json.loads(render(again, "json"))["stale"][0]["changed"] == [
        {"doc": "beta", "number": "2", "hash": stale.decision.b.hash}
    ]


def test_duplicates_applies_and_keeps_a_decisions_file_and_calibrates_on_it(tmp_path):
    build_index([two_documents(tmp_path / "corpus")], tmp_path / "index")
    data = json.loads(run("duplicates", "--threshold", "0.0", "--json", cwd=tmp_path).stdout)
    pairs = {(p["a"]["ref"], p["b"]["ref"]): p for p in data["pairs"]}
    path = write_lines(
        tmp_path / "exported.jsonl",
        [decision(pairs[("alpha:1", "beta:1")], "confirmed"), decision(pairs[("alpha:1", "alpha:2")], "rejected")],
    )
    applied = run("duplicates", "--decisions", str(path), "--json", cwd=tmp_path)
    assert applied.returncode == 0 and f"kept in {Path('index') / KEPT}" in applied.stderr
    listed = {(p["a"]["ref"], p["b"]["ref"]): p["decision"] for p in json.loads(applied.stdout)["pairs"]}
    assert listed[("alpha:1", "beta:1")] == "confirmed" and ("alpha:1", "alpha:2") not in listed
    kept = json.loads(run("duplicates", "--threshold", "0.0", "--json", cwd=tmp_path).stdout)
    assert ("alpha:1", "alpha:2") not in {(p["a"]["ref"], p["b"]["ref"]) for p in kept["pairs"]}, "kept from now on"
    assert kept["counts"]["confirmed"] == kept["counts"]["rejected"] == 1
    labelled = load_pairs(tmp_path / "index" / KEPT, open_index(tmp_path / "index"))
    assert sorted((p.a, p.b, p.duplicate) for p in labelled) == [
        ("alpha:1", "alpha:2", False),
        ("alpha:1", "beta:1", True),
        ("alpha:2", "beta:1", False),  # beta:1 is alpha:1 word for word: the same two texts, the same decision
    ]
    report = find_duplicates(open_index(tmp_path / "index"), EVERY_PAIR)
    low, high = calibrate(report, labelled, thresholds=[-1.0, 0.5])
    # precision among the reviewed pairs: the analyst judged those, not the other 9 flagged at -1 (pairs of texts,
    # so the 15 pairs of six paragraphs, one a copy of another, count 11, and the two rejections one)
    assert (low.flagged, low.recall, low.negatives_flagged, low.precision) == (11, 1.0, 1, 0.5)
    assert (high.recall, high.negatives_flagged, high.precision) == (1.0, 0, 1.0)
    calibrated = run("duplicates", "--calibrate", str(path), cwd=tmp_path)
    assert calibrated.returncode == 0 and "precision" in calibrated.stdout
    with pytest.raises(QueryError, match="needs the index"):
        load_pairs(path)
    (tmp_path / "corpus" / "alpha.txt").write_text(ALPHA.replace("at least ten years", "at least five years"), "utf-8")
    terminal = " ".join(run("duplicates", "--threshold", "0.0", "--no-diff", cwd=tmp_path).stdout.split())
    assert "1 stale decision)." in terminal and "Stale decisions" in terminal
    assert "¶alpha:1–¶alpha:2 was rejected" in terminal and "the text of ¶alpha:2 changed since" in terminal


def test_decisions_exported_from_the_page_are_applied_by_the_command_line(two, tmp_path):
    """The round trip through the browser: the export of the HTML report is what --decisions reads."""
    import shutil

    from .browser import Browser

    shutil.copytree(two, tmp_path / "work")
    work = tmp_path / "work"
    assert run("duplicates", "--threshold", "0.3", "--format", "html", "-o", "review.html", cwd=work).returncode == 0
    before = json.loads(run("duplicates", "--threshold", "0.3", "--json", cwd=work).stdout)["pairs"]
    assert len(before) >= 2, "the test needs two pairs to decide on"
    browser = Browser(tmp_path / "profile")
    try:
        browser.open(work / "review.html")
        browser.evaluate("document.querySelector('#pair-1 button[data-decision=rejected]').click()")
        browser.evaluate("document.querySelector('#pair-2 button[data-decision=confirmed]').click()")
        browser.allow_downloads(tmp_path / "downloads")
        browser.evaluate("document.getElementById('export').click()")
        while browser.wait_for("Browser.downloadProgress")["params"]["state"] != "completed":
            pass
        assert browser.errors() == [] and browser.requests() == []
    finally:
        browser.close()
    exported = tmp_path / "downloads" / "decisions.jsonl"
    applied = run("duplicates", "--threshold", "0.3", "--decisions", str(exported), "--json", cwd=work)
    after = {(p["a"]["ref"], p["b"]["ref"]): p["decision"] for p in json.loads(applied.stdout)["pairs"]}
    rejected, confirmed = ((p["a"]["ref"], p["b"]["ref"]) for p in before[:2])
    assert rejected not in after and after[confirmed] == "confirmed" and len(after) == len(before) - 1
