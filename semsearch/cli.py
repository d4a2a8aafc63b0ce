"""The `semsearch` command: a thin Typer layer over the library.

Each command imports what it needs inside its body, so `semsearch query` never pays for torch or
sentence-transformers when the index carries an ONNX copy of its model.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from semsearch.index import Index

DEFAULT_CORPUS = Path("corpus")
DEFAULT_INDEX = Path("index")

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="Semantic search and near-duplicate detection over documents of numbered recommendations.",
)

IndexDir = Annotated[Path, typer.Option("--index-dir", help="Where the index lives.")]
NoRebuild = Annotated[
    bool, typer.Option("--no-rebuild", help="Fail instead of rebuilding when the corpus changed since indexing.")
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]


def _say(message: str) -> None:
    from semsearch.terminal import say

    say(message)


@contextlib.contextmanager
def _interruptible() -> Iterator[None]:
    """Around a build: Ctrl-C or SIGTERM ends it with the library's one line on what was kept, and exit code 130
    (Typer would exit 130 silently)."""
    try:
        yield
    except KeyboardInterrupt as interrupted:
        _say(str(interrupted) or "interrupted")
        raise typer.Exit(130) from None


def _open(index_dir: Path, no_rebuild: bool) -> Index:
    """The index, built on first use from ./corpus, and refreshed from the sources it was built from (never from
    ./corpus) when they changed, unless --no-rebuild. Only the default index/ is built unasked: an --index-dir
    that does not exist is more likely a typo than a wish for a new index of ./corpus."""
    from semsearch.build import ensure_index

    first_build = [DEFAULT_CORPUS] if DEFAULT_CORPUS.is_dir() and index_dir == DEFAULT_INDEX else None
    with _interruptible():
        return ensure_index(first_build, index_dir, rebuild=not no_rebuild, on_rebuild=_say)


def _unit_interval(value: float | None) -> float | None:
    """Scores lie in [0, 1]; NaN would compare false with every score and so flag every pair."""
    if value is not None and not 0.0 <= value <= 1.0:
        raise typer.BadParameter(f"{value} is not a number from 0 to 1")
    return value


@app.command()
def index(
    paths: Annotated[list[Path] | None, typer.Argument(help="Files or directories (default: corpus/).")] = None,
    index_dir: IndexDir = DEFAULT_INDEX,
    model: Annotated[
        str | None, typer.Option(help="sentence-transformers model name or path (default: packaged MiniLM).")
    ] = None,
    index_type: Annotated[str, typer.Option(help="auto, flat, hnsw, ivf or ivfpq.")] = "auto",
    force: Annotated[bool, typer.Option(help="Re-embed everything instead of reusing unchanged paragraphs.")] = False,
    engine: Annotated[str, typer.Option(help="local, or ray (a Ray cluster embeds; needs semsearch[ray]).")] = "local",
    address: Annotated[
        str | None, typer.Option(help="With --engine ray: the cluster's address (default: start a local one).")
    ] = None,
) -> None:
    """Parse the corpus, embed new or changed paragraphs, and publish the index atomically."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from semsearch.ann import INDEX_TYPES
    from semsearch.build import ENGINES, IndexConfig, build_index
    from semsearch.terminal import console, show

    if index_type not in INDEX_TYPES:
        raise typer.BadParameter(f"choose {', '.join(INDEX_TYPES)}", param_hint="--index-type")
    if engine not in ENGINES:
        raise typer.BadParameter(f"choose {' or '.join(ENGINES)}", param_hint="--engine")
    if address is not None and engine != "ray":
        raise typer.BadParameter("only with --engine ray", param_hint="--address")
    sources = paths or [DEFAULT_CORPUS]
    config = IndexConfig(
        model=model,
        index_type=index_type,  # type: ignore[arg-type]
        force=force,
        engine=engine,  # type: ignore[arg-type]
        ray_address=address,
    )
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("texts (new paragraphs and their clauses)"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console(stderr=True), transient=True) as progress:
        task = progress.add_task("reading the corpus", total=None)

        def advance(done: int, total: int) -> None:
            phase = "loading the model" if done == 0 else "embedding"
            progress.update(task, completed=done, total=total, description=phase)

        with _interruptible():
            report = build_index(sources, index_dir, config, progress=advance)
    for skipped in report.skipped:
        _say(f"skipped {skipped}")
    for warning in report.warnings:
        _say(f"warning: {warning}")
    show(str(report))
    show(f"index written to {index_dir}")


@app.command()
def query(
    text: Annotated[str, typer.Argument(help="What to look for, in plain words.")],
    k: Annotated[int, typer.Option("--k", "-k", min=1, help="How many paragraphs to return.")] = 10,
    section: Annotated[
        list[str] | None, typer.Option(help="Only this section: numeral (V) or title words (marking).")
    ] = None,
    meeting: Annotated[list[str] | None, typer.Option(help="Only this meeting: ordinal (2) or year (2014).")] = None,
    doc: Annotated[list[str] | None, typer.Option(help="Only this document (id or symbol).")] = None,
    mode: Annotated[str, typer.Option(help="dense, lexical or hybrid.")] = "hybrid",
    as_json: JsonFlag = False,
    fmt: Annotated[
        str | None, typer.Option("--format", help="Write the hits as flat rows: csv or jsonl (to -o or stdout).")
    ] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File for --format (default: stdout).")] = None,
    full: Annotated[bool, typer.Option("--full", help="Whole paragraphs instead of snippets.")] = False,
    index_dir: IndexDir = DEFAULT_INDEX,
    no_rebuild: NoRebuild = False,
) -> None:
    """Ranked paragraphs for a plain-language query."""
    if fmt is not None and fmt not in ("csv", "jsonl"):
        raise typer.BadParameter("choose csv or jsonl", param_hint="--format")
    if output is not None and fmt is None:
        raise typer.BadParameter("give --format csv or jsonl with -o", param_hint="--output")
    from semsearch.naming import Naming
    from semsearch.search import Filters, Searcher, check_query

    check_query(text)
    loaded = _open(index_dir, no_rebuild)
    naming = Naming.of_index(loaded.manifest, loaded.paragraphs)
    filters = Filters(
        sections=tuple(section or ()),
        meetings=tuple(meeting or ()),
        docs=tuple(naming.resolve(d) for d in doc or ()),
    )
    result = Searcher(loaded).search(text, k=k, mode=mode, filters=filters)  # type: ignore[arg-type]
    for note in result.notes:
        _say(note)
    from semsearch.terminal import console, results_table, show, write_json, write_out

    if as_json:
        write_json(result.to_dict())
        return
    if fmt is not None:
        rows = result.to_csv() if fmt == "csv" else result.to_jsonl()
        if output is None:
            write_out(rows)
            return
        from semsearch.report import write_atomic

        write_atomic(output, rows)
        _say(f"{len(result.hits)} hits written to {output}")
        return
    if result.hits:
        show(results_table(result, naming, console().width, full=full))
    elif not result.notes:  # (a filter that matches nothing has said so)
        _say("no paragraph matches the query")


@app.command()
def show(
    number: Annotated[
        str, typer.Argument(help="Paragraph number as printed (52, 115.3), or DOC:NUMBER when documents share numbers.")
    ],
    doc: Annotated[
        str | None, typer.Option(help="Document id or symbol, when several documents share numbers.")
    ] = None,
    neighbours: Annotated[int, typer.Option(min=0, help="How many nearest paragraphs to list.")] = 5,
    index_dir: IndexDir = DEFAULT_INDEX,
    no_rebuild: NoRebuild = False,
) -> None:
    """One paragraph with its metadata, nearest neighbours and flagged repeats."""
    from semsearch.corpus import load_corpus
    from semsearch.errors import IndexMissingError
    from semsearch.naming import Naming
    from semsearch.terminal import paragraph_panel, show

    try:
        loaded = _open(index_dir, no_rebuild)
    except IndexMissingError:
        corpus = load_corpus([DEFAULT_CORPUS])
        naming = Naming.from_corpus(corpus)
        show(paragraph_panel(naming.find(corpus.paragraphs, number, doc), naming))
        return
    from semsearch.dedup import find_duplicates
    from semsearch.search import neighbours_of

    naming = Naming.of_index(loaded.manifest, loaded.paragraphs)
    paragraph = naming.find(loaded.paragraphs, number, doc)
    near = neighbours_of(loaded, paragraph, neighbours)
    report = find_duplicates(loaded, review=_review(index_dir, loaded, None))
    repeats = report.repeats_of(paragraph)
    show(paragraph_panel(paragraph, naming, near, [(p.paragraph, p.kind, p.score) for p in repeats]))


def _review(index_dir: Path, loaded: Index, given: Path | None):
    """The decisions kept beside the index, with those of `given` merged into them (and kept from now on)."""
    from semsearch.decisions import KEPT, Review, latest, read_decisions, to_jsonl

    kept_path = index_dir / KEPT
    kept = read_decisions(kept_path) if kept_path.is_file() else []
    if given is not None:
        from semsearch.report import write_atomic

        new = read_decisions(given)
        kept = latest([*kept, *new])
        write_atomic(kept_path, to_jsonl(kept))
        _say(f"{len(new)} decisions from {given} applied and kept in {kept_path} ({len(kept)} in all)")
    return Review.of(kept, loaded.paragraphs, loaded.hashes)


@app.command("corpus")
def corpus_summary(
    paths: Annotated[list[Path] | None, typer.Argument(help="Files or directories (default: corpus/).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Paragraphs per section × meeting."""
    from dataclasses import asdict

    from semsearch.corpus import load_corpus
    from semsearch.terminal import corpus_table, show, write_json

    corpus = load_corpus(paths or [DEFAULT_CORPUS])
    for skipped in corpus.skipped:
        _say(f"skipped {skipped}")
    for warning in corpus.warnings:
        _say(f"warning: {warning}")
    if as_json:
        write_json(
            {
                "documents": [{"doc": d.doc, "source": d.source, **asdict(d.meta)} for d in corpus.documents],
                "paragraphs": [p.to_dict() for p in corpus.paragraphs],
            }
        )
        return
    show(corpus_table(corpus))


@app.command("eval")
def evaluate_queries(
    queries: Annotated[Path, typer.Argument(help='JSONL: {"query": …, "relevant": {"52": 2, …}} per line.')],
    k: Annotated[int, typer.Option("--k", "-k", min=1)] = 10,
    as_json: JsonFlag = False,
    index_dir: IndexDir = DEFAULT_INDEX,
    no_rebuild: NoRebuild = False,
) -> None:
    """nDCG@k, MRR and recall@k for each search mode, side by side."""
    from dataclasses import asdict

    from semsearch.evaluation import evaluate, load_queries
    from semsearch.search import Searcher

    labelled = load_queries(queries)
    from semsearch.terminal import evaluation_table, show, write_json

    result = evaluate(Searcher(_open(index_dir, no_rebuild)), labelled, k=k)
    if as_json:
        write_json(asdict(result))
        return
    show(evaluation_table(result))


@app.command()
def shell(
    k: Annotated[int, typer.Option("--k", "-k", min=1)] = 5,
    mode: Annotated[str, typer.Option(help="dense, lexical or hybrid.")] = "hybrid",
    index_dir: IndexDir = DEFAULT_INDEX,
    no_rebuild: NoRebuild = False,
) -> None:
    """Load the index once and answer queries typed at a prompt (:help lists the commands)."""
    from semsearch.search import MODES

    if mode not in MODES:
        raise typer.BadParameter(f"choose {', '.join(MODES)}", param_hint="--mode")
    try:
        import readline
    except ImportError:  # not on every platform; the shell works without history
        readline = None  # type: ignore[assignment]
    history = Path(os.environ.get("SEMSEARCH_HISTORY", Path.home() / ".semsearch_history"))
    if readline is not None and history.exists():
        readline.read_history_file(history)
    session = _Shell(_open(index_dir, no_rebuild), k, mode)
    session.say("Type a query, or :help for the commands.")
    while True:
        try:
            line = input("semsearch> ").strip()
        except EOFError:
            break
        if not session.handle(line):
            break
    if readline is not None:
        with contextlib.suppress(OSError):
            readline.write_history_file(history)


SHELL_HELP = """\
:k [N]             show or set how many paragraphs to list
:mode [M]          show or set the ranking: dense, lexical or hybrid
:filter            show the filters
:filter section V  only section V (also: meeting 2014, doc ID)
:filter clear      drop every filter
:show NUMBER       one paragraph in full (DOC:NUMBER, several documents)
:full              whole paragraphs instead of snippets, or back
:quit              leave (or Ctrl-D); anything else is a query"""


class _Shell:
    """The shell's settings and commands; a bad setting is refused in one line and the old one kept."""

    def __init__(self, index: Index, k: int, mode: str) -> None:
        from semsearch.naming import Naming
        from semsearch.search import Filters, Searcher

        self.searcher = Searcher(index)
        index.query_encoder()
        self.naming = Naming.of_index(index.manifest, index.paragraphs)
        self.k, self.mode, self.full = k, mode, False
        self.filters = Filters()

    def say(self, message: str, style: str = "dim") -> None:
        from semsearch.terminal import show

        show(message, style=style)

    def error(self, message: str) -> None:
        self.say(f"error: {message}", style="red")

    def handle(self, line: str) -> bool:
        """Run one typed line; False when the shell should end."""
        from semsearch.errors import SemsearchError
        from semsearch.terminal import console, results_table, show

        if line in (":quit", ":q", "exit", "quit"):
            return False
        if not line:
            return True
        command, _, rest = line.partition(" ")
        actions = {":help": self.help, ":k": self.set_k, ":mode": self.set_mode, ":filter": self.set_filter,
                   ":show": self.show_paragraph, ":full": self.toggle_full}  # fmt: skip
        try:
            if line.startswith(":"):
                if command not in actions:
                    self.error(f"unknown command {command}; type :help for the commands")
                else:
                    actions[command](rest.strip())
                return True
            result = self.searcher.search(line, k=self.k, mode=self.mode, filters=self.filters)  # type: ignore[arg-type]
            for note in result.notes:
                self.say(note)
            if result.hits:
                show(results_table(result, self.naming, console().width, full=self.full))
            elif not result.notes:
                self.say("no paragraph matches the query")
        except SemsearchError as error:
            self.error(str(error))
        return True

    def help(self, _: str) -> None:
        from semsearch.terminal import lines, show

        show(lines(SHELL_HELP, style="dim"))

    def set_k(self, value: str) -> None:
        if not value:
            self.say(f"k = {self.k}")
        elif not value.isdigit() or int(value) < 1:
            self.error(f"k must be a whole number of at least 1, not {value!r}; k stays {self.k}")
        else:
            self.k = int(value)
            self.say(f"k = {self.k}")

    def set_mode(self, value: str) -> None:
        from semsearch.search import MODES

        if not value:
            self.say(f"mode = {self.mode}")
        elif value not in MODES:
            self.error(f"unknown mode {value!r}; choose {', '.join(MODES)}; mode stays {self.mode}")
        else:
            self.mode = value
            self.say(f"mode = {self.mode}")

    def set_filter(self, value: str) -> None:
        from dataclasses import replace

        from semsearch.search import Filters

        what, _, given = value.partition(" ")
        if not value:
            self.say(self._filters_line())
            return
        if what == "clear":
            self.filters = Filters()
            self.say(self._filters_line())
            return
        field = {"section": "sections", "meeting": "meetings", "doc": "docs"}.get(what)
        if field is None or not given.strip():
            self.error("write :filter section V, :filter meeting 2014, :filter doc ID or :filter clear")
            return
        wanted = self.naming.resolve(given.strip()) if field == "docs" else given.strip()
        candidate = replace(self.filters, **{field: (*getattr(self.filters, field), wanted)})
        candidate.allowed(self.searcher.index.paragraphs)  # an unknown value is refused here, filters unchanged
        self.filters = candidate
        self.say(self._filters_line())

    def _filters_line(self) -> str:
        f = self.filters
        parts = [f"section {', '.join(f.sections)}" if f.sections else "", f"meeting {', '.join(map(str, f.meetings))}"
                 if f.meetings else "", f"doc {', '.join(f.docs)}" if f.docs else ""]  # fmt: skip
        return "filters: " + ("; ".join(p for p in parts if p) or "none")

    def show_paragraph(self, value: str) -> None:
        from semsearch.search import neighbours_of
        from semsearch.terminal import paragraph_panel, show

        if not value:
            self.error("write :show NUMBER, e.g. :show 42")
            return
        index = self.searcher.index
        paragraph = self.naming.find(index.paragraphs, value, None)
        show(paragraph_panel(paragraph, self.naming, neighbours_of(index, paragraph, 3)))

    def toggle_full(self, _: str) -> None:
        self.full = not self.full
        self.say("whole paragraphs" if self.full else "snippets")


@app.command()
def duplicates(
    threshold: Annotated[
        float | None, typer.Option(callback=_unit_interval, help="Flag pairs scoring at least this (0 to 1).")
    ] = None,
    preset: Annotated[
        str | None,
        typer.Option(help="A threshold tuned on labelled pairs: precise (the default), balanced or thorough."),
    ] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="Write a report: md, html, csv or json.")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Report file (default: stdout).")] = None,
    as_json: JsonFlag = False,
    explain: Annotated[
        tuple[str, str] | None,
        typer.Option(help="Say why two paragraphs are or are not flagged: --explain 16 20 (or DOC:16 DOC:20)."),
    ] = None,
    decisions: Annotated[
        Path | None,
        typer.Option(
            "--decisions",
            help="Decisions exported from the HTML report (JSONL): applied, and kept in INDEX_DIR/decisions.jsonl.",
        ),
    ] = None,
    calibrate_with: Annotated[
        Path | None,
        typer.Option(
            "--calibrate", help="Labelled pairs or a decisions file (JSONL): print precision/recall per threshold."
        ),
    ] = None,
    top: Annotated[int | None, typer.Option(min=0, help="Show only the N largest groups in the terminal.")] = None,
    no_diff: Annotated[bool, typer.Option("--no-diff", help="Terminal view without word diffs.")] = False,
    doc: Annotated[
        str | None, typer.Option(help="Document id or symbol for --explain when numbers repeat across documents.")
    ] = None,
    index_dir: IndexDir = DEFAULT_INDEX,
    no_rebuild: NoRebuild = False,
) -> None:
    """Recommendations adopted again, verbatim or reworded, grouped, with the evidence for each flag.

    Decisions kept in INDEX_DIR/decisions.jsonl are always applied: confirmed pairs are listed, rejected ones never."""
    from semsearch.dedup import DEFAULT_PRESET, DedupConfig, find_duplicates

    if fmt is not None and fmt not in ("md", "html", "csv", "json"):
        raise typer.BadParameter("choose md, html, csv or json", param_hint="--format")
    if threshold is not None and preset is not None:
        raise typer.BadParameter("give --threshold or --preset, not both", param_hint="--preset")
    config = DedupConfig(threshold=threshold) if threshold is not None else DedupConfig.preset(preset or DEFAULT_PRESET)
    from semsearch.terminal import aligned, show

    loaded = _open(index_dir, no_rebuild)
    report = find_duplicates(loaded, config, review=_review(index_dir, loaded, decisions))
    if explain is not None:
        show(aligned(report.explain(report.pair(*explain, doc))))
        return
    if calibrate_with is not None:
        from semsearch.calibration import calibrate, load_pairs
        from semsearch.terminal import calibration_table

        rows = calibrate(report, load_pairs(calibrate_with, loaded))
        show(calibration_table(rows, config.threshold))
        return
    if as_json or fmt is not None:
        from semsearch.report import render, write_atomic
        from semsearch.terminal import write_out

        text = render(report, "json" if as_json and fmt is None else fmt)  # type: ignore[arg-type]
        if output is None:
            write_out(text)
        else:
            write_atomic(output, text)
            _say(f"{len(report.groups)} groups, {len(report.pairs)} pairs written to {output}")
        return
    from semsearch.report import summary_line
    from semsearch.terminal import group_panel, stale_panel, ungrouped_panel

    show(summary_line(report))
    for number in range(1, len(report.groups[:top]) + 1):
        show(group_panel(report, number, diffs=not no_diff))
    if report.ungrouped and top is None:
        show(ungrouped_panel(report.ungrouped, diffs=not no_diff))
    if report.review.stale:
        show(stale_panel(report))


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM stops a command as Ctrl-C does, so a build cleans up its temporary directory and says so."""
    raise KeyboardInterrupt


def main() -> None:
    """Entry point: user errors become one line on stderr and exit code 2, never a traceback."""
    from semsearch.errors import SemsearchError
    from semsearch.terminal import say

    signal.signal(signal.SIGTERM, _interrupt)
    try:
        app()
    except SemsearchError as error:
        say(f"error: {error}", style="red")
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
