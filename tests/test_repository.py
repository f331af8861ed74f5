"""The repository as a newcomer gets it: self-contained, and its test markers honest."""
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# A path of a development machine, or a file beside the checkout rather than in it.
OUTSIDE = re.compile(r"\.\./shared|/work/|/home/\w|/Users/\w")


def _tracked_text_files():
    names = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for name in names.split():
        path = ROOT / name
        if path.suffix in {".py", ".md", ".toml", ".cfg", ".txt", ".json", ".ipynb"} or name == ".ci/run":
            if path != Path(__file__).resolve():      # this file spells the patterns out
                yield path


def test_no_file_reads_or_names_a_path_outside_the_repository():
    offenders = [f"{path.relative_to(ROOT)}: {match.group()}" for path in _tracked_text_files()
                 if path.exists() for match in [OUTSIDE.search(path.read_text(errors="replace"))] if match]
    assert offenders == []


def test_a_test_that_needs_torch_without_the_marker_fails(tmp_path):
    """What importorskip raises without torch: a skip for a marked test, a failure for an unmarked one."""
    (tmp_path / "test_inner.py").write_text(
        "import pytest\n"
        "def test_unmarked():\n"
        "    pytest.skip(\"could not import 'torch': No module named 'torch'\")\n"
        "@pytest.mark.torch\n"
        "def test_marked():\n"
        "    pytest.skip(\"could not import 'torch': No module named 'torch'\")\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    command = [sys.executable, "-m", "pytest", "-p", "tests.conftest", "-q", "-p", "no:cacheprovider",
               "-W", "ignore::pytest.PytestUnknownMarkWarning", str(tmp_path / "test_inner.py")]
    run = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert "1 failed, 1 skipped" in run.stdout, run.stdout + run.stderr
    assert "test_unmarked needs PyTorch but has no @pytest.mark.torch" in run.stdout
