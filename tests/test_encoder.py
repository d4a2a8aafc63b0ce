from __future__ import annotations

import shutil

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from semsearch.encoder import (
    DEFAULT_MODEL,
    DEFAULT_MODEL_SHA256,
    Bf16Encoder,
    OnnxEncoder,
    SentenceTransformerEncoder,
    resolve_model,
    verify_weights,
)
from semsearch.errors import ModelError
from semsearch.index import QUERY_MODEL

TEXTS = [
    "import marking",
    "how long must records be kept?",
    "The Conference may wish to urge States parties to ensure the securing of licensing and authorization of "
    "firearms by adopting biometric or magnetic licences in order to combat counterfeit documents.",
    "Проверка: non-Latin script and emoji 🔫",
]


@pytest.fixture(scope="module")
def st_encoder():
    return SentenceTransformerEncoder(resolve_model(None))


def test_default_model_loads_offline_and_is_pinned(st_encoder):
    assert st_encoder.name == DEFAULT_MODEL
    assert st_encoder.checksum == DEFAULT_MODEL_SHA256
    vectors = st_encoder.encode(TEXTS)
    assert vectors.shape == (4, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_tampered_weights_are_refused(tmp_path):
    source = resolve_model(None).path
    copy = tmp_path / "model"
    shutil.copytree(source, copy)
    weights = copy / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelError, match=r"checksum|sha256"):
        verify_weights(copy, DEFAULT_MODEL_SHA256, DEFAULT_MODEL)
    weights.write_bytes(bytes(data[:1000]))
    with pytest.raises(ModelError, match="truncated"):
        verify_weights(copy, DEFAULT_MODEL_SHA256, DEFAULT_MODEL)


def test_missing_hub_model_fails_fast_with_a_clear_message(monkeypatch):
    import time

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    started = time.perf_counter()
    with pytest.raises(ModelError, match="not installed locally") as error:
        SentenceTransformerEncoder(resolve_model("sentence-transformers/no-such-model-here"))
    assert time.perf_counter() - started < 20
    assert "--model" in str(error.value)


def test_model_path_that_is_not_a_model(tmp_path):
    (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
    with pytest.raises(ModelError, match=r"no model\.safetensors"):
        resolve_model(str(tmp_path))


def test_onnx_export_agrees_with_sentence_transformers(st_encoder, built_index):
    version = (built_index / "CURRENT").read_text().split()[0]
    onnx = OnnxEncoder(built_index / version / QUERY_MODEL, DEFAULT_MODEL, DEFAULT_MODEL_SHA256)
    long_text = " ".join(["marking and tracing of firearms"] * 200)  # past the 256-token limit
    texts = [long_text, *TEXTS]  # longest first: batches are formed by length, results must keep the input order
    agreement = np.sum(onnx.encode(texts) * st_encoder.encode(texts), axis=1)
    assert agreement.min() >= 0.999, agreement


ALPHABET = [*"abcdefghijklmnopqrstuvwxyzÀéßøПроверка中文字日本語🔫.,;:!?()-'\"0123456789", "\u0301", "\ufb01"]


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(0, 2**32 - 1))
def test_cutting_long_texts_before_tokenizing_changes_no_vector(st_encoder, built_index, seed):
    """Words of at most 100 characters, single spaces: the first max_chars characters hold every token the model
    reads, so cutting there (what keeps a 20 MB paragraph from being tokenized whole) gives the same vector."""
    version = (built_index / "CURRENT").read_text().split()[0]
    onnx = OnnxEncoder(built_index / version / QUERY_MODEL, DEFAULT_MODEL, DEFAULT_MODEL_SHA256)
    rng = np.random.default_rng(seed)
    lengths = rng.choice([1, 2, 5, 12, 100], size=3000, p=[0.2, 0.2, 0.3, 0.2, 0.1])
    text = " ".join("".join(rng.choice(ALPHABET, size=n)) for n in lengths)
    bound = onnx.max_chars
    assert len(text) > bound == st_encoder.max_chars
    for encoder in (onnx, st_encoder):
        cut = encoder.encode([text])
        encoder.max_chars = 10**9
        whole = encoder.encode([text])
        encoder.max_chars = bound
        assert np.array_equal(cut, whole)


def test_bulk_encoding_keeps_input_order_across_batches_and_chunks(st_encoder, built_index, monkeypatch):
    """Texts are sorted by token count inside each tokenized chunk and run in small batches; every vector must
    still land on its own text's row, agree with sentence-transformers, and be counted once in the progress."""
    monkeypatch.setattr("semsearch.encoder.TOKENIZE_CHUNK", 7)
    monkeypatch.setattr("semsearch.encoder.ONNX_BATCH", 3)
    version = (built_index / "CURRENT").read_text().split()[0]
    onnx = OnnxEncoder(built_index / version / QUERY_MODEL, DEFAULT_MODEL, DEFAULT_MODEL_SHA256)
    rng = np.random.default_rng(7)
    words = "marking tracing records brokering licences ammunition parts States Conference".split()
    texts = [" ".join(rng.choice(words, size=n)) for n in rng.integers(1, 400, size=23)] + ["", TEXTS[3], TEXTS[3]]
    done: list[int] = []
    vectors = onnx.encode(texts, progress=done.append)
    assert vectors.shape == (len(texts), 384) and sum(done) == len(texts)
    agreement = np.sum(vectors * st_encoder.encode(texts), axis=1)
    assert agreement.min() >= 0.9999, agreement
    assert np.array_equal(vectors[-1], vectors[-2])


def test_a_model_with_a_dense_projection_is_embedded_with_it(st_encoder, tmp_path):
    """The ONNX export holds the transformer and mean pooling only: a model with more (a Dense layer) is not exported,
    so its vectors, built and queried, are the model's own."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Dense, Normalize

    from semsearch.build import IndexConfig, build_index
    from semsearch.index import open_index

    from .conftest import small_corpus

    model = SentenceTransformer(modules=[st_encoder.model[0], st_encoder.model[1], Dense(384, 64), Normalize()])
    model.save(str(tmp_path / "projected"))
    encoder = SentenceTransformerEncoder(resolve_model(str(tmp_path / "projected")))
    assert not encoder.export_onnx(tmp_path / "export")
    build_index([small_corpus(tmp_path / "corpus")], tmp_path / "index", IndexConfig(model=str(tmp_path / "projected")))
    index = open_index(tmp_path / "index")
    expected = encoder.encode([p.text for p in index.paragraphs])
    assert index.vectors.shape == (3, 64) and np.sum(index.vectors * expected, axis=1).min() >= 0.9999
    query = index.query_encoder().encode(["marking of firearms"])
    assert query.shape == (1, 64)


def test_bf16_vectors_agree_with_fp32_and_keep_order(st_encoder, corpus_copy):
    """bf16 autocast (emulated where the CPU has no bf16 hardware, so this runs anywhere) changes the products'
    rounding only: each text's vector stays within cosine 0.9999 of fp32's, on its own row, normalised."""
    from semsearch.corpus import load_corpus

    texts = [p.text for p in load_corpus([corpus_copy]).paragraphs[:40]] + TEXTS
    done: list[int] = []
    vectors = Bf16Encoder(st_encoder).encode(texts, progress=done.append)
    assert vectors.shape == (len(texts), 384) and vectors.dtype == np.float32 and sum(done) == len(texts)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    agreement = np.sum(vectors * st_encoder.encode(texts), axis=1)
    assert agreement.min() >= 0.9999, agreement.min()


@pytest.mark.parametrize(
    ("native", "bf16_above", "expected"),
    [(True, 0, "Bf16Encoder"), (False, 0, "OnnxEncoder"), (True, 100, "OnnxEncoder")],
)
def test_a_build_embeds_in_bf16_only_when_large_and_the_cpu_has_it(
    st_encoder, tmp_path, monkeypatch, native, bf16_above, expected
):
    """Below the size where bf16 pays for loading torch, or on a CPU that would emulate it, a build embeds with
    onnxruntime fp32; either way its vectors agree with the model's fp32 ones."""
    import semsearch.build
    from semsearch.build import IndexConfig, build_index
    from semsearch.index import open_index

    from .conftest import small_corpus

    used: list[str] = []
    for kind in (Bf16Encoder, OnnxEncoder):
        original = kind.encode

        def spy(self, texts, progress=None, original=original, kind=kind):
            used.append(kind.__name__)
            return original(self, texts, progress)

        monkeypatch.setattr(kind, "encode", spy)
    monkeypatch.setattr(semsearch.build, "native_bf16", lambda: native)
    build_index(
        [small_corpus(tmp_path / "corpus")], tmp_path / "index", IndexConfig(bf16_above=bf16_above), encoder=st_encoder
    )
    assert set(used) == {expected}
    index = open_index(tmp_path / "index")
    agreement = np.sum(index.vectors * st_encoder.encode([p.text for p in index.paragraphs]), axis=1)
    assert agreement.min() >= 0.9999
