"""Errors a user can act on: each message is one line that says what went wrong and what to do."""

from __future__ import annotations


class SemsearchError(Exception):
    """Base class; the CLI prints ``str(error)`` and exits non-zero instead of showing a traceback."""


class CorpusError(SemsearchError):
    """A document or corpus path cannot be read or holds nothing usable."""


class ModelError(SemsearchError):
    """The embedding model is missing, cannot be loaded, or fails its checksum."""


class IndexMissingError(SemsearchError):
    """No index has been built in the given directory."""


class IndexStaleError(SemsearchError):
    """The corpus changed since the index was built, or it was built with another model or format."""


class IndexCorruptError(SemsearchError):
    """An index file is truncated, altered or unreadable."""


class EngineError(SemsearchError):
    """The engine asked for cannot run: Ray is not installed, or its cluster cannot be reached."""


class WriteError(SemsearchError):
    """The index or a report could not be written (disk full, permission denied, …)."""


class QueryError(SemsearchError):
    """A query or a filter value cannot be answered as given."""


class BuildInterrupted(KeyboardInterrupt):
    """A build stopped by Ctrl-C (or, in the CLI, SIGTERM); says what state the index was left in. Still a
    KeyboardInterrupt, so `except Exception` never swallows it."""
