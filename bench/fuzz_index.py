"""Fuzzing the index loader: thousands of mutated index directories, each of which must either be refused with a
one-line SemsearchError or answer exactly as the original did; a traceback, a hang or another answer is a failure.

Mutations: bytes of any file (manifest, CURRENT, vectors, records, FAISS, BM25, clauses, query model) changed
without re-signing; the manifest's JSON changed (values, keys, file names, sources) and re-signed; data files
replaced by others of the wrong shape, type or content and re-signed; files swapped for FIFOs, symlinks,
devices and directories. Cases run in worker processes, each bounded by a watchdog, so a crash or hang in native
code is seen too.

    python bench/fuzz_index.py --cases 4000      # writes bench/results/fuzz_index.json (about 2 minutes)
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import random
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
CORPUS_TEXT = (
    "I. Marking\n\nA. Recommendations adopted by the Working Group at its first meeting, held in Vienna on 21 and 22 "
    "May 2012\n\n1. The Conference may wish to urge States parties to mark imported firearms.\n\n"
    "2. The Conference may wish to encourage States to keep records for at least ten years.\n\n"
    "B. Recommendations adopted by the Working Group at its second meeting, held in Vienna from 26 to 28 May 2014\n\n"
    "3. The Conference may wish to urge States parties to mark imported firearms.\n\n"
    "4. The Conference may wish to urge States to mark imported firearms, and to keep records of imports.\n"
)
QUERY = "mark imported firearms and keep records"
DATA_FILES = ("paragraphs.jsonl", "vectors.npy", "faiss.index", "lexical.npz", "clauses.npz")
QUERY_MODEL_FILES = ("query-model/onnx.json", "query-model/tokenizer.json", "query-model/model.onnx")
ODD_VALUES: tuple[object, ...] = (
    None, [], {}, "", "x", -1, 0, 1, 2**70, 1.5, True, False, "../../etc/passwd", "/etc/hostname", "../../dev/zero",
    "x" * 5000, [None], {"a": 1}, "hnsw", "ivf", "flat", "0" * 64,
)  # fmt: skip
ODD_NAMES = (
    "../../etc/passwd", "/etc/hostname", "../../dev/zero", "query-model/../../x", "a/../vectors.npy", "", ".",
    "x\x00y", "vectors.npy/", "//vectors.npy", "../CURRENT", "query-model", "CURRENT", "manifest.json",
)  # fmt: skip
ODD_SOURCES = ("corpus", "/dev/zero", "/nonexistent", "/tmp/../etc", "/etc/", "", "/x\x00y")


@dataclass(frozen=True)
class Outcome:
    """What one mutated index did: refused (one line), same (answered as the original), or a failure."""

    case: int
    family: str
    mutation: str
    outcome: str
    detail: str = ""


@dataclass(frozen=True)
class Mutation:
    family: str
    description: str
    apply: Callable[[Path], None]
    onnx: bool = False  # needs the base with an ONNX query model


def build_bases(workspace: Path) -> None:
    """Two small real indexes, with and without the ONNX query model (hashing it makes every case slower)."""
    from semsearch.build import IndexConfig, build_index

    (workspace / "corpus").mkdir(parents=True, exist_ok=True)
    (workspace / "corpus" / "small.txt").write_text(CORPUS_TEXT, encoding="utf-8")
    build_index([workspace / "corpus"], workspace / "plain", IndexConfig(export_onnx=False))
    build_index([workspace / "corpus"], workspace / "onnx")


def _version(index_dir: Path) -> Path:
    return index_dir / (index_dir / "CURRENT").read_text().split()[0]


def answer(index_dir: Path, with_encoder: bool) -> dict:
    """Everything a user can get from an index without a model load: lexical and dense ranking (on a stored
    vector), FAISS neighbours, the paragraphs, clauses, staleness, duplicates; and the query encoder's vector."""
    from semsearch.dedup import find_duplicates
    from semsearch.index import open_index
    from semsearch.search import Searcher

    index = open_index(index_dir)
    try:
        query = index.vectors[0]
        _, ids = index.faiss_index.search(query[None, :], 3)
        result = {
            "paragraphs": [(p.key, p.text, p.lines) for p in index.paragraphs],
            "lexical": [
                (h.paragraph.key, round(h.score, 5)) for h in Searcher(index).search(QUERY, mode="lexical").hits
            ],
            "dense": np.argsort(-(index.vectors @ query), kind="stable").tolist(),
            "faiss": ids.tolist(),
            "clauses": sorted(index.clauses),
            "stale": str(index.staleness()),
            "duplicates": [(p.a.key, p.b.key, round(p.score, 4)) for p in find_duplicates(index).pairs],
        }
        if with_encoder:
            result["encoded"] = np.round(index.query_encoder().encode([QUERY])[0], 5).tolist()
        return result
    finally:
        index.close()


def _replace(path: Path, data: bytes) -> None:
    """Never write into a file: the case directory shares its files with the base by hard link."""
    path.unlink(missing_ok=True)
    path.write_bytes(data)


def _resign(index_dir: Path, manifest_bytes: bytes | None = None, **files: bytes) -> None:
    """Replace data files and list them with matching sizes and checksums; write the manifest (or the given
    bytes) and point CURRENT at it: a tampered index that is consistent with itself."""
    version = _version(index_dir)
    manifest = json.loads((version / "manifest.json").read_bytes())
    for name, data in files.items():
        _replace(version / name, data)
        manifest["files"][name] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    data = manifest_bytes if manifest_bytes is not None else json.dumps(manifest).encode()
    _replace(version / "manifest.json", data)
    _replace(index_dir / "CURRENT", f"{version.name} {hashlib.sha256(data).hexdigest()}\n".encode())


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _npz(**arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _paths(value: object, prefix: tuple = ()) -> Iterator[tuple]:
    """Every place in a JSON value, as a tuple of keys and indexes."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for number, item in enumerate(value):
            yield from _paths(item, (*prefix, number))


def _set(value: object, path: tuple, new: object) -> object:
    if not path:
        return new
    copy = json.loads(json.dumps(value))
    here = copy
    for key in path[:-1]:
        here = here[key]
    here[path[-1]] = new
    return copy


def _delete(value: object, path: tuple) -> object:
    copy = json.loads(json.dumps(value))
    here = copy
    for key in path[:-1]:
        here = here[key]
    del here[path[-1]]
    return copy


def _harmless(path: tuple) -> bool:
    """Places whose change a valid index may legitimately answer differently for, so not mutations to judge:
    dropping clauses.npz (older builds lack it), the model's name and checksum (checked only when a model loads),
    a document's checksum (a valid one makes it stale, as it should)."""
    return path[:2] in (("files", "clauses.npz"), ("model", "name"), ("model", "sha256")) or (
        len(path) == 3 and path[0] == "documents" and path[2] == "sha256"
    )


def manifest_mutation(rng: random.Random, manifest: dict) -> tuple[str, Callable[[Path], None]]:
    places = [p for p in _paths(manifest) if not _harmless(p)]
    choice = rng.randrange(7)
    if choice == 0:
        path, value = rng.choice(places), rng.choice(ODD_VALUES)
        return f"set {path!r} to {value!r:.40}", lambda d: _resign(d, json.dumps(_set(manifest, path, value)).encode())
    if choice == 1:
        path = rng.choice([p for p in places if p])
        return f"delete {path!r}", lambda d: _resign(d, json.dumps(_delete(manifest, path)).encode())
    if choice == 2:
        name = rng.choice(ODD_NAMES)
        entry = rng.choice([{"sha256": "0" * 64, "size": 1}, manifest["files"]["faiss.index"]])
        changed = _set(manifest, ("files", name), entry)
        return f"list {name!r}", lambda d: _resign(d, json.dumps(changed).encode())
    if choice == 3:
        sources = [*manifest["sources"], rng.choice(ODD_SOURCES)] if rng.random() < 0.5 else [rng.choice(ODD_SOURCES)]
        return f"sources {sources!r}", lambda d: _resign(d, json.dumps(_set(manifest, ("sources",), sources)).encode())
    if choice == 4:
        text = json.dumps(manifest)
        cut = rng.randrange(len(text))
        raw = rng.choice([text[:cut], text.replace("384", "1e999", 1), "[" * 100_000 + "]" * 100_000, "NaN", "\xff"])
        return f"raw text {raw[:30]!r}", lambda d: _resign(d, raw.encode("utf-8", "surrogateescape"))
    if choice == 5:
        first, second = rng.sample([p for p in places if p], 2)
        a, b = _get(manifest, first), _get(manifest, second)
        swapped = _set(_set(manifest, first, b), second, a) if not _nested(first, second) else manifest
        return f"swap {first!r} and {second!r}", lambda d: _resign(d, json.dumps(swapped).encode())
    extra = _set(manifest, (rng.choice(["note", "x"]),), rng.choice(ODD_VALUES))
    return "an extra key (ignored: must answer the same)", lambda d: _resign(d, json.dumps(extra).encode())


def _get(value: object, path: tuple) -> object:
    for key in path:
        value = value[key]  # type: ignore[index]
    return value


def _nested(a: tuple, b: tuple) -> bool:
    return a[: len(b)] == b or b[: len(a)] == a


def data_mutation(rng: random.Random, base: Path) -> tuple[str, Callable[[Path], None]]:
    """A data file replaced by one of the wrong shape, type or content, and re-signed."""
    version = _version(base)
    vectors = np.load(version / "vectors.npy")
    records = (version / "paragraphs.jsonl").read_bytes().split(b"\n")[:-1]
    d = vectors.shape[1]
    import faiss

    from semsearch.ann import make_faiss_index

    def faiss_bytes(v: np.ndarray, kind: str) -> bytes:
        return faiss.serialize_index(make_faiss_index(np.ascontiguousarray(v, np.float32), kind)).tobytes()

    flat = (version / "faiss.index").read_bytes()
    options: dict[str, Callable[[], dict[str, bytes]]] = {
        "vectors of another dimension": lambda: {"vectors.npy": _npy(vectors[:, : rng.randrange(1, d)])},
        "vectors 1-D": lambda: {"vectors.npy": _npy(vectors.ravel())},
        "vectors 3-D": lambda: {"vectors.npy": _npy(vectors[None])},
        "vectors float64": lambda: {"vectors.npy": _npy(vectors.astype(np.float64))},
        "vectors float16": lambda: {"vectors.npy": _npy(vectors.astype(np.float16))},
        "vectors int": lambda: {"vectors.npy": _npy(vectors.astype(np.int32))},
        "vectors with NaN": lambda: {"vectors.npy": _npy(np.where(vectors > 0.05, np.nan, vectors))},
        "vectors with inf": lambda: {"vectors.npy": _npy(np.where(vectors > 0.05, np.inf, vectors))},
        "one vector more": lambda: {"vectors.npy": _npy(np.vstack([vectors, vectors[:1]]))},
        "one vector fewer": lambda: {"vectors.npy": _npy(vectors[:-1])},
        "vectors an object array header": lambda: {"vectors.npy": _npy(vectors).replace(b"'<f4'", b"'|O' ", 1)},
        "faiss of another dimension": lambda: {"faiss.index": faiss_bytes(vectors[:, :8], "flat")},
        "faiss of fewer vectors": lambda: {"faiss.index": faiss_bytes(vectors[:1], "flat")},
        "faiss hnsw for flat": lambda: {"faiss.index": faiss_bytes(vectors, "hnsw")},
        "faiss ivf for flat": lambda: {"faiss.index": faiss_bytes(np.vstack([vectors] * 20), "ivf")},
        "faiss header only": lambda: {"faiss.index": flat[:37]},
        "faiss huge count": lambda: {"faiss.index": flat[:8] + (2**40).to_bytes(8, "little") + flat[16:]},
        "faiss garbage after its header": lambda: {"faiss.index": flat[:37] + rng.randbytes(len(flat) - 37)},
        "faiss random": lambda: {"faiss.index": rng.randbytes(len(flat))},
        "a null record": lambda: {"paragraphs.jsonl": b"\n".join([b"null", *records[1:]]) + b"\n"},
        "a list record": lambda: {"paragraphs.jsonl": b"\n".join([b"[]", *records[1:]]) + b"\n"},
        "a record without text": lambda: {
            "paragraphs.jsonl": b"\n".join(records).replace(b'"text"', b'"t"', 1) + b"\n"
        },
        "a record number as int": lambda: {
            "paragraphs.jsonl": b"\n".join(records).replace(b'"number": "1"', b'"number": 1', 1) + b"\n"
        },
        "a record with lines null": lambda: {
            "paragraphs.jsonl": b"\n".join(records).replace(b'"lines": [', b'"lines": null, "x": [', 1) + b"\n"
        },
        "a record of another document": lambda: {
            "paragraphs.jsonl": b"\n".join(records).replace(b'"doc": "small"', b'"doc": "other"', 1) + b"\n"
        },
        "one record more": lambda: {"paragraphs.jsonl": b"\n".join([*records, records[0]]) + b"\n"},
        "one record fewer": lambda: {"paragraphs.jsonl": b"\n".join(records[:-1]) + b"\n"},
        "records without a final newline": lambda: {"paragraphs.jsonl": b"\n".join(records)},
        "a record of invalid JSON": lambda: {"paragraphs.jsonl": b"\n".join([b"{", *records[1:]]) + b"\n"},
        "a record nested 100,000 deep": lambda: {
            "paragraphs.jsonl": b"\n".join([b"[" * 100_000 + b"]" * 100_000, *records[1:]]) + b"\n"
        },
        "records not UTF-8": lambda: {"paragraphs.jsonl": b"\n".join([b"\xff\xfe", *records[1:]]) + b"\n"},
        "lexical pointers out of range": lambda: _lexical(version, pointers=lambda p: p * 1000),
        "lexical documents out of range": lambda: _lexical(version, documents=lambda x: x + 99),
        "lexical weights NaN": lambda: _lexical(version, weights=lambda w: w * np.nan),
        "lexical terms repeated": lambda: _lexical(version, terms=lambda t: np.array([t[0]] * len(t))),
        "lexical count wrong": lambda: _lexical(version, n_documents=lambda c: c + 1),
        "lexical pointers float": lambda: _lexical(version, pointers=lambda p: p.astype(np.float64)),
        "lexical array missing": lambda: {"lexical.npz": _npz(terms=np.array(["a"]))},
        "clauses of another dimension": lambda: _clauses(version, vectors=lambda v: v[:, :8]),
        "clauses hashes not hex": lambda: _clauses(version, hashes=lambda h: np.array(["zz"] * len(h))),
        "clauses one vector fewer": lambda: _clauses(version, vectors=lambda v: v[:-1]),
        "clauses with NaN": lambda: _clauses(version, vectors=lambda v: v * np.nan),
        "clauses hashes 2-D": lambda: _clauses(version, hashes=lambda h: h[None]),
    }
    name = rng.choice(sorted(options))
    return name, lambda index_dir: _resign(index_dir, None, **options[name]())


def _lexical(version: Path, **changes: Callable[[np.ndarray], np.ndarray]) -> dict[str, bytes]:
    with np.load(version / "lexical.npz") as data:
        arrays = {k: data[k] for k in data.files}
    for key, change in changes.items():
        arrays[key] = change(arrays[key])
    return {"lexical.npz": _npz(**arrays)}


def _clauses(version: Path, **changes: Callable[[np.ndarray], np.ndarray]) -> dict[str, bytes]:
    with np.load(version / "clauses.npz") as data:
        arrays = {k: data[k] for k in data.files}
    for key, change in changes.items():
        arrays[key] = change(arrays[key])
    return {"clauses.npz": _npz(**arrays)}


def query_model_mutation(rng: random.Random) -> tuple[str, Callable[[Path], None]]:
    configs: list[object] = [
        {"inputs": ["input_ids"], "max_tokens": 0, "pooling": "mean"},
        {"inputs": ["input_ids", "attention_mask", "token_type_ids"], "max_tokens": -1, "pooling": "mean"},
        {"inputs": ["nope"], "max_tokens": 256, "pooling": "mean"},
        {"inputs": [], "max_tokens": 256, "pooling": "mean"},
        {"inputs": ["input_ids", "attention_mask", "token_type_ids"], "max_tokens": "256", "pooling": "mean"},
        {"inputs": ["input_ids", "attention_mask", "token_type_ids"], "max_tokens": 256, "pooling": "cls"},
        {"inputs": ["input_ids", "attention_mask"], "max_tokens": 256, "pooling": "mean"},
        [],
        None,
    ]
    choice = rng.randrange(3)
    if choice == 0:
        config = rng.choice(configs)
        return f"onnx.json {config!r:.60}", lambda d: _resign(
            d, None, **{"query-model/onnx.json": json.dumps(config).encode()}
        )
    if choice == 1:
        garbage = rng.choice([b"{}", b"not json", b'{"model": null}', rng.randbytes(200)])
        return f"tokenizer.json {garbage[:20]!r}", lambda d: _resign(d, None, **{"query-model/tokenizer.json": garbage})
    data = rng.choice([b"", rng.randbytes(1000), b"\x08\x07" * 50])
    return f"model.onnx {data[:10]!r}", lambda d: _resign(d, None, **{"query-model/model.onnx": data})


def bytes_mutation(rng: random.Random, onnx: bool) -> tuple[str, Callable[[Path], None]]:
    """Bytes changed without re-signing: the checksums must catch every one."""
    names = ["CURRENT", "manifest.json", *DATA_FILES, *(QUERY_MODEL_FILES[:2] if onnx else ())]
    name = rng.choice(names)
    operation = rng.choice(["flip", "truncate", "append", "zero", "random", "delete", "empty"])

    def apply(index_dir: Path) -> None:
        path = index_dir / name if name == "CURRENT" else _version(index_dir) / name
        data = bytearray(path.read_bytes())
        if operation == "flip" and data:
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        elif operation == "truncate":
            data = data[: rng.randrange(len(data) or 1)]
        elif operation == "append":
            data += rng.randbytes(rng.randrange(1, 100))
        elif operation == "zero":
            data = bytearray(len(data))
        elif operation == "random":
            data = bytearray(rng.randbytes(len(data)))
        elif operation == "empty":
            data = bytearray()
        if operation == "delete":
            path.unlink()
        else:
            _replace(path, bytes(data))

    return f"{operation} {name}", apply


def special_mutation(rng: random.Random) -> tuple[str, Callable[[Path], None]]:
    """A file, CURRENT or the version directory replaced by something that is not a regular file."""
    name = rng.choice(["CURRENT", "manifest.json", "vectors.npy", "faiss.index", "paragraphs.jsonl", "version"])
    kind = rng.choice(["fifo", "/dev/zero", "/etc/hostname", "directory", "symlink to a copy", "/dev/null"])

    def apply(index_dir: Path) -> None:
        version = _version(index_dir)
        path = index_dir / name if name == "CURRENT" else version if name == "version" else version / name
        if name == "version":
            moved = index_dir / "elsewhere"
            version.rename(moved)
            path.symlink_to(moved if kind == "symlink to a copy" else kind if kind.startswith("/") else moved)
            return
        copy = index_dir / f"copy-of-{path.name}"
        shutil.copyfile(path, copy)
        path.unlink()
        if kind == "fifo":
            os.mkfifo(path)
        elif kind == "directory":
            path.mkdir()
        elif kind == "symlink to a copy":
            path.symlink_to(copy)
        else:
            path.symlink_to(kind)

    return f"{name} as {kind}", apply


def current_mutation(rng: random.Random) -> tuple[str, Callable[[Path], None]]:
    texts = [
        "v-nothing " + "0" * 64, "../v-x " + "0" * 64, "v-../../etc " + "0" * 64, "", "\n\n", "v-x", "x" * 300,
        "v-a b c", "\xff\xfe", "v-a " + "g" * 64,
    ]  # fmt: skip
    text = rng.choice(texts)

    def apply(index_dir: Path) -> None:
        version = _version(index_dir).name
        sha = (index_dir / "CURRENT").read_text().split()[1]
        chosen = text.replace("v-nothing", version) if rng.random() < 0.3 else text
        _replace(index_dir / "CURRENT", (chosen if "0" * 64 not in chosen else chosen.replace("0" * 64, sha)).encode(
            "utf-8", "surrogateescape"))  # fmt: skip

    return f"CURRENT {text[:20]!r}", apply


def mutation(seed: int, case: int, bases: Path) -> Mutation:
    """Case `case`'s mutation: chosen and parameterised from (seed, case) alone, so any case can be re-run."""
    rng = random.Random(f"{seed}-{case}")
    onnx = rng.random() < 0.12
    base = bases / ("onnx" if onnx else "plain")
    manifest = json.loads((_version(base) / "manifest.json").read_bytes())
    family = rng.choices(["bytes", "manifest", "data", "special", "current", "query-model"], [3, 4, 3, 2, 1, 1])[0]
    if family == "query-model":
        onnx = True
        manifest = json.loads((_version(bases / "onnx") / "manifest.json").read_bytes())
    generate: dict[str, Callable[[], tuple[str, Callable[[Path], None]]]] = {
        "bytes": lambda: bytes_mutation(rng, onnx),
        "manifest": lambda: manifest_mutation(rng, manifest),
        "data": lambda: data_mutation(rng, base),
        "special": lambda: special_mutation(rng),
        "current": lambda: current_mutation(rng),
        "query-model": lambda: query_model_mutation(rng),
    }
    description, apply = generate[family]()
    return Mutation(family, description, apply, onnx)


class _Timeout(Exception):
    pass


@contextlib.contextmanager
def watchdog(seconds: int) -> Iterator[None]:
    """Raise in Python code that runs longer than this (native code that never returns is the parent's job)."""

    def expire(signum: int, frame: object) -> None:
        raise _Timeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def run_case(seed: int, case: int, bases: Path, baselines: dict[bool, dict], timeout: int) -> Outcome:
    from semsearch.errors import SemsearchError

    chosen = mutation(seed, case, bases)
    with tempfile.TemporaryDirectory(prefix="fuzz-case-") as scratch:
        target = Path(scratch) / "index"
        shutil.copytree(bases / ("onnx" if chosen.onnx else "plain"), target, copy_function=os.link, symlinks=True)
        try:
            with watchdog(timeout):
                chosen.apply(target)
                got = answer(target, chosen.onnx)
        except SemsearchError as error:
            text = str(error)
            outcome = "refused" if "\n" not in text and text else "refused with more than one line"
            return Outcome(case, chosen.family, chosen.description, outcome, text[:200])
        except _Timeout:
            return Outcome(case, chosen.family, chosen.description, "hang", f"over {timeout} s")
        except BaseException as error:  # a traceback is what the fuzzer looks for
            where = traceback.extract_tb(error.__traceback__)[-1]
            detail = f"{type(error).__name__}: {str(error)[:120]} at {Path(where.filename).name}:{where.lineno}"
            return Outcome(case, chosen.family, chosen.description, "crash", detail)
    same = got == baselines[chosen.onnx]
    return Outcome(case, chosen.family, chosen.description, "same" if same else "wrong answer")


def baselines(bases: Path) -> dict[bool, dict]:
    return {False: answer(bases / "plain", False), True: answer(bases / "onnx", True)}


def worker(seed: int, start: int, stop: int, bases: Path, timeout: int) -> None:
    """Run cases start..stop-1, one JSON line each, flushed: the parent sees how far a dying worker got."""
    expected = baselines(bases)
    for case in range(start, stop):
        print(json.dumps(asdict(run_case(seed, case, bases, expected, timeout))), flush=True)


def run_all(seed: int, cases: int, bases: Path, timeout: int) -> list[Outcome]:
    """Cases in worker processes; a worker that stops answering or dies takes only its current case with it."""
    outcomes: list[Outcome] = []
    next_case = 0
    while next_case < cases:
        command = [sys.executable, __file__, "--worker", "--seed", str(seed), "--start", str(next_case),
                   "--stop", str(cases), "--bases", str(bases), "--timeout", str(timeout)]  # fmt: skip
        process = subprocess.Popen(command, stdout=subprocess.PIPE, start_new_session=True)
        lines = _LineReader(process.stdout.fileno())  # type: ignore[union-attr]
        wait = timeout + 120  # the first case also waits for imports and the baselines
        while next_case < cases:
            line = lines.next(wait)
            wait = timeout + 15
            if line is None:
                chosen = mutation(seed, next_case, bases)
                alive = process.poll() is None
                if alive:
                    os.killpg(process.pid, signal.SIGKILL)
                outcome = "hang" if alive else f"worker died (exit {process.wait()})"
                outcomes.append(Outcome(next_case, chosen.family, chosen.description, outcome))
                next_case += 1
                break
            outcomes.append(Outcome(**json.loads(line)))
            next_case = outcomes[-1].case + 1
        process.stdout.close()  # type: ignore[union-attr]
        process.wait()
    return outcomes


class _LineReader:
    """Lines from a pipe with a timeout: reads the descriptor itself, so no line waits unseen in a buffer."""

    def __init__(self, descriptor: int) -> None:
        self.descriptor = descriptor
        self.pending = b""

    def next(self, timeout: float) -> str | None:
        while b"\n" not in self.pending:
            ready, _, _ = select.select([self.descriptor], [], [], timeout)
            chunk = os.read(self.descriptor, 1 << 16) if ready else b""
            if not chunk:
                return None
            self.pending += chunk
        line, self.pending = self.pending.split(b"\n", 1)
        return line.decode("utf-8")


def summary(outcomes: list[Outcome], seconds: float, command: str) -> dict:
    by_family: dict[str, Counter[str]] = {}
    for o in outcomes:
        by_family.setdefault(o.family, Counter())[o.outcome] += 1
    failures = [asdict(o) for o in outcomes if o.outcome not in ("refused", "same")]
    return {
        "command": command,
        "cases": len(outcomes),
        "seconds": round(seconds, 1),
        "outcomes": dict(Counter(o.outcome for o in outcomes)),
        "by_family": {family: dict(counts) for family, counts in sorted(by_family.items())},
        "failures": len(failures),
        "first_failures": failures[:40],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--timeout", type=int, default=30, help="seconds a case may take")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--start", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--stop", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--bases", type=Path, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.worker:
        worker(arguments.seed, arguments.start, arguments.stop, arguments.bases, arguments.timeout)
        return
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="semsearch-fuzz-index-") as workspace:
        build_bases(Path(workspace))
        outcomes = run_all(arguments.seed, arguments.cases, Path(workspace), arguments.timeout)
    command = f"python bench/fuzz_index.py --cases {arguments.cases} --seed {arguments.seed}"
    result = summary(outcomes, time.perf_counter() - started, command)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "fuzz_index.json").write_text(json.dumps(result, indent=2, ensure_ascii=True) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in result.items() if k != "first_failures"}, indent=2))
    if result["failures"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
