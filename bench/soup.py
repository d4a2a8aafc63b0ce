"""Average students in weight space: the packaged MiniLM-L6 plus a weighted sum of what each student trained by
bench/distill.py (saved with --save DIR) changed, scored on the labelled sets as distill.py scores a student.

Students trained from one base by different recipes make different mistakes; averaging their weights (a "model
soup") often keeps what each gained at no training cost, and the result has the base's architecture and cost.
Weights default to equal shares summing to 1, the one soup that needs no choosing; other weights are a choice
made on the labelled sets themselves, so their scores flatter them.

    python bench/soup.py DIR [DIR ...] [--weights 0.5,0.5] [--name NAME] [--save DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

from common import ROOT, corpus_texts, save, score
from distill import Distilled


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("students", type=Path, nargs="+", help="student directories saved by bench/distill.py")
    parser.add_argument("--weights", help="comma-separated, one per student (default: equal, summing to 1)")
    parser.add_argument("--name", default="soup", help="results are saved as bench/results/NAME.json")
    parser.add_argument("--save", type=Path, help="also save the averaged model as a model directory")
    arguments = parser.parse_args()
    count = len(arguments.students)
    weights = [float(w) for w in arguments.weights.split(",")] if arguments.weights else [1 / count] * count
    if len(weights) != count:
        raise SystemExit(f"{len(weights)} weights for {count} students")
    from sentence_transformers import SentenceTransformer

    from semsearch.build import build_index
    from semsearch.encoder import SentenceTransformerEncoder, resolve_model
    from semsearch.index import open_index

    model = SentenceTransformerEncoder(resolve_model(None)).model
    base = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    students = [SentenceTransformer(str(d), device="cpu").state_dict() for d in arguments.students]
    if any(student.keys() != base.keys() for student in students):
        raise SystemExit("a student is not a MiniLM-L6 like the packaged base")
    model.load_state_dict(
        {
            name: tensor + sum(w * (s[name] - tensor) for w, s in zip(weights, students, strict=True))
            if tensor.is_floating_point()
            else tensor
            for name, tensor in base.items()
        }
    )
    workspace = Path(tempfile.mkdtemp(prefix="semsearch-soup-"))
    try:
        build_index([ROOT / "corpus"], workspace / "index")
        paragraphs, clauses = corpus_texts(open_index(workspace / "index"))
        encoder = Distilled(model, None)
        vectors = encoder.encode(paragraphs + [c for _, c in clauses])
        split = len(paragraphs)
        data = {
            "students": [d.name for d in arguments.students],
            "weights": weights,
            "results": score(workspace / "index", encoder, vectors[:split], vectors[split:]),
        }
        print(json.dumps(data, indent=2), flush=True)
        save(arguments.name, data)
        if arguments.save:
            model.save(str(arguments.save))
    finally:
        shutil.rmtree(workspace, ignore_errors=True)


if __name__ == "__main__":
    main()
