"""The notebooks in examples/: each runs clean, top to bottom, in a real Jupyter kernel
(nbclient + ipykernel, the `dev` extra), and none is committed with outputs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import ROOT, requires

NOTEBOOKS = sorted((ROOT / "examples").glob("*.ipynb"))


def test_there_are_notebooks() -> None:
    assert [p.name for p in NOTEBOOKS] == [
        "01_walkthrough.ipynb",
        "02_hyperparameters.ipynb",
        "03_comparing_runs.ipynb",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebooks_are_committed_without_outputs(path: Path) -> None:
    book = json.loads(path.read_text(encoding="utf-8"))
    code = [cell for cell in book["cells"] if cell["cell_type"] == "code"]
    assert code
    assert all(cell["outputs"] == [] and cell["execution_count"] is None for cell in code), (
        f"{path.name} has outputs: clear them before committing (Kernel > Restart & Clear Output)"
    )


@pytest.mark.slow
@requires("nbclient", "dev")
@requires("ipykernel", "dev")
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_clean(path: Path, tmp_path: Path) -> None:
    """Executed as a learner opens it: from examples/, configs/ beside it; any error fails."""
    import nbclient
    import nbformat

    (tmp_path / "configs").symlink_to(ROOT / "configs")
    here = tmp_path / "examples"
    here.mkdir()
    copy = here / path.name
    shutil.copy(path, copy)
    book = nbformat.read(copy, as_version=4)
    client = nbclient.NotebookClient(
        book, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(here)}}
    )
    client.execute()  # raises CellExecutionError, with the cell and its traceback, on any error
    outputs = [out for cell in book.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [out for out in outputs if out.get("output_type") == "error"]
    text = json.dumps(outputs)
    assert "absl::InitializeLog" not in text and "oneDNN" not in text, "TensorFlow's log reached the notebook"
