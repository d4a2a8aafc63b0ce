from __future__ import annotations

import itertools

import numpy as np
import pytest

from semsearch.clauses import split_clauses
from semsearch.corpus import paragraph_row
from semsearch.dedup import (
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
    for key in [("16", "20"), ("16", "22"), ("20", "22")]:
        assert pairs[key].kind == "verbatim" and pairs[key].score > 0.95
    assert pairs[("16", "20")].a.meeting.ordinal == 1 and pairs[("16", "20")].b.meeting.ordinal == 2
    # 20 copies 16 exactly, so 20-22 is found through 16-22, and listed like any other pair, saying so
    assert [p.number for p in pairs[("20", "22")].held_as] == ["16", "22"] and pairs[("16", "22")].held_as is None
    assert pairs[("20", "22")].implied_note == "implied by ¶16–¶22 (¶20 is a word-for-word copy of ¶16)"
    assert {(p.a.number, p.b.number) for p in duplicates.implied} == {("20", "22"), ("20", "28")}


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
    inside = [p for n in range(1, len(duplicates.groups) + 1) for p in duplicates.pairs_of(n)]
    assert all(p.score >= duplicates.threshold for p in inside)
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
    yes = duplicates.explain(duplicates.pair("16", "20"))
    no = duplicates.explain(duplicates.pair("39", "40"))
    assert "flagged as verbatim" in yes and "semantic" in yes and "lexical" in yes
    assert "listed      yes, in group 1" in yes and "listed      no" in no
    assert "same theme  yes" in yes and "same meeting no" in yes
    assert "not flagged" in no and "raw cosine" in no
    precise, balanced, thorough = (f"{name} ({value:.2f})" for name, value in PRESETS.items())
    assert f"presets     {precise} yes · {balanced} yes · {thorough} yes" in yes
    middling = next(p for p in duplicates.candidates if PRESETS["balanced"] <= p.score < PRESETS["precise"])
    assert f"{precise} no · {balanced} yes" in duplicates.explain(middling)
    implied = duplicates.explain(duplicates.pair("20", "22"))
    assert implied.startswith("¶20 and ¶22: flagged as verbatim") and "held as     ¶16–¶22" in implied


def test_explain_names_two_different_paragraphs(duplicates):
    with pytest.raises(QueryError, match="the same paragraph"):
        duplicates.pair("7", "7")


def test_explain_and_every_exported_list_agree_on_every_pair_of_the_corpus(duplicates):
    """Every one of the corpus's 13,695 pairs: --explain says "flagged" exactly for the pairs each format lists."""
    import csv
    import io
    import json

    from semsearch.report import render

    paragraphs = duplicates.scorer.index.paragraphs
    a, b = np.triu_indices(len(paragraphs), 1)
    explained = {
        frozenset(p.keys): duplicates.explain(p).split("\n", 1)[0] for p in duplicates.scorer.score_pairs(a, b)
    }
    assert len(explained) == len(paragraphs) * (len(paragraphs) - 1) // 2
    flagged = {pair for pair, line in explained.items() if ": flagged as " in line}
    data = json.loads(render(duplicates, "json"))
    key = "firearms-working-group-consolidated-recommendations-2016#{}"
    as_json = {frozenset(key.format(p[s]["number"]) for s in "ab") for p in data["pairs"]}
    rows = list(csv.DictReader(io.StringIO(render(duplicates, "csv"))))
    as_csv = {frozenset(key.format(r[f"number_{s}"]) for s in "ab") for r in rows}
    assert flagged == as_json == as_csv == {frozenset(p.keys) for p in duplicates.pairs}
    assert len(data["pairs"]) == len(rows) == data["counts"]["pairs"] == len(flagged) == 49
    markdown, page = render(duplicates, "md"), render(duplicates, "html")
    assert markdown.count("\n### ") == page.count('<article class="pair"') == len(flagged)
    assert f"({len(flagged)} flagged pairs at threshold" in data["summary"]


def test_a_pair_names_the_clauses_its_semantic_evidence_rests_on(duplicates, index):
    partial = [p for p in duplicates.pairs if p.kind == "partial"]
    assert all(p.repeated_part is not None for p in partial) and any(p.match for p in partial)
    assert all(p.repeated_part is None for p in duplicates.pairs if p.kind != "partial")
    for pair in duplicates.pairs:
        if pair.match is None:
            assert len(split_clauses(pair.a.text)) == len(split_clauses(pair.b.text)) == 1
            continue
        assert pair.match.a in split_clauses(pair.a.text) and pair.match.b in split_clauses(pair.b.text)
        assert pair.match.cosine == pytest.approx(pair.evidence.semantic, abs=1e-5)
    (shared,) = [p for p in partial if {p.a.number, p.b.number} == {"92", "99"}]
    assert "periodically analyse the data on seized, confiscated, collected and found firearms" in shared.match.b
    assert "closest clauses (cosine" in duplicates.explain(shared)
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
    assert all("same meeting yes" in duplicates.explain(p) for p in same)
    assert all(p.figures.endswith(" · same meeting") and " · both " in p.headline for p in same)
    assert not any("same meeting" in p.figures for p in duplicates.pairs if not p.same_meeting)
    assert all("same meeting no" in duplicates.explain(p) for p in duplicates.pairs if not p.same_meeting)


def test_other_weights_rescore_without_recomputing_the_evidence(duplicates, index):
    lexical_only = DedupConfig(weights=Weights(semantic=0, lexical=1, containment=0, same_theme=0, same_meeting=0))
    report = find_duplicates(index, lexical_only, scorer=duplicates.scorer)
    assert report.scorer.clause_vectors is duplicates.scorer.clause_vectors
    assert report.candidates.scores == pytest.approx(report.candidates.evidence.lexical)
    assert "lexical     1.000 × 1 " in report.explain(report.candidates[0])
    assert duplicates.scorer.config == DedupConfig(), "the earlier report keeps its own settings"


def test_word_diff():
    ops = word_diff("The Conference should urge States", "The Conference may wish to urge States")
    assert [o.op for o in ops] == ["equal", "replace", "equal"]
    assert ops[1].a == "should" and ops[1].b == "may wish to"


def test_duplicates_on_a_tiny_index(tmp_path):
    from semsearch.build import build_index
    from semsearch.index import open_index

    from .conftest import small_corpus

    build_index([small_corpus(tmp_path / "corpus")], tmp_path / "index")
    report = find_duplicates(open_index(tmp_path / "index"))
    assert flagged(report) == {("1", "3")}
    assert report.pairs[0].kind == "verbatim"


def test_a_weak_link_says_how_its_group_was_formed(duplicates):
    weak = [g for g in duplicates.groups if g.weakest.score < duplicates.threshold]
    assert weak, "average linkage keeps some pairs below the threshold inside groups on this corpus"
    flagged = {frozenset(p.keys) for p in duplicates.pairs}
    for group in weak:
        through = group.path(group.weakest.a, group.weakest.b, duplicates.threshold)
        marks = " and ".join(f"¶{p.number}" for p in through)
        assert through and f"joined through {marks} by average linkage" in group.weakest_line(duplicates.threshold)
        chain = [group.weakest.a, *through, group.weakest.b]
        assert all(frozenset((x.key, y.key)) in flagged for x, y in itertools.pairwise(chain))
    strong = next(g for g in duplicates.groups if g.weakest.score >= duplicates.threshold)
    assert "joined" not in strong.weakest_line(duplicates.threshold)


def test_a_partial_repeat_shows_the_words_it_repeats(duplicates):
    partial = [p for p in duplicates.pairs if p.kind == "partial"]
    for pair in partial:
        part = pair.repeated_part
        assert part.clause in split_clauses(part.short.text) and part.counterpart in split_clauses(part.long.text)
        assert {part.short.key, part.long.key} == set(pair.keys) and part.share > 0.5
    (pair,) = [p for p in partial if {p.a.number, p.b.number} == {"118", "133"}]
    assert pair.match.cosine < 0.2 < 0.9 < pair.repeated_part.share, "the closest clauses by cosine were a poor pick"


def test_past_a_limit_the_pairs_copies_imply_are_counted_not_listed(duplicates, index):
    capped = find_duplicates(index, DedupConfig(max_implied=1), scorer=duplicates.scorer)
    assert (capped.implied, capped.implied_left_out, len(capped.pairs)) == ([], 2, len(duplicates.pairs) - 2)
    from semsearch.report import summary_line

    assert "2 more implied by word-for-word copies, not listed one by one" in summary_line(capped)
    explained = capped.explain(capped.pair("20", "22"))
    assert explained.startswith("¶20 and ¶22: flagged") and "listed      no" in explained
    assert "not listed one by one" in explained


def test_a_threshold_flagging_nearly_every_candidate_is_refused(index):
    """166 paragraphs, at most 50 candidates each: at threshold 0 almost all are flagged, more than 2 per paragraph."""
    with pytest.raises(QueryError, match=r"threshold 0\.00 flags [\d,]+ pairs among 166 paragraphs") as error:
        find_duplicates(index, DedupConfig(threshold=0.0, max_pairs_per_paragraph=2, max_pairs_floor=0))
    assert "raise --threshold" in str(error.value)
    assert find_duplicates(index, DedupConfig(max_pairs_per_paragraph=2, max_pairs_floor=0)).pairs
