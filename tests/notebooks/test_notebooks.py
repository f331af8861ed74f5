"""Every notebook runs top to bottom in fast mode, and matches its source in notebooks/src/."""
import importlib.util
import os
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
SOURCES = sorted((NOTEBOOKS / "src").glob("[0-9][0-9]_*.py"))

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")


def _builder():
    spec = importlib.util.spec_from_file_location("notebook_build", NOTEBOOKS / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("source", SOURCES, ids=[s.stem for s in SOURCES])
def test_committed_notebook_matches_its_source(source):
    committed = NOTEBOOKS / (source.stem + ".ipynb")
    assert committed.exists(), f"{committed.name} is missing: run python notebooks/build.py {source.stem[:2]}"
    nb = nbformat.read(str(committed), as_version=4)
    expected = _builder().parse_cells(source.read_text())
    assert [(c.cell_type, c.source) for c in nb.cells] == expected, \
        f"{committed.name} is stale: run python notebooks/build.py {source.stem[:2]}"
    assert all(c.outputs for c in nb.cells if c.cell_type == "code" and "print(" in c.source), \
        f"{committed.name} was committed without the outputs of a run"
    assert all(any("image/png" in out.get("data", {}) for out in c.outputs)
               for c in nb.cells if c.cell_type == "code" and "plt.show()" in c.source), \
        f"{committed.name} was committed without its figures (built with a non-interactive backend?)"


@pytest.mark.parametrize("source", SOURCES, ids=[s.stem for s in SOURCES])
def test_notebook_runs_in_fast_mode(source, monkeypatch):
    monkeypatch.setenv("MINIDL_FAST", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("PYTHONPATH", str(NOTEBOOKS.parent) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    builder = _builder()
    builder.execute(builder.make_notebook(source), timeout=300)
