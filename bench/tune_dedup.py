"""Choose the duplicate score's weights and threshold presets on tests/data/pairs.jsonl, against simple baselines.

Precision counts every flagged pair in the corpus (the labelled duplicates are taken as the complete set), so
the numbers are comparable with an all-pairs evaluation. Baselines: raw cosine and word-set Jaccard thresholds.
The presets follow rules (see `common.presets`), and the script says whether semsearch.dedup.PRESETS still matches them.
`--model NAME_OR_PATH` repeats the whole search with another sentence-transformers model (results saved as
tune_dedup-MODEL.json beside the default's).
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import tempfile
from pathlib import Path

import numpy as np
from common import ROOT, presets, save

from semsearch import DedupConfig, Weights, build_index, calibrate, find_duplicates, load_pairs, open_index
from semsearch.build import IndexConfig
from semsearch.corpus import paragraph_row
from semsearch.dedup import PRESETS


def best_f1(scores: np.ndarray, truth: np.ndarray) -> tuple[float, float, float, float]:
    order = np.argsort(-scores)
    hits = np.cumsum(truth[order])
    precision = hits / np.arange(1, len(order) + 1)
    recall = hits / truth.sum()
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-9)
    best = int(f1.argmax())
    return float(f1[best]), float(precision[best]), float(recall[best]), float(scores[order][best])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", help="a sentence-transformers model name or directory (default: the bundled one)")
    model = parser.parse_args().model
    model_name = Path(model).name if model else "default"
    workspace = Path(tempfile.mkdtemp(prefix="semsearch-tune-"))
    build_index([ROOT / "corpus"], workspace / "index", IndexConfig(model=model))
    index = open_index(workspace / "index")
    labelled = load_pairs(ROOT / "tests" / "data" / "pairs.jsonl")
    paragraphs = index.paragraphs
    positives = {
        tuple(sorted((paragraph_row(paragraphs, p.a), paragraph_row(paragraphs, p.b)))) for p in labelled if p.duplicate
    }
    count = len(index.paragraphs)
    rows, columns = np.triu_indices(count, 1)
    truth = np.array([(int(i), int(j)) in positives for i, j in zip(rows, columns, strict=True)])
    cosine = (index.vectors @ index.vectors.T)[rows, columns]
    words = [set(p.text.lower().split()) for p in index.paragraphs]
    jaccard = np.array(
        [len(words[i] & words[j]) / len(words[i] | words[j]) for i, j in zip(rows, columns, strict=True)]
    )
    lines = {"cosine (all pairs)": best_f1(cosine, truth), "word-set Jaccard (all pairs)": best_f1(jaccard, truth)}
    report = find_duplicates(index, DedupConfig())
    grid = {}
    for semantic, containment, theme, meeting in itertools.product(
        [0.2, 0.3, 0.4], [0.1, 0.2, 0.3], [0.0, 0.05, 0.08, 0.1], [0.0, -0.03, -0.05]
    ):
        text = 1 - theme  # the text's evidence and the theme bonus add up to 1
        weights = Weights(
            semantic=text * semantic,
            containment=text * containment,
            lexical=text * (1 - semantic - containment),
            same_theme=theme,
            same_meeting=meeting,
        )
        rescored = find_duplicates(index, DedupConfig(weights=weights), scorer=report.scorer)
        best = max(calibrate(rescored, labelled, steps=71), key=lambda r: r.f1)
        name = f"semsearch s={semantic} c={containment} t={theme} m={meeting}"
        grid[name] = (best.f1, best.precision, best.recall, best.threshold)
    no_structure = {k: v for k, v in grid.items() if k.endswith("t=0.0 m=0.0")}
    lines["best without theme/meeting"] = max(no_structure.values())
    lines |= dict(sorted(grid.items(), key=lambda item: -item[1][0])[:10])
    rows = calibrate(report, labelled, steps=71)
    default = min(rows, key=lambda r: abs(r.threshold - report.threshold))
    lines["semsearch default"] = (default.f1, default.precision, default.recall, default.threshold)
    print(f"{'method':44s} {'F1':>5s} {'prec':>5s} {'rec':>5s} {'thr':>6s}")
    for name, (f1, precision, recall, threshold) in lines.items():
        print(f"{name:44s} {f1:5.3f} {precision:5.2f} {recall:5.2f} {threshold:6.3f}")
    negatives = sum(not p.duplicate for p in labelled)
    print(f"default: {len(report.pairs)} pairs flagged, {default.negatives_flagged} of {negatives} hard negatives")
    chosen = presets(rows, negatives)
    for name, row in sorted(chosen.items(), key=lambda item: -item[1].threshold):
        verdict = "as in PRESETS" if abs(PRESETS[name] - row.threshold) < 0.005 else f"PRESETS has {PRESETS[name]}"
        print(
            f"preset {name:9s} threshold {row.threshold:.2f} ({verdict}): precision {row.precision:.2f}, "
            f"recall {row.recall:.2f}, {row.flagged} flagged, {row.negatives_flagged} of {negatives} hard negatives"
        )
    lines |= grid
    save(
        f"tune_dedup-{model_name}" if model else "tune_dedup",
        {
            name: dict(zip(("f1", "precision", "recall", "threshold"), map(float, v), strict=True))
            for name, v in lines.items()
        }
        | {"hard_negatives_flagged": default.negatives_flagged, "model": model_name}
        | {f"preset {name}": vars(row) for name, row in chosen.items()},
    )
    shutil.rmtree(workspace, ignore_errors=True)


if __name__ == "__main__":
    main()
