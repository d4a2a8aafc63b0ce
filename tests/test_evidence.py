from __future__ import annotations

import dataclasses
from dataclasses import astuple

import numpy as np
import pytest

from semsearch.clauses import split_clauses
from semsearch.evidence import CorpusEvidence, SparseRows, Weights, _centred


def test_a_shared_theme_adds_to_the_score_and_a_shared_meeting_takes_away(index):
    paragraphs = index.paragraphs
    a, b = np.triu_indices(len(paragraphs), 1)
    evidence = CorpusEvidence(index).evidence(a, b)

    def same(attribute) -> list[bool]:
        values = [attribute(p) for p in paragraphs]
        return [values[i] is not None and values[i] == values[j] for i, j in zip(a, b, strict=True)]

    theme, meeting = same(lambda p: p.section and p.section.title), same(lambda p: p.meeting)
    assert evidence.same_theme.tolist() == theme and evidence.same_meeting.tolist() == meeting
    assert 0 < sum(theme) < len(theme) and 0 < sum(meeting) < len(meeting)
    mix = 0.27 * evidence.semantic + 0.47 * evidence.lexical + 0.18 * evidence.containment
    adjustment = evidence.weighted(Weights()) - mix
    assert adjustment == pytest.approx(0.08 * np.array(theme) - 0.03 * np.array(meeting))


def test_clause_vectors_come_from_the_index(index, monkeypatch):
    clauses = [c for p in index.paragraphs for c in split_clauses(p.text)]
    every_clause_encoded = _centred(index.query_encoder().encode(clauses))
    with monkeypatch.context() as patch:
        patch.setattr(type(index), "query_encoder", lambda _: pytest.fail("the build stored every clause's vector"))
        corpus = CorpusEvidence(index)
    assert np.sum(corpus.clause_vectors * every_clause_encoded, axis=1).min() > 0.999
    older = dataclasses.replace(index, clauses={})  # as if built before clause vectors were stored
    assert np.sum(CorpusEvidence(older).clause_vectors * corpus.clause_vectors, axis=1).min() > 0.999


def test_sparse_rows_find_shared_columns():
    rows = SparseRows.build([{0: 1.0, 2: 2.0}, {2: 3.0, 1: 1.0}, {}], width=3)
    assert rows.columns.tolist() == [0, 2, 1, 2] and len(rows) == 3
    n, here, there = rows.shared(rows, np.array([0, 0, 2]), np.array([1, 0, 1]))
    assert n.tolist() == [0, 1, 1], "pair 0 shares column 2, pair 1 (a row with itself) both, pair 2 nothing"
    assert rows.values[here].tolist() == [2.0, 1.0, 2.0] and rows.values[there].tolist() == [3.0, 1.0, 2.0]


def test_evidence_in_one_batch_matches_pair_by_pair(index):
    corpus = CorpusEvidence(index)
    a, b = np.random.default_rng(0).integers(0, len(index.paragraphs), (2, 120))
    batch = corpus.evidence(a, b)
    for n in range(0, 120, 7):
        assert astuple(corpus.evidence(a[n : n + 1], b[n : n + 1]).row(0)) == pytest.approx(astuple(batch.row(n)))
    itself = corpus.evidence(np.arange(10), np.arange(10))
    assert itself.lexical == pytest.approx(1.0) and itself.cosine == pytest.approx(1.0, abs=1e-5)
    assert set(itself.containment.round(6)) <= {0.0, 1.0}
