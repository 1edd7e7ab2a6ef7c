"""The notebooks in notebooks/ run top to bottom, and are committed without outputs.

Every notebook reads its sizes from environment variables in its first code
cell; the slow test shrinks them so that each notebook runs in seconds, in a
temporary working directory (where the notebook writes its ``outputs/``).
New notebooks are picked up automatically.
"""

import time
from pathlib import Path

import nbformat
import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))

#: Sizes the slow test runs the notebooks at (the kernel inherits the environment).
TINY_SIZES = {"NOTEBOOK_N_TRAIN": "300", "NOTEBOOK_EPOCHS": "1", "NOTEBOOK_FOLDS": "2",
              "NOTEBOOK_TRIALS": "3"}
CELL_TIMEOUT_S = 600

#: Run after a notebook's first cell (which quiets TensorFlow before importing it) in
#: the test's copy only: at the tiny sizes a fit is a few steps, which run eagerly in
#: 130 s for the five notebooks instead of 172 s compiled (tracing costs more than
#: training there; see helpers.running_eagerly). Users run them compiled, as every
#: other test of the members does.
EAGER_CELL = "import tensorflow as tf\n\ntf.config.run_functions_eagerly(True)"


def _ids(path):
    return path.name


def test_there_are_notebooks():
    assert NOTEBOOKS, f"no notebooks found in {NOTEBOOK_DIR}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_notebook_is_saved_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata.get("kernelspec", {}).get("name") == "python3"
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code_cells, "a notebook without code"
    for index, cell in enumerate(code_cells):
        assert cell.outputs == [], f"code cell {index} has saved outputs"
        assert cell.execution_count is None, f"code cell {index} has an execution count"
    # The slow test can only shrink a notebook that reads its sizes first.
    first = code_cells[0].source
    for variable in ("NOTEBOOK_N_TRAIN", "NOTEBOOK_EPOCHS", "TF_CPP_MIN_LOG_LEVEL"):
        assert variable in first, f"the first code cell does not read {variable}"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_notebook_runs_top_to_bottom(path, tmp_path, monkeypatch):
    from nbclient import NotebookClient

    for name, value in TINY_SIZES.items():
        monkeypatch.setenv(name, value)
    notebook = nbformat.read(path, as_version=4)
    first_code = next(index for index, cell in enumerate(notebook.cells)
                      if cell.cell_type == "code")
    notebook.cells.insert(first_code + 1, nbformat.v4.new_code_cell(EAGER_CELL))
    client = NotebookClient(
        notebook, kernel_name="python3", timeout=CELL_TIMEOUT_S,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError, with the cell and traceback, on any error
    seconds = time.perf_counter() - start

    outputs = [output for cell in notebook.cells if cell.cell_type == "code"
               for output in cell.outputs]
    errors = [output for output in outputs if output.output_type == "error"]
    assert not errors, errors
    # Figures must render as images, not as "<Figure size ...>" text only.
    images = [output for output in outputs if "image/png" in output.get("data", {})]
    assert images, "no figure was displayed as an image"
    text_only_figures = [output for output in outputs
                         if str(output.get("data", {}).get("text/plain", "")).startswith("<Figure")
                         and "image/png" not in output["data"]]
    assert not text_only_figures, "a figure was shown as text, not as an image"
    assert (tmp_path / "outputs").is_dir(), "the notebook wrote nothing under outputs/"
    print(f"{path.name}: executed in {seconds:.1f} s")
