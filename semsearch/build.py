"""How an index is made: parse, embed only the texts no stored vector covers, write every file into a temporary
version and swap it in atomically (`semsearch.storage`); and when a loaded index must be refreshed, from what.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Literal, get_args

import numpy as np

from semsearch.ann import (
    APPROXIMATE_ABOVE,
    COMPRESS_ABOVE,
    FAISS_FILE,
    IndexType,
    choose_kind,
    make_faiss_index,
)
from semsearch.clauses import clauses_to_embed
from semsearch.corpus import Corpus, Skipped, load_corpus
from semsearch.encoder import (
    ONNX_MODEL,
    Bf16Encoder,
    Encoder,
    ModelSpec,
    OnnxEncoder,
    SentenceTransformerEncoder,
    native_bf16,
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
from semsearch.index import (
    Index,
    content_hash,
    open_index,
)
from semsearch.lexical import Bm25
from semsearch.storage import (
    CLAUSES,
    FORMAT_VERSION,
    LOCK,
    QUERY_MODEL,
    foreign_reason,
    fsync_directory,
    fsync_write,
    regular_sha256,
    remove_leftovers,
    remove_old_versions,
    swap_in,
    write_error,
)

Engine = Literal["local", "ray"]
ENGINES: tuple[str, ...] = get_args(Engine)
WRITE_BLOCK = 65_536  # vectors copied into the new version's file at a time
# Texts to embed above which a local build runs in bf16 where the CPU has it: loading torch (~6 s, when the
# build has not loaded it for an export) costs what bf16 saves on about 4,000 texts.
BF16_ABOVE = 4_000


@dataclass(frozen=True)
class IndexConfig:
    """How to build: which model, which FAISS index, whether to export the ONNX query model (which also embeds the
    build, 1.5× faster than torch), which engine embeds: this process, or a Ray cluster (`ray_address`, or a local
    one when None), and above how many texts to embed this process uses bf16 where the CPU has it."""

    model: str | None = None
    index_type: IndexType = "auto"
    approximate_above: int = APPROXIMATE_ABOVE
    compress_above: int = COMPRESS_ABOVE
    export_onnx: bool = True
    force: bool = False
    lock_timeout: float = 600.0
    engine: Engine = "local"
    ray_address: str | None = None
    bf16_above: int = BF16_ABOVE


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


def _versions() -> dict[str, str]:
    names = ("semsearch", "faiss-cpu", "numpy", "sentence-transformers", "onnxruntime", "tokenizers")
    found = {}
    for name in names:
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[name] = metadata.version(name)
    return found


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


class _Models:
    """The models a build needs, each loaded only when first needed: the query model placed in the new version
    (the previous build's, hard-linked, or a fresh ONNX export), and the encoder that embeds what is missing."""

    def __init__(
        self,
        spec: ModelSpec,
        config: IndexConfig,
        target: Path,
        previous: Index | None,
        load: Callable[[], SentenceTransformerEncoder],
    ) -> None:
        self.spec, self.config, self.target, self.previous, self._load = spec, config, target, previous, load
        self._torch: SentenceTransformerEncoder | None = None
        self._query_encoder: str | None = None

    def torch_model(self) -> SentenceTransformerEncoder:
        if self._torch is None:
            self._torch = self._load()
        return self._torch

    @property
    def checksum(self) -> str:
        if self._torch is not None and self._torch.checksum:
            return self._torch.checksum
        return self.previous.manifest["model"]["sha256"] if self.previous else self.spec.sha256

    def query_encoder(self) -> str:
        """Put the query model in place once; 'onnx', or 'sentence-transformers' when there is none."""
        if self._query_encoder is None:
            self._query_encoder = self._place()
        return self._query_encoder

    def _place(self) -> str:
        if not self.config.export_onnx:
            return "sentence-transformers"
        source = self.previous.directory / QUERY_MODEL if self.previous else None
        if source is not None and (source / ONNX_MODEL).is_file():
            self.target.mkdir()
            for file in source.iterdir():
                try:
                    os.link(file, self.target / file.name)
                except OSError:
                    shutil.copy2(file, self.target / file.name)
            return "onnx"
        return "onnx" if self.torch_model().export_onnx(self.target) else "sentence-transformers"

    def bulk_encoder(self, count: int) -> Encoder:
        """The encoder for `count` texts: on Ray, onnxruntime on every actor; here, bf16 torch for a large build on
        a CPU with bf16 hardware, else onnxruntime, else (no export) fp32 torch."""
        onnx = self.query_encoder() == "onnx"
        if self.config.engine == "ray":
            if not onnx:
                raise ModelError(f"the ray engine runs the model's ONNX export, and '{self.spec.name}' has none")
            from semsearch.ray_engine import RayEncoder

            return RayEncoder(self.target, self.spec.name, self.checksum, self.config.ray_address)
        if count > self.config.bf16_above and native_bf16():
            return Bf16Encoder(self.torch_model())
        if onnx:
            return OnnxEncoder(self.target, self.spec.name, self.checksum)
        return self.torch_model()


def _embed_missing(
    texts: Sequence[str],
    hashes: Sequence[str],
    reusable: dict[str, np.ndarray],
    models: _Models,
    progress: Callable[[int, int], None] | None,
) -> dict[str, np.ndarray]:
    """Vectors of the texts whose content hash has no stored vector, each distinct text embedded once."""
    missing: dict[str, str] = {}
    for text, digest in zip(texts, hashes, strict=True):
        if digest not in reusable:
            missing.setdefault(digest, text)
    if not missing:
        return {}
    if progress:
        progress(0, len(missing))  # the total is known before the model has loaded
    encoder = models.bulk_encoder(len(missing))
    done = 0

    def step(count: int) -> None:
        nonlocal done
        done += count
        if progress:
            progress(done, len(missing))

    vectors = encoder.encode(list(missing.values()), progress=step)
    return dict(zip(missing, vectors, strict=True))


def _write_vectors(path: Path, rows: Sequence[np.ndarray]) -> np.ndarray:
    """The paragraph vectors written row block by row block into a memory-mapped .npy file, so a build never holds
    them twice (the stored ones are themselves memory-mapped from the previous version when it is compressed)."""
    dimension = len(rows[0]) if rows else 0
    vectors = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(len(rows), dimension))
    for start in range(0, len(rows), WRITE_BLOCK):
        block = rows[start : start + WRITE_BLOCK]
        vectors[start : start + len(block)] = np.vstack(block)
    vectors.flush()
    return vectors


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
    config: IndexConfig,
    models: _Models,
) -> tuple[str, dict]:
    import faiss

    paragraphs = corpus.paragraphs
    lines = (
        json.dumps({"hash": h, "paragraph": p.to_dict()}, ensure_ascii=False)
        for p, h in zip(paragraphs, hashes, strict=True)
    )
    fsync_write(target / "paragraphs.jsonl", ("\n".join(lines) + "\n").encode("utf-8"))
    kind = choose_kind(config.index_type, len(vectors), config.approximate_above, config.compress_above)
    faiss_index = make_faiss_index(vectors, kind)
    faiss.write_index(faiss_index, str(target / FAISS_FILE))
    Bm25.build([p.text for p in paragraphs]).save(target / "lexical.npz")
    clause_vectors = _stack(list(clauses.values())).reshape(len(clauses), vectors.shape[1])
    with (target / CLAUSES).open("wb") as handle:
        np.savez(handle, hashes=np.array(list(clauses), dtype="U64"), vectors=clause_vectors)
    query_encoder = models.query_encoder()
    files = {}
    for path in sorted(p for p in target.rglob("*") if p.is_file()):
        files[path.relative_to(target).as_posix()] = {"sha256": sha256_file(path), "size": path.stat().st_size}
    manifest = {
        "format": FORMAT_VERSION,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "model": {
            "name": spec.name,
            "sha256": models.checksum,
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


def build_index(
    paths: Sequence[Path | str],
    index_dir: Path | str,
    config: IndexConfig | None = None,
    progress: Callable[[int, int], None] | None = None,
    encoder: SentenceTransformerEncoder | None = None,
) -> BuildReport:
    """Parse, embed what changed, and atomically publish a new index build.

    Pass an already loaded sentence-transformers `encoder` to reuse it across builds (notebooks, benchmarks) for
    the ONNX export, or for embedding a model that has none; otherwise the model named in `config` is loaded only
    when the new version needs an export (none to reuse from the previous one) or something must be embedded.
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
        models = _Models(spec, config, temporary / QUERY_MODEL, previous, encoder_factory)
        fresh = _embed_missing(paragraph_texts + clauses, hashes + clause_hashes, reusable, models, progress)
        known = reusable | fresh
        vectors = _write_vectors(temporary / "vectors.npy", [known[h] for h in hashes])
        clause_vectors = {h: known[h] for h in clause_hashes}
        manifest_sha, manifest = _write_build(
            temporary, corpus, sources, hashes, vectors, clause_vectors, spec, config, models
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
