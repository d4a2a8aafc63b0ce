"""Choose the hybrid ranking's lexical weight on tests/data/queries.jsonl and compare it with the alternatives.

Prints nDCG@10 overall and on the reworded queries for: dense, lexical, reciprocal-rank fusion, and
cosine + w × (BM25 / its per-query ceiling) for a grid of w. The default in semsearch/search.py is the w with the
best overall nDCG@10 among those that keep the reworded queries within 0.03 of dense alone. `--model NAME_OR_PATH`
repeats it with another sentence-transformers model (results saved as tune_hybrid-MODEL.json beside the default's).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import numpy as np
from common import ROOT, save

from semsearch import Searcher, build_index, evaluate, load_queries, open_index
from semsearch.build import IndexConfig
from semsearch.evaluation import ndcg_at

WEIGHTS = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0]


def rrf(searcher: Searcher, queries: list, k: int = 60) -> tuple[float, float]:
    overall, reworded = [], []
    for labelled in queries:
        dense = searcher.search(labelled.query, k=100, mode="dense").hits
        lexical = searcher.search(labelled.query, k=100, mode="lexical").hits
        fused: dict[str, float] = {}
        for hits in (dense, lexical):
            for hit in hits:
                fused[hit.paragraph.number] = fused.get(hit.paragraph.number, 0.0) + 1.0 / (k + hit.rank)
        ranked = sorted(fused, key=lambda n: -fused[n])
        score = ndcg_at(ranked, labelled.relevant, 10)
        overall.append(score)
        if labelled.reworded:
            reworded.append(score)
    return float(np.mean(overall)), float(np.mean(reworded))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", help="a sentence-transformers model name or directory (default: the bundled one)")
    model = parser.parse_args().model
    model_name = Path(model).name if model else "default"
    workspace = Path(tempfile.mkdtemp(prefix="semsearch-tune-"))
    build_index([ROOT / "corpus"], workspace / "index", IndexConfig(model=model))
    searcher = Searcher(open_index(workspace / "index"))
    queries = load_queries(ROOT / "tests" / "data" / "queries.jsonl")
    rows = {}
    base = evaluate(searcher, queries, modes=("dense", "lexical"))
    for mode in ("dense", "lexical"):
        rows[mode] = (base.overall[mode].ndcg, base.reworded[mode].ndcg)
    rows["rrf"] = rrf(searcher, queries)
    for weight in WEIGHTS:
        searcher.lexical_weight = weight
        result = evaluate(searcher, queries, modes=("hybrid",))
        rows[f"hybrid w={weight}"] = (result.overall["hybrid"].ndcg, result.reworded["hybrid"].ndcg)
    dense_reworded = rows["dense"][1]
    eligible = {w: rows[f"hybrid w={w}"] for w in WEIGHTS if rows[f"hybrid w={w}"][1] >= dense_reworded - 0.03}
    chosen = max(eligible, key=lambda w: eligible[w][0])
    print(f"{'ranking':18s} {'nDCG@10':>8s} {'reworded':>9s}")
    for name, (overall, reworded) in rows.items():
        print(f"{name:18s} {overall:8.3f} {reworded:9.3f}{'   <- chosen' if name == f'hybrid w={chosen}' else ''}")
    save(
        f"tune_hybrid-{model_name}" if model else "tune_hybrid",
        {
            "model": model_name,
            "queries": len(queries),
            "chosen_weight": chosen,
            "rows": {k: {"ndcg": round(v[0], 4), "reworded_ndcg": round(v[1], 4)} for k, v in rows.items()},
        },
    )
    shutil.rmtree(workspace, ignore_errors=True)


if __name__ == "__main__":
    main()
