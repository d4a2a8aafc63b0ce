"""What an index build holds and how it is made: paragraphs, their vectors, a FAISS index, BM25 statistics,
clause vectors and an ONNX query model, rebuilt incrementally (only new or changed texts are embedded).

A version directory holds manifest.json, paragraphs.jsonl, vectors.npy, faiss.index, lexical.npz, clauses.npz
(vectors of the clauses duplicate detection compares, by content hash) and query-model/ (an ONNX copy of the
encoder); `semsearch.storage` keeps versions, swaps them in atomically and verifies them on load.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import struct
import time
import weakref
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Literal

import numpy as np

from semsearch.clauses import clauses_to_embed
from semsearch.corpus import Corpus, Paragraph, Skipped, find_documents, load_corpus
from semsearch.encoder import (
    ONNX_MODEL,
    Encoder,
    ModelSpec,
    OnnxEncoder,
    SentenceTransformerEncoder,
    resolve_model,
    sha256_file,
)
from semsearch.errors import (
    BuildInterrupted,
    IndexCorruptError,
    IndexMissingError,
    IndexStaleError,
    ModelError,
    WriteError,
)
from semsearch.lexical import Bm25
from semsearch.storage import (
    CLAUSES,
    FORMAT_VERSION,
    HEX64,
    LOCK,
    MANIFEST,
    QUERY_MODEL,
    Each,
    Nullable,
    Rule,
    Version,
    check_shape,
    corrupt,
    foreign_reason,
    fsync_directory,
    fsync_write,
    open_regular,
    open_version,
    regular_sha256,
    remove_leftovers,
    remove_old_versions,
    swap_in,
    write_error,
)

IndexType = Literal["auto", "flat", "hnsw", "ivf"]
APPROXIMATE_ABOVE = 50_000
HNSW_NEIGHBOURS = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128
IVF_PROBES = 32
FAISS_FILE = "faiss.index"
# What `faiss.write_index` starts each kind of index with, and the class `faiss.read_index` must return for it.
FAISS_FOURCC = {"flat": b"IxFI", "hnsw": b"IHNf", "ivf": b"IwFl"}
FAISS_CLASS = {"flat": "IndexFlatIP", "hnsw": "IndexHNSWFlat", "ivf": "IndexIVFFlat"}
FAISS_HEADER = struct.Struct("<4siqqq?i")  # fourcc, d, ntotal, two reserved, is_trained, metric
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
class IndexConfig:
    """How to build: which model, which FAISS index, whether to export the ONNX query model."""

    model: str | None = None
    index_type: IndexType = "auto"
    approximate_above: int = APPROXIMATE_ABOVE
    export_onnx: bool = True
    force: bool = False
    lock_timeout: float = 600.0


@dataclass(frozen=True)
class BuildReport:
    """What a build did, in the terms a user checks: how much was embedded and how much reused."""

    directory: Path
    documents: int
    paragraphs: int
    new: int
    changed: int
    reused: int
    removed: int
    index_type: str
    seconds: float
    skipped: tuple[Skipped, ...] = ()
    warnings: tuple[str, ...] = ()

    def __str__(self) -> str:
        removed = f", {self.removed} removed" if self.removed else ""
        return (
            f"{self.paragraphs} paragraphs from {self.documents} document(s): {self.new} new, {self.changed} changed, "
            f"{self.reused} reused{removed} ({self.index_type} index, {self.seconds:.1f} s)"
        )


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


def make_faiss_index(vectors: np.ndarray, kind: IndexType, approximate_above: int = APPROXIMATE_ABOVE):
    """An inner-product index (cosine on normalised vectors): exact when small, HNSW or IVF when large."""
    import faiss

    count, dimension = vectors.shape
    if kind == "auto":
        kind = "hnsw" if count > approximate_above else "flat"
    if kind == "flat":
        index = faiss.IndexFlatIP(dimension)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dimension, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
    elif kind == "ivf":
        lists = max(1, min(int(4 * np.sqrt(count)), count // 39 or 1))
        quantizer = faiss.IndexFlatIP(dimension)
        index = faiss.IndexIVFFlat(quantizer, dimension, lists, faiss.METRIC_INNER_PRODUCT)
        index.train(vectors)
        index.nprobe = min(IVF_PROBES, lists)
    else:
        raise ValueError(f"unknown index type {kind!r}; choose auto, flat, hnsw or ivf")
    index.add(vectors)
    return index, kind


def apply_search_parameters(index: object, kind: str) -> None:
    """Search-time knobs FAISS does not keep in the file."""
    if kind == "hnsw":
        index.hnsw.efSearch = HNSW_EF_SEARCH  # type: ignore[attr-defined]
    elif kind == "ivf":
        index.nprobe = min(IVF_PROBES, index.nlist)  # type: ignore[attr-defined]


def _versions() -> dict[str, str]:
    names = ("semsearch", "faiss-cpu", "numpy", "sentence-transformers", "onnxruntime", "tokenizers")
    found = {}
    for name in names:
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[name] = metadata.version(name)
    return found


def open_index(index_dir: Path | str) -> Index:
    """Load the current build, verifying every file."""
    index, lease = open_version(Path(index_dir), _read_files)
    index._release = weakref.finalize(index, os.close, lease)
    return index


def _read_files(version: Version) -> Index:
    manifest = version.manifest
    count, dimension = manifest["index"]["count"], manifest["model"]["dimension"]
    records = _read_records(version.path("paragraphs.jsonl"), manifest)
    vectors = _read_vectors(version.path("vectors.npy"), count, dimension)
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


def _read_vectors(path: Path, count: int, dimension: int) -> np.ndarray:
    vectors = np.load(path, allow_pickle=False)
    if not isinstance(vectors, np.ndarray) or vectors.dtype != np.float32 or vectors.shape != (count, dimension):
        raise corrupt(path, f"not {count} × {dimension} float32 vectors")
    if not np.isfinite(vectors).all():
        raise corrupt(path, "holding non-finite values (NaN or infinity)")
    return np.ascontiguousarray(vectors)


def read_faiss(path: Path, kind: str, count: int, dimension: int):
    """A FAISS index checked against the manifest before FAISS parses it (its header: kind, dimension, count,
    metric, and the exact size of a flat one) and after (its class), so a swapped file is refused, not trusted."""
    import faiss

    with os.fdopen(open_regular(path), "rb") as handle:
        header = handle.read(FAISS_HEADER.size)
        size = os.fstat(handle.fileno()).st_size
    if len(header) < FAISS_HEADER.size:
        raise corrupt(path, "truncated")
    fourcc, d, ntotal, _, _, _, metric = FAISS_HEADER.unpack(header)
    payload = count * dimension * 4
    if (fourcc, d, ntotal, metric) != (FAISS_FOURCC[kind], dimension, count, faiss.METRIC_INNER_PRODUCT) or (
        size != FAISS_HEADER.size + 8 + payload if kind == "flat" else size < FAISS_HEADER.size + payload
    ):
        raise corrupt(path, f"not the {kind} index of {count} × {dimension} vectors the manifest describes")
    try:
        index = faiss.read_index(str(path))
    except RuntimeError:
        raise corrupt(path, "unreadable by FAISS") from None
    if type(index).__name__ != FAISS_CLASS[kind] or index.d != dimension or index.ntotal != count:
        raise corrupt(path, f"not the {kind} index of {count} × {dimension} vectors the manifest describes")
    return index


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


def _previous(index_dir: Path, spec: ModelSpec, force: bool) -> Index | None:
    """The index being replaced, if it can donate vectors (same model, same format, intact)."""
    if force:
        return None
    try:
        previous = open_index(index_dir)
    except (IndexMissingError, IndexCorruptError, IndexStaleError, OSError, ValueError):
        return None
    model = previous.manifest["model"]
    same = model["name"] == spec.name and (not spec.sha256 or model["sha256"] == spec.sha256)
    return previous if same else None


def _embed_missing(
    texts: Sequence[str],
    hashes: Sequence[str],
    reusable: dict[str, np.ndarray],
    encoder_factory: Callable[[], Encoder],
    progress: Callable[[int, int], None] | None,
) -> tuple[dict[str, np.ndarray], Encoder | None]:
    """Vectors of the texts whose content hash has no stored vector, each distinct text embedded once."""
    missing: dict[str, str] = {}
    for text, digest in zip(texts, hashes, strict=True):
        if digest not in reusable:
            missing.setdefault(digest, text)
    if not missing:
        return {}, None
    if progress:
        progress(0, len(missing))  # the total is known before the model has loaded
    encoder = encoder_factory()
    done = 0

    def step(count: int) -> None:
        nonlocal done
        done += count
        if progress:
            progress(done, len(missing))

    vectors = encoder.encode(list(missing.values()), progress=step)
    return dict(zip(missing, vectors, strict=True)), encoder


def _stack(vectors: Sequence[np.ndarray]) -> np.ndarray:
    return np.ascontiguousarray(np.vstack(vectors), dtype=np.float32) if vectors else np.zeros((0, 0), np.float32)


def _write_build(
    target: Path,
    corpus: Corpus,
    sources: Sequence[str],
    hashes: Sequence[str],
    vectors: np.ndarray,
    clauses: dict[str, np.ndarray],
    spec: ModelSpec,
    checksum: str,
    config: IndexConfig,
    onnx_source: Path | None,
    encoder: Encoder | None,
) -> tuple[str, dict]:
    import faiss

    paragraphs = corpus.paragraphs
    lines = (
        json.dumps({"hash": h, "paragraph": p.to_dict()}, ensure_ascii=False)
        for p, h in zip(paragraphs, hashes, strict=True)
    )
    fsync_write(target / "paragraphs.jsonl", ("\n".join(lines) + "\n").encode("utf-8"))
    with (target / "vectors.npy").open("wb") as handle:
        np.save(handle, vectors, allow_pickle=False)
    faiss_index, kind = make_faiss_index(vectors, config.index_type, config.approximate_above)
    faiss.write_index(faiss_index, str(target / FAISS_FILE))
    Bm25.build([p.text for p in paragraphs]).save(target / "lexical.npz")
    clause_vectors = _stack(list(clauses.values())).reshape(len(clauses), vectors.shape[1])
    with (target / CLAUSES).open("wb") as handle:
        np.savez(handle, hashes=np.array(list(clauses), dtype="U64"), vectors=clause_vectors)
    query_encoder = _place_query_model(target / QUERY_MODEL, onnx_source, encoder, spec, config)
    files = {}
    for path in sorted(p for p in target.rglob("*") if p.is_file()):
        files[path.relative_to(target).as_posix()] = {"sha256": sha256_file(path), "size": path.stat().st_size}
    manifest = {
        "format": FORMAT_VERSION,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "model": {
            "name": spec.name,
            "sha256": checksum,
            "dimension": int(vectors.shape[1]),
            "normalized": True,
            "query_encoder": query_encoder,
        },
        "index": {"type": kind, "metric": "inner_product", "count": int(vectors.shape[0])},
        "sources": list(sources),
        "documents": {
            d.doc: {
                "path": d.source,
                "sha256": d.sha256,
                "paragraphs": len(d.paragraphs),
                "title": d.meta.title,
                "symbol": d.meta.symbol,
                "date": d.meta.date,
            }
            for d in corpus.documents
        },
        "skipped": [
            {"path": s.path, "reason": s.reason, "sha256": regular_sha256(Path(s.path))} for s in corpus.skipped
        ],
        "files": files,
        "versions": _versions(),
    }
    # ASCII with \u escapes: a file name that is not UTF-8 (held as surrogates) round-trips instead of failing.
    data = json.dumps(manifest, indent=2, ensure_ascii=True).encode("ascii")
    fsync_write(target / "manifest.json", data)
    return hashlib.sha256(data).hexdigest(), manifest


def _place_query_model(
    target: Path, onnx_source: Path | None, encoder: Encoder | None, spec: ModelSpec, config: IndexConfig
) -> str:
    """Reuse the previous build's ONNX export (hard link) or make one; 'sentence-transformers' when none."""
    if not config.export_onnx:
        return "sentence-transformers"
    if onnx_source is not None and (onnx_source / ONNX_MODEL).is_file():
        target.mkdir()
        for file in onnx_source.iterdir():
            try:
                os.link(file, target / file.name)
            except OSError:
                shutil.copy2(file, target / file.name)
        return "onnx"
    st_encoder = encoder if isinstance(encoder, SentenceTransformerEncoder) else SentenceTransformerEncoder(spec)
    return "onnx" if st_encoder.export_onnx(target) else "sentence-transformers"


def build_index(
    paths: Sequence[Path | str],
    index_dir: Path | str,
    config: IndexConfig | None = None,
    progress: Callable[[int, int], None] | None = None,
    encoder: SentenceTransformerEncoder | None = None,
) -> BuildReport:
    """Parse, embed what changed, and atomically publish a new index build.

    Pass an already loaded `encoder` to reuse it across builds (notebooks, benchmarks); otherwise the model named
    in `config` is loaded only if something needs embedding.
    """
    from filelock import FileLock, Timeout

    config = config or IndexConfig()
    started = time.perf_counter()
    index_dir = Path(index_dir)
    sources = [os.path.abspath(p) for p in paths]  # as given, not resolved: a symlinked root is followed each time
    corpus = load_corpus(sources)
    spec = encoder.spec if encoder is not None else resolve_model(config.model)
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(index_dir / LOCK), timeout=config.lock_timeout)
        with lock:
            factory = (lambda: encoder) if encoder is not None else (lambda: SentenceTransformerEncoder(spec))
            return _build_locked(index_dir, corpus, sources, spec, config, progress, started, factory)
    except BuildInterrupted:
        raise
    except KeyboardInterrupt:
        raise BuildInterrupted(f"interrupted; the previous index in {index_dir} is unchanged") from None
    except Timeout:
        raise WriteError(
            f"another build of {index_dir} is still running after {config.lock_timeout:.0f} s; wait and run again"
        ) from None
    except OSError as error:
        raise write_error(index_dir, error) from None


def _build_locked(
    index_dir: Path,
    corpus: Corpus,
    sources: Sequence[str],
    spec: ModelSpec,
    config: IndexConfig,
    progress: Callable[[int, int], None] | None,
    started: float,
    encoder_factory: Callable[[], SentenceTransformerEncoder],
) -> BuildReport:
    remove_leftovers(index_dir)
    previous = _previous(index_dir, spec, config.force)
    paragraphs = corpus.paragraphs
    paragraph_texts = [p.text for p in paragraphs]
    hashes = [content_hash(t) for t in paragraph_texts]
    clauses = clauses_to_embed(paragraph_texts)
    clause_hashes = [content_hash(c) for c in clauses]
    reusable: dict[str, np.ndarray] = {}
    old_by_key: dict[str, str] = {}
    if previous is not None:
        reusable = previous.vectors_by_hash()
        old_by_key = {p.key: h for p, h in zip(previous.paragraphs, previous.hashes, strict=True)}
    fresh, encoder = _embed_missing(
        paragraph_texts + clauses, hashes + clause_hashes, reusable, encoder_factory, progress
    )
    known = reusable | fresh
    vectors = _stack([known[h] for h in hashes])
    clause_vectors = {h: known[h] for h in clause_hashes}
    checksum = (encoder.checksum if encoder else "") or (previous.manifest["model"]["sha256"] if previous else "")
    reused = sum(1 for h in hashes if h in reusable)
    changed = sum(
        1
        for p, h in zip(paragraphs, hashes, strict=True)
        if p.key in old_by_key and old_by_key[p.key] != h and h not in reusable
    )
    keys = {p.key for p in paragraphs}
    stamp = f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{os.getpid()}"
    temporary = index_dir / f".tmp-{stamp}"
    temporary.mkdir()
    try:
        onnx_source = previous.directory / QUERY_MODEL if previous else None
        manifest_sha, manifest = _write_build(
            temporary, corpus, sources, hashes, vectors, clause_vectors, spec, checksum, config, onnx_source, encoder
        )
        fsync_directory(temporary)
        swap_in(index_dir, temporary, stamp, manifest_sha)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    try:
        if previous is not None:
            previous.close()
        remove_old_versions(index_dir, f"v-{stamp}")
    except KeyboardInterrupt:
        raise BuildInterrupted(f"interrupted after the new index in {index_dir} was published") from None
    return BuildReport(
        directory=index_dir,
        documents=len(corpus.documents),
        paragraphs=len(paragraphs),
        new=len(paragraphs) - reused - changed,
        changed=changed,
        reused=reused,
        removed=len(set(old_by_key) - keys),
        index_type=manifest["index"]["type"],
        seconds=time.perf_counter() - started,
        skipped=corpus.skipped,
        warnings=corpus.warnings,
    )


def ensure_index(
    paths: Sequence[Path | str] | None,
    index_dir: Path | str,
    rebuild: bool = True,
    config: IndexConfig | None = None,
    on_rebuild: Callable[[str], None] | None = None,
) -> Index:
    """Open the index, building it from `paths` when there is none, or refreshing it when its corpus changed;
    otherwise say exactly what is wrong.

    A refresh reads only the sources the index was built from (its manifest holds them, and they confine its
    documents), never `paths` nor the current directory. Those sources are read, for the staleness check and the
    rebuild, only when the index is the user's own: its CURRENT and manifest belong to this user and nobody else
    can write them, so no one else chose them; any other index is served as it is, with a note saying why.
    """
    index_dir = Path(index_dir)
    try:
        index = open_index(index_dir)
    except IndexMissingError:
        if not rebuild or not paths:
            raise
        if on_rebuild:
            on_rebuild(f"no index in {index_dir} yet; building it")
        build_index(paths, index_dir, config)
        return open_index(index_dir)
    sources = index.manifest["sources"]
    command = f"semsearch index {' '.join(sources)} --index-dir {index_dir}"
    if reason := foreign_reason(index.version):
        if on_rebuild:
            on_rebuild(f"the index in {index_dir} is not checked for changes because {reason}; to own it: {command}")
        return index
    stale = index.staleness()
    if not stale:
        return index
    if not rebuild:
        raise IndexStaleError(f"the index in {index_dir} is out of date ({stale}); run {command}, or drop --no-rebuild")
    if on_rebuild:
        on_rebuild(f"corpus changed since the index was built ({stale}); updating it from {', '.join(sources)}")
    config = config or IndexConfig(model=index.model_name)
    build_index(sources, index_dir, config)
    return open_index(index_dir)
