from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS_DIR = ROOT / "corpus"
CORPUS_FILE = CORPUS_DIR / "firearms-working-group-consolidated-recommendations-2016.txt"
DATA = Path(__file__).resolve().parent / "data"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def corpus_copy(tmp_path_factory) -> Path:
    """The bundled corpus in a directory of its own, so tests may index it without touching the repository."""
    directory = tmp_path_factory.mktemp("corpus")
    shutil.copy(CORPUS_FILE, directory / CORPUS_FILE.name)
    return directory


@pytest.fixture(scope="session")
def built_index(tmp_path_factory, corpus_copy) -> Path:
    """One real index of the bundled corpus (default model, ONNX export), shared read-only by many tests."""
    from semsearch.build import build_index

    directory = tmp_path_factory.mktemp("index")
    build_index([corpus_copy], directory)
    return directory


@pytest.fixture(scope="session")
def index(built_index):
    from semsearch.index import open_index

    return open_index(built_index)


@pytest.fixture(scope="session")
def duplicates(index):
    from semsearch.dedup import find_duplicates

    return find_duplicates(index)


def small_corpus(directory: Path, extra: str = "") -> Path:
    """A three-paragraph document in the corpus's style, for tests that rebuild often."""
    directory.mkdir(parents=True, exist_ok=True)
    text = (
        "I. Marking\n\nA. Recommendations adopted by the Working Group at its first meeting, held in Vienna on 21 and "
        "22 May 2012\n\n1. The Conference may wish to urge States parties to mark imported firearms.\n\n"
        "2. The Conference may wish to encourage States to keep records for at least ten years.\n\n"
        "B. Recommendations adopted by the Working Group at its second meeting, held in Vienna from 26 to 28 May "
        "2014\n\n3. The Conference may wish to urge States parties to mark imported firearms.\n" + extra
    )
    (directory / "small.txt").write_text(text, encoding="utf-8")
    return directory
