"""The README's Python example runs as written, on a copy of the corpus."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest

from .conftest import ROOT
from .readme_examples import README, examples, normalise, run_all
from .test_cli import ENV


def test_readme_python_example_runs(tmp_path, corpus_copy):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (example,) = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    shutil.copytree(corpus_copy, tmp_path / "corpus")
    result = subprocess.run([sys.executable, "-c", example], cwd=tmp_path, env=ENV, capture_output=True, text=True,
                            timeout=600)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "4th (2016)" in result.stdout and "weakest:" in result.stdout
    assert (tmp_path / "report.html").stat().st_size > 10_000


@pytest.mark.slow
def test_readme_examples_are_what_the_commands_print(tmp_path):
    """Each `$ semsearch …` example shows what the command prints today, numbers included (timings aside), so the
    README cannot drift; `python -m tests.readme_examples --write` refreshes them after a change."""
    found = examples(README.read_text(encoding="utf-8"))
    assert len(found) >= 10
    outputs = run_all([command for command, _ in found], tmp_path)
    for (command, shown), printed in zip(found, outputs, strict=True):
        assert normalise(printed) == normalise(shown), f"README example `{command}` prints otherwise"
