"""semsearch: semantic search and near-duplicate detection for documents of numbered recommendations.

    >>> from semsearch import build_index, open_index, Searcher, Filters, find_duplicates
    >>> build_index(["corpus"], "index")
    >>> searcher = Searcher(open_index("index"))
    >>> searcher.search("import marking", k=5, filters=Filters(sections=("V",))).hits[0].paragraph.number
    '39'

Names are imported on first use, so `import semsearch` (and the CLI that lives under it) starts fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

_EXPORTS = {
    "CalibrationRow": "semsearch.calibration",
    "LabelledPair": "semsearch.calibration",
    "calibrate": "semsearch.calibration",
    "load_pairs": "semsearch.calibration",
    "Corpus": "semsearch.corpus",
    "Document": "semsearch.corpus",
    "Meeting": "semsearch.corpus",
    "Paragraph": "semsearch.corpus",
    "Section": "semsearch.corpus",
    "load_corpus": "semsearch.corpus",
    "parse_text": "semsearch.corpus",
    "read_document": "semsearch.corpus",
    "Decision": "semsearch.decisions",
    "Review": "semsearch.decisions",
    "read_decisions": "semsearch.decisions",
    "DedupConfig": "semsearch.dedup",
    "DuplicateGroup": "semsearch.dedup",
    "DuplicateReport": "semsearch.dedup",
    "PRESETS": "semsearch.dedup",
    "PairScore": "semsearch.dedup",
    "find_duplicates": "semsearch.dedup",
    "Encoder": "semsearch.encoder",
    "OnnxEncoder": "semsearch.encoder",
    "SentenceTransformerEncoder": "semsearch.encoder",
    "resolve_model": "semsearch.encoder",
    "SemsearchError": "semsearch.errors",
    "ClauseMatch": "semsearch.evidence",
    "Evidence": "semsearch.evidence",
    "Weights": "semsearch.evidence",
    "Evaluation": "semsearch.evaluation",
    "evaluate": "semsearch.evaluation",
    "load_queries": "semsearch.evaluation",
    "Naming": "semsearch.naming",
    "BuildReport": "semsearch.build",
    "Index": "semsearch.index",
    "IndexConfig": "semsearch.build",
    "build_index": "semsearch.build",
    "ensure_index": "semsearch.build",
    "open_index": "semsearch.index",
    "render": "semsearch.report",
    "write_atomic": "semsearch.report",
    "Filters": "semsearch.search",
    "Hit": "semsearch.search",
    "Searcher": "semsearch.search",
    "SearchResult": "semsearch.search",
}
__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from semsearch.build import BuildReport, IndexConfig, build_index, ensure_index
    from semsearch.calibration import CalibrationRow, LabelledPair, calibrate, load_pairs
    from semsearch.corpus import Corpus, Document, Meeting, Paragraph, Section, load_corpus, parse_text, read_document
    from semsearch.decisions import Decision, Review, read_decisions
    from semsearch.dedup import PRESETS, DedupConfig, DuplicateGroup, DuplicateReport, PairScore, find_duplicates
    from semsearch.encoder import Encoder, OnnxEncoder, SentenceTransformerEncoder, resolve_model
    from semsearch.errors import SemsearchError
    from semsearch.evaluation import Evaluation, evaluate, load_queries
    from semsearch.evidence import ClauseMatch, Evidence, Weights
    from semsearch.index import Index, open_index
    from semsearch.naming import Naming
    from semsearch.report import render, write_atomic
    from semsearch.search import Filters, Hit, Searcher, SearchResult


def __dir__() -> list[str]:
    """The public API, for tab completion, although its names are imported only on first use."""
    return sorted({*globals(), *__all__})


def __getattr__(name: str) -> object:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'semsearch' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value
