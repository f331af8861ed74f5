"""Build the lecture notebooks from their sources and run them top to bottom.

Each notebook is written as a plain Python file in ``notebooks/src/`` with
cells separated by ``# %%`` lines (``# %% [markdown]`` for text, whose lines
start with ``# ``), so that it can be read and reviewed as code.  This script
turns every source into ``notebooks/NN_name.ipynb`` and executes it with
nbclient, so the committed notebooks carry the outputs of a real run:

    python notebooks/build.py                 # all notebooks, full run
    python notebooks/build.py 01 04           # only these
    MINIDL_FAST=1 python notebooks/build.py   # fast mode: fewer batches and epochs

A cell error stops the build with the notebook's name and the failing cell.
"""
import argparse
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "src"


def parse_cells(text):
    """Split a ``# %%`` source into ``(kind, source)`` cells."""
    cells, kind, lines = [], None, []

    def flush():
        body = "\n".join(lines).strip("\n")
        if kind is not None and body:
            cells.append((kind, body))

    for line in text.splitlines():
        if line.startswith("# %%"):
            flush()
            kind, lines = ("markdown" if "[markdown]" in line else "code"), []
        elif kind == "markdown":
            lines.append(line[2:] if line.startswith("# ") else line.lstrip("#"))
        elif kind is not None:
            lines.append(line)
    flush()
    return cells


def make_notebook(source):
    import nbformat
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for kind, body in parse_cells(source.read_text()):
        make = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
        nb.cells.append(make(body))
    return nb


def execute(nb, timeout=1200):
    """Run every cell in a fresh kernel whose working directory is ``notebooks/``."""
    from nbclient import NotebookClient
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(HERE)}}).execute()
    return nb


def build(source, out_dir=HERE, run=True):
    import nbformat
    nb = make_notebook(source)
    if run:
        execute(nb)
    target = Path(out_dir) / (source.stem + ".ipynb")
    tmp = target.with_suffix(".ipynb.tmp")
    nbformat.write(nb, str(tmp))
    os.replace(tmp, target)
    return target


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("only", nargs="*", help="notebook number prefixes to build (default: all)")
    parser.add_argument("--no-run", action="store_true", help="write the notebooks without running them")
    args = parser.parse_args(argv)
    # A non-interactive backend (MPLBACKEND=Agg) would leave the committed notebooks without figures.
    os.environ.pop("MPLBACKEND", None)
    sources = sorted(SOURCES.glob("[0-9][0-9]_*.py"))
    if args.only:
        sources = [s for s in sources if any(s.name.startswith(p) for p in args.only)]
    for source in sources:
        start = time.perf_counter()
        target = build(source, run=not args.no_run)
        print(f"{target.name}: {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
