"""Embed the 198,037 scale paragraphs once (all-MiniLM-L6-v2 through its ONNX export) into bench/.cache/.

Takes about 90 minutes on 2 cores; every scale benchmark reads the cached vectors. Resumable: finished chunks
are kept, so an interrupted run continues where it stopped.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import CACHE, scale_texts

from semsearch.encoder import SentenceTransformerEncoder, resolve_model

CHUNK = 8192


def main() -> None:
    texts = scale_texts()
    CACHE.mkdir(parents=True, exist_ok=True)
    export = CACHE / "onnx"
    if not (export / "model.onnx").exists():
        SentenceTransformerEncoder(resolve_model(None)).export_onnx(export)
    from semsearch.encoder import OnnxEncoder

    encoder = OnnxEncoder(export, "all-MiniLM-L6-v2", "", threads=2)
    started = time.perf_counter()
    parts = []
    for number, start in enumerate(range(0, len(texts), CHUNK)):
        part = CACHE / f"part-{number:03d}.npy"
        if not part.exists():
            chunk = texts[start : start + CHUNK]
            order = np.argsort([len(t) for t in chunk])
            vectors = np.empty((len(chunk), 384), dtype=np.float32)
            vectors[order] = encoder.encode([chunk[i] for i in order])
            with tempfile.NamedTemporaryFile(dir=CACHE, suffix=".npy", delete=False) as handle:
                np.save(handle, vectors)
            Path(handle.name).replace(part)
            rate = (start + len(chunk)) / (time.perf_counter() - started)
            print(f"{start + len(chunk)}/{len(texts)} ({rate:.0f} paragraphs/s so far)", file=sys.stderr, flush=True)
        parts.append(part)
    vectors = np.vstack([np.load(p) for p in parts])
    np.save(CACHE / "scale-vectors.npy", vectors)
    for part in parts:
        part.unlink()
    print(f"saved {vectors.shape} to {CACHE / 'scale-vectors.npy'}")


if __name__ == "__main__":
    main()
