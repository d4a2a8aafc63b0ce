"""Index build throughput against plain SentenceTransformer.encode on the same texts, in the same run.

Both sides share one loaded model, so the ratio is the toolkit's own overhead (parsing, hashing, FAISS, BM25,
writing and verifying files). The ONNX export, a one-off per model, is timed separately. Runs alternate
(toolkit, plain, toolkit, …) so background load hits both alike.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from common import ROOT, peak_rss_mib, save, scale_texts

from semsearch import IndexConfig, build_index
from semsearch.encoder import SentenceTransformerEncoder, resolve_model


def write_numbered(texts: list[str], directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    body = "\n\n".join(f"{n}. {' '.join(t.split())}" for n, t in enumerate(texts, start=1))
    (directory / "scale.txt").write_text(body + "\n", encoding="utf-8")
    return directory


def measure(name: str, corpus: Path, encoder: SentenceTransformerEncoder, runs: int) -> dict:
    from semsearch import load_corpus

    texts = [p.text for p in load_corpus([corpus]).paragraphs]
    toolkit, plain = [], []
    for _ in range(runs):
        target = Path(tempfile.mkdtemp(prefix="semsearch-throughput-"))
        started = time.perf_counter()
        build_index([corpus], target, IndexConfig(export_onnx=False, force=True), encoder=encoder)
        toolkit.append(time.perf_counter() - started)
        shutil.rmtree(target)
        started = time.perf_counter()
        encoder.model.encode(texts, batch_size=encoder.batch_size, normalize_embeddings=True)
        plain.append(time.perf_counter() - started)
    best_toolkit, best_plain = sorted(toolkit)[len(toolkit) // 2], sorted(plain)[len(plain) // 2]
    return {
        "corpus": name,
        "paragraphs": len(texts),
        "runs": runs,
        "toolkit_median_s": round(best_toolkit, 3),
        "plain_encode_median_s": round(best_plain, 3),
        "toolkit_paragraphs_per_s": round(len(texts) / best_toolkit, 1),
        "plain_paragraphs_per_s": round(len(texts) / best_plain, 1),
        "overhead_percent": round(100 * (best_toolkit / best_plain - 1), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, default=20_000, help="scale paragraphs to index (default 20,000)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scale-runs", type=int, default=1)
    arguments = parser.parse_args()
    encoder = SentenceTransformerEncoder(resolve_model(None))
    results = [measure("bundled", ROOT / "corpus", encoder, arguments.runs)]
    workspace = Path(tempfile.mkdtemp(prefix="semsearch-scale-"))
    if arguments.scale:
        corpus = write_numbered(scale_texts(arguments.scale), workspace / "corpus")
        results.append(measure(f"scale-{arguments.scale}", corpus, encoder, arguments.scale_runs))
    started = time.perf_counter()
    encoder.export_onnx(workspace / "onnx")
    export_seconds = time.perf_counter() - started
    shutil.rmtree(workspace, ignore_errors=True)
    data = {"results": results, "onnx_export_s": round(export_seconds, 2), "peak_rss_mib": round(peak_rss_mib())}
    print(save("index_throughput", data).read_text())


if __name__ == "__main__":
    main()
