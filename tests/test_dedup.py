from __future__ import annotations

import pytest

from semsearch.clauses import split_clauses
from semsearch.corpus import paragraph_row
from semsearch.dedup import (
    DEFAULT_THRESHOLD,
    PRESETS,
    DedupConfig,
    PairScorer,
    Weights,
    candidate_pairs,
    find_duplicates,
    group_pairs,
    word_diff,
)
from semsearch.errors import QueryError


def flagged(report) -> set[tuple[str, str]]:
    return {tuple(sorted((p.a.number, p.b.number), key=int)) for p in report.pairs}


def test_word_for_word_repeats_are_flagged_as_verbatim(duplicates):
    pairs = {tuple(sorted((p.a.number, p.b.number), key=int)): p for p in duplicates.pairs}
    for key in [("16", "20"), ("16", "22")]:  # 20 copies 16 exactly, so 20-22 is represented by 16-22
        assert pairs[key].kind == "verbatim" and pairs[key].score > 0.95
    assert pairs[("16", "20")].a.meeting.ordinal == 1 and pairs[("16", "20")].b.meeting.ordinal == 2


def test_reworded_and_partial_repeats_are_flagged(duplicates):
    found = flagged(duplicates)
    assert {("94", "102"), ("112", "127"), ("150", "152")} <= found
    kinds = {tuple(sorted((p.a.number, p.b.number), key=int)): p.kind for p in duplicates.pairs}
    assert kinds[("112", "127")] in {"partial", "paraphrase"}


def test_template_alone_does_not_make_a_duplicate(duplicates):
    # Both open with the same formula and are about marking, but ask different things.
    found = flagged(duplicates)
    assert ("39", "40") not in found and ("48", "53") not in found


def test_groups_are_ordered_by_meeting_and_show_the_weakest_link(duplicates):
    group = next(g for g in duplicates.groups if {"16", "20", "22"} <= {p.number for p in g.members})
    ordinals = [p.meeting.ordinal for p in group.members]
    assert ordinals == sorted(ordinals)
    assert group.weakest.score == min(p.score for p in group.pairs)
    covered = {p.a.key for p in group.pairs} | {p.b.key for p in group.pairs}
    assert covered == {p.key for p in group.members}, "every member is linked by a scored pair"
    members = [p.key for g in duplicates.groups for p in g.members]
    assert len(members) == len(set(members)), "a paragraph belongs to one group at most"


def test_every_flagged_pair_is_in_one_group_or_listed_outside(duplicates):
    inside = [p for g in duplicates.groups for p in g.pairs if p.score >= duplicates.threshold]
    keys = [(p.a.key, p.b.key) for p in inside + duplicates.ungrouped]
    assert sorted(keys) == sorted((p.a.key, p.b.key) for p in duplicates.pairs) and len(set(keys)) == len(keys)
    assert duplicates.ungrouped, "the hub guard refuses some merges on this corpus"
    for pair in duplicates.ungrouped:
        assert not any({pair.a.key, pair.b.key} <= {m.key for m in g.members} for g in duplicates.groups)
    later = {p.b.key for p in duplicates.pairs}
    assert [p.key for p in duplicates.repeated_paragraphs] == [
        p.key for p in duplicates.scorer.index.paragraphs if p.key in later
    ]


def test_hub_paragraph_does_not_chain_unrelated_groups(index):
    scorer = PairScorer(index, DedupConfig())
    hub, left, right = (paragraph_row(index.paragraphs, n) for n in ("99", "43", "68"))
    pairs = [scorer.score(hub, left), scorer.score(hub, right)]
    unrelated = scorer.score(left, right)
    threshold = min(p.score for p in pairs) - 1e-6
    assert unrelated.score < threshold
    groups = group_pairs(pairs, scorer, threshold)
    assert len(groups) == 1 and len(groups[0].members) == 2, "the weaker link is left out, not chained in"
    assert not any({"43", "68"} <= {p.number for p in g.members} for g in groups)


def test_rethreshold_without_recomputing(duplicates):
    stricter = duplicates.at(0.7)
    assert stricter.candidates is duplicates.candidates
    assert len(stricter.pairs) < len(duplicates.pairs)
    assert all(p.score >= 0.7 for p in stricter.pairs)


def test_explain_says_why(duplicates):
    yes = duplicates.pair("16", "20").explain(DEFAULT_THRESHOLD)
    no = duplicates.pair("39", "40").explain(DEFAULT_THRESHOLD)
    assert "flagged as verbatim" in yes and "semantic" in yes and "lexical" in yes
    assert "same theme  yes" in yes and "same meeting no" in yes
    assert "not flagged" in no and "raw cosine" in no
    precise, balanced, thorough = (f"{name} ({value:.2f})" for name, value in PRESETS.items())
    assert f"presets     {precise} yes · {balanced} yes · {thorough} yes" in yes
    middling = next(p for p in duplicates.candidates if PRESETS["balanced"] <= p.score < PRESETS["precise"])
    assert f"{precise} no · {balanced} yes" in middling.explain(DEFAULT_THRESHOLD)


def test_a_pair_names_the_clauses_its_semantic_evidence_rests_on(duplicates, index):
    partial = [p for p in duplicates.pairs if p.kind == "partial"]
    assert all(p.repeated_part is p.match for p in partial) and any(p.match for p in partial)
    assert all(p.repeated_part is None for p in duplicates.pairs if p.kind != "partial")
    for pair in duplicates.pairs:
        if pair.match is None:
            assert len(split_clauses(pair.a.text)) == len(split_clauses(pair.b.text)) == 1
            continue
        assert pair.match.a in split_clauses(pair.a.text) and pair.match.b in split_clauses(pair.b.text)
        assert pair.match.cosine == pytest.approx(pair.evidence.semantic, abs=1e-5)
    (shared,) = [p for p in partial if {p.a.number, p.b.number} == {"92", "99"}]
    assert "periodically analyse the data on seized, confiscated, collected and found firearms" in shared.match.b
    assert "closest clauses (cosine" in shared.explain(DEFAULT_THRESHOLD)
    assert duplicates.to_dict()["pairs"][0].keys() >= {"match"}
    whole = find_duplicates(index, scorer=PairScorer(index, DedupConfig(), clause_vectors=False))
    assert whole.pair("92", "99").match is None


def test_candidates_come_from_faiss_neighbours(index):
    pairs = candidate_pairs(index, neighbours=5, min_cosine=0.0)
    assert 166 * 5 // 2 <= len(pairs) <= 166 * 5
    assert all(i < j for i, j in pairs)


def test_same_meeting_pairs_are_marked(duplicates):
    same = [p for p in duplicates.pairs if p.same_meeting]
    assert all(p.a.meeting == p.b.meeting for p in same)
    assert all("same meeting yes" in p.explain(0.5) for p in same)
    assert all(p.headline.endswith(" · same meeting") for p in same)
    assert not any("same meeting" in p.headline for p in duplicates.pairs if not p.same_meeting)
    assert all("same meeting no" in p.explain(0.5) for p in duplicates.pairs if not p.same_meeting)


def test_other_weights_rescore_without_recomputing_the_evidence(duplicates, index):
    lexical_only = DedupConfig(weights=Weights(semantic=0, lexical=1, containment=0, same_theme=0, same_meeting=0))
    report = find_duplicates(index, lexical_only, scorer=duplicates.scorer)
    assert report.scorer.clause_vectors is duplicates.scorer.clause_vectors
    assert report.candidates.scores == pytest.approx(report.candidates.evidence.lexical)
    assert "lexical     1.000 × 1 " in report.candidates[0].explain(0.5)
    assert duplicates.scorer.config == DedupConfig(), "the earlier report keeps its own settings"


def test_word_diff():
    ops = word_diff("The Conference should urge States", "The Conference may wish to urge States")
    assert [o.op for o in ops] == ["equal", "replace", "equal"]
    assert ops[1].a == "should" and ops[1].b == "may wish to"


def test_duplicates_on_a_tiny_index(tmp_path):
    from semsearch.index import build_index, open_index

    from .conftest import small_corpus

    build_index([small_corpus(tmp_path / "corpus")], tmp_path / "index")
    report = find_duplicates(open_index(tmp_path / "index"))
    assert flagged(report) == {("1", "3")}
    assert report.pairs[0].kind == "verbatim"


def test_a_threshold_flagging_nearly_every_candidate_is_refused(index):
    """166 paragraphs, at most 50 candidates each: at threshold 0 almost all are flagged, more than 2 per paragraph."""
    with pytest.raises(QueryError, match=r"threshold 0\.00 flags [\d,]+ pairs among 166 paragraphs") as error:
        find_duplicates(index, DedupConfig(threshold=0.0, max_pairs_per_paragraph=2, max_pairs_floor=0))
    assert "raise --threshold" in str(error.value)
    assert find_duplicates(index, DedupConfig(max_pairs_per_paragraph=2, max_pairs_floor=0)).pairs
