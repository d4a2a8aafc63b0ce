"""The command line as a user meets it: real subprocesses, exit codes, one-line errors, no tracebacks."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from semsearch.dedup import PRESETS

from .conftest import CORPUS_FILE

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "COLUMNS": "160", "NO_COLOR": "1"}


def run(*arguments: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "semsearch", *arguments],
        cwd=cwd, env=ENV, input=stdin, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def assert_user_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    message = result.stderr.strip()
    assert message.startswith("error:"), message
    for fragment in fragments:
        assert fragment in " ".join(message.split()), message


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, built_index, corpus_copy) -> Path:
    """A directory laid out like the repository: corpus/ and index/ (the session's index, copied)."""
    root = tmp_path_factory.mktemp("workspace")
    shutil.copytree(corpus_copy, root / "corpus")
    from semsearch.build import build_index

    build_index([root / "corpus"], root / "index")
    return root


def test_query_table(workspace):
    result = run("query", "import marking", "-k", "3", cwd=workspace)
    assert result.returncode == 0, result.stderr
    lines = result.stdout
    assert "import marking" in lines and "107" in lines and "Marking, Record-Keeping" in lines
    first, second = (re.search(rf"│\s*{rank}\s*│\s*[\d.]+\s*│\s*(\d+)", lines) for rank in (1, 2))
    assert first.start() < second.start() and first.group(1) == "107"


def test_query_json(workspace):
    result = run("query", "import marking", "--json", "--k", "4", "--section", "V", "--meeting", "2016", cwd=workspace)
    data = json.loads(result.stdout)
    assert data["query"] == "import marking" and len(data["results"]) == 4
    assert {r["number"] for r in data["results"]} >= {"52"}
    assert all(r["meeting"]["ordinal"] == 4 and r["section"].startswith("V.") for r in data["results"])


def test_query_path_does_not_import_torch(workspace):
    code = (
        "import sys; from semsearch.cli import main; sys.argv = ['semsearch', 'query', 'import marking', '--json']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('TORCH' if 'torch' in sys.modules or 'sentence_transformers' in sys.modules else 'LIGHT')"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=workspace, env=ENV, capture_output=True, text=True)
    assert result.stdout.strip().endswith("LIGHT"), result.stdout[-200:] + result.stderr


def test_filter_matching_nothing_exits_zero(workspace):
    result = run("query", "marking", "--section", "VI", "--meeting", "4", cwd=workspace)
    assert result.returncode == 0 and "no paragraph matches" in result.stderr


@pytest.mark.parametrize(
    ("arguments", "fragments"),
    [
        (("query", "   "), ("query is empty",)),
        (("query", "marking", "--section", "XX"), ("unknown section 'XX'", "valid sections: I, II")),
        (("query", "marking", "--meeting", "1999"), ("unknown meeting", "1 (2012)")),
        (("query", "marking", "--mode", "fuzzy"), ("unknown mode",)),
        (("show", "999"), ("no paragraph numbered 999",)),
        (("index", "does/not/exist"), ("does/not/exist: no such file",)),
        (("query", "x", "--index-dir", "elsewhere", "--no-rebuild"), ("no index in elsewhere", "semsearch index")),
        (("eval", "missing.jsonl"), ("missing.jsonl: cannot be read",)),
        (("duplicates", "--explain", "16", "999"), ("no paragraph numbered 999",)),
        (("duplicates", "--preset", "loose"), ("no preset 'loose'", "precise, balanced, thorough")),
    ],
)
def test_user_errors_are_one_line(workspace, arguments, fragments):
    assert_user_error(run(*arguments, cwd=workspace), *fragments)


def test_long_query_is_truncated_with_a_note(workspace):
    result = run("query", "marking " * 2000, "--json", "-k", "1", cwd=workspace)
    assert result.returncode == 0 and "truncated" in result.stderr


@pytest.mark.parametrize(
    ("name", "content", "fragment"),
    [
        ("empty.txt", b"", "the file is empty"),
        ("binary.txt", b"\x00\x01\x02PNG", "looks binary"),
        ("latin1.txt", b"Caf\xe9 1. r\xe9sum\xe9\n", "not UTF-8"),
    ],
)
def test_bad_files(tmp_path, name, content, fragment):
    (tmp_path / name).write_bytes(content)
    result = run("index", name, "--index-dir", "idx", cwd=tmp_path)
    assert_user_error(result, name, fragment)
    assert not (tmp_path / "idx" / "CURRENT").exists()


def test_directory_without_documents(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "image.png").write_bytes(b"\x89PNG")
    assert_user_error(run("corpus", "docs", cwd=tmp_path), "docs: no readable documents")


def test_stale_index_with_no_rebuild(tmp_path, corpus_copy):
    shutil.copytree(corpus_copy, tmp_path / "corpus")
    assert run("index", cwd=tmp_path).returncode == 0
    with (tmp_path / "corpus" / CORPUS_FILE.name).open("a", encoding="utf-8") as handle:
        handle.write("\n\n167. The Conference may wish to recommend regular reviews.\n")
    assert_user_error(run("query", "reviews", "--no-rebuild", cwd=tmp_path), "out of date", "changed")
    result = run("query", "regular reviews", "--json", "-k", "1", cwd=tmp_path)
    assert "updating it" in result.stderr and json.loads(result.stdout)["results"][0]["number"] == "167"


def test_index_reports_reuse(workspace):
    result = run("index", cwd=workspace)
    assert result.returncode == 0 and "0 new, 0 changed, 166 reused" in " ".join(result.stdout.split())


def test_show_and_corpus(workspace):
    shown = run("show", "52", cwd=workspace)
    text = " ".join(shown.stdout.split())
    assert shown.returncode == 0
    assert "Marking, Record-Keeping and Tracing of Firearms" in text and "4th (2016) — 18 and 19 May 2016" in text
    assert "Nearest paragraphs" in text and "¶39" in text
    repeats = " ".join(run("show", "16", cwd=workspace).stdout.split())
    assert "Flagged repeats" in repeats and "¶20" in repeats and "verbatim" in repeats
    summary = run("corpus", cwd=workspace)
    assert summary.returncode == 0 and "166 paragraphs" in summary.stdout and "total" in summary.stdout


def test_duplicates_views(workspace, tmp_path):
    terminal = run("duplicates", "--top", "2", cwd=workspace)
    assert terminal.returncode == 0 and "Group 1" in terminal.stdout and "weakest link" in terminal.stdout
    assert "Group 3" not in terminal.stdout and "Flagged pairs outside the groups" not in terminal.stdout
    everything = run("duplicates", "--no-diff", cwd=workspace).stdout
    assert "Flagged pairs outside the groups" in everything and "Repeated part: " in everything
    data = json.loads(run("duplicates", "--json", cwd=workspace).stdout)
    assert data["groups"] and data["pairs"] and data["pairs"][0]["a"]["number"]
    # the terminal shows every listed pair once, and says the same counts as the exported report
    assert " ".join(everything.split()).startswith(data["summary"])
    assert all(everything.count(p["headline"]) == 1 for p in data["pairs"]) and len(data["pairs"]) == 49
    for fmt in ("md", "html", "csv", "json"):
        out = tmp_path / f"report.{fmt}"
        result = run("duplicates", "--format", fmt, "-o", str(out), cwd=workspace)
        assert result.returncode == 0 and out.stat().st_size > 1000
    explained = run("duplicates", "--explain", "16", "20", cwd=workspace)
    assert "flagged as verbatim" in explained.stdout
    calibration = run("duplicates", "--calibrate", str(Path(__file__).parent / "data" / "pairs.jsonl"), cwd=workspace)
    assert calibration.returncode == 0 and "precision" in calibration.stdout


def test_duplicates_presets_trade_precision_for_recall(workspace):
    flagged = {}
    for preset in ("precise", "balanced", "thorough"):
        data = json.loads(run("duplicates", "--preset", preset, "--json", cwd=workspace).stdout)
        assert data["threshold"] == PRESETS[preset]
        flagged[preset] = {(p["a"]["number"], p["b"]["number"]) for p in data["pairs"]}
    assert json.loads(run("duplicates", "--json", cwd=workspace).stdout)["threshold"] == PRESETS["precise"]
    assert flagged["precise"] < flagged["balanced"] < flagged["thorough"]
    both = run("duplicates", "--preset", "balanced", "--threshold", "0.5", cwd=workspace)
    assert both.returncode == 2 and "not both" in both.stderr


def test_eval_prints_every_mode(workspace):
    result = run("eval", str(Path(__file__).parent / "data" / "queries.jsonl"), "--json", cwd=workspace)
    data = json.loads(result.stdout)
    assert set(data["overall"]) == {"dense", "lexical", "hybrid"}
    assert data["overall"]["hybrid"]["queries"] >= 30


def test_shell_answers_typed_queries(workspace):
    result = run("shell", cwd=workspace, stdin="import marking\n:k 2\n:mode lexical\nballistic imaging\n:quit\n")
    assert result.returncode == 0 and "107" in result.stdout and "71" in result.stdout


def test_help_lists_commands(tmp_path):
    result = run("--help", cwd=tmp_path)
    for command in ("index", "query", "show", "corpus", "eval", "shell", "duplicates"):
        assert command in result.stdout


def test_core_library_has_no_terminal_code():
    package = Path(__file__).resolve().parent.parent / "semsearch"
    for module in package.glob("*.py"):
        if module.name in {"cli.py", "terminal.py", "__main__.py"}:
            continue
        text = module.read_text(encoding="utf-8")
        assert not re.search(r"^\s*(import|from)\s+(typer|rich)\b", text, flags=re.M), module.name


def test_a_query_from_another_directory_refreshes_the_index_from_its_own_sources(tmp_path):
    from .conftest import small_corpus

    docs = small_corpus(tmp_path / "docsA")
    assert run("index", str(docs), "--index-dir", str(tmp_path / "I"), cwd=tmp_path).returncode == 0
    small_corpus(docs, extra="\n4. The Conference may wish to recommend stamping.\n")
    (tmp_path / "other" / "corpus").mkdir(parents=True)
    (tmp_path / "other" / "corpus" / "other.txt").write_text("1. Unrelated.\n\n2. Other.\n", encoding="utf-8")
    result = run("query", "stamping", "--json", "--index-dir", str(tmp_path / "I"), cwd=tmp_path / "other")
    assert result.returncode == 0, result.stderr
    assert f"updating it from {docs}" in " ".join(result.stderr.split())
    assert {r["doc"] for r in json.loads(result.stdout)["results"]} == {"small"}


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [
        (("duplicates", "--threshold", "nan"), "nan is not a number from 0 to 1"),
        (("duplicates", "--threshold", "1.5"), "not a number from 0 to 1"),
        (("duplicates", "--top", "-1"), "-1 is not in the range x>=0"),
        (("show", "52", "--neighbours", "-1"), "-1 is not in the range x>=0"),
        (("duplicates", "--explain", "16", "16"), "are the same paragraph"),
    ],
)
def test_nonsense_options_are_refused(workspace, arguments, fragment):
    result = run(*arguments, cwd=workspace)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert fragment in " ".join(result.stderr.replace("│", " ").split()), result.stderr


def test_markup_in_paths_and_messages_is_printed_as_it_is(tmp_path):
    from .conftest import small_corpus

    small_corpus(tmp_path / "corpus")
    built = run("index", "corpus", "--index-dir", "out/[/x]", cwd=tmp_path)
    assert built.returncode == 0 and "index written to out/[/x]" in built.stdout, built.stderr
    missing = run("query", "x", "--index-dir", "[red]nowhere", "--no-rebuild", cwd=tmp_path)
    assert_user_error(missing, "no index in [red]nowhere")


def test_columns_zero_still_prints(workspace):
    result = subprocess.run(
        [sys.executable, "-m", "semsearch", "query", "import marking", "-k", "2"],
        cwd=workspace, env={**ENV, "COLUMNS": "0"}, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0 and "107" in result.stdout


def test_file_names_cannot_fake_lines_or_break_output(tmp_path):
    """A newline in a name stays inside its message; a name that is not UTF-8 survives the manifest, strict
    UTF-8 output and --json."""
    import os as os_module

    from .conftest import small_corpus

    corpus = small_corpus(tmp_path / "corpus")
    (corpus / "a\nerror: fake.txt").write_text("", encoding="utf-8")
    (corpus / os_module.fsdecode(b"caf\xe9.txt")).write_text("1. Caf\u00e9 text.\n\n2. More.\n", encoding="utf-8")
    strict = {**ENV, "PYTHONIOENCODING": "utf-8:strict"}
    for arguments in (("corpus",), ("corpus", "--json"), ("index",)):
        result = subprocess.run(
            [sys.executable, "-m", "semsearch", *arguments], cwd=tmp_path, env=strict, capture_output=True, timeout=300
        )
        assert result.returncode == 0, result.stderr.decode("utf-8", "replace")
        stdout, stderr = result.stdout.decode("utf-8"), result.stderr.decode("utf-8")  # strict: valid UTF-8
        assert not any(line.startswith("error: fake") for line in (stdout + stderr).splitlines())
        assert "a⟨LF⟩error: fake.txt: the file is empty" in stderr
    data = json.loads(
        subprocess.run(
            [sys.executable, "-m", "semsearch", "corpus", "--json"], cwd=tmp_path, env=strict, capture_output=True
        ).stdout.decode("utf-8")
    )
    assert "caf\\xe9" in [d["doc"] for d in data["documents"]]
    again = run("query", "text", "--no-rebuild", cwd=tmp_path)
    assert again.returncode == 0, "the manifest kept the name: the index is not stale"


INTERRUPTED_BUILD = """
import os, signal, sys
import semsearch.build
from semsearch.cli import main
where, signum = sys.argv[1], getattr(signal, sys.argv[2])
original = getattr(semsearch.build, where)
def stop(*args, **kwargs):
    os.kill(os.getpid(), signum)
    return original(*args, **kwargs)
setattr(semsearch.build, where, stop)
sys.argv = ["semsearch", "index", "--force"]
main()
"""


@pytest.mark.parametrize(("where", "signum"), [("_embed_missing", "SIGINT"), ("make_faiss_index", "SIGTERM")])
def test_an_interrupted_build_says_so_and_leaves_nothing(tmp_path, where, signum):
    from .conftest import small_corpus

    small_corpus(tmp_path / "corpus")
    assert run("index", cwd=tmp_path).returncode == 0
    before = sorted(p.name for p in (tmp_path / "index").iterdir())
    result = subprocess.run(
        [sys.executable, "-c", INTERRUPTED_BUILD, where, signum],
        cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 130 and "Traceback" not in result.stderr
    assert result.stderr.strip().endswith("is unchanged") and "interrupted; the previous index in" in result.stderr
    assert sorted(p.name for p in (tmp_path / "index").iterdir()) == before, "no .tmp- directory left"


def test_a_huge_paragraph_is_embedded_cut_and_shown_capped(tmp_path):
    (tmp_path / "corpus").mkdir()
    words = ("marking firearms records tracing import licence " * 40_000).strip()  # ~2 MB on one line
    (tmp_path / "corpus" / "huge.txt").write_text(words + ".\n", encoding="utf-8")
    assert run("index", cwd=tmp_path).returncode == 0
    shown = run("show", "1", cwd=tmp_path)
    assert shown.returncode == 0 and len(shown.stdout) < 20_000
    assert "more characters not shown" in " ".join(shown.stdout.replace("│", " ").split())
    assert "Nearest paragraphs" not in shown.stdout, "a paragraph is never its own neighbour"


def test_shell_commands_are_validated_and_leave_settings_unchanged(workspace):
    from semsearch.cli import SHELL_HELP

    typed = ":help\n:k 0\n:k x\n:k 2\n:mode foo\n:mode\n:filter section XII\n:filter meeting 1999\n:filter\n"
    typed += "work of the working group\n:show 42\n:bogus\n:filter clear\n:filter\n:quit\n"
    result = run("shell", cwd=workspace, stdin=typed)
    out = " ".join(result.stdout.split())
    assert result.returncode == 0 and "Traceback" not in result.stderr
    assert ":filter clear drop every filter" in out and all(len(line) <= 80 for line in SHELL_HELP.splitlines())
    assert "not '0'; k stays 5" in out and "not 'x'; k stays 5" in out and "k = 2" in out
    assert "unknown mode 'foo'; choose dense, lexical, hybrid; mode stays hybrid" in out and "mode = hybrid" in out
    assert "filters: section XII" in out and "unknown meeting '1999'" in out
    table = result.stdout[result.stdout.index("work of the working group") :]
    numbers = re.findall(r"│\s*\d\s*│\s*[\d.]+(?: weak)?\s*│\s*(\d+)", table[: table.index("╭")])
    assert len(numbers) == 2 and all(150 <= int(n) <= 166 for n in numbers), "k = 2, section XII only"
    assert "not less than 10 years" in out, ":show prints the whole paragraph"
    assert "unknown command :bogus; type :help" in out and out.rstrip().endswith("filters: none semsearch>")


def test_query_exports_flat_rows(workspace, tmp_path):
    jsonl = run("query", "record keeping", "-k", "3", "--format", "jsonl", cwd=workspace)
    rows = [json.loads(line) for line in jsonl.stdout.splitlines()]
    assert [r["rank"] for r in rows] == [1, 2, 3] and rows[0]["meeting_year"] == 2012
    target = tmp_path / "hits.csv"
    written = run("query", "record keeping", "-k", "3", "--format", "csv", "-o", str(target), cwd=workspace)
    assert written.returncode == 0 and "3 hits written to" in written.stderr
    table = list(csv.DictReader(target.open(encoding="utf-8")))
    assert [r["number"] for r in table] == [r["number"] for r in rows] and table[0]["query"] == "record keeping"
    refused = run("query", "x", "-o", str(target), cwd=workspace)
    assert refused.returncode == 2 and "give --format csv or jsonl with -o" in refused.stderr


def test_query_snippet_shows_the_answer_and_full_the_paragraph(workspace):
    snippet = run("query", "how long must records be kept?", "-k", "1", cwd=workspace)
    assert "not less than 10 years" in " ".join(re.sub(r"[│┃]", " ", snippet.stdout).split())
    assert "score: cosine and 0.3 × BM25 share, averaged, 0–1" in " ".join(snippet.stdout.split())
    full = run("query", "import marking", "-k", "1", "--full", cwd=workspace)
    text = " ".join(re.sub(r"[│┃]", " ", full.stdout).split())
    assert "UNODC should develop guidance" in text and "assistance in that regard." in text


def test_a_lexical_query_matching_nothing_says_so(workspace):
    result = run("query", "zzqx", "--mode", "lexical", cwd=workspace)
    assert result.returncode == 0 and "no paragraph matches the query" in result.stderr


def test_a_mistyped_index_dir_is_not_built_from_the_corpus(workspace):
    result = run("query", "import marking", "--index-dir", "indx", cwd=workspace)
    assert_user_error(result, "no index in indx", "semsearch index")
    assert not (workspace / "indx").exists()
