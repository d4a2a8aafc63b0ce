"""The notebooks in notebooks/ run headless from top to bottom, draw their figures, and are committed clean."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))
KERNEL = "python3"


@pytest.fixture(scope="module")
def kernel(tmp_path_factory) -> Iterator[str]:
    """A 'python3' kernelspec that runs this interpreter, found ahead of any user or system one of that name."""
    data_dir = tmp_path_factory.mktemp("jupyter")
    spec_dir = data_dir / "kernels" / KERNEL
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (semsearch tests)",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        # JUPYTER_PATH comes first in Jupyter's search path, ahead of ~/.local/share/jupyter and sys.prefix.
        paths = [str(data_dir), *filter(None, [os.environ.get("JUPYTER_PATH")])]
        patch.setenv("JUPYTER_PATH", os.pathsep.join(paths))
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.setenv("TRANSFORMERS_OFFLINE", "1")
        patch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
        # One index for all the notebooks, outside the repository: the first builds it, the others reuse it.
        patch.setenv("SEMSEARCH_INDEX", str(tmp_path_factory.mktemp("notebook-index")))
        from jupyter_client.kernelspec import KernelSpecManager

        assert KernelSpecManager().get_kernel_spec(KERNEL).argv[0] == sys.executable
        yield KERNEL


def execute(nb, kernel_name: str):
    client = nbclient.NotebookClient(
        nb, timeout=600, kernel_name=kernel_name, resources={"metadata": {"path": str(NOTEBOOKS)}}
    )
    return client.execute()


def test_the_notebooks_are_there():
    assert {"01-search.ipynb", "02-duplicates.ipynb", "03-map.ipynb"} <= {p.name for p in PATHS}


def test_the_kernel_runs_this_interpreter(kernel):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import sys\nprint(sys.executable)")])
    execute(nb, kernel)
    printed = nb.cells[0].outputs[0]["text"].strip()
    assert Path(printed).resolve() == Path(sys.executable).resolve()


@pytest.mark.slow
@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_notebook_runs_and_draws(path, kernel):
    nb = nbformat.read(path, as_version=4)
    execute(nb, kernel)  # raises CellExecutionError on the first cell that fails
    outputs = [output for cell in nb.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert images, f"{path.name} drew no figure"


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_notebook_is_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [
        n
        for n, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, f"{path.name}: cells {dirty} hold outputs; clear them before committing"
    assert nb.metadata.get("kernelspec", {}).get("name") == KERNEL
