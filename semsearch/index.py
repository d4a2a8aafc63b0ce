"""What an index build holds, loaded and verified: paragraphs, their vectors, a FAISS index, BM25 statistics,
clause vectors and an ONNX query model (`semsearch.build` makes them).

A version directory holds manifest.json, paragraphs.jsonl, vectors.npy, faiss.index, lexical.npz, clauses.npz
(vectors of the clauses duplicate detection compares, by content hash) and query-model/ (an ONNX copy of the
encoder); `semsearch.storage` keeps versions, swaps them in atomically and verifies them on load.
"""

from __future__ import annotations

import hashlib
import json
import os
import weakref
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from semsearch.ann import (
    FAISS_FILE,
    apply_search_parameters,
    read_faiss,
)
from semsearch.corpus import Paragraph, find_documents
from semsearch.encoder import (
    ONNX_MODEL,
    Encoder,
    OnnxEncoder,
    SentenceTransformerEncoder,
    resolve_model,
)
from semsearch.errors import (
    ModelError,
)
from semsearch.lexical import Bm25
from semsearch.storage import (
    CLAUSES,
    HEX64,
    MANIFEST,
    QUERY_MODEL,
    Each,
    Nullable,
    Rule,
    Version,
    check_shape,
    corrupt,
    open_regular,
    open_version,
    regular_sha256,
)

MAPPED = frozenset({"ivfpq"})  # index kinds whose exact vectors stay on disk
CHECK_BLOCK = 65_536

PARAGRAPH_RECORD = {
    "hash": HEX64,
    "paragraph": {
        "doc": str,
        "number": str,
        "text": str,
        "section": Nullable({"numeral": str, "title": str}),
        "subtheme": Nullable(str),
        "meeting": Nullable({"ordinal": Rule(lambda v: type(v) is int and v >= 0, "a whole number"), "date": str}),
        "footnotes": Each(str),
        "lines": Rule(lambda v: isinstance(v, list) and len(v) == 2 and all(type(n) is int for n in v), "two lines"),
    },
}


@dataclass(frozen=True)
class Staleness:
    """Which corpus files differ from the ones the index was built from."""

    changed: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.changed or self.added or self.removed)

    def __str__(self) -> str:
        parts = [
            f"{label}: {', '.join(names[:3])}{' …' if len(names) > 3 else ''}"
            for label, names in (("changed", self.changed), ("new", self.added), ("removed", self.removed))
            if names
        ]
        return "; ".join(parts)


@dataclass
class Index:
    """A loaded, verified index; read-only. Every file it reads is one its manifest lists (`Version.path`)."""

    version: Version
    paragraphs: list[Paragraph]
    hashes: list[str]
    vectors: np.ndarray
    lexical: Bm25
    clauses: dict[str, np.ndarray] = field(default_factory=dict, repr=False)  # content hash -> vector
    _release: weakref.finalize | None = field(default=None, repr=False)
    _encoder: Encoder | None = field(default=None, repr=False)
    _faiss: object | None = field(default=None, repr=False)

    @property
    def directory(self) -> Path:
        return self.version.directory

    @property
    def manifest(self) -> dict:
        return self.version.manifest

    @property
    def faiss_index(self):
        """Read on first use: exhaustive search over a small corpus never needs FAISS, so a cold query skips it."""
        if self._faiss is None:
            kind = self.manifest["index"]["type"]
            index = read_faiss(self.version.path(FAISS_FILE), kind, len(self.paragraphs), self.vectors.shape[1])
            apply_search_parameters(index, kind)
            self._faiss = index
        return self._faiss

    @property
    def model_name(self) -> str:
        return self.manifest["model"]["name"]

    def query_encoder(self) -> Encoder:
        """The ONNX copy when the index has one (no torch import), else the sentence-transformers model."""
        if self._encoder is None:
            model = self.manifest["model"]
            if model["query_encoder"] == "onnx":
                self._encoder = self._onnx_encoder(model["name"], model["sha256"])
            else:
                self._encoder = sentence_transformer_for(model["name"], model["sha256"])
        return self._encoder

    def _onnx_encoder(self, name: str, checksum: str) -> OnnxEncoder:
        onnx_dir = self.version.path(f"{QUERY_MODEL}/{ONNX_MODEL}").parent
        try:
            encoder = OnnxEncoder(onnx_dir, name, checksum)
        except Exception as error:  # onnxruntime and tokenizers fail on a malformed file in their own ways
            raise corrupt(onnx_dir / ONNX_MODEL, f"unloadable ({type(error).__name__})") from None
        if encoder.dimension != self.vectors.shape[1]:
            raise corrupt(onnx_dir / ONNX_MODEL, f"of dimension {encoder.dimension}, not the index's")
        return encoder

    def staleness(self) -> Staleness:
        return corpus_staleness(self.manifest)

    def vectors_by_hash(self) -> dict[str, np.ndarray]:
        """Every stored embedding by its text's content hash: each paragraph's and each stored clause's."""
        return dict(zip(self.hashes, self.vectors, strict=True)) | self.clauses

    def close(self) -> None:
        """Let a later build delete this version; lazily read parts must already be loaded."""
        if self._release is not None:
            self._release()


def sentence_transformer_for(name: str, checksum: str) -> SentenceTransformerEncoder:
    """Load the model an index was built with, refusing it if its weights changed since."""
    spec = resolve_model(name)
    encoder = SentenceTransformerEncoder(spec)
    if checksum and encoder.checksum and encoder.checksum != checksum:
        raise ModelError(f"model '{name}' has changed since the index was built; rebuild with: semsearch index --force")
    return encoder


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def open_index(index_dir: Path | str) -> Index:
    """Load the current build, verifying every file."""
    index, lease = open_version(Path(index_dir), _read_files)
    index._release = weakref.finalize(index, os.close, lease)
    return index


def _read_files(version: Version) -> Index:
    manifest = version.manifest
    count, dimension = manifest["index"]["count"], manifest["model"]["dimension"]
    records = _read_records(version.path("paragraphs.jsonl"), manifest)
    vectors = _read_vectors(version.path("vectors.npy"), count, dimension, mapped=manifest["index"]["type"] in MAPPED)
    lexical = Bm25.load(version.path("lexical.npz"))
    if not len(records) == count == lexical.n_documents:
        raise corrupt(version.directory / MANIFEST, "inconsistent with its files")
    return Index(
        version=version,
        paragraphs=[Paragraph.from_dict(r["paragraph"]) for r in records],
        hashes=[r["hash"] for r in records],
        vectors=vectors,
        lexical=lexical,
        clauses=_read_clauses(version, dimension),
    )


def _read_records(path: Path, manifest: dict) -> list[dict]:
    """Paragraph records, each checked for shape, and for the document the manifest counted it under."""
    with os.fdopen(open_regular(path), "rb") as handle:
        lines = handle.read().decode("utf-8").split("\n")
    if lines[-1] != "":
        raise corrupt(path, "truncated (no final newline)")
    records = []
    counts: Counter[str] = Counter()
    for number, line in enumerate(lines[:-1], start=1):
        record = json.loads(line)
        try:
            check_shape(record, PARAGRAPH_RECORD, f"line {number}")
        except ValueError as error:
            raise corrupt(path, f"malformed ({error})") from None
        counts[record["paragraph"]["doc"]] += 1
        records.append(record)
    if counts != Counter({doc: d["paragraphs"] for doc, d in manifest["documents"].items() if d["paragraphs"]}):
        raise corrupt(path, "inconsistent with the manifest's documents")
    return records


def _read_vectors(path: Path, count: int, dimension: int, mapped: bool) -> np.ndarray:
    """In memory, or for a compressed index memory-mapped (its search reads only the rows it re-scores). Either way
    checked for non-finite values, which a checksum cannot tell from a build's own fault, block by block; a mapped
    file is checked through a mapping dropped afterwards, so the check leaves none of its pages resident."""
    vectors = np.load(path, allow_pickle=False, mmap_mode="r" if mapped else None)
    if not isinstance(vectors, np.ndarray) or vectors.dtype != np.float32 or vectors.shape != (count, dimension):
        raise corrupt(path, f"not {count} × {dimension} float32 vectors")
    for start in range(0, count, CHECK_BLOCK):
        if not np.isfinite(vectors[start : start + CHECK_BLOCK]).all():
            raise corrupt(path, "holding non-finite values (NaN or infinity)")
    if not mapped:
        return np.ascontiguousarray(vectors)
    del vectors
    return np.load(path, allow_pickle=False, mmap_mode="r")


def _read_clauses(version: Version, dimension: int) -> dict[str, np.ndarray]:
    """Stored clause vectors; builds made before they were stored have none, and the caller encodes them."""
    if not version.has(CLAUSES):
        return {}
    path = version.path(CLAUSES)
    with np.load(path, allow_pickle=False) as stored:
        hashes, vectors = stored["hashes"], stored["vectors"]
    shaped = (
        hashes.ndim == 1
        and hashes.dtype.kind == "U"
        and vectors.dtype == np.float32
        and vectors.shape == (len(hashes), dimension)
    )
    if not shaped or not all(HEX64.test(h) for h in hashes.tolist()) or not np.isfinite(vectors).all():
        raise corrupt(path, "inconsistent with the paragraph vectors")
    return dict(zip(hashes.tolist(), vectors, strict=True))


def corpus_staleness(manifest: dict) -> Staleness:
    """Compare the corpus on disk with the files the index was built from (content hashes, not mtimes); a file the
    build skipped counts as new only once its content changes."""
    built = {d["path"]: d["sha256"] for d in manifest["documents"].values()}
    on_disk: set[str] = set()
    for source in manifest["sources"]:
        root = Path(source)
        if root.is_dir():
            on_disk |= {str(p) for p in find_documents(root) if isinstance(p, Path)}
        elif regular_sha256(root) is not None:
            on_disk.add(str(root))
    changed = tuple(sorted(p for p in built if p in on_disk and regular_sha256(Path(p)) != built[p]))
    skipped = {s["path"]: s["sha256"] for s in manifest["skipped"] if "sha256" in s}
    unchanged_skips = {p for p in on_disk - set(built) if p in skipped and regular_sha256(Path(p)) == skipped[p]}
    added = tuple(sorted(on_disk - set(built) - unchanged_skips))
    return Staleness(changed, added, tuple(sorted(set(built) - on_disk)))
