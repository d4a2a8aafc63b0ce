"""A corpus: the documents read from files and directories, each parsed into `Paragraph` records.

Files are found by their suffix and read by the reader for their format (`semsearch.readers`), then parsed by
`semsearch.parser`; a file that cannot be read is an error when named explicitly and a listed skip, with its
reason, inside a directory, so one bad file never stops the rest.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from semsearch.document import Document, Meeting, Paragraph, Piece, Section, clean_text, content_signature
from semsearch.errors import CorpusError
from semsearch.parser import is_roman, parse_layout, parse_text, roman_value
from semsearch.readers import SUFFIXES, UNSUPPORTED, read_layout
from semsearch.readers.text import source_lines
from semsearch.sanitize import display_name

__all__ = [
    "DEFAULT_MAX_BYTES",
    "SUFFIXES",
    "Corpus",
    "Document",
    "Meeting",
    "Paragraph",
    "Piece",
    "Section",
    "Skipped",
    "clean_text",
    "content_signature",
    "find_documents",
    "find_paragraph",
    "is_roman",
    "load_corpus",
    "paragraph_row",
    "parse_text",
    "read_document",
    "resolve_document",
    "roman_value",
    "source_lines",
    "split_reference",
]

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
MAX_DEPTH = 200  # directories below a corpus root; a deeper tree is a mistake or a trap
# A document whose paragraphs hold less than this share of its text (front matter and furniture aside) is warned of.
MIN_TEXT_SHARE = 0.9


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass(frozen=True)
class Corpus:
    documents: tuple[Document, ...]
    skipped: tuple[Skipped, ...] = field(default=())
    warnings: tuple[str, ...] = field(default=())

    @property
    def paragraphs(self) -> list[Paragraph]:
        return [p for d in self.documents for p in d.paragraphs]

    def find(self, number: str, doc: str | None = None) -> Paragraph:
        return find_paragraph(self.paragraphs, number, doc)


def find_paragraph(
    paragraphs: Sequence[Paragraph],
    number: str,
    doc: str | None = None,
    symbols: Mapping[str, str | None] | None = None,
) -> Paragraph:
    """The paragraph printed with this number; with several documents, `doc` (or `DOC:NUMBER`) says which."""
    return paragraphs[paragraph_row(paragraphs, number, doc, symbols)]


def paragraph_row(
    paragraphs: Sequence[Paragraph],
    number: str,
    doc: str | None = None,
    symbols: Mapping[str, str | None] | None = None,
) -> int:
    """Where `find_paragraph`'s paragraph sits in `paragraphs`: an index's row, for its vectors. `number` may be a
    reference `DOC:NUMBER`; a document is named by id or by symbol (`symbols`: each id's symbol, if known)."""
    named, number = split_reference(number)
    if named is not None or doc is not None:
        doc = resolve_document(named or doc, symbols or dict.fromkeys(p.doc for p in paragraphs))  # type: ignore[arg-type]
    rows = [row for row, p in enumerate(paragraphs) if p.number == number and (doc is None or p.doc == doc)]
    if not rows:
        raise CorpusError(f"no paragraph numbered {number}{f' in {doc}' if doc else ''}")
    if len(rows) > 1:
        docs = ", ".join(paragraphs[row].doc for row in rows)
        raise CorpusError(f"paragraph {number} exists in several documents ({docs}); write DOC:{number} or pass --doc")
    return rows[0]


def split_reference(reference: str) -> tuple[str | None, str]:
    """`DOC:NUMBER` as (DOC, NUMBER) and a bare number as (None, NUMBER), a leading ¶ dropped (so a reference copied
    from a report works): split at the last ':', since an id or symbol may hold one and a paragraph number does not."""
    doc, colon, number = reference.removeprefix("¶").rpartition(":")
    return (doc, number) if colon and doc else (None, reference.removeprefix("¶"))


def resolve_document(reference: str, symbols: Mapping[str, str | None]) -> str:
    """The id of the document that `reference` names, by its id or its symbol (e.g. A/HRC/28/11, any case);
    `symbols` maps every document id to its symbol or None. The one place --doc and `DOC:NUMBER` are read."""
    if reference in symbols:
        return reference
    wanted = reference.strip().casefold()
    matches = [doc for doc, symbol in symbols.items() if symbol and symbol.strip().casefold() == wanted]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise CorpusError(f"symbol {reference} names several documents ({', '.join(matches)}); use a document id")
    known = ", ".join(f"{doc} ({symbol})" if symbol else doc for doc, symbol in symbols.items())
    raise CorpusError(f"no document {reference!r}; documents: {known}")


def read_document(path: Path, doc: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> Document:
    """Read and parse one file; every way it can be unusable becomes a one-line `CorpusError`."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise CorpusError(
                f"{path}: {size / 2**20:.0f} MiB is larger than the {max_bytes / 2**20:.0f} MiB limit; "
                "split it or raise the limit"
            )
        data = path.read_bytes()
    except IsADirectoryError:
        raise CorpusError(f"{path}: is a directory; pass it as a corpus directory") from None
    except FileNotFoundError:
        raise CorpusError(f"{path}: no such file or directory") from None
    except PermissionError:
        raise CorpusError(f"{path}: permission denied; make it readable or leave it out") from None
    except OSError as error:
        raise CorpusError(f"{path}: cannot be read ({error.strerror or error}); leave it out") from None
    layout = read_layout(path, data)
    doc_id = doc or path.stem
    paragraphs, pieces, meta = parse_layout(layout, doc_id)
    if not paragraphs:
        raise CorpusError(f"{path}: no paragraphs found; is it a text document?")
    return Document(doc_id, str(path), hashlib.sha256(data).hexdigest(), tuple(paragraphs), tuple(pieces), meta)


def reading_warning(document: Document) -> str | None:
    """A one-line warning when a document was read poorly: few paragraphs, or much text left outside them."""
    outside = sum(len(p.text) for p in document.pieces if p.role == "heading")
    inside = sum(len(p.text) for p in document.pieces if p.role in ("paragraph", "footnote"))
    if outside > 1_000 and inside / (inside + outside) < MIN_TEXT_SHARE:
        return (
            f"{document.source}: only {inside / (inside + outside):.0%} of its text is in paragraphs; "
            "check it with: semsearch corpus PATH --json"
        )
    if len(document.paragraphs) < 3 and inside > 5_000:
        return f"{document.source}: only {len(document.paragraphs)} paragraph(s) in {inside:,} characters of text"
    return None


def find_documents(root: Path, max_depth: int = MAX_DEPTH) -> Iterator[Path | Skipped]:
    """Documents under root in a stable order (each directory's files, then its subdirectories, by name).

    The walk is iterative (no recursion limit), follows no directory symlink (so loops cannot trap it) and no file
    symlink that leads outside the corpus; each of those, and whatever lies deeper than `max_depth`, is skipped
    with its reason.
    """
    real_root = root.resolve()
    pending: list[tuple[Path, int]] = [(root, 0)]
    while pending:
        here, depth = pending.pop()
        try:
            entries = sorted(os.scandir(here), key=lambda e: e.name)
        except OSError as error:
            yield Skipped(str(here), f"cannot be listed ({error.strerror or error})")
            continue
        subdirs = []
        for entry in entries:
            if not entry.name.startswith(".") and _is_directory(entry):
                if entry.is_symlink():
                    yield Skipped(str(here / entry.name), "symbolic link to a directory, not followed")
                elif depth + 1 > max_depth:
                    yield Skipped(str(here / entry.name), f"more than {max_depth} directories deep, not read")
                else:
                    subdirs.append(here / entry.name)
        for entry in entries:
            path = here / entry.name
            if entry.name.startswith(".") or _is_directory(entry):
                continue
            if path.suffix.lower() in UNSUPPORTED:
                yield Skipped(str(path), f"{path.suffix} files are not read; save it as .docx, PDF or HTML")
                continue
            if path.suffix.lower() not in SUFFIXES:
                continue
            if (reason := _unreadable_reason(path, entry, real_root)) is not None:
                yield Skipped(str(path), reason)
                continue
            yield path
        pending.extend((directory, depth + 1) for directory in reversed(subdirs))


def _is_directory(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _unreadable_reason(path: Path, entry: os.DirEntry[str], real_root: Path) -> str | None:
    """Why a file of the corpus is not read, or None: not a regular file, a broken link, a link out of the corpus."""
    try:
        target = path.resolve(strict=True)
    except (OSError, RuntimeError) as error:
        return f"broken or looping symbolic link ({getattr(error, 'strerror', error)})"
    if entry.is_symlink() and not target.is_relative_to(real_root):
        return "symbolic link to a file outside the corpus, not followed"
    if not target.is_file():
        return "not a regular file"
    return None


def _doc_id(root: Path, path: Path) -> str:
    return display_name(path.relative_to(root).with_suffix("").as_posix())


def load_corpus(paths: Iterable[Path | str], max_bytes: int = DEFAULT_MAX_BYTES) -> Corpus:
    """Read files and directories into one corpus.

    A file named explicitly must be readable (its problem is an error); inside a directory, unreadable files are
    skipped and reported so that one bad file does not stop the rest of the corpus.
    """
    documents: list[Document] = []
    skipped: list[Skipped] = []
    for raw in paths:
        root = Path(raw)
        if not root.exists() and not root.is_symlink():
            raise CorpusError(f"{root}: no such file or directory")
        if not root.is_dir():
            documents.append(read_document(root, display_name(root.stem), max_bytes))
            continue
        found = 0
        for item in find_documents(root):
            if isinstance(item, Skipped):
                skipped.append(item)
                continue
            found += 1
            try:
                documents.append(read_document(item, _doc_id(root, item), max_bytes))
            except CorpusError as error:
                skipped.append(Skipped(str(item), str(error).removeprefix(f"{item}: ")))
        if not found:
            raise CorpusError(f"{root}: no readable documents (looked for {', '.join(sorted(SUFFIXES))} files)")
    if not documents:
        reasons = "; ".join(str(s) for s in skipped[:3])
        raise CorpusError(f"no readable documents: {reasons}")
    warnings = tuple(w for d in documents if (w := reading_warning(d)))
    return Corpus(tuple(_unique_ids(documents)), tuple(skipped), warnings)


def _unique_ids(documents: list[Document]) -> list[Document]:
    """Every document a distinct id that does not change from build to build: its stem, or, where stems collide
    and its suffix tells it apart (a.md, a.txt), its name with the suffix; still-equal names (the same file name
    under two arguments) get -2, -3 … in argument order, skipping ids another document has."""
    stems = Counter(d.doc for d in documents)
    named = Counter((d.doc, Path(d.source).suffix) for d in documents)
    names = [
        d.doc + Path(d.source).suffix if stems[d.doc] > 1 and named[d.doc, Path(d.source).suffix] == 1 else d.doc
        for d in documents
    ]
    wanted = set(names)
    given: set[str] = set()
    result = []
    for document, name in zip(documents, names, strict=True):
        new_id, count = name, 1
        while new_id in given or (new_id != name and new_id in wanted):
            count += 1
            new_id = f"{name}-{count}"
        given.add(new_id)
        if new_id != document.doc:
            paragraphs = tuple(replace(p, doc=new_id) for p in document.paragraphs)
            document = replace(document, doc=new_id, paragraphs=paragraphs)
        result.append(document)
    return result
