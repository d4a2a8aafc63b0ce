"""Versioned, atomically swapped storage of index builds: the layout, the CURRENT pointer, verified manifests.

Layout of an index directory::

    CURRENT            "<version> <sha256 of its manifest.json>", replaced atomically
    v-<stamp>/         one complete build, every file listed in its manifest.json with its size and sha256
    .lock              held while building, so concurrent builds take turns

A build writes into `.tmp-<stamp>/`, renames it to `v-<stamp>/` and only then points CURRENT at it, so a build
killed at any moment leaves the previous index answering. Every file's sha256 is in the manifest and checked on
load, so a truncated or altered file is reported instead of being read. An open version holds a shared lock
(flock) on its manifest for as long as it lives, and a build deletes only old versions nobody holds, so files
read lazily are still there however many builds happen meanwhile. What the files hold is `semsearch.index`'s
business.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from semsearch.errors import IndexCorruptError, IndexMissingError, IndexStaleError, WriteError

FORMAT_VERSION = 1
CURRENT = "CURRENT"
LOCK = ".lock"
MANIFEST = "manifest.json"
QUERY_MODEL = "query-model"
CLAUSES = "clauses.npz"
REQUIRED_FILES = frozenset({"paragraphs.jsonl", "vectors.npy", "faiss.index", "lexical.npz"})
QUERY_MODEL_FILES = frozenset(f"{QUERY_MODEL}/{name}" for name in ("model.onnx", "onnx.json", "tokenizer.json"))
MAX_CURRENT_BYTES = 256
MAX_MANIFEST_BYTES = 256 * 2**20
MAX_DIMENSION = 65_536
MAX_COUNT = 2**31 - 1
_HEX64 = re.compile(r"[0-9a-f]{64}")
T = TypeVar("T")


def fsync_write(path: Path, data: bytes) -> None:
    """Write and flush to disk; never group- or world-writable, whatever the umask (see `foreign_reason`)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def fsync_directory(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def check_replaceable(path: Path) -> None:
    """Refuse to rename a new file over anything but a regular file: a device node, FIFO or directory would be
    replaced by a file, and a symbolic link by a file where its target was meant."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if stat.S_ISLNK(mode):
        raise WriteError(f"{path} is a symbolic link; not replacing it (remove it or write elsewhere)")
    if not stat.S_ISREG(mode):
        raise WriteError(f"{path} exists and is not a regular file; not replacing it (write elsewhere)")


def corrupt(path: Path, what: str) -> IndexCorruptError:
    return IndexCorruptError(
        f"index file {path.name} is {what}; rebuild it with: semsearch index --force --index-dir {path.parent.parent}"
    )


def open_regular(path: Path) -> int:
    """A descriptor on a regular file, never a FIFO, device or symbolic link: opened non-blocking and without
    following a final symlink, then checked on the descriptor itself, so nothing can be swapped in between."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise corrupt(path, "a symbolic link, not a regular file") from None
        if isinstance(error, FileNotFoundError):
            raise
        raise corrupt(path, f"unreadable ({error.strerror or error})") from None
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise corrupt(path, "not a regular file")
    return descriptor


def read_regular(path: Path, limit: int) -> bytes:
    """The whole of a regular file of at most `limit` bytes."""
    descriptor = open_regular(path)
    with os.fdopen(descriptor, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise corrupt(path, f"larger than {limit} bytes")
    return data


def _size_and_sha256(path: Path) -> tuple[int, str]:
    descriptor = open_regular(path)
    digest = hashlib.sha256()
    with os.fdopen(descriptor, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return size, digest.hexdigest()


def regular_sha256(path: Path) -> str | None:
    """The checksum of a regular file; None when it is missing, unreadable or not a regular file (never blocks)."""
    try:
        return _size_and_sha256(path)[1]
    except (OSError, IndexCorruptError):
        return None


def foreign_reason(version: Version) -> str | None:
    """Why this build is not the user's own to rebuild (its CURRENT or manifest belongs to someone else, or others
    can write it), or None. A rebuild reads what the manifest names, so only its owner may have named it."""
    for path in (version.directory.parent / CURRENT, version.directory / MANIFEST):
        info = os.lstat(path)
        if info.st_uid != os.geteuid():
            return f"its {path.name} belongs to another user (uid {info.st_uid})"
        if info.st_mode & 0o022:
            return f"others can write its {path.name}"
    return None


def confined(directory: Path, name: object) -> Path:
    """The one place a file name read from an index becomes a path: relative, no `..`, and every directory on the
    way a real directory inside `directory` (no symbolic link out). The file itself is opened with
    `open_regular`."""
    if not isinstance(name, str) or not name or "\x00" in name or name.startswith("/"):
        raise corrupt(directory / MANIFEST, "malformed (a file name that is not a relative path)")
    parts = name.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise corrupt(directory / MANIFEST, "malformed (a file name that leaves its directory)")
    here = directory
    for part in parts[:-1]:
        here = here / part
        try:
            mode = os.lstat(here).st_mode
        except FileNotFoundError:
            raise corrupt(here / parts[-1], "missing") from None
        if not stat.S_ISDIR(mode):
            raise corrupt(here / parts[-1], "under something that is not a directory")
    return directory / name


def _read_current(index_dir: Path) -> tuple[str, str]:
    pointer = index_dir / CURRENT
    try:
        text = read_regular(pointer, MAX_CURRENT_BYTES).decode("utf-8").split()
    except FileNotFoundError:
        raise IndexMissingError(
            f"no index in {index_dir}; build it with: semsearch index --index-dir {index_dir}"
        ) from None
    except (IndexCorruptError, UnicodeDecodeError):
        raise IndexCorruptError(
            f"{pointer} is not a small, readable, regular file; rebuild with: semsearch index --force"
        ) from None
    if len(text) != 2 or not re.fullmatch(r"v-[0-9A-Za-z-]+", text[0]) or not _HEX64.fullmatch(text[1]):
        raise IndexCorruptError(f"{pointer} is damaged; rebuild with: semsearch index --force")
    return text[0], text[1]


@dataclass(frozen=True)
class Each:
    """A list whose every item has this shape."""

    shape: object


@dataclass(frozen=True)
class MapOf:
    """An object with any keys whose every value has this shape."""

    shape: object


@dataclass(frozen=True)
class Rule:
    """A value this test accepts; `says` names it in the error."""

    test: Callable[[object], bool]
    says: str


@dataclass(frozen=True)
class Nullable:
    """A key that may be absent (or null)."""

    shape: object


def between(low: int, high: int) -> Rule:
    return Rule(lambda v: type(v) is int and low <= v <= high, f"an integer from {low} to {high}")


def one_of(*values: str) -> Rule:
    return Rule(lambda v: v in values, " or ".join(values))


HEX64 = Rule(lambda v: isinstance(v, str) and bool(_HEX64.fullmatch(v)), "a sha256")
NATURAL = between(0, 2**62)


def check_shape(value: object, shape: object, where: str = "") -> None:
    """Raise ValueError naming the first place where `value` is not of `shape` (a type, a dict of required keys,
    `Each`, `MapOf`, `Rule` or `Nullable`); keys the shape does not name are ignored, never read."""
    if isinstance(shape, Nullable):
        if value is not None:
            check_shape(value, shape.shape, where)
    elif isinstance(shape, Rule):
        if not shape.test(value):
            raise ValueError(f"{where or 'value'} is not {shape.says}")
    elif isinstance(shape, dict):
        if not isinstance(value, dict):
            raise ValueError(f"{where or 'value'} is not an object")
        for key, inner in shape.items():
            if key not in value and not isinstance(inner, Nullable):
                raise ValueError(f"{where}.{key} is missing")
            check_shape(value.get(key), inner, f"{where}.{key}")
    elif isinstance(shape, Each | MapOf):
        container = list if isinstance(shape, Each) else dict
        if not isinstance(value, container):
            raise ValueError(f"{where or 'value'} is not a{' list' if container is list else 'n object'}")
        items = enumerate(value) if isinstance(value, list) else value.items()
        for key, item in items:
            check_shape(item, shape.shape, f"{where}[{_short(key)}]")
    elif shape is int:
        if type(value) is not int:  # bool is an int to isinstance
            raise ValueError(f"{where or 'value'} is not an integer")
    elif not isinstance(value, shape):  # type: ignore[arg-type]
        raise ValueError(f"{where or 'value'} is not {getattr(shape, '__name__', shape)}")


def _short(key: object) -> str:
    text = repr(key)
    return text if len(text) <= 40 else text[:39] + "…"


def _absolute_normal(value: object) -> bool:
    return isinstance(value, str) and value.startswith("/") and "\x00" not in value and os.path.normpath(value) == value


ABSOLUTE_PATH = Rule(_absolute_normal, "an absolute, normalised path")
MANIFEST_SHAPE = {
    "format": int,
    "created": str,
    "model": {
        "name": str,
        "sha256": str,
        "dimension": between(1, MAX_DIMENSION),
        "normalized": Rule(lambda v: v is True, "true"),
        "query_encoder": one_of("onnx", "sentence-transformers"),
    },
    "index": {
        "type": one_of("flat", "hnsw", "ivf", "ivfpq"),
        "metric": one_of("inner_product"),
        "count": between(0, MAX_COUNT),
    },
    "sources": Each(ABSOLUTE_PATH),
    "documents": MapOf(
        {
            "path": ABSOLUTE_PATH,
            "sha256": HEX64,
            "paragraphs": between(0, MAX_COUNT),
            # what the document says about itself (markup or front matter), where it says it
            "title": Nullable(str),
            "symbol": Nullable(str),
            "date": Nullable(str),
        }
    ),
    "skipped": Each({"path": str, "reason": str, "sha256": Nullable(HEX64)}),
    "files": MapOf({"sha256": HEX64, "size": NATURAL}),
    "versions": MapOf(str),
}


def within(path: str, root: str) -> bool:
    """Whether `path` is `root` or lies under it, both absolute and normalised (compared as given, unresolved)."""
    return path == root or path.startswith(root.rstrip("/") + "/")


def validate_manifest(manifest: object, where: Path) -> dict:
    """The one reader of manifests: every key used anywhere, its type and shape, and the rules that tie them
    together, before anything is read from them. `where` is the manifest's path, for messages."""
    if not isinstance(manifest, dict):
        raise corrupt(where, "malformed (not a JSON object)")
    if manifest.get("format") != FORMAT_VERSION:
        raise IndexStaleError(
            f"the index in {where.parent.parent} has format {_short(manifest.get('format'))}, this semsearch reads "
            f"{FORMAT_VERSION}; rebuild with: semsearch index --force"
        )
    try:
        check_shape(manifest, MANIFEST_SHAPE, "manifest")
    except ValueError as error:
        raise corrupt(where, f"malformed ({error})") from None
    files = manifest["files"]
    needed = REQUIRED_FILES | (QUERY_MODEL_FILES if manifest["model"]["query_encoder"] == "onnx" else frozenset())
    if missing := sorted(needed - set(files)):
        raise corrupt(where, f"malformed (does not list {missing[0]})")
    if MANIFEST in files:
        raise corrupt(where, "malformed (lists itself)")
    sources = manifest["sources"]
    documents = manifest["documents"].values()
    if outside := next((d["path"] for d in documents if not any(within(d["path"], s) for s in sources)), None):
        raise corrupt(where, f"malformed (document {_short(outside)} is outside the recorded sources)")
    if sum(d["paragraphs"] for d in documents) != manifest["index"]["count"]:
        raise corrupt(where, "malformed (its documents' paragraphs do not add up to its count)")
    return manifest


@dataclass(frozen=True)
class Version:
    """One verified build: every file its manifest lists was found confined, regular, of its size and checksum."""

    directory: Path
    manifest: dict

    def path(self, name: str) -> Path:
        """A listed file; anything else in the directory was not verified and is never read."""
        if name not in self.manifest["files"]:
            raise corrupt(self.directory / name, "not listed in the manifest")
        return self.directory / name

    def has(self, name: str) -> bool:
        return name in self.manifest["files"]


def _verified(version_dir: Path, manifest_sha: str) -> Version:
    path = version_dir / MANIFEST
    data = read_regular(path, MAX_MANIFEST_BYTES)
    if hashlib.sha256(data).hexdigest() != manifest_sha:
        raise corrupt(path, "altered or truncated (checksum mismatch)")
    try:
        parsed = json.loads(data)
    except (ValueError, RecursionError) as error:
        raise corrupt(path, f"unreadable ({type(error).__name__})") from None
    manifest = validate_manifest(parsed, path)
    for name, expected in manifest["files"].items():
        file = confined(version_dir, name)
        try:
            size, sha = _size_and_sha256(file)
        except FileNotFoundError:
            raise corrupt(file, "missing") from None
        if size != expected["size"]:
            raise corrupt(file, f"truncated or grown ({size} bytes, expected {expected['size']})")
        if sha != expected["sha256"]:
            raise corrupt(file, "altered (checksum mismatch)")
    return Version(version_dir, manifest)


def _lease(directory: Path) -> int:
    """A shared lock that keeps builds from deleting this version while it is open."""
    path = directory / MANIFEST
    try:
        if not stat.S_ISDIR(os.lstat(directory).st_mode):
            raise corrupt(path, "not inside a directory")
        descriptor = open_regular(path)
    except FileNotFoundError:
        raise corrupt(path, "missing") from None
    try:
        fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        raise FileNotFoundError(errno.ENOENT, "being deleted by a build", str(path)) from None
    except OSError:
        pass  # a filesystem without locks (some network mounts) still serves the index, unprotected
    return descriptor


def swap_in(index_dir: Path, temporary: Path, stamp: str, manifest_sha: str) -> None:
    final = index_dir / f"v-{stamp}"
    os.rename(temporary, final)
    pointer = index_dir / f".{CURRENT}.{stamp}"
    fsync_write(pointer, f"v-{stamp} {manifest_sha}\n".encode())
    os.replace(pointer, index_dir / CURRENT)
    fsync_directory(index_dir)


def remove_old_versions(index_dir: Path, current: str) -> None:
    """Delete builds other than the current one that no open index holds (see `_lease`)."""
    for path in index_dir.iterdir():
        if not (path.is_dir() and path.name.startswith("v-") and path.name != current):
            continue
        try:
            handle = (path / "manifest.json").open("rb")
        except FileNotFoundError:
            shutil.rmtree(path, ignore_errors=True)
            continue
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # an open index holds it
                continue
            except OSError:
                pass  # locks unsupported here, so nobody can hold it either
            shutil.rmtree(path, ignore_errors=True)


def remove_leftovers(index_dir: Path) -> None:
    """Under the lock, any temporary directory or pointer is from a build that died."""
    for path in index_dir.iterdir():
        if path.name.startswith(".tmp-") or path.name.startswith(f".{CURRENT}."):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def write_error(index_dir: Path, error: OSError) -> WriteError:
    reason = error.strerror or str(error)
    hint = {
        errno.ENOSPC: "free some disk space",
        errno.EDQUOT: "free some disk space",
        errno.EACCES: "check the directory's permissions",
        errno.EPERM: "check the directory's permissions",
        errno.EROFS: "choose a writable --index-dir",
    }.get(error.errno or 0, "fix the cause")
    return WriteError(
        f"could not write the index in {index_dir}: {reason}; {hint} and run again (the previous index is unchanged)"
    )


def open_version(index_dir: Path, load: Callable[[Version], T]) -> tuple[T, int]:
    """`load(verified version)` on the current build, with the lease that keeps it on disk (close it to let builds
    delete it); retried if a concurrent build swaps a new one in mid-read. Whatever `load` finds malformed
    (ValueError and the like) is reported as a corrupt index, in one line."""
    for _ in range(3):
        current = _read_current(index_dir)
        try:
            return _load_version(index_dir, *current, load)
        except (FileNotFoundError, IndexCorruptError) as error:
            if _read_current(index_dir) != current:
                continue
            if isinstance(error, IndexCorruptError):
                raise
            raise corrupt(Path(error.filename or index_dir / current[0] / "?"), "missing") from None
    raise IndexCorruptError(f"the index in {index_dir} keeps changing while being read; try again")


def _load_version(index_dir: Path, version: str, manifest_sha: str, load: Callable[[Version], T]) -> tuple[T, int]:
    directory = index_dir / version
    lease = _lease(directory)
    try:
        return load(_verified(directory, manifest_sha)), lease
    except (KeyError, IndexError, TypeError, ValueError, RuntimeError, EOFError, RecursionError) as error:
        os.close(lease)
        raise corrupt(directory / MANIFEST, f"unreadable ({_one_line(error)})") from None
    except BaseException:
        os.close(lease)
        raise


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 120 else text[:119] + "…"
