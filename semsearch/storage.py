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
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from semsearch.encoder import sha256_file
from semsearch.errors import IndexCorruptError, IndexMissingError, IndexStaleError, WriteError

FORMAT_VERSION = 1
CURRENT = "CURRENT"
LOCK = ".lock"
T = TypeVar("T")


def fsync_write(path: Path, data: bytes) -> None:
    with path.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def fsync_directory(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _read_current(index_dir: Path) -> tuple[str, str]:
    pointer = index_dir / CURRENT
    try:
        text = pointer.read_text(encoding="utf-8").split()
    except FileNotFoundError:
        raise IndexMissingError(
            f"no index in {index_dir}; build it with: semsearch index --index-dir {index_dir}"
        ) from None
    except (OSError, UnicodeDecodeError):
        raise IndexCorruptError(f"{pointer} is unreadable; rebuild with: semsearch index --force") from None
    if len(text) != 2 or not text[0].startswith("v-") or "/" in text[0]:
        raise IndexCorruptError(f"{pointer} is damaged; rebuild with: semsearch index --force")
    return text[0], text[1]


def corrupt(path: Path, what: str) -> IndexCorruptError:
    return IndexCorruptError(
        f"index file {path.name} is {what}; rebuild it with: semsearch index --force --index-dir {path.parent.parent}"
    )


def _verified_manifest(version_dir: Path, manifest_sha: str) -> dict:
    path = version_dir / "manifest.json"
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise corrupt(path, "missing") from None
    if hashlib.sha256(data).hexdigest() != manifest_sha:
        raise corrupt(path, "altered or truncated (checksum mismatch)")
    manifest = json.loads(data)
    if manifest.get("format") != FORMAT_VERSION:
        raise IndexStaleError(
            f"the index in {version_dir.parent} has format {manifest.get('format')}, this semsearch reads "
            f"{FORMAT_VERSION}; rebuild with: semsearch index --force"
        )
    for name, expected in manifest["files"].items():
        file = version_dir / name
        try:
            size = file.stat().st_size
        except FileNotFoundError:
            raise corrupt(file, "missing") from None
        if size != expected["size"]:
            raise corrupt(file, f"truncated or grown ({size} bytes, expected {expected['size']})")
        if sha256_file(file) != expected["sha256"]:
            raise corrupt(file, "altered (checksum mismatch)")
    return manifest


def _lease(directory: Path) -> int:
    """A shared lock that keeps builds from deleting this version while it is open."""
    path = directory / "manifest.json"
    try:
        descriptor = os.open(path, os.O_RDONLY)
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


def open_version(index_dir: Path, load: Callable[[Path, dict], T]) -> tuple[T, int]:
    """`load(version directory, verified manifest)` on the current build, with the lease that keeps it on disk
    (close it to let builds delete it); retried if a concurrent build swaps a new one in mid-read."""
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


def _load_version(index_dir: Path, version: str, manifest_sha: str, load: Callable[[Path, dict], T]) -> tuple[T, int]:
    directory = index_dir / version
    lease = _lease(directory)
    try:
        manifest = _verified_manifest(directory, manifest_sha)
        return load(directory, manifest), lease
    except (KeyError, ValueError, RuntimeError, UnicodeDecodeError) as error:
        os.close(lease)
        raise corrupt(directory / "manifest.json", f"unreadable ({type(error).__name__})") from None
    except BaseException:
        os.close(lease)
        raise
