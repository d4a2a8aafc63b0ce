"""Bulk encoding on the 20k scale sample, every engine in one run: plain `SentenceTransformer.encode` (the
baseline), the same model under bf16 autocast (what a large local build uses on a CPU with bf16 hardware),
onnxruntime on the exported model in fp32 (what a build uses elsewhere) and int8 (dynamic quantisation, measured,
not adopted), a whole `build_index` with the local engine, and the Ray engine on a local cluster.

Each measurement runs in its own process, so its peak memory is its own; runs alternate engine by engine, and the
reported time is the median of `--runs`. Vectors are compared with the baseline's (cosine per text). The bf16 and
int8 vectors are also scored on the labelled sets (tests/data: search nDCG@10, duplicate precision and recall),
beside fp32.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import ROOT, corpus_texts, save, scale_texts, score

ENGINES = ("torch", "torch-bf16", "onnx-fp32", "onnx-int8", "build-local", "ray")


def own_peak_mib() -> float:
    """This process's own peak resident memory (VmHWM restarts at exec, unlike ru_maxrss, which a child inherits
    from the parent that forked it)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def quantize(export: Path, target: Path) -> Path:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    shutil.copytree(export, target)
    quantize_dynamic(
        str(export / "model.onnx"), str(target / "model.onnx"), weight_type=QuantType.QInt8, per_channel=True
    )
    return target


def write_numbered(texts: list[str], directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    body = "\n\n".join(f"{n}. {' '.join(t.split())}" for n, t in enumerate(texts, start=1))
    (directory / "scale.txt").write_text(body + "\n", encoding="utf-8")
    return directory


def one(engine: str, workspace: Path) -> dict:
    """One timed encoding in this process; vectors saved for the parent to compare."""
    texts = json.loads((workspace / "texts.json").read_text(encoding="utf-8"))
    from semsearch.encoder import Bf16Encoder, OnnxEncoder, SentenceTransformerEncoder, resolve_model

    started = time.perf_counter()
    if engine == "torch":
        model = SentenceTransformerEncoder(resolve_model(None)).model
        loaded = time.perf_counter()
        vectors = model.encode(texts, normalize_embeddings=True)
    elif engine == "torch-bf16":
        bf16 = Bf16Encoder(SentenceTransformerEncoder(resolve_model(None)))
        loaded = time.perf_counter()
        vectors = bf16.encode(texts)
    elif engine in ("onnx-fp32", "onnx-int8"):
        encoder = OnnxEncoder(workspace / ("export" if engine == "onnx-fp32" else "int8"), "m", "")
        loaded = time.perf_counter()
        vectors = encoder.encode(texts)
    elif engine == "ray":
        from semsearch.ray_engine import RayEncoder

        encoder = RayEncoder(workspace / "export", "m", "", None)
        loaded = time.perf_counter()
        vectors = encoder.encode(texts)
    else:
        from semsearch.build import build_index
        from semsearch.index import open_index

        loaded = started
        shutil.rmtree(workspace / "index", ignore_errors=True)
        build_index([workspace / "corpus"], workspace / "index")
        index = open_index(workspace / "index")
        by_text = {p.text: v for p, v in zip(index.paragraphs, index.vectors, strict=True)}
        # A text the parser reads differently (a merged or re-joined paragraph) has no row to compare: NaN.
        missing = np.full(index.vectors.shape[1], np.nan, dtype=np.float32)
        vectors = np.array([by_text.get(" ".join(t.split()), missing) for t in texts])
    seconds = time.perf_counter() - loaded
    np.save(workspace / f"{engine}.npy", np.asarray(vectors, dtype=np.float32))
    return {"seconds": seconds, "with_loading_s": time.perf_counter() - started, "peak_rss_mib": own_peak_mib()}


def labelled_quality(workspace: Path, engines: list[str]) -> dict:
    """Each reduced-precision engine against fp32 on the labelled sets: the bundled corpus's index, its paragraph
    and clause vectors (and FAISS index) swapped. bf16 keeps the index's fp32 query model, as a build does; int8
    queries with the int8 model, as adopting it would."""
    from semsearch.build import build_index
    from semsearch.encoder import Bf16Encoder, OnnxEncoder, SentenceTransformerEncoder, resolve_model
    from semsearch.index import open_index

    build_index([ROOT / "corpus"], workspace / "bundled")
    index = open_index(workspace / "bundled")
    paragraphs, clauses = corpus_texts(index)
    results = {"fp32": score(workspace / "bundled", None, None, None)}
    encoders = {
        "torch-bf16": (lambda: Bf16Encoder(SentenceTransformerEncoder(resolve_model(None))), False),
        "onnx-int8": (lambda: OnnxEncoder(workspace / "int8", index.model_name, ""), True),
    }
    for engine, (load, queries_too) in encoders.items():
        if engine in engines:
            encoder = load()
            vectors = encoder.encode(paragraphs + [c for _, c in clauses])
            split = len(paragraphs)
            results[engine] = score(
                workspace / "bundled", encoder if queries_too else None, vectors[:split], vectors[split:]
            )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, default=20_000, help="scale paragraphs to encode (default 20,000)")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--name", default="index_throughput", help="results file name (bench/results/NAME.json)")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--workspace", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.one:
        print(json.dumps(one(arguments.one, Path(arguments.workspace))))
        return
    engines = arguments.engines.split(",")
    workspace = Path(tempfile.mkdtemp(prefix="semsearch-throughput-"))
    try:
        texts = scale_texts(arguments.scale)
        (workspace / "texts.json").write_text(json.dumps(texts), encoding="utf-8")
        write_numbered(texts, workspace / "corpus")
        from semsearch.encoder import SentenceTransformerEncoder, resolve_model

        started = time.perf_counter()
        SentenceTransformerEncoder(resolve_model(None)).export_onnx(workspace / "export")
        export_seconds = time.perf_counter() - started
        quantize(workspace / "export", workspace / "int8")
        runs: dict[str, list[dict]] = {e: [] for e in engines}
        for _ in range(arguments.runs):
            for engine in engines:
                command = [sys.executable, __file__, "--one", engine, "--workspace", str(workspace)]
                output = subprocess.run(command, check=True, capture_output=True, text=True, env=os.environ).stdout
                runs[engine].append(json.loads(output.strip().splitlines()[-1]))
                print(engine, runs[engine][-1], flush=True)
        baseline = np.load(workspace / "torch.npy") if "torch" in engines else None
        base_seconds = statistics.median(r["seconds"] for r in runs["torch"]) if "torch" in engines else None
        results = {}
        for engine in engines:
            seconds = statistics.median(r["seconds"] for r in runs[engine])
            row = {
                "median_s": round(seconds, 1),
                "texts_per_s": round(len(texts) / seconds, 1),
                "peak_rss_mib": round(max(r["peak_rss_mib"] for r in runs[engine])),
                "with_loading_s": round(statistics.median(r["with_loading_s"] for r in runs[engine]), 1),
            }
            if baseline is not None and base_seconds:
                cosines = np.einsum("ij,ij->i", baseline, np.load(workspace / f"{engine}.npy"))
                cosines = cosines[np.isfinite(cosines)]
                row |= {
                    "speedup_vs_torch": round(base_seconds / seconds, 2),
                    "compared": len(cosines),
                    "cosine_min": round(float(cosines.min()), 6),
                    "cosine_mean": round(float(cosines.mean()), 6),
                }
            results[engine] = row
        data = {
            "texts": len(texts),
            "runs": arguments.runs,
            "cores": len(os.sched_getaffinity(0)),
            "onnx_export_s": round(export_seconds, 1),
            "engines": results,
            "labelled_sets": labelled_quality(workspace, engines),
        }
        print(save(arguments.name, data).read_text())
    finally:
        shutil.rmtree(workspace, ignore_errors=True)


if __name__ == "__main__":
    main()
