"""In-domain distillation: teach the packaged MiniLM-L6 to read like all-mpnet-base-v2 on UN text, training only
low-rank adapters on its linear layers, then score the result on the labelled sets beside MiniLM and mpnet
(bench/distill_linear.py's scoring: the bundled corpus, the hybrid ranking and duplicate scoring as built, only the
vectors and query encoder swapped).

Two losses: `projected` trains the adapters and a 384 → 768 projection to reproduce mpnet's vectors; `relational`
keeps MiniLM's own space and trains its cosines between the texts of a batch towards mpnet's (mapped to MiniLM's
units by a line fitted on random pairs, with --anchor by a slope through cosine 1, or with --quantile by matching
quantiles; --neighbours replaces half the runs of 8 texts that make up a batch with a text and its 7 nearest in
mpnet's space; --listwise W adds W × the KL divergence of each text's in-batch ranking from the teacher's; --spans
adds short runs of words, as long as typed queries; bench/soup.py averages saved students). Duplicates are
scored at today's preset and at the `precise` rule applied to the model's own scores.

Training text: scale paragraphs (a seeded sample), their clauses, and the bundled corpus's own text; never the
labelled queries or pairs. Teacher vectors are cached text by text in bench/.cache, so a larger --train reuses
them. The teacher is read from a sentence-transformers directory (--teacher) and used here only. CPU only; the
delta (a few MB) is written to bench/.cache/distill-delta-LOSS.pt. --bf16 runs the teacher and the training under
bf16 autocast: on a CPU with AMX, teacher vectors 2.7× faster (53 texts/s on 2 cores), training 1.2× (12 texts/s).

    SEMSEARCH_SCALE=… python bench/distill.py --teacher DIR [--train 3000] [--epochs 4] [--rank 16]
        [--loss relational [--anchor | --quantile] [--neighbours] [--listwise W]] [--spans] [--bf16] [--save DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

import numpy as np
from common import CACHE, ROOT, corpus_texts, save, score
from distill_linear import Teacher, fit, normalised, sample_texts, teacher_vectors

TARGETS = ("query", "key", "value", "attention.output.dense", "intermediate.dense", "output.dense")
TEMPERATURE = 0.05  # --listwise: in the student's cosine units


def add_adapters(model, rank: int):
    """Low-rank adapters on every target linear layer; the base weights stay frozen."""
    import torch

    class Adapted(torch.nn.Module):
        def __init__(self, base: torch.nn.Linear) -> None:
            super().__init__()
            self.base = base
            self.down = torch.nn.Parameter(torch.randn(rank, base.in_features) / math.sqrt(base.in_features))
            self.up = torch.nn.Parameter(torch.zeros(base.out_features, rank))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.base(x) + (x @ self.down.T) @ self.up.T

    for parameter in model.parameters():
        parameter.requires_grad_(False)
    adapted = {}
    for name, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            full = f"{name}.{child_name}" if name else child_name
            if isinstance(child, torch.nn.Linear) and any(full.endswith(t) for t in TARGETS):
                wrapper = Adapted(child)
                setattr(module, child_name, wrapper)
                adapted[full] = wrapper
    return adapted


def merge_adapters(model, adapters: dict) -> None:
    """Fold each adapter into its base layer (W + up·down), so the student saves as a plain model."""
    import torch

    with torch.no_grad():
        for full, wrapper in adapters.items():
            wrapper.base.weight += wrapper.up @ wrapper.down
            parent, _, child = full.rpartition(".")
            setattr(model.get_submodule(parent), child, wrapper.base)


def save_merged(student: Distilled, adapters: dict, texts: list[str], vectors: np.ndarray, directory: Path) -> None:
    """Fold the adapters in and save the student as a plain model, checking it still gives `vectors` for `texts`."""
    merge_adapters(student.model[0].auto_model, adapters)
    merged = student.encode(texts)
    assert np.einsum("ij,ij->i", merged, vectors).min() > 0.9999, "merging changed the vectors"
    student.model.save(str(directory))


class Distilled:
    """MiniLM with its adapters and projection, as an encoder for scoring."""

    def __init__(self, model, projection) -> None:
        self.model, self.projection = model, projection
        self.name, self.checksum = "distilled", ""
        self.dimension = projection.out_features if projection is not None else model.get_embedding_dimension()

    def encode(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        import torch

        with torch.no_grad():
            pooled = self.model.encode(list(texts), batch_size=32, convert_to_tensor=True, normalize_embeddings=False)
            return normalised((self.projection(pooled) if self.projection is not None else pooled).numpy())


def query_spans(texts: list[str], seed: int = 3) -> list[str]:
    """2 to 8 consecutive words from each text, as short as a typed query: paragraphs and clauses alone never show
    the student a text of a query's length."""
    rng = np.random.default_rng(seed)
    spans = []
    for text in texts:
        words = text.split()
        length = min(len(words), int(rng.integers(2, 9)))
        start = int(rng.integers(0, len(words) - length + 1))
        spans.append(" ".join(words[start : start + length]).strip(",;:.()"))
    return spans


def affine_map(slope: float, intercept: float, cosines):
    return slope * cosines + intercept


def quantile_map(teacher: np.ndarray, student: np.ndarray, knots: int = 201) -> Callable:
    """The monotone map sending each quantile of the teacher's cosines (on the same pairs) to the student's, and a
    teacher cosine of 1 to 1: like --anchor it keeps near-repeats close, without a slope that pushes unrelated
    texts below zero."""
    import torch

    levels = np.linspace(0, 1, knots)
    xs, ys = np.quantile(teacher, levels), np.quantile(student, levels)
    xs, first = np.unique(xs, return_index=True)
    xs, ys = np.append(xs, 1.0), np.append(ys[first], 1.0)
    x, y = torch.tensor(xs, dtype=torch.float32), torch.tensor(ys, dtype=torch.float32)

    def mapped(cosines):
        c = cosines.float().clamp(float(x[0]), 1.0)
        i = torch.bucketize(c, x).clamp(1, len(x) - 1)
        return y[i - 1] + (c - x[i - 1]) * (y[i] - y[i - 1]) / (x[i] - x[i - 1])

    return mapped


def nearest(texts: list[str], vectors: np.ndarray, k: int = 7) -> np.ndarray:
    """Each text's k nearest by the teacher's cosine, leaving out its own clauses and the paragraph it is a clause
    of (they already share its run), so a group of neighbours holds the near-repeats a duplicates report judges."""
    found = np.zeros((len(texts), k), dtype=np.int64)
    for start in range(0, len(texts), 2048):
        similarities = vectors[start : start + 2048] @ vectors.T
        for offset, row in enumerate(similarities):
            i = start + offset
            top = np.argpartition(-row, 4 * k)[: 4 * k + 1]
            ranked = top[np.argsort(-row[top])]  # a text is inside itself, so the test below leaves it out too
            others = [j for j in ranked if texts[j] not in texts[i] and texts[i] not in texts[j]][:k]
            found[i] = others + [others[-1]] * (k - len(others)) if others else i
    return found


def train(
    model,
    projection,
    texts: list[str],
    targets: np.ndarray,
    epochs: int,
    batch: int,
    lr: float,
    mapping: Callable | None = None,
    neighbours: np.ndarray | None = None,
    listwise: float = 0.0,
) -> list[float]:
    """With a projection: the student's vectors, projected, should be the teacher's (cosine loss). Without one
    (relational): the student keeps its own space, and its cosines between the texts of a batch should be the
    teacher's, through `mapping` (the teacher's cosines in the untrained student's units). With `neighbours`, half
    the runs give way to a random text and its nearest neighbours in the teacher's space. With `listwise`, each text's
    ranking of the others in its batch is trained too: the KL divergence from the teacher's softmax over its
    mapped cosines to the student's (temperature TEMPERATURE), which weighs the nearest, where a ranking is
    decided, above the many unrelated pairs that dominate the squared error."""
    import torch

    extra = list(projection.parameters()) if projection is not None else []
    parameters = [p for p in model.parameters() if p.requires_grad] + extra
    optimiser = torch.optim.AdamW(parameters, lr=lr, weight_decay=0.0)
    steps = epochs * math.ceil(len(texts) / batch)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=lr, total_steps=steps, pct_start=0.1)
    lengths = np.array([len(t) for t in texts])
    rng = np.random.default_rng(1)
    losses = []
    model.train()
    for epoch in range(epochs):
        if projection is None:  # runs of 8 neighbours in sorted order (a paragraph beside its first clause), mixed
            runs = np.array_split(np.arange(len(texts)), max(1, len(texts) // 8))
            if neighbours is not None:
                seeds = rng.choice(len(texts), size=len(runs) // 2, replace=False)
                kept = [runs[i] for i in rng.permutation(len(runs))[: len(runs) - len(seeds)]]
                runs = kept + [np.array([s, *neighbours[s]]) for s in seeds]
            order = np.concatenate([runs[i] for i in rng.permutation(len(runs))])
        else:  # batches of similar length (little padding), visited in random order
            order = np.argsort(lengths + rng.uniform(0, 40, len(texts)))
        batches = [order[i : i + batch] for i in range(0, len(order), batch)]
        rng.shuffle(batches)
        started, total = time.perf_counter(), 0.0
        for rows in batches:
            if projection is None and len(rows) < 2:  # no pair to compare: its loss would be NaN
                continue
            features = model.tokenize([texts[r] for r in rows])
            pooled = model(features)["sentence_embedding"]
            target = torch.from_numpy(targets[rows])
            if projection is not None:
                predicted = torch.nn.functional.normalize(projection(pooled), dim=-1)
                loss = (1 - (predicted * target).sum(-1)).mean()
            else:
                predicted = torch.nn.functional.normalize(pooled, dim=-1)
                off = ~torch.eye(len(rows), dtype=torch.bool)
                wanted = mapping(target @ target.T)
                cosines = predicted @ predicted.T
                loss = ((cosines - wanted)[off] ** 2).mean()
                if listwise:
                    hidden = torch.full_like(cosines, -torch.inf).where(~off, 0.0)  # a text is not its own answer
                    aimed = torch.log_softmax((wanted.float() + hidden) / TEMPERATURE, dim=-1)
                    found = torch.log_softmax((cosines.float() + hidden) / TEMPERATURE, dim=-1)
                    divergence = (aimed.exp() * (aimed - found)).where(off, 0.0).sum(-1).mean()
                    loss = loss + listwise * divergence
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            total += float(loss.detach()) * len(rows)
        losses.append(total / len(texts))
        print(f"epoch {epoch + 1}: loss {losses[-1]:.4f} in {time.perf_counter() - started:.0f} s", flush=True)
    model.eval()
    return losses


def agreement(encoder: Distilled, texts: list[str], targets: np.ndarray, relational: bool) -> float:
    """Projected: mean cosine to the teacher's vectors. Relational: correlation of the pairwise cosines."""
    vectors = encoder.encode(texts)
    if not relational:
        return float(np.einsum("ij,ij->i", vectors, targets).mean())
    upper = np.triu_indices(len(texts), 1)
    return float(np.corrcoef((vectors @ vectors.T)[upper], (targets @ targets.T)[upper])[0, 1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teacher", type=Path, required=True, help="sentence-transformers directory of the teacher")
    parser.add_argument("--train", type=int, default=3000, help="scale paragraphs to train on (with their clauses)")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--loss", choices=("projected", "relational"), default="projected")
    parser.add_argument("--bf16", action="store_true", help="teacher and training under bf16 autocast (AMX CPUs)")
    parser.add_argument(
        "--anchor", action="store_true", help="relational: map the teacher's cosines so that 1 stays 1 (a slope only)"
    )
    parser.add_argument(
        "--quantile", action="store_true", help="relational: map the teacher's cosines by matching quantiles, 1 to 1"
    )
    parser.add_argument(
        "--neighbours", action="store_true", help="relational: half the runs are a text and its teacher neighbours"
    )
    parser.add_argument(
        "--listwise", type=float, default=0.0, help="relational: weight of the in-batch ranking (KL) term"
    )
    parser.add_argument("--spans", action="store_true", help="also train on a short run of words from each paragraph")
    parser.add_argument("--save", type=Path, help="also save the relational student, merged, as a model directory")
    arguments = parser.parse_args()
    if arguments.anchor and arguments.quantile:
        parser.error("--anchor and --quantile are two maps of the teacher's cosines: choose one")
    import torch

    def precision():
        return torch.autocast("cpu", dtype=torch.bfloat16) if arguments.bf16 else contextlib.nullcontext()

    from semsearch.build import build_index
    from semsearch.encoder import SentenceTransformerEncoder, resolve_model
    from semsearch.index import open_index

    torch.manual_seed(0)
    workspace = Path(tempfile.mkdtemp(prefix="semsearch-distill-"))
    try:
        build_index([ROOT / "corpus"], workspace / "index")
        index = open_index(workspace / "index")
        paragraphs, clauses = corpus_texts(index)
        corpus_all = paragraphs + [c for _, c in clauses]
        teacher = Teacher(arguments.teacher)
        texts = sample_texts(arguments.train, paragraphs)
        if arguments.spans:  # from every other text of over 8 words (paragraphs and long clauses), for the time
            long_texts = [t for t in texts if len(t.split()) > 8][::2]
            texts = sorted(set(texts) | {span for span in query_spans(long_texts) if span})
        with precision():
            targets = teacher_vectors(teacher, texts)
            t_corpus = teacher_vectors(teacher, corpus_all)
        held_out = np.arange(len(texts)) % 10 == 0
        train_texts = [t for t, h in zip(texts, held_out, strict=True) if not h]
        test_texts = [t for t, h in zip(texts, held_out, strict=True) if h]

        model = SentenceTransformerEncoder(resolve_model(None)).model
        student = model.encode(texts, batch_size=32)
        projection, affine, mapping = None, None, None
        if arguments.loss == "projected":
            projection = torch.nn.Linear(student.shape[1], targets.shape[1], bias=False)
            with torch.no_grad():  # start from the ridge map, the best the frozen model can do
                projection.weight.copy_(torch.from_numpy(fit(student[~held_out], targets[~held_out], 0.01).T))
        else:  # the teacher's cosines in the student's units, fitted on random pairs
            pairs = np.random.default_rng(2).integers(0, len(texts), size=(20_000, 2))
            s_cos = np.einsum("ij,ij->i", student[pairs[:, 0]], student[pairs[:, 1]])
            t_cos = np.einsum("ij,ij->i", targets[pairs[:, 0]], targets[pairs[:, 1]])
            if arguments.quantile:
                mapping = quantile_map(t_cos, s_cos)
            elif arguments.anchor:  # near-repeats keep their closeness: a teacher cosine of 1 asks for 1
                slope = float(np.dot(s_cos - 1, t_cos - 1) / np.dot(t_cos - 1, t_cos - 1))
                affine = (slope, 1 - slope)
            else:
                affine = tuple(float(x) for x in np.polyfit(t_cos, s_cos, 1))
            if affine is not None:
                mapping = partial(affine_map, *affine)
            print("affine", affine, "pair correlation before", float(np.corrcoef(s_cos, t_cos)[0, 1]), flush=True)
        adapters = add_adapters(model[0].auto_model, arguments.rank)
        distilled = Distilled(model, projection)
        before = agreement(distilled, test_texts, targets[held_out], projection is None)
        started = time.perf_counter()
        with precision():
            losses = train(
                model,
                projection,
                train_texts,
                targets[~held_out],
                arguments.epochs,
                arguments.batch,
                arguments.lr,
                mapping,
                nearest(train_texts, targets[~held_out]) if arguments.neighbours else None,
                arguments.listwise,
            )
        seconds = time.perf_counter() - started
        after = agreement(distilled, test_texts, targets[held_out], projection is None)
        delta = {name: (a.down.detach(), a.up.detach()) for name, a in adapters.items()}
        extra = {"projection": projection.weight.detach()} if projection is not None else {}
        torch.save({"adapters": delta, **extra}, CACHE / f"distill-delta-{arguments.loss}.pt")
        vectors = distilled.encode(corpus_all)
        split = len(paragraphs)
        results = {
            "MiniLM-L6 (today)": score(workspace / "index", None, None, None),
            "all-mpnet-base-v2 (teacher)": score(workspace / "index", teacher, t_corpus[:split], t_corpus[split:]),
            "MiniLM-L6 distilled": score(workspace / "index", distilled, vectors[:split], vectors[split:]),
        }
        data = {
            "training_texts": len(train_texts),
            "held_out_texts": len(test_texts),
            "scale_paragraphs": arguments.train,
            "epochs": arguments.epochs,
            "rank": arguments.rank,
            "lr": arguments.lr,
            "bf16": arguments.bf16,
            "train_s": round(seconds),
            "losses": [round(x, 4) for x in losses],
            "held_out_agreement_with_teacher": {"before": round(before, 4), "distilled": round(after, 4)},
            "loss": arguments.loss,
            "anchor": arguments.anchor,
            "neighbours": arguments.neighbours,
            "spans": arguments.spans,
            "listwise": arguments.listwise,
            "affine": affine,
            "quantile": arguments.quantile,
            "delta_parameters": sum(a.numel() + b.numel() for a, b in delta.values())
            + (projection.weight.numel() if projection is not None else 0),
            "results": results,
        }
        print(json.dumps(data, indent=2), flush=True)
        flags = ("bf16", "anchor", "quantile", "neighbours", "spans")
        suffix = "".join(f"-{flag}" for flag in flags if getattr(arguments, flag))
        suffix += f"-listwise{arguments.listwise:g}" if arguments.listwise else ""
        save(f"distill-{arguments.loss}-{arguments.train}-r{arguments.rank}-e{arguments.epochs}{suffix}", data)
        if arguments.save and projection is None:  # e.g. for bench/tune_dedup.py --model DIR
            save_merged(distilled, adapters, corpus_all[:64], vectors[:64], arguments.save)
    finally:
        shutil.rmtree(workspace, ignore_errors=True)


if __name__ == "__main__":
    main()
