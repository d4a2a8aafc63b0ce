"""The README's Python example runs as written, on a copy of the corpus."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

from .conftest import ROOT
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
