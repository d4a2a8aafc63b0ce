from __future__ import annotations

import json

import pytest

from semsearch.build import build_index
from semsearch.calibration import calibrate, load_pairs
from semsearch.dedup import DEFAULT_THRESHOLD, PRESETS, DedupConfig, find_duplicates
from semsearch.errors import QueryError
from semsearch.index import open_index

from .conftest import DATA, small_corpus


def test_presets_keep_their_promises_on_the_labelled_pairs(duplicates):
    labelled = load_pairs(DATA / "pairs.jsonl")
    precise, balanced, thorough = calibrate(duplicates, labelled, thresholds=list(PRESETS.values()))
    # Guards the tuned presets against regressions, with a little slack for floating point across machines; the
    # measured numbers are in bench/tune_dedup.py's output.
    assert PRESETS["precise"] == DEFAULT_THRESHOLD
    assert precise.precision >= 0.8 and precise.recall >= 0.4 and precise.negatives_flagged <= 3
    assert balanced.f1 >= 0.6 and balanced.f1 > precise.f1
    assert thorough.recall >= 0.68


def test_labelled_pairs_are_well_formed():
    lines = [json.loads(line) for line in (DATA / "pairs.jsonl").read_text().splitlines() if line.strip()]
    duplicates = [p for p in lines if p["label"] == "duplicate"]
    negatives = [p for p in lines if p["label"] == "negative"]
    assert len(duplicates) >= 40 and len(negatives) >= 20
    assert all(p["reason"] for p in lines) and all(int(p["a"]) < int(p["b"]) for p in lines)
    assert len({(p["a"], p["b"]) for p in lines}) == len(lines)


def test_bad_labelled_pairs_file(tmp_path):
    path = tmp_path / "pairs.jsonl"
    path.write_text('{"a": 1}\n', encoding="utf-8")
    with pytest.raises(QueryError, match="expected"):
        load_pairs(path)


def test_calibration_counts_every_flagged_pair_and_the_hard_negatives(tmp_path):
    build_index([small_corpus(tmp_path / "corpus")], tmp_path / "index")
    report = find_duplicates(open_index(tmp_path / "index"), DedupConfig(min_cosine=0.0))  # every pair a candidate
    path = tmp_path / "pairs.jsonl"
    lines = [{"a": "1", "b": "3", "label": "duplicate"}, {"a": "1", "b": "2", "label": "negative"}]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    pair_12 = report.pair("1", "2").score
    low, current, high = calibrate(report, load_pairs(path), thresholds=[pair_12 - 1e-6, report.threshold, 1.01])
    assert (low.recall, low.negatives_flagged) == (1.0, 1) and low.precision <= 0.5 and low.flagged >= 2
    assert (current.precision, current.recall, current.negatives_flagged, current.flagged) == (1.0, 1.0, 0, 1)
    assert (high.recall, high.flagged, high.f1) == (0.0, 0, 0.0)
