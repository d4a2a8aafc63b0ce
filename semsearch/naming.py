"""How paragraphs are named when several documents may hold the same number: every view refers to a paragraph the
way `show` and `--explain` read it back, `DOC:NUMBER` when the index holds more than one document and the number
alone when it holds one, DOC being the document's symbol (e.g. A/HRC/28/11) when it has a unique one, else its id.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

from semsearch.corpus import Corpus, Paragraph, find_paragraph, paragraph_row, resolve_document


@dataclass(frozen=True)
class DocumentInfo:
    """What a report header says about one document; title, symbol and date only where the reader found them."""

    doc: str
    title: str | None = None
    symbol: str | None = None
    date: str | None = None
    paragraphs: int = 0


@dataclass(frozen=True)
class Naming:
    documents: Mapping[str, DocumentInfo]

    @classmethod
    def of_index(cls, manifest: dict, paragraphs: Sequence[Paragraph]) -> Naming:
        """The documents of an index's paragraphs, with what its manifest says of each (title, symbol and date may be
        absent or null)."""
        described = manifest.get("documents", {})
        counts = Counter(p.doc for p in paragraphs)
        return cls(
            {
                doc: DocumentInfo(doc, *(described.get(doc, {}).get(k) for k in ("title", "symbol", "date")), count)
                for doc, count in counts.items()
            }
        )

    @classmethod
    def from_corpus(cls, corpus: Corpus) -> Naming:
        return cls(
            {
                d.doc: DocumentInfo(d.doc, d.meta.title, d.meta.symbol, d.meta.date, len(d.paragraphs))
                for d in corpus.documents
            }
        )

    @property
    def several(self) -> bool:
        return len(self.documents) > 1

    @property
    def symbols(self) -> dict[str, str | None]:
        return {doc: info.symbol for doc, info in self.documents.items()}

    @cached_property
    def _labels(self) -> dict[str, str]:
        counts = Counter(info.symbol.casefold() for info in self.documents.values() if info.symbol)
        return {
            doc: info.symbol
            if info.symbol and counts[info.symbol.casefold()] == 1 and info.symbol not in self.documents
            else doc
            for doc, info in self.documents.items()
        }

    def label(self, doc: str) -> str:
        """The document's symbol where it names no other document, else its id: what `DOC:` is written with."""
        return self._labels.get(doc, doc)

    def ref(self, paragraph: Paragraph) -> str:
        """`DOC:NUMBER` with several documents, the number alone with one: what `show` reads back."""
        return self.ref_of(paragraph.doc, paragraph.number)

    def ref_of(self, doc: str, number: str) -> str:
        return f"{self.label(doc)}:{number}" if self.several else number

    def mark(self, paragraph: Paragraph) -> str:
        """The reference as prose shows it: ¶7 or ¶A/HRC/28/11:7."""
        return f"¶{self.ref(paragraph)}"

    def mark_of(self, doc: str, number: str) -> str:
        return f"¶{self.ref_of(doc, number)}"

    def resolve(self, reference: str) -> str:
        """A document id from its id or symbol (what --doc takes)."""
        return resolve_document(reference, self.symbols)

    def row(self, paragraphs: Sequence[Paragraph], reference: str, doc: str | None = None) -> int:
        return paragraph_row(paragraphs, reference, doc, self.symbols)

    def find(self, paragraphs: Sequence[Paragraph], reference: str, doc: str | None = None) -> Paragraph:
        return find_paragraph(paragraphs, reference, doc, self.symbols)

    def describe(self, doc: str) -> str:
        """One line for a header: id, symbol, title, date and paragraph count, whichever are known."""
        info = self.documents[doc]
        known = [part for part in (info.symbol, info.title, info.date) if part and part != doc]
        return f"{doc}" + (f" ({'; '.join(known)})" if known else "") + f", {info.paragraphs} paragraphs"
