"""The nearest-neighbour structures an index can hold (FAISS): exact, HNSW, IVF, and IVF-PQ for corpora whose
exact vectors do not fit in memory, each checked against the manifest before FAISS parses it.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Literal

import numpy as np

from semsearch.storage import (
    corrupt,
    open_regular,
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
