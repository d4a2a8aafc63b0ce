"""Screenshots of a `semsearch shell` session at 80 and 120 columns, on a light and a dark terminal theme.

Runs the real shell on the bundled corpus (its colours forced on), replays the typed lines into the transcript after
each prompt, renders it with Rich's SVG export in both themes and, where Debian's chromium is installed, turns
each SVG into a PNG to look at. Writes docs/shell-{80,120}-{light,dark}.svg (and .png).

    python bench/screenshots.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.terminal_theme import DEFAULT_TERMINAL_THEME, MONOKAI
from rich.text import Text

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
TYPED = [":help", "how long must records be kept?", ":filter meeting 2016", ":k 2", "import marking", ":mode foo"]
THEMES = {"light": DEFAULT_TERMINAL_THEME, "dark": MONOKAI}


def session(width: int, workdir: Path) -> str:
    environment = {**os.environ, "COLUMNS": str(width), "FORCE_COLOR": "1", "HF_HUB_OFFLINE": "1",
                   "TRANSFORMERS_OFFLINE": "1", "SEMSEARCH_HISTORY": str(workdir / "history"),
                   "PYTHONPATH": str(ROOT)}  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "semsearch", "shell", "-k", "3"],
        cwd=workdir,
        env=environment,
        input="\n".join([*TYPED, ":quit"]) + "\n",
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    parts = result.stdout.split("semsearch> ")
    typed = iter(TYPED)
    return parts[0] + "".join(f"semsearch> {next(typed, '')}\n{part}" for part in parts[1:-1])


def main() -> None:
    DOCS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        workdir = Path(work)
        shutil.copytree(ROOT / "corpus", workdir / "corpus")
        subprocess.run([sys.executable, "-m", "semsearch", "index"], cwd=workdir, check=True, capture_output=True,
                       env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)})  # fmt: skip
        for width in (80, 120):
            transcript = session(width, workdir)
            for name, theme in THEMES.items():
                console = Console(record=True, width=width, force_terminal=True, file=open(os.devnull, "w"))  # noqa: SIM115
                console.print(Text.from_ansi(transcript))
                svg = DOCS / f"shell-{width}-{name}.svg"
                svg.write_text(console.export_svg(title=f"semsearch shell, {width} columns", theme=theme))
                if shutil.which("chromium"):
                    png = svg.with_suffix(".png")
                    subprocess.run(
                        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                         "--disable-background-networking", "--no-first-run", f"--user-data-dir={workdir / 'chrome'}",
                         f"--screenshot={png}", f"--window-size={width * 9 + 60},{1900 if width == 80 else 1500}",
                         svg.as_uri()],
                        check=True, capture_output=True, timeout=120,
                    )  # fmt: skip
                print("wrote", svg)


if __name__ == "__main__":
    main()
