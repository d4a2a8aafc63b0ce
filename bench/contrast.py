"""In-domain contrastive training with no teacher: the packaged MiniLM-L6 learns to find a UN paragraph from a
query-length run of its own words, with those words taken out of the paragraph, so the match must come from what
the rest of the paragraph means rather than from shared words (the inverse-cloze and cropping tasks of
unsupervised retrieval training). Only low-rank adapters train, as in bench/distill.py (InfoNCE).

By default only the query side trains: the answers' vectors are the untrained model's (cached in bench/.cache),
so an index keeps its own vectors and duplicates are exactly as before, and each batch's queries are told apart
from its answers and --negatives more drawn at random. --both trains the answers' side too (the other answers of
a batch are the negatives), and bench/soup.py can average such a student with the base. Scored on the labelled
sets as distill.py scores a student, with each labelled query's hybrid nDCG@10 listed where it moved.

Training text: scale paragraphs of 20 words or more (a seeded sample, each text once) and the bundled corpus's own
paragraphs; never the labelled queries or pairs. CPU only.

    SEMSEARCH_SCALE=… python bench/contrast.py [--train 30000] [--lr 1e-3] [--both] [--bf16] [--save DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from common import CACHE, ROOT, corpus_texts, query_ndcgs, save, scale_texts, score
from distill import Distilled, add_adapters, save_merged
from distill_linear import cached_vectors

SCALE = 20.0  # InfoNCE logits: cosine / 0.05
SHORTEST = 20  # words: a paragraph must keep some text once its crop is taken out


def crop_pairs(texts: list[str], seed: int = 5) -> tuple[list[str], list[str]]:
    """For each text, 3 to 12 consecutive words as the query and the text without them as its answer."""
    rng = np.random.default_rng(seed)
    queries, answers = [], []
    for text in texts:
        words = text.split()
        length = int(rng.integers(3, 13))
        start = int(rng.integers(0, len(words) - length + 1))
        queries.append(" ".join(words[start : start + length]).strip(",;:.()"))
        answers.append(" ".join(words[:start] + words[start + length :]))
    return queries, answers


def divide(items: list[str], held_out: np.ndarray) -> tuple[list[str], list[str]]:
    """The items trained on, then the held-out ones."""
    trained = [x for x, h in zip(items, held_out, strict=True) if not h]
    return trained, [x for x, h in zip(items, held_out, strict=True) if h]


def train(
    model,
    queries: list[str],
    answers: list[str] | np.ndarray,
    epochs: int,
    batch: int,
    lr: float,
    negatives: int,
) -> list[float]:
    """`answers` as texts: both sides run through the trained model, the other answers of a batch are the
    negatives. As the frozen base's vectors: only the query side trains, and `negatives` more answers drawn at
    random join each batch's, free since their vectors are fixed."""
    import torch

    parameters = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(parameters, lr=lr, weight_decay=0.0)
    steps = epochs * math.ceil(len(queries) / batch)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=lr, total_steps=steps, pct_start=0.1)
    fixed = torch.from_numpy(answers) if isinstance(answers, np.ndarray) else None
    rng = np.random.default_rng(1)
    losses = []
    model.train()
    for epoch in range(epochs):
        order = rng.permutation(len(queries))
        started, total = time.perf_counter(), 0.0
        for start in range(0, len(order), batch):
            rows = order[start : start + batch]
            if len(rows) < 2:  # no negative to tell the answer from
                continue
            q = model(model.tokenize([queries[r] for r in rows]))["sentence_embedding"]
            if fixed is None:
                a = model(model.tokenize([answers[r] for r in rows]))["sentence_embedding"]
            else:
                others = rng.choice(len(queries), size=min(negatives, len(queries)), replace=False)
                a = fixed[np.concatenate([rows, others[~np.isin(others, rows)]])]
            logits = SCALE * torch.nn.functional.normalize(q, dim=-1) @ torch.nn.functional.normalize(a, dim=-1).T
            loss = torch.nn.functional.cross_entropy(logits.float(), torch.arange(len(rows)))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            total += float(loss.detach()) * len(rows)
        losses.append(total / len(queries))
        print(f"epoch {epoch + 1}: loss {losses[-1]:.4f} in {time.perf_counter() - started:.0f} s", flush=True)
    model.eval()
    return losses


def base_vectors(base: Distilled, answers: list[str]) -> np.ndarray:
    """The untrained model's vectors of the answers, cached: a larger --train crops the same first paragraphs the
    same way, so it reuses them."""
    return cached_vectors(base, answers, CACHE / "contrast-answer-bank.npz", "base")


def retrieval_at_1(encoder: Distilled, queries: list[str], answers: np.ndarray) -> float:
    """Held-out crops: how often a crop's nearest answer among all held-out answers is its own paragraph."""
    similarities = encoder.encode(queries) @ answers.T
    return float((similarities.argmax(1) == np.arange(len(queries))).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", type=int, default=30000, help="scale paragraphs to train on")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--negatives", type=int, default=960, help="query side: random answers added to a batch's")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--both", action="store_true", help="train both sides (answers too), not the query side")
    parser.add_argument("--bf16", action="store_true", help="train under bf16 autocast (AMX CPUs)")
    parser.add_argument("--save", type=Path, help="also save the student, merged, as a model directory")
    arguments = parser.parse_args()
    import torch

    from semsearch.build import build_index
    from semsearch.encoder import SentenceTransformerEncoder, resolve_model
    from semsearch.index import open_index

    torch.manual_seed(0)
    autocast = torch.autocast("cpu", dtype=torch.bfloat16) if arguments.bf16 else contextlib.nullcontext()
    workspace = Path(tempfile.mkdtemp(prefix="semsearch-contrast-"))
    try:
        build_index([ROOT / "corpus"], workspace / "index")
        paragraphs, clauses = corpus_texts(open_index(workspace / "index"))
        scale = sorted({" ".join(t.split()) for t in scale_texts() if len(t.split()) >= SHORTEST})
        chosen = np.random.default_rng(0).permutation(len(scale))[: arguments.train]
        texts = [scale[i] for i in chosen] + [p for p in paragraphs if len(p.split()) >= SHORTEST]
        queries, answers = crop_pairs(texts)
        held_out = np.arange(len(texts)) % 20 == 0
        train_q, test_q = divide(queries, held_out)

        model = SentenceTransformerEncoder(resolve_model(None)).model
        student = Distilled(model, None)
        if arguments.both:
            train_a, test_a = divide(answers, held_out)
        else:  # the index side stays the base: its vectors, once
            with autocast:
                fixed = base_vectors(student, answers)
            train_a, test_a = fixed[~held_out], fixed[held_out]
        adapters = add_adapters(model[0].auto_model, arguments.rank)

        def held_out_score() -> float:
            return retrieval_at_1(student, test_q, student.encode(test_a) if arguments.both else test_a)

        before = held_out_score()
        started = time.perf_counter()
        with autocast:
            losses = train(
                model, train_q, train_a, arguments.epochs, arguments.batch, arguments.lr, arguments.negatives
            )
        seconds = time.perf_counter() - started
        after = held_out_score()
        corpus_all = paragraphs + [c for _, c in clauses]
        vectors = student.encode(corpus_all)
        split = len(paragraphs)
        swapped = (vectors[:split], vectors[split:]) if arguments.both else (None, None)
        data = {
            "training_pairs": len(train_q),
            "held_out_pairs": len(test_q),
            "scale_paragraphs": arguments.train,
            "sides": "both" if arguments.both else "query",
            "epochs": arguments.epochs,
            "rank": arguments.rank,
            "batch": arguments.batch,
            "negatives": 0 if arguments.both else arguments.negatives,
            "lr": arguments.lr,
            "bf16": arguments.bf16,
            "train_s": round(seconds),
            "losses": [round(x, 4) for x in losses],
            "held_out_crop_retrieval_at_1": {"before": round(before, 4), "trained": round(after, 4)},
            "results": {
                "MiniLM-L6 (today)": score(workspace / "index", None, None, None),
                "MiniLM-L6 contrastive": score(workspace / "index", student, *swapped),
            },
        }
        if not arguments.both:  # hybrid nDCG@10 of each labelled query that moved, today's then the student's
            today, trained = query_ndcgs(workspace / "index", None), query_ndcgs(workspace / "index", student)
            moved = {q: (today[q], trained[q]) for q in today if today[q] != trained[q]}
            data["per_query_hybrid"] = {
                "wins": {q: pair for q, pair in moved.items() if pair[1] > pair[0]},
                "losses": {q: pair for q, pair in moved.items() if pair[1] < pair[0]},
                "unchanged": len(today) - len(moved),
            }
        print(json.dumps(data, indent=2), flush=True)
        name = f"contrast-{data['sides']}-{arguments.train}-r{arguments.rank}-e{arguments.epochs}-lr{arguments.lr:g}"
        save(name + ("-bf16" if arguments.bf16 else ""), data)
        if arguments.save:  # e.g. for bench/soup.py or bench/tune_dedup.py --model DIR
            save_merged(student, adapters, corpus_all[:64], vectors[:64], arguments.save)
    finally:
        shutil.rmtree(workspace, ignore_errors=True)


if __name__ == "__main__":
    main()
