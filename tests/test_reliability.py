"""Faults and hostile input: full disks, refused writes, readers during rebuilds, escape sequences, odd trees."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from semsearch.build import build_index
from semsearch.corpus import load_corpus
from semsearch.errors import QueryError, WriteError
from semsearch.index import open_index
from semsearch.search import Searcher

from .conftest import small_corpus
from .test_cli import ENV

HOSTILE_TERMINAL = (
    "I. Escapes\n\nA. Recommendations adopted by the Working Group at its first meeting, held in Vienna on 21 and 22 "
    "May 2012\n\n"
    "1. The Conference may wish to urge States to mark firearms \x1b[2J\x1b[31mRED\x1b[0m and ring \x07 bells.\n\n"
    "2. The Conference may wish to urge States to mark firearms [bold red]LOUD[/bold red] and "
    "[link=http://example.invalid]click[/link] twice.\n\n"
    "3. The Conference may wish to urge States to mark firearms \x1b]8;;http://example.invalid\x1b\\\\link\x1b]8;;"
    "\x1b\\\\ and \x9b31m carriage\rreturns.\n\n"
    "4. The Conference may wish to urge States to mark barrels \x1b[2J\x1b]52;c;aGVsbG8=\x1b\\ at import; and to keep "
    "ledgers of imports for ten years \x9b31m.\n\n"
    "5. The Conference may wish to urge States to mark barrels \x1b[2J\x1b]52;c;aGVsbG8=\x1b\\ at import; and to keep "
    "ledgers of imports for twenty years \x9b31m.\n"
)


def test_disk_full_while_writing_keeps_the_previous_index(tmp_path, monkeypatch):
    corpus = small_corpus(tmp_path / "corpus")
    index_dir = tmp_path / "index"
    build_index([corpus], index_dir)
    before = [p.text for p in open_index(index_dir).paragraphs]
    small_corpus(corpus, extra="\n4. The Conference may wish to recommend stamping.\n")
    calls = {"n": 0}
    original = __import__("semsearch.storage", fromlist=["fsync_write"]).fsync_write

    def full_disk(path: Path, data: bytes) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        original(path, data)

    monkeypatch.setattr("semsearch.build.fsync_write", full_disk)
    with pytest.raises(WriteError, match="No space left on device; free some disk space"):
        build_index([corpus], index_dir)
    assert [p.text for p in open_index(index_dir).paragraphs] == before
    assert not [p for p in index_dir.iterdir() if p.name.startswith(".tmp-") or p.name.startswith(".CURRENT.")]


def test_permission_denied_is_one_clear_line(tmp_path, monkeypatch):
    corpus = small_corpus(tmp_path / "corpus")
    index_dir = tmp_path / "index"
    build_index([corpus], index_dir)

    def refuse(self: Path, *args: object, **kwargs: object) -> None:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))

    monkeypatch.setattr(Path, "mkdir", refuse)
    with pytest.raises(WriteError, match="Permission denied; check the directory's permissions") as error:
        build_index([corpus], index_dir, __import__("semsearch.build").build.IndexConfig(force=True))
    assert "\n" not in str(error.value)
    monkeypatch.undo()
    assert len(open_index(index_dir).paragraphs) == 3


@pytest.mark.slow
def test_readers_never_see_a_half_written_index(tmp_path):
    corpus = small_corpus(tmp_path / "corpus")
    index_dir = tmp_path / "index"
    build_index([corpus], index_dir)
    expected = [h.paragraph.number for h in Searcher(open_index(index_dir)).search("import marking", k=3).hits]
    loop = (
        "import sys; from semsearch.build import build_index, IndexConfig\n"
        "for _ in range(4): build_index([sys.argv[1]], sys.argv[2], IndexConfig(force=True))"
    )
    builder = subprocess.Popen([sys.executable, "-c", loop, str(corpus), str(index_dir)], env=ENV)
    answers = 0
    while builder.poll() is None:
        hits = Searcher(open_index(index_dir)).search("import marking", k=3).hits
        assert [h.paragraph.number for h in hits] == expected
        answers += 1
    assert builder.returncode == 0 and answers > 10


@pytest.fixture(scope="module")
def hostile_workspace(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hostile")
    (root / "corpus").mkdir()
    (root / "corpus" / "escapes.txt").write_text(HOSTILE_TERMINAL, encoding="utf-8")
    build_index([root / "corpus"], root / "index")
    return root


@pytest.mark.parametrize(
    "arguments",
    [("query", "mark firearms", "-k", "3"), ("show", "1"), ("show", "2"), ("show", "3"), ("corpus",),
     ("duplicates", "--threshold", "0.0"), ("duplicates", "--explain", "4", "5")],
)  # fmt: skip
def test_document_text_never_drives_the_terminal(hostile_workspace, arguments):
    environment = {**ENV, "FORCE_COLOR": "1", "TERM": "xterm-256color"}
    environment.pop("NO_COLOR", None)
    result = subprocess.run(
        [sys.executable, "-m", "semsearch", *arguments],
        cwd=hostile_workspace, env=environment, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    output = result.stdout
    for sequence in ("\x1b[2J", "\x1b[31mRED", "\x1b]8;", "\x1b]52", "\x07", "\x9b", "\r"):
        assert sequence not in output, repr(sequence)
    if arguments[:2] in (("show", "1"), ("show", "2"), ("show", "3")):
        expected = {"1": "⟨ESC⟩[2J", "2": "[bold red]LOUD[/bold red]", "3": "⟨ESC⟩]8;;"}[arguments[1]]
        assert expected in output
    if arguments[1:2] == ("--explain",):
        assert "closest clauses" in output and "⟨ESC⟩]52;c;" in output


def test_hostile_corpus_tree_is_skipped_with_reasons(tmp_path):
    tree = tmp_path / "tree"
    small_corpus(tree)
    (tree / "nul.txt").write_bytes(b"1. text\x00with NUL\n")
    (tree / "latin1.txt").write_bytes("1. Caf\xe9 r\xe9sum\xe9\n".encode("latin-1"))
    (tree / "utf16.txt").write_text("1. Unicode text\n", encoding="utf-16")
    (tree / "empty.md").write_text("", encoding="utf-8")
    (tree / "folder.txt").mkdir()
    os.mkfifo(tree / "pipe.txt")
    (tree / "loop").symlink_to(tree)
    (tree / "dangling.txt").symlink_to(tree / "missing.txt")
    huge = tree / "huge.txt"
    with huge.open("wb") as handle:
        handle.truncate(101 * 1024 * 1024)
    corpus = load_corpus([tree])
    assert [d.doc for d in corpus.documents] == ["small"]
    reasons = {Path(s.path).name: s.reason for s in corpus.skipped}
    assert set(reasons) == {"nul.txt", "latin1.txt", "utf16.txt", "empty.md", "pipe.txt", "loop", "dangling.txt",
                            "huge.txt"}  # fmt: skip
    assert "larger than" in reasons["huge.txt"] and "binary" in reasons["nul.txt"]
    assert "not UTF-8" in reasons["latin1.txt"] and "not followed" in reasons["loop"]
    assert "regular file" in reasons["pipe.txt"] and "symbolic link" in reasons["dangling.txt"]
    result = subprocess.run(
        [sys.executable, "-m", "semsearch", "index", str(tree), "--index-dir", str(tmp_path / "index")],
        env=ENV, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0 and result.stderr.count("skipped") == 8
    assert "3 paragraphs" in result.stdout


@pytest.fixture(scope="module")
def searcher(index):
    return Searcher(index)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.text(max_size=300), mode=st.sampled_from(["dense", "lexical", "hybrid"]), k=st.integers(1, 30))
def test_query_fuzz(searcher, query, mode, k):
    try:
        result = searcher.search(query, k=k, mode=mode)
    except QueryError as error:
        assert "empty" in str(error)
        return
    assert len(result.hits) <= k and (mode == "lexical" or len(result.hits) >= 1)
    assert all(hit.score == hit.score for hit in result.hits), "no NaN scores"
    assert mode != "lexical" or all(hit.score > 0 for hit in result.hits)


NETWORK_GUARD = '''
"""Installed by the test as sitecustomize: any Python-level use of a non-local address is logged and refused."""
import os
import socket

LOG = os.environ["SEMSEARCH_NETWORK_LOG"]
LOCAL = ("127.0.0.1", "::1", "localhost", "", None)


def refuse(what, address):
    with open(LOG, "a") as log:
        log.write(f"{what} {address!r}\\n")
    raise OSError(101, "network use refused by the test")


def guarded(name, position):
    original = getattr(socket.socket, name)

    def method(self, *args):
        address = args[position]
        if not isinstance(address, (str, bytes)) and address[0] not in LOCAL:  # str/bytes: a Unix socket
            refuse(name, address)
        return original(self, *args)

    setattr(socket.socket, name, method)


for name, position in (("connect", 0), ("connect_ex", 0), ("sendto", -1)):
    guarded(name, position)
original_getaddrinfo = socket.getaddrinfo


def getaddrinfo(host, *args, **kwargs):
    if host not in LOCAL:
        refuse("getaddrinfo", host)
    return original_getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = getaddrinfo
'''


def _strace() -> list[str] | None:
    """strace, where it exists and may trace here: it also sees what native code (onnxruntime's uploader) does."""
    import shutil

    if shutil.which("strace") is None:
        return None
    probe = subprocess.run(["strace", "-f", "-qq", "-o", os.devnull, "true"], capture_output=True)
    return ["strace", "-f", "-qq", "-e", "trace=connect,sendto"] if probe.returncode == 0 else None


def test_offline_means_offline(tmp_path):
    """A build, a query and a shell session open no network connection and leave no telemetry files."""
    guard = tmp_path / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(NETWORK_GUARD, encoding="utf-8")
    home = tmp_path / "home"
    home.mkdir()
    small_corpus(tmp_path / "corpus")
    log = tmp_path / "network.log"
    environment = {
        **ENV,
        "HOME": str(home),
        "XDG_CACHE_HOME": str(home / "cache"),
        "SEMSEARCH_NETWORK_LOG": str(log),
        "PYTHONPATH": os.pathsep.join([str(guard), *filter(None, [os.environ.get("PYTHONPATH")])]),
    }
    environment.pop("ORT_DISABLE_TELEMETRY", None)
    strace = _strace()
    for number, (arguments, stdin) in enumerate(
        [(("index",), None), (("query", "marking", "-k", "1"), None), (("shell",), "marking\nrecords\n:quit\n")]
    ):
        prefix = [*strace, "-o", str(tmp_path / f"trace-{number}")] if strace else []
        result = subprocess.run(
            [*prefix, sys.executable, "-m", "semsearch", *arguments],
            cwd=tmp_path, env=environment, input=stdin, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
    assert not log.exists(), log.read_text()
    assert not (home / "cache" / "Microsoft").exists() and not (home / ".cache" / "Microsoft").exists()
    for trace in tmp_path.glob("trace-*"):
        remote = [line for line in trace.read_text().splitlines() if "AF_INET" in line and "127.0.0.1" not in line]
        assert not [line for line in remote if 'inet_pton(AF_INET6, "::1"' not in line], remote[:3]
