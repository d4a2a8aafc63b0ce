from __future__ import annotations

from semsearch.clauses import CLAUSE_LEVEL_UP_TO, clauses_to_embed, split_clauses

ONE = "The Conference may wish to urge States parties to mark imported firearms."
TWO = "The Conference may wish to urge States to act now, and to report back on it."


def test_sentences_and_coordinated_asks_are_clauses():
    assert split_clauses(TWO) == ["The Conference may wish to urge States to act now", "to report back on it."]
    assert split_clauses(f"{ONE} It should also keep records.") == [ONE, "It should also keep records."]
    assert split_clauses("Too short; to split.") == ["Too short; to split."]


def test_only_clauses_of_longer_paragraphs_need_vectors_of_their_own():
    assert clauses_to_embed([ONE, TWO]) == split_clauses(TWO)
    assert clauses_to_embed([TWO] * (CLAUSE_LEVEL_UP_TO + 1)) == [], "whole paragraphs stand in at scale"
