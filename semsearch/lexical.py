"""Okapi BM25 over an inverted index kept in plain numpy arrays.

Hand-written rather than bm25s because bm25s imports scipy, which would add to every cold query; the arrays
are saved with `np.savez` and read back without pickle.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import Stemmer

STOPWORDS = frozenset(
    (
        "a an and are as at be been being but by can could do does for from has have how if in into is it its "
        "may might must of on or should so such than that the their them then there these they this those to "
        "was were what when where which who whom why will with would about also any all other our we you your "
        "i me my"
    ).split()
)

_WORD = re.compile(r"\w+")
_STEMMER = Stemmer.Stemmer("english")


def tokenize(text: str) -> list[str]:
    """Lower-cased, stemmed word tokens without stopwords: 'Markings kept' -> ['mark', 'kept']."""
    words = [w for w in _WORD.findall(text.lower()) if w not in STOPWORDS]
    return _STEMMER.stemWords(words)


@dataclass(frozen=True)
class Bm25:
    vocabulary: dict[str, int]
    pointers: np.ndarray  # term t's postings are rows pointers[t]:pointers[t + 1]
    documents: np.ndarray
    weights: np.ndarray  # BM25 term weight of that term in that document, idf included
    n_documents: int
    k1: float = 1.2

    @classmethod
    def build(cls, texts: Sequence[str], k1: float = 1.2, b: float = 0.75) -> Bm25:
        counts = [Counter(tokenize(t)) for t in texts]
        lengths = np.array([sum(c.values()) for c in counts], dtype=np.float64)
        average = float(lengths.mean()) if len(texts) and lengths.mean() > 0 else 1.0
        postings: dict[str, list[tuple[int, int]]] = {}
        for doc, counter in enumerate(counts):
            for term, tf in counter.items():
                postings.setdefault(term, []).append((doc, tf))
        terms = sorted(postings)
        pointers = np.zeros(len(terms) + 1, dtype=np.int64)
        pointers[1:] = np.cumsum([len(postings[t]) for t in terms])
        documents = np.empty(int(pointers[-1]), dtype=np.int32)
        weights = np.empty(int(pointers[-1]), dtype=np.float32)
        n = len(texts)
        for index, term in enumerate(terms):
            rows = postings[term]
            docs = np.array([d for d, _ in rows], dtype=np.int32)
            tf = np.array([f for _, f in rows], dtype=np.float64)
            idf = np.log(1.0 + (n - len(rows) + 0.5) / (len(rows) + 0.5))
            norm = tf + k1 * (1.0 - b + b * lengths[docs] / average)
            start, end = pointers[index], pointers[index + 1]
            documents[start:end] = docs
            weights[start:end] = idf * tf * (k1 + 1.0) / norm
        return cls({t: i for i, t in enumerate(terms)}, pointers, documents, weights, n, k1)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every document for the query (zero where no query term occurs)."""
        result = np.zeros(self.n_documents, dtype=np.float32)
        for term in set(tokenize(query)):
            index = self.vocabulary.get(term)
            if index is not None:
                start, end = self.pointers[index], self.pointers[index + 1]
                np.add.at(result, self.documents[start:end], self.weights[start:end])
        return result

    def ceiling(self, query: str) -> float:
        """The highest score any document could reach for this query (every term, saturated frequency).

        Dividing by it turns BM25 into 'how much of the query's evidence this paragraph holds', comparable across
        queries; that is what lets hybrid ranking add it to a cosine with one fixed weight.
        """
        total = 0.0
        for term in set(tokenize(query)):
            index = self.vocabulary.get(term)
            frequency = int(self.pointers[index + 1] - self.pointers[index]) if index is not None else 0
            total += float(np.log(1.0 + (self.n_documents - frequency + 0.5) / (frequency + 0.5))) * (self.k1 + 1.0)
        return total

    def save(self, path: Path) -> None:
        terms = np.array(sorted(self.vocabulary, key=self.vocabulary.__getitem__), dtype=str)
        with path.open("wb") as handle:
            np.savez(
                handle,
                terms=terms,
                pointers=self.pointers,
                documents=self.documents,
                weights=self.weights,
                n_documents=np.array(self.n_documents),
                k1=np.array(self.k1),
            )

    @classmethod
    def load(cls, path: Path) -> Bm25:
        """Read a saved index, refusing (ValueError) arrays whose shapes or values could not have been saved."""
        with np.load(path, allow_pickle=False) as data:
            terms, pointers, documents, weights = (data[n] for n in ("terms", "pointers", "documents", "weights"))
            n_documents, k1 = data["n_documents"], data["k1"]
        shaped = (
            terms.ndim == pointers.ndim == documents.ndim == weights.ndim == 1
            and terms.dtype.kind == "U"
            and pointers.dtype == np.int64
            and documents.dtype == np.int32
            and weights.dtype == np.float32
            and n_documents.shape == k1.shape == ()
            and n_documents.dtype.kind == "i"
            and k1.dtype.kind == "f"
            and len(pointers) == len(terms) + 1
            and len(documents) == len(weights)
        )
        if not shaped:
            raise ValueError(f"{path.name}: arrays of the wrong type or shape")
        count = int(n_documents)
        if not (
            pointers[0] == 0
            and pointers[-1] == len(documents)
            and bool(np.all(np.diff(pointers) >= 0))
            and (len(documents) == 0 or (documents.min() >= 0 and documents.max() < count))
            and bool(np.isfinite(weights).all())
            and np.isfinite(k1)
            and len(set(terms.tolist())) == len(terms)
        ):
            raise ValueError(f"{path.name}: postings inconsistent with the vocabulary or the documents")
        return cls({t: i for i, t in enumerate(terms.tolist())}, pointers, documents, weights, count, float(k1))


def matching_spans(text: str, query: str) -> list[tuple[int, int]]:
    """Character spans of the words in `text` that match a query word after stemming, for highlighting."""
    wanted = set(tokenize(query))
    if not wanted:
        return []
    matches = list(_WORD.finditer(text))
    stems = _STEMMER.stemWords([m.group(0).lower() for m in matches])
    return [
        m.span()
        for m, stem in zip(matches, stems, strict=True)
        if stem in wanted and m.group(0).lower() not in STOPWORDS
    ]
