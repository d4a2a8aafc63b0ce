"""The README's example commands, run for real: what `test_readme.py` compares and `--write` puts back.

Every line `$ semsearch …` in a ```text block of the README is run, in order, in a scratch directory holding a
copy of the corpus and of tests/data (so the first `semsearch index` builds and the second reuses), 100 columns
wide, and what it prints (stdout, then stderr) is the block's text up to the next `$` line. Timings are the only
figures allowed to differ: "26.4 s" is compared as "N s".

    python -m tests.readme_examples --write   # after a change that alters what a command prints
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
COLUMNS = "100"
_BLOCK = re.compile(r"^```text\n(.*?)^```$", re.S | re.M)  # top-level blocks; indented ones are transcripts
_SECONDS = re.compile(r"\b\d+(?:\.\d+)? s\b")


def examples(readme: str) -> list[tuple[str, list[str]]]:
    """(command line, the lines the README shows under it) for every `$ semsearch` line, in README order."""
    found = []
    for block in _BLOCK.findall(readme):
        command, shown = None, []
        for line in block.splitlines():
            if line.startswith("$ semsearch"):
                if command:
                    found.append((command, shown))
                command, shown = line[2:], []
            elif command is not None:
                shown.append(line)
        if command:
            found.append((command, shown))
    return found


def normalise(lines: list[str]) -> list[str]:
    return [_SECONDS.sub("N s", line.rstrip()) for line in lines]


def run_all(commands: list[str], workdir: Path) -> list[list[str]]:
    """What each command prints, run one after the other in `workdir`."""
    shutil.copytree(ROOT / "corpus", workdir / "corpus")
    shutil.copytree(ROOT / "tests" / "data", workdir / "tests" / "data")
    environment = {
        **os.environ,
        "COLUMNS": COLUMNS,
        "LINES": "200",
        "TERM": "dumb",
        "NO_COLOR": "1",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "SEMSEARCH_HISTORY": str(workdir / "history"),
        "PYTHONPATH": str(ROOT),
    }
    outputs = []
    for command in commands:
        words = shlex.split(command, comments=True)
        result = subprocess.run(
            [sys.executable, "-m", "semsearch", *words[1:]],
            cwd=workdir,
            env=environment,
            capture_output=True,
            text=True,
            timeout=600,
        )
        outputs.append([line.rstrip() for line in (result.stdout + result.stderr).rstrip("\n").splitlines()])
    return outputs


def write() -> None:
    readme = README.read_text(encoding="utf-8")
    found = examples(readme)
    with tempfile.TemporaryDirectory() as work:
        outputs = run_all([c for c, _ in found], Path(work))
    rebuilt = iter(zip(found, outputs, strict=True))

    def block(match: re.Match) -> str:
        lines, out = match.group(1).splitlines(), []
        for line in lines:
            if line.startswith("$ semsearch"):
                (_, _), printed = next(rebuilt)
                out += [line, *printed]
            elif not out or not any(x.startswith("$ semsearch") for x in out):
                out.append(line)
        return "```text\n" + "\n".join(out) + "\n```"

    README.write_text(_BLOCK.sub(block, readme), encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        raise SystemExit("usage: python -m tests.readme_examples --write")
    write()
