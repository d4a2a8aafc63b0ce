"""The Ray engine: a build's embedding run as a Ray Data pipeline over an actor pool of ONNX encoders, on an
existing cluster (`address`) or a local one started for the build.

Each actor receives the export's files through the object store, not a path, so workers need not share the
driver's disk; each runs onnxruntime on one CPU. Rows carry their position, so the vectors come back in input
order whatever order the pool finishes in. Everything else about a build (hashing, reuse, files, atomic swap,
locks) stays in `semsearch.build`, so both engines produce the same index.
"""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from semsearch.encoder import available_cores
from semsearch.errors import EngineError

# Ray's usage statistics are collected unless this is set before ray starts; nothing here may phone home.
os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
RAY_BATCH = 256  # texts per Ray Data block handed to an actor
INSTALL_HINT = "pip install 'semsearch[ray]'"


def _ray():
    try:
        import ray
    except ImportError:
        raise EngineError(f"the ray engine needs Ray: {INSTALL_HINT}") from None
    return ray


class _ActorEncoder:
    """One encoder per actor, built from the export's files written to the worker's own temporary directory."""

    def __init__(self, files: list) -> None:
        import ray

        from semsearch.encoder import OnnxEncoder

        contents: dict[str, bytes] = ray.get(files[0])
        self._directory = tempfile.TemporaryDirectory(prefix="semsearch-ray-")
        for name, data in contents.items():
            (Path(self._directory.name) / name).write_bytes(data)
        self.encoder = OnnxEncoder(Path(self._directory.name), "ray", "", threads=1)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        vectors = self.encoder.encode([str(t) for t in batch["text"]])
        return {"position": batch["position"], "vector": vectors}


class RayEncoder:
    """The Encoder protocol over a Ray cluster; `dimension` is read from the export before any cluster starts."""

    def __init__(self, onnx_dir: Path, name: str, checksum: str, address: str | None = None) -> None:
        self._ray = _ray()
        from semsearch.encoder import OnnxEncoder

        local = OnnxEncoder(onnx_dir, name, checksum, threads=1)
        self.name, self.checksum, self.dimension = name, checksum, local.dimension
        self.address = address
        self._files = {f.name: f.read_bytes() for f in sorted(onnx_dir.iterdir()) if f.is_file()}

    def encode(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        vectors = np.empty((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return vectors
        started_here = self._connect()
        try:
            ray = self._ray
            context = ray.data.DataContext.get_current()
            context.enable_progress_bars = False
            context.print_on_execution_start = False
            logging.getLogger("ray.data").setLevel(logging.ERROR)  # no per-dataset lines between the build's own
            actors = max(1, int(ray.cluster_resources().get("CPU", 1)))
            files = [ray.put(self._files)]
            items = [{"position": i, "text": t} for i, t in enumerate(texts)]
            blocks = min(len(items), max(actors, len(items) // RAY_BATCH))
            with warnings.catch_warnings():
                # Ray Data's deprecation and tuning notes say nothing a user of semsearch can act on
                warnings.simplefilter("ignore")
                dataset = ray.data.from_items(items, override_num_blocks=blocks).map_batches(
                    _ActorEncoder,
                    fn_constructor_kwargs={"files": files},
                    batch_size=RAY_BATCH,
                    batch_format="numpy",
                    compute=ray.data.ActorPoolStrategy(size=actors),
                    num_cpus=1,
                    max_restarts=0,  # a lost actor fails the build, which leaves the previous index in place
                )
                for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
                    vectors[batch["position"]] = batch["vector"]
                    if progress:
                        progress(len(batch["position"]))
        finally:
            if started_here:
                self._ray.shutdown()
        return vectors

    def _connect(self) -> bool:
        """Join the named cluster (or the one this process already joined); else start a local one. True when it
        was started here, so the build shuts it down afterwards."""
        ray = self._ray
        if ray.is_initialized():
            return False
        quiet = {"include_dashboard": False, "log_to_driver": False, "logging_level": "ERROR"}
        if self.address is None:
            ray.init(address="local", num_cpus=available_cores(), **quiet)  # never join a cluster found on disk
            return True
        try:
            ray.init(address=self.address, **quiet)
        except Exception as error:  # Ray reports an unreachable cluster in several exception types
            message = " ".join(str(error).split())[:200]
            raise EngineError(f"cannot reach the Ray cluster at {self.address}: {message}") from None
        return False
