"""``python -m minidl bench ARGS``: ``benchmarks/run.py ARGS`` of the minidl clone in the current directory.

The benchmarks compare with PyTorch and live in the repository, not in the
installed package, so this command runs them from the root of a clone.
"""
import subprocess
import sys
from pathlib import Path

from ._common import UsageError

SCRIPT = Path("benchmarks") / "run.py"


def add_parser(sub):
    p = sub.add_parser("bench", add_help=False,
                       help="benchmark against PyTorch (benchmarks/run.py of a clone; try bench --help)",
                       usage="python -m minidl bench [ARGS of benchmarks/run.py]")
    p.set_defaults(run=run, parser=p, takes_rest=True)


def run(args):
    """Run benchmarks/run.py of the current directory with the remaining arguments."""
    if not SCRIPT.is_file():
        raise UsageError(f"no {SCRIPT} in {Path.cwd()}: the benchmarks are in the minidl repository, not in "
                         "the installed package; run this command from the root of a clone of the "
                         "repository, where benchmarks/run.py is")
    return subprocess.call([sys.executable, str(SCRIPT), *args.rest])
