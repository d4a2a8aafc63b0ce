"""The nearest-neighbour structures an index can hold (FAISS): exact, HNSW, IVF, and IVF-PQ for corpora whose
exact vectors do not fit in memory, each checked against the manifest before FAISS parses it.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Literal, get_args

import numpy as np

from semsearch.storage import (
    corrupt,
    open_regular,
)

IndexType = Literal["auto", "flat", "hnsw", "ivf", "ivfpq"]
INDEX_TYPES: tuple[str, ...] = get_args(IndexType)
APPROXIMATE_ABOVE = 50_000
# Above this many paragraphs `auto` compresses: a loaded HNSW index holds every float32 vector twice over (its own
# copy and the index's) plus its graph, about 3.2 KB a paragraph (bench/scale_ann.py at 198k: 342 MiB of HNSW and
# 290 MiB of vectors), 3 GB at a million; IVF-PQ holds about 72 bytes (13.6 MiB) and re-scores from disk.
COMPRESS_ABOVE = 1_000_000
HNSW_NEIGHBOURS = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128
IVF_PROBES = 32
IVFPQ_PROBES = 48
PQ_DIMENSIONS_PER_CODE = 8  # one byte per 8 dimensions: 48 bytes for a 384-d vector
TRAINING_SAMPLE = 262_144  # vectors the coarse and product quantisers learn from; the rest are only added
ADD_CHUNK = 65_536  # rows added at a time, so vectors memory-mapped from disk are never read in whole
FAISS_FILE = "faiss.index"
# What `faiss.write_index` starts each kind of index with, and the class `faiss.read_index` must return for it.
FAISS_FOURCC = {"flat": b"IxFI", "hnsw": b"IHNf", "ivf": b"IwFl", "ivfpq": b"IwPQ"}
FAISS_CLASS = {"flat": "IndexFlatIP", "hnsw": "IndexHNSWFlat", "ivf": "IndexIVFFlat", "ivfpq": "IndexIVFPQ"}
FAISS_HEADER = struct.Struct("<4siqqq?i")  # fourcc, d, ntotal, two reserved, is_trained, metric


def choose_kind(kind: IndexType, count: int, approximate_above: int, compress_above: int) -> str:
    if kind != "auto":
        return kind
    if count > compress_above:
        return "ivfpq"
    return "hnsw" if count > approximate_above else "flat"


def make_faiss_index(vectors: np.ndarray, kind: str):
    """An inner-product index (cosine on normalised vectors); `vectors` may be memory-mapped, and is read in
    chunks: a sample to train on, then blocks to add."""
    import faiss

    count, dimension = vectors.shape
    if kind == "flat":
        index = faiss.IndexFlatIP(dimension)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dimension, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
    elif kind in ("ivf", "ivfpq"):
        lists = max(1, min(int(4 * np.sqrt(count)), count // 39 or 1))
        quantizer = faiss.IndexFlatIP(dimension)
        if kind == "ivf":
            index = faiss.IndexIVFFlat(quantizer, dimension, lists, faiss.METRIC_INNER_PRODUCT)
        else:
            index = faiss.IndexIVFPQ(quantizer, dimension, lists, _codes(dimension), _code_bits(count))
            index.metric_type = faiss.METRIC_INNER_PRODUCT
            index.pq.cp.min_points_per_centroid = 1  # a small corpus trains fewer codes; no warning on stderr
        index.cp.min_points_per_centroid = 1
        index.train(_training_sample(vectors))
        apply_search_parameters(index, kind)
    else:
        raise ValueError(f"unknown index type {kind!r}; choose {', '.join(INDEX_TYPES)}")
    for start in range(0, count, ADD_CHUNK):
        index.add(np.ascontiguousarray(vectors[start : start + ADD_CHUNK], dtype=np.float32))
    return index


def _codes(dimension: int) -> int:
    """Sub-quantisers: one per PQ_DIMENSIONS_PER_CODE dimensions, as many as divide the dimension evenly."""
    return next(m for m in range(max(1, dimension // PQ_DIMENSIONS_PER_CODE), 0, -1) if dimension % m == 0)


def _code_bits(count: int) -> int:
    """Eight bits per code (256 centroids per sub-space) once there are enough vectors to learn them."""
    return int(np.clip(np.floor(np.log2(max(count, 2) / 4)), 1, 8))


def _training_sample(vectors: np.ndarray) -> np.ndarray:
    count = len(vectors)
    if count <= TRAINING_SAMPLE:
        return np.ascontiguousarray(vectors, dtype=np.float32)
    rows = np.sort(np.random.default_rng(0).choice(count, TRAINING_SAMPLE, replace=False))
    return np.ascontiguousarray(vectors[rows], dtype=np.float32)


def apply_search_parameters(index: object, kind: str) -> None:
    """Search-time knobs FAISS does not keep in the file."""
    if kind == "hnsw":
        index.hnsw.efSearch = HNSW_EF_SEARCH  # type: ignore[attr-defined]
    elif kind in ("ivf", "ivfpq"):
        probes = IVF_PROBES if kind == "ivf" else IVFPQ_PROBES
        index.nprobe = min(probes, index.nlist)  # type: ignore[attr-defined]


def _least_bytes(kind: str, count: int, dimension: int) -> int:
    """What a file of this kind must hold at least: every vector, or for IVF-PQ every code and id."""
    if kind == "ivfpq":
        return count * (_codes(dimension) * _code_bits(count) // 8 + 8)
    return count * dimension * 4


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
    payload = _least_bytes(kind, count, dimension)
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
