from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from semsearch.ann import choose_kind, make_faiss_index
from semsearch.build import IndexConfig, build_index, ensure_index
from semsearch.clauses import clauses_to_embed
from semsearch.errors import IndexCorruptError, IndexMissingError, IndexStaleError
from semsearch.index import content_hash, open_index

from .conftest import small_corpus

EXPECTED_FILES = {"manifest.json", "paragraphs.jsonl", "vectors.npy", "faiss.index", "lexical.npz", "clauses.npz"}


def current_dir(index_dir: Path) -> Path:
    return index_dir / (index_dir / "CURRENT").read_text().split()[0]


def test_index_layout_and_manifest(built_index, index):
    version = current_dir(built_index)
    assert {p.name for p in version.iterdir()} >= EXPECTED_FILES
    manifest = json.loads((version / "manifest.json").read_text())
    assert manifest["format"] == 1 and manifest["model"]["dimension"] == 384
    assert manifest["model"]["normalized"] is True and manifest["model"]["query_encoder"] == "onnx"
    assert manifest["model"]["sha256"].startswith("53aa5117")
    assert manifest["index"] == {"type": "flat", "metric": "inner_product", "count": 166}
    (document,) = manifest["documents"].values()
    assert document["paragraphs"] == 166 and len(document["sha256"]) == 64
    assert {"faiss-cpu", "numpy"} <= set(manifest["versions"])
    assert set(manifest["files"]) >= EXPECTED_FILES - {"manifest.json"} | {"query-model/model.onnx"}
    assert len(index.paragraphs) == index.vectors.shape[0] == index.faiss_index.ntotal == 166
    assert len(set(index.hashes)) == 165  # paragraphs 16 and 20 are word for word the same


def test_no_pickle_anywhere():
    source = Path(__file__).resolve().parent.parent / "semsearch"
    text = "\n".join(p.read_text(encoding="utf-8") for p in source.glob("*.py"))
    assert "import pickle" not in text and "allow_pickle=True" not in text


def test_incremental_build_reembeds_only_changes(tmp_path):
    corpus = small_corpus(tmp_path / "corpus")
    first = build_index([corpus], tmp_path / "index")
    assert (first.new, first.changed, first.reused) == (3, 0, 0)
    again = build_index([corpus], tmp_path / "index")
    assert (again.new, again.changed, again.reused) == (0, 0, 3)
    text = (corpus / "small.txt").read_text()
    text = text.replace("at least ten years", "at least twenty years")
    text += "\n4. The Conference may wish to invite States to share tracing data.\n"
    (corpus / "small.txt").write_text(text)
    third = build_index([corpus], tmp_path / "index")
    assert (third.new, third.changed, third.reused, third.removed) == (1, 1, 2, 0)
    assert str(third).startswith("4 paragraphs from 1 document(s): 1 new, 1 changed, 2 reused")
    assert len(versions_on_disk(tmp_path / "index")) == 1, "old builds nobody has open are deleted"


def test_builds_store_clause_vectors_and_reuse_them(tmp_path):
    extra = "\n4. The Conference may wish to urge States to mark imported firearms, and to keep records of imports.\n"
    corpus = small_corpus(tmp_path / "corpus", extra)
    totals: list[int] = []
    build_index([corpus], tmp_path / "index", progress=lambda _, total: totals.append(total))
    index = open_index(tmp_path / "index")
    clauses = clauses_to_embed([p.text for p in index.paragraphs])
    assert len(clauses) == 2 and set(index.clauses) == {content_hash(c) for c in clauses}
    assert totals[-1] == 3 + 2, "three distinct paragraph texts, then the two clauses of the fourth"
    encoded = index.query_encoder().encode(clauses)
    assert np.sum(np.stack([index.clauses[content_hash(c)] for c in clauses]) * encoded, axis=1).min() > 0.999
    index.close()
    again: list[int] = []
    build_index([corpus], tmp_path / "index", progress=lambda _, total: again.append(total))
    assert again == [], "nothing is embedded again, clauses included"


def versions_on_disk(index_dir: Path) -> list[str]:
    return sorted(p.name for p in index_dir.iterdir() if p.name.startswith("v-"))


def test_an_open_index_outlives_later_builds(tmp_path):
    corpus = small_corpus(tmp_path / "corpus")
    build_index([corpus], tmp_path / "index")
    reader = open_index(tmp_path / "index")
    for _ in range(3):
        build_index([corpus], tmp_path / "index", IndexConfig(force=True))
    assert reader.directory.name in versions_on_disk(tmp_path / "index")
    assert len(versions_on_disk(tmp_path / "index")) == 2, "the held build and the current one"
    assert reader.faiss_index.ntotal == 3, "files read lazily are still there"
    assert reader.query_encoder().encode(["marking"]).shape == (1, 384)
    reader.close()
    build_index([corpus], tmp_path / "index", IndexConfig(force=True))
    assert versions_on_disk(tmp_path / "index") == [current_dir(tmp_path / "index").name]


def test_staleness_rebuilds_by_default_and_fails_with_no_rebuild(tmp_path):
    corpus = small_corpus(tmp_path / "corpus")
    build_index([corpus], tmp_path / "index")
    assert not open_index(tmp_path / "index").staleness()
    small_corpus(corpus, extra="\n4. The Conference may wish to recommend stamping.\n")
    (corpus / "second.md").write_text("A new note without numbers.\n", encoding="utf-8")
    stale = open_index(tmp_path / "index").staleness()
    assert stale.changed and stale.added
    with pytest.raises(IndexStaleError, match="out of date") as error:
        ensure_index(None, tmp_path / "index", rebuild=False)
    assert "small.txt" in str(error.value)
    messages: list[str] = []
    refreshed = ensure_index(None, tmp_path / "index", rebuild=True, on_rebuild=messages.append)
    assert len(refreshed.paragraphs) == 5 and "updating" in messages[0]
    assert not refreshed.staleness()


def test_missing_index_is_reported(tmp_path):
    with pytest.raises(IndexMissingError, match="semsearch index"):
        open_index(tmp_path / "nothing-here")


def test_other_model_is_never_mixed(tmp_path):
    corpus = small_corpus(tmp_path / "corpus")
    build_index([corpus], tmp_path / "index")
    manifest_path = current_dir(tmp_path / "index") / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    assert manifest["model"]["name"] == "all-MiniLM-L6-v2"
    with pytest.raises(IndexStaleError, match="format"):
        _rewrite_manifest(tmp_path / "index", {**manifest, "format": 0})
        open_index(tmp_path / "index")


def _rewrite_manifest(index_dir: Path, manifest: dict) -> None:
    """Re-sign a manifest as a real older build would have it (valid checksum, different content)."""
    import hashlib

    version = current_dir(index_dir)
    data = json.dumps(manifest).encode()
    (version / "manifest.json").write_bytes(data)
    (index_dir / "CURRENT").write_text(f"{version.name} {hashlib.sha256(data).hexdigest()}\n")


@pytest.mark.parametrize(
    "name",
    [
        "manifest.json",
        "paragraphs.jsonl",
        "vectors.npy",
        "faiss.index",
        "lexical.npz",
        "clauses.npz",
        "query-model/model.onnx",
        "query-model/tokenizer.json",
        "CURRENT",
    ],
)
@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_corruption_is_detected(tmp_path, built_index, name, damage):
    copy = tmp_path / "index"
    shutil.copytree(built_index, copy)
    target = copy / name if name == "CURRENT" else current_dir(copy) / name
    data = bytearray(target.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    else:
        data[len(data) // 3] ^= 0x40
    target.unlink()  # break the hard link shared with the session's index
    target.write_bytes(bytes(data))
    with pytest.raises(IndexCorruptError, match="rebuild"):
        open_index(copy).query_encoder()


def test_index_types(tmp_path):
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(3000, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    assert choose_kind("auto", 3000, approximate_above=5000, compress_above=10_000) == "flat"
    assert choose_kind("auto", 3000, approximate_above=1000, compress_above=10_000) == "hnsw"
    assert choose_kind("auto", 30_000, approximate_above=1000, compress_above=10_000) == "ivfpq"
    assert choose_kind("ivf", 30, approximate_above=1000, compress_above=10_000) == "ivf"
    _, truth = make_faiss_index(vectors, "flat").search(vectors[:50], 10)
    for kind in ("hnsw", "ivf", "ivfpq"):
        _, found = make_faiss_index(vectors, kind).search(vectors[:50], 10)
        recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, truth, strict=True)])
        assert recall > (0.8 if kind != "ivfpq" else 0.3), kind


def test_hnsw_index_build_and_search(tmp_path):
    corpus = small_corpus(tmp_path / "corpus")
    build_index([corpus], tmp_path / "index", IndexConfig(index_type="hnsw"))
    loaded = open_index(tmp_path / "index")
    assert loaded.manifest["index"]["type"] == "hnsw"
    assert loaded.faiss_index.ntotal == 3


BUILD = (
    "import sys; from semsearch.build import build_index, IndexConfig; "
    "build_index([sys.argv[1]], sys.argv[2], IndexConfig(force=True, lock_timeout=120))"
)


def _build_process(corpus: Path, index_dir: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", BUILD, str(corpus), str(index_dir)], start_new_session=True)


@pytest.mark.slow
def test_build_killed_mid_write_leaves_previous_index(tmp_path):
    corpus = small_corpus(tmp_path / "corpus")
    index_dir = tmp_path / "index"
    build_index([corpus], index_dir)
    before = open_index(index_dir)
    expected = [p.text for p in before.paragraphs]
    started = time.perf_counter()
    assert _build_process(corpus, index_dir).wait() == 0
    duration = time.perf_counter() - started
    rng = np.random.default_rng(7)
    for delay in rng.uniform(0.2, duration, size=20):
        process = _build_process(corpus, index_dir)
        time.sleep(delay)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        survivor = open_index(index_dir)
        assert [p.text for p in survivor.paragraphs] == expected
        assert survivor.query_encoder().encode(["import marking"]).shape == (1, 384)
    report = build_index([corpus], index_dir)
    assert report.reused == 3
    leftovers = [p.name for p in index_dir.iterdir() if p.name.startswith(".tmp-")]
    assert leftovers == []


@pytest.mark.slow
def test_concurrent_builds_take_turns(tmp_path):
    corpus = small_corpus(tmp_path / "corpus")
    index_dir = tmp_path / "index"
    processes = [_build_process(corpus, index_dir) for _ in range(2)]
    assert [p.wait() for p in processes] == [0, 0]
    assert len(open_index(index_dir).paragraphs) == 3


@pytest.fixture(scope="module")
def small_index(tmp_path_factory) -> Path:
    """A small index (with a two-clause paragraph, so clause vectors are stored) that tampering tests copy."""
    root = tmp_path_factory.mktemp("small")
    extra = "\n4. The Conference may wish to urge States to mark imported firearms, and to keep records of imports.\n"
    build_index([small_corpus(root / "corpus", extra)], root / "index")
    return root / "index"


def linked_copy(index_dir: Path, target: Path) -> Path:
    """A copy sharing file contents by hard link: a tampering test replaces a file, never writes into one."""
    shutil.copytree(index_dir, target, copy_function=os.link)
    return target


def resign(index_dir: Path, manifest: object | None = None, **replaced: bytes) -> None:
    """Tamper as someone who can write the index would: replace files (`name=bytes`, dots as `__`), list their new
    sizes and checksums in the manifest (or write `manifest` as given) and point CURRENT at it, all consistent."""
    import hashlib

    version = current_dir(index_dir)
    listed = json.loads((version / "manifest.json").read_bytes())
    for key, data in replaced.items():
        name = key.replace("__", ".")
        (version / name).unlink(missing_ok=True)
        (version / name).write_bytes(data)
        listed["files"][name] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    data = json.dumps(listed if manifest is None else manifest).encode()
    (version / "manifest.json").unlink()
    (version / "manifest.json").write_bytes(data)
    (index_dir / "CURRENT").unlink()
    (index_dir / "CURRENT").write_text(f"{version.name} {hashlib.sha256(data).hexdigest()}\n")


def _npy(array: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _faiss_bytes(vectors: np.ndarray, kind: str) -> bytes:
    import faiss

    index = make_faiss_index(np.ascontiguousarray(vectors, dtype=np.float32), kind)
    return faiss.serialize_index(index).tobytes()


def _manifest(index_dir: Path) -> dict:
    return json.loads((current_dir(index_dir) / "manifest.json").read_bytes())


def _with(manifest: dict, path: str | tuple[str, ...], value: object) -> dict:
    """The manifest with the value at a dotted path (or a path of keys) replaced."""
    copy = json.loads(json.dumps(manifest))
    *parents, last = path.split(".") if isinstance(path, str) else path
    here = copy
    for part in parents:
        here = here[part]
    here[last] = value
    return copy


TAMPERED = {
    "faiss.index of another dimension": lambda d, m, v: resign(d, faiss__index=_faiss_bytes(v[:, :32], "flat")),
    "faiss.index of fewer vectors": lambda d, m, v: resign(d, faiss__index=_faiss_bytes(v[:2], "flat")),
    "hnsw in the manifest over a flat file": lambda d, m, v: resign(d, _with(m, "index.type", "hnsw")),
    "flat in the manifest over an hnsw file": lambda d, m, v: resign(d, faiss__index=_faiss_bytes(v, "hnsw")),
    "vectors.npy of another dimension": lambda d, m, v: resign(d, vectors__npy=_npy(v[:, :32])),
    "1-D vectors": lambda d, m, v: resign(d, vectors__npy=_npy(v.ravel())),
    "float64 vectors": lambda d, m, v: resign(d, vectors__npy=_npy(v.astype(np.float64))),
    "NaN in the vectors": lambda d, m, v: resign(d, vectors__npy=_npy(np.where(v > 0.1, np.nan, v))),
    "manifest []": lambda d, m, v: resign(d, []),
    '"files" a string': lambda d, m, v: resign(d, _with(m, "files", "vectors.npy")),
    "dimension a string": lambda d, m, v: resign(d, _with(m, "model.dimension", "384")),
    "count negative": lambda d, m, v: resign(d, _with(m, "index.count", -1)),
    "a null paragraph record": lambda d, m, v: resign(d, paragraphs__jsonl=b"null\n" * 4),
    "a record without its text": lambda d, m, v: resign(
        d, paragraphs__jsonl=(current_dir(d) / "paragraphs.jsonl").read_bytes().replace(b'"text"', b'"txet"')
    ),
    "vectors.npy not listed": lambda d, m, v: resign(
        d, _with(m, "files", {k: f for k, f in m["files"].items() if k != "vectors.npy"})
    ),
    "../../etc/passwd listed": lambda d, m, v: resign(
        d, _with(m, ("files", "../../etc/passwd"), m["files"]["faiss.index"])
    ),
    "/etc/hostname listed": lambda d, m, v: resign(d, _with(m, ("files", "/etc/hostname"), m["files"]["faiss.index"])),
    "../../dev/zero listed": lambda d, m, v: resign(
        d, _with(m, ("files", "../../dev/zero"), {"sha256": "0" * 64, "size": 1})
    ),
    "a document outside the sources": lambda d, m, v: resign(d, _with(m, "sources", ["/nonexistent/elsewhere"])),
}


@pytest.mark.parametrize("case", list(TAMPERED))
def test_tampered_but_consistent_index_is_one_line_error(tmp_path, small_index, case):
    copy = linked_copy(small_index, tmp_path / "index")
    original = open_index(small_index)
    TAMPERED[case](copy, _manifest(copy), original.vectors)
    with pytest.raises((IndexCorruptError, IndexStaleError)) as error:
        loaded = open_index(copy)
        loaded.faiss_index.search(loaded.vectors[:1], 2)
        loaded.query_encoder().encode(["marking"])
    assert "\n" not in str(error.value) and "rebuild" in str(error.value)


def _replace_with_special(path: Path, kind: str) -> None:
    path.unlink()
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "symlink to /dev/zero":
        path.symlink_to("/dev/zero")
    elif kind == "symlink to /etc/hostname":
        path.symlink_to("/etc/hostname")
    else:
        path.mkdir()


@pytest.mark.parametrize("kind", ["fifo", "symlink to /dev/zero", "symlink to /etc/hostname", "directory"])
@pytest.mark.parametrize("name", ["CURRENT", "manifest.json", "vectors.npy", "faiss.index"])
def test_special_files_in_an_index_are_refused_without_reading(tmp_path, small_index, name, kind):
    """FIFOs, devices and symlinks are refused from their metadata: none is ever opened for reading (no hang)."""
    copy = linked_copy(small_index, tmp_path / "index")
    _replace_with_special(copy / name if name == "CURRENT" else current_dir(copy) / name, kind)
    with pytest.raises(IndexCorruptError) as error:
        open_index(copy).faiss_index  # noqa: B018
    assert "\n" not in str(error.value)


def test_an_unlisted_file_is_never_read(tmp_path, small_index):
    """Only files the manifest lists (and so verified) are read: an unlisted clauses.npz is ignored."""
    copy = linked_copy(small_index, tmp_path / "index")
    manifest = _manifest(copy)
    del manifest["files"]["clauses.npz"]
    resign(copy, manifest)
    (current_dir(copy) / "clauses.npz").unlink()
    (current_dir(copy) / "clauses.npz").write_bytes(b"garbage")
    assert open_index(copy).clauses == {}


def test_a_refresh_reads_the_recorded_sources_not_the_current_directory(tmp_path, monkeypatch):
    docs = small_corpus(tmp_path / "docsA")
    build_index([docs], tmp_path / "I")
    small_corpus(docs, extra="\n4. The Conference may wish to recommend stamping.\n")
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "corpus").mkdir(parents=True)
    (elsewhere / "corpus" / "other.txt").write_text("1. Unrelated.\n\n2. Other text.\n", encoding="utf-8")
    monkeypatch.chdir(elsewhere)
    messages: list[str] = []
    refreshed = ensure_index([Path("corpus")], tmp_path / "I", on_rebuild=messages.append)
    assert {p.doc for p in refreshed.paragraphs} == {"small"} and len(refreshed.paragraphs) == 4
    assert str(docs) in messages[0]
    assert refreshed.manifest["sources"] == [str(docs)]


@pytest.mark.parametrize("who", ["another user", "group-writable manifest"])
def test_an_index_someone_else_could_write_reads_nothing_it_names(tmp_path, monkeypatch, who):
    """Its manifest names what the staleness check and a rebuild read, so only an index nobody else can write is
    checked and rebuilt; another is served as it is, with a note saying why and how to make it one's own."""
    docs = small_corpus(tmp_path / "docs")
    build_index([docs], tmp_path / "I")
    small_corpus(docs, extra="\n4. The Conference may wish to recommend stamping.\n")
    if who == "another user":
        monkeypatch.setattr(os, "geteuid", lambda: 4242)
    else:
        (current_dir(tmp_path / "I") / "manifest.json").chmod(0o664)
    monkeypatch.setattr("semsearch.index.corpus_staleness", lambda manifest: pytest.fail("read its sources"))
    messages: list[str] = []
    served = ensure_index(None, tmp_path / "I", on_rebuild=messages.append)
    assert len(served.paragraphs) == 3, "not rebuilt"
    (message,) = messages
    assert "is not checked for changes because" in message and f"semsearch index {docs} --index-dir" in message
    assert ("belongs to another user" if who == "another user" else "others can write its manifest.json") in message


def test_a_symlinked_corpus_root_is_recorded_as_given(tmp_path):
    for version, words in (("v1", "ten years"), ("v2", "twenty years")):
        small_corpus(tmp_path / version)
        text = (tmp_path / version / "small.txt").read_text().replace("ten years", words)
        (tmp_path / version / "small.txt").write_text(text)
    link = tmp_path / "corpus"
    link.symlink_to("v1")
    build_index([link], tmp_path / "I")
    assert open_index(tmp_path / "I").manifest["sources"] == [str(link)]
    link.unlink()
    link.symlink_to("v2")
    stale = open_index(tmp_path / "I").staleness()
    assert stale.changed == (str(link / "small.txt"),)
    assert "twenty years" in " ".join(p.text for p in ensure_index(None, tmp_path / "I").paragraphs)


def test_documents_whose_stems_collide_are_all_indexed_and_not_stale(tmp_path):
    (tmp_path / "docs").mkdir()
    for name in ("a.md", "a.txt", "a-2.txt"):
        (tmp_path / "docs" / name).write_text(f"1. The {name} first.\n\n2. The {name} second.\n", encoding="utf-8")
    build_index([tmp_path / "docs"], tmp_path / "I")
    index = open_index(tmp_path / "I")
    assert sorted(index.manifest["documents"]) == ["a-2", "a.md", "a.txt"]
    assert not index.staleness()
    ensure_index(None, tmp_path / "I", rebuild=False)


@pytest.fixture
def fuzz(monkeypatch):
    """bench/fuzz_index.py as a module (registered, as its dataclasses need)."""
    import importlib.util

    path = Path(__file__).resolve().parent.parent / "bench" / "fuzz_index.py"
    spec = importlib.util.spec_from_file_location("fuzz_index", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "fuzz_index", module)
    spec.loader.exec_module(module)
    return module


def test_fuzzed_indexes_are_refused_in_one_line_or_answer_as_before(tmp_path, fuzz):
    """100 cases of bench/fuzz_index.py (which runs thousands): mutated manifests, CURRENT, vectors, records, FAISS,
    BM25 and clause files, special files. Each is refused with one line or answers exactly as the original."""
    fuzz.build_bases(tmp_path)
    expected = fuzz.baselines(tmp_path)
    outcomes = [fuzz.run_case(17, case, tmp_path, expected, timeout=60) for case in range(100)]
    assert [o for o in outcomes if o.outcome not in ("refused", "same")] == []
    assert {o.family for o in outcomes} == {"bytes", "manifest", "data", "special", "current", "query-model"}


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_manifest_is_validated_or_refused_in_one_line(small_index, data):
    """The one manifest reader, on a real manifest with any part replaced by any JSON: it returns a manifest whose
    every field the loader reads has the right type, or raises a one-line index error; nothing else escapes."""
    from semsearch.storage import validate_manifest

    manifest = _manifest(small_index)
    places = list(_places(manifest))
    path = data.draw(st.sampled_from(places))
    changed = _with(manifest, path, data.draw(JSON)) if path else data.draw(JSON)
    try:
        checked = validate_manifest(changed, current_dir(small_index) / "manifest.json")
    except (IndexCorruptError, IndexStaleError) as error:
        assert "\n" not in str(error)
        return
    assert isinstance(checked["model"]["dimension"], int) and isinstance(checked["index"]["count"], int)
    assert all(isinstance(f["size"], int) and len(f["sha256"]) == 64 for f in checked["files"].values())


def _places(value: object, prefix: tuple = ()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _places(item, (*prefix, key))
    elif isinstance(value, list):
        for number, item in enumerate(value):
            yield from _places(item, (*prefix, number))


def _numbered_corpus(directory: Path, count: int) -> Path:
    """Paragraphs on many subjects, enough for an IVF-PQ index to have lists and codes to learn."""
    subjects = ["marking", "record-keeping", "brokering", "deactivation", "tracing", "licensing", "transfers"]
    actions = ["urge States to", "encourage States to", "recommend that States", "invite States to"]
    objects = ["imported firearms", "parts and components", "ammunition", "seized weapons", "export licences"]
    lines = [
        f"{n}. The Conference may wish to {actions[n % 4]} review {subjects[n % 7]} rules for {objects[n % 5]}, "
        f"case {n} of the series, at meeting {n % 11}."
        for n in range(1, count + 1)
    ]
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "many.txt").write_text("\n\n".join(lines) + "\n", encoding="utf-8")
    return directory


def test_ivfpq_index_keeps_vectors_on_disk_and_rescores_its_shortlist(tmp_path, monkeypatch):
    from semsearch.search import Searcher

    corpus = _numbered_corpus(tmp_path / "corpus", 400)
    build_index([corpus], tmp_path / "pq", IndexConfig(index_type="ivfpq"))
    build_index([corpus], tmp_path / "flat", IndexConfig(index_type="flat"))
    compressed, exact = open_index(tmp_path / "pq"), open_index(tmp_path / "flat")
    assert compressed.manifest["index"]["type"] == "ivfpq"
    assert type(compressed.faiss_index).__name__ == "IndexIVFPQ" and compressed.faiss_index.ntotal == 400
    assert isinstance(compressed.vectors, np.memmap) and not isinstance(exact.vectors, np.memmap)
    monkeypatch.setattr("semsearch.search.EXHAUSTIVE_UP_TO", 0)  # take the FAISS path a large corpus takes
    for query in ("deactivation of seized weapons", "brokering rules for ammunition", "case 17 of the series"):
        approximate, truth = Searcher(compressed).search(query, k=5), Searcher(exact).search(query, k=5)
        # Re-scored from the exact vectors: the same scores as an exact search, not the codes' approximations.
        assert [h.paragraph.number for h in approximate.hits] == [h.paragraph.number for h in truth.hits]
        assert [h.dense for h in approximate.hits] == pytest.approx([h.dense for h in truth.hits], abs=1e-6)


def test_auto_compresses_above_its_threshold(tmp_path):
    corpus = _numbered_corpus(tmp_path / "corpus", 60)
    report = build_index([corpus], tmp_path / "index", IndexConfig(approximate_above=10, compress_above=50))
    assert report.index_type == "ivfpq" and open_index(tmp_path / "index").manifest["index"]["type"] == "ivfpq"


def test_an_ivfpq_file_swapped_for_another_kind_is_refused(tmp_path):
    corpus = _numbered_corpus(tmp_path / "corpus", 60)
    build_index([corpus], tmp_path / "pq", IndexConfig(index_type="ivfpq"))
    build_index([corpus], tmp_path / "ivf", IndexConfig(index_type="ivf"))
    pq_version, ivf_version = open_index(tmp_path / "pq").directory, open_index(tmp_path / "ivf").directory
    manifest = json.loads((pq_version / "manifest.json").read_text())
    shutil.copyfile(ivf_version / "faiss.index", pq_version / "faiss.index")
    entry = manifest["files"]["faiss.index"]
    data = (pq_version / "faiss.index").read_bytes()
    entry["size"], entry["sha256"] = len(data), hashlib.sha256(data).hexdigest()
    text = json.dumps(manifest, indent=2).encode()
    (pq_version / "manifest.json").write_bytes(text)
    (tmp_path / "pq" / "CURRENT").write_text(f"{pq_version.name} {hashlib.sha256(text).hexdigest()}\n")
    with pytest.raises(IndexCorruptError, match="not the ivfpq index"):
        _ = open_index(tmp_path / "pq").faiss_index


def test_an_incremental_build_embeds_without_torch(tmp_path):
    """Once an index holds the ONNX export, new paragraphs are embedded by onnxruntime: torch and
    sentence-transformers (5–7 s to import) are never loaded."""
    corpus = small_corpus(tmp_path / "corpus")
    build_index([corpus], tmp_path / "index")
    small_corpus(corpus, extra="\n4. The Conference may wish to recommend that States trace illicit ammunition.\n")
    script = (
        "import sys; from semsearch.build import build_index; "
        "report = build_index([sys.argv[1]], sys.argv[2]); "
        "print(report.new, report.reused, 'torch' in sys.modules, 'sentence_transformers' in sys.modules)"
    )
    output = subprocess.run(
        [sys.executable, "-c", script, str(corpus), str(tmp_path / "index")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert output == ["1", "3", "False", "False"]
