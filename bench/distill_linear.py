"""A first probe for a stronger default model: does a linear map on MiniLM-L6's embeddings, fitted on in-domain
text to reproduce all-mpnet-base-v2's, read like mpnet on the labelled sets?

The map is ridge regression from MiniLM's 384 dimensions to mpnet's 768, fitted on scale paragraphs and their
clauses plus the bundled corpus's own text (never the labelled queries or pairs). The labelled sets are then scored
three ways on the bundled corpus: MiniLM as today, mpnet itself, and MiniLM followed by the map (the same hybrid
ranking and duplicate scoring, only the vectors and the query encoder swapped). The teacher is read from a
sentence-transformers directory given with --teacher; it is used here only, never at run time.

    SEMSEARCH_SCALE=… python bench/distill_linear.py --teacher DIR [--train 3000] [--ridge 0.01,0.1,1]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from common import CACHE, ROOT, corpus_texts, save, scale_texts, score


class Mapped:
    """An encoder followed by a linear map and normalisation: the adapted query path."""

    def __init__(self, base, matrix: np.ndarray) -> None:
        self.base, self.matrix = base, matrix
        self.name, self.checksum, self.dimension = "mapped", "", matrix.shape[1]

    def encode(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        return normalised(self.base.encode(texts) @ self.matrix)


class Teacher:
    def __init__(self, path: Path) -> None:
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(str(path), device="cpu")
        self.name, self.checksum = path.name, ""
        self.dimension = self.model.get_embedding_dimension()

    def encode(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        return np.asarray(self.model.encode(list(texts), batch_size=16, normalize_embeddings=True), dtype=np.float32)


def normalised(vectors: np.ndarray) -> np.ndarray:
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def sample_texts(count: int, corpus: list[str], seed: int = 0) -> list[str]:
    """A prefix of one seeded permutation of the scale paragraphs, so a larger count holds every text of a smaller
    one, with their clauses and the corpus's own text."""
    from semsearch.clauses import split_clauses

    paragraphs = scale_texts()
    order = np.random.default_rng(seed).permutation(len(paragraphs))[:count]
    texts = [" ".join(paragraphs[i].split()) for i in order] + corpus
    return sorted({part for text in texts for part in (text, *split_clauses(text))})


def teacher_vectors(teacher: Teacher, texts: list[str]) -> np.ndarray:
    """Teacher vectors are the slow part (about 8× MiniLM's time): cached, so only texts not seen before are
    encoded."""
    return cached_vectors(teacher, texts, CACHE / "distill-teacher-bank.npz", "teacher")


def cached_vectors(encoder, texts: list[str], path: Path, label: str) -> np.ndarray:
    """`encoder`'s vectors of `texts`, kept text by text in the bank at `path`, encoding only the texts missing."""
    bank: dict[str, np.ndarray] = {}
    if path.exists():
        stored = np.load(path, allow_pickle=False)
        bank = dict(zip(stored["texts"].tolist(), stored["vectors"], strict=True))
    missing = list(dict.fromkeys(t for t in texts if t not in bank))
    if missing:
        started = time.perf_counter()
        bank |= dict(zip(missing, encoder.encode(missing), strict=True))
        print(f"{label}: {len(missing)} new texts in {time.perf_counter() - started:.0f} s", flush=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        names = list(bank)
        np.savez(path, texts=np.array(names), vectors=np.stack([bank[n] for n in names]))
    return np.stack([bank[t] for t in texts])


def fit(student: np.ndarray, teacher: np.ndarray, ridge: float) -> np.ndarray:
    gram = student.T @ student + ridge * len(student) / 1000 * np.eye(student.shape[1], dtype=np.float32)
    return np.linalg.solve(gram, student.T @ teacher).astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teacher", type=Path, required=True, help="sentence-transformers directory of the teacher")
    parser.add_argument("--train", type=int, default=3000, help="scale paragraphs to fit on (with their clauses)")
    parser.add_argument("--ridge", default="0.01,0.1,1", help="ridge strengths to try, comma-separated")
    arguments = parser.parse_args()
    from semsearch.build import build_index
    from semsearch.index import open_index

    workspace = Path(tempfile.mkdtemp(prefix="semsearch-distill-"))
    try:
        build_index([ROOT / "corpus"], workspace / "index")
        index = open_index(workspace / "index")
        student = index.query_encoder()
        paragraphs, clauses = corpus_texts(index)
        teacher = Teacher(arguments.teacher)
        texts = sample_texts(arguments.train, paragraphs)
        held_out = np.arange(len(texts)) % 10 == 0
        s, t = student.encode(texts), teacher_vectors(teacher, texts)
        corpus_all = paragraphs + [c for _, c in clauses]
        s_corpus, t_corpus = student.encode(corpus_all), teacher_vectors(teacher, corpus_all)
        split = len(paragraphs)
        results: dict[str, dict] = {"MiniLM-L6 (today)": score(workspace / "index", None, None, None)}
        results["all-mpnet-base-v2 (teacher)"] = score(workspace / "index", teacher, t_corpus[:split], t_corpus[split:])
        for ridge in [float(r) for r in arguments.ridge.split(",")]:
            matrix = fit(s[~held_out], t[~held_out], ridge)
            predicted = normalised(s[held_out] @ matrix)
            agreement = float(np.einsum("ij,ij->i", predicted, t[held_out]).mean())
            mapped = normalised(s_corpus @ matrix)
            row = score(workspace / "index", Mapped(student, matrix), mapped[:split], mapped[split:])
            results[f"MiniLM-L6 + map, ridge {ridge}"] = row | {"held_out_cosine_to_teacher": round(agreement, 4)}
        data = {
            "training_texts": len(texts),
            "scale_paragraphs": arguments.train,
            "corpus_texts": len(corpus_all),
            "results": results,
        }
        print(save("distill_linear", data).read_text())
    finally:
        shutil.rmtree(workspace, ignore_errors=True)


if __name__ == "__main__":
    main()
