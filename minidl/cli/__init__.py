"""The command line: ``python -m minidl COMMAND`` (``minidl COMMAND`` once installed).

Each command is one module of this package (``train``, ``summary``,
``models``, ``gradcheck``, ``bench``, ``demo``, ``export_torchvision``) with
the same two names:

* ``add_parser(subparsers)``: adds the command's parser and sets its
  defaults ``run`` (the function to call with the parsed flags) and
  ``parser``; ``takes_rest=True`` when the command passes unknown
  arguments on (``args.rest``);
* ``run(args)``: does the work and returns the exit code (None for 0), or
  raises a :class:`~minidl.cli._common.CommandError`.

So a new command is one new module (``export_torchvision.py`` may name its
command ``export-torchvision``); modules whose names start with ``_`` are
helpers.  The commands depend on the library, never the reverse.
"""
import argparse
import importlib
import pkgutil
import sys

from ._common import CommandError, Interrupted, UsageError

__all__ = ["main", "build_parser", "command_names"]

USAGE = """\
    python -m minidl train                         # LeNet-5 on MNIST, under a minute on 2 cores
    python -m minidl train --model mnist_convnet --dataset fashion-mnist --epochs 10
    python -m minidl export-torchvision resnet34 r34.npz   # torchvision's weights, where torch is installed
    python -m minidl train --dataset image-folder --data-dir dogs-vs-cats/train --model resnet34 \
        --weights r34.npz --freeze --cache-features     # fine-tune the head of a pretrained network
    python -m minidl summary vgg16                 # add --input 3,32,32 for another input size
    python -m minidl models                        # the zoo, with parameter counts
    python -m minidl gradcheck conv2d              # check an op's backward numerically
    python -m minidl bench --quick                 # benchmarks/run.py of a clone, arguments passed through
    mpirun -np 2 python -m mpi4py -m minidl train --distributed   # data-parallel on 2 processes

A mistake on the command line ends with one error line and exit code 2; a run
that fails (training diverged) with one error line and exit code 1; Ctrl-C with
one line saying what was kept and exit code 130.
"""


def command_names():
    """The commands: the modules of this package whose names do not start with '_'."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def build_parser():
    """The parser of every command (it builds no model and no tensor)."""
    parser = argparse.ArgumentParser(prog="python -m minidl", description=USAGE,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in command_names():
        importlib.import_module(f"{__name__}.{name}").add_parser(sub)
    return parser


def main(argv=None):
    """Run the command of ``argv`` (default ``sys.argv[1:]``); returns its exit code."""
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if rest and not getattr(args, "takes_rest", False):
        args.parser.error(f"unrecognized arguments: {' '.join(rest)}")
    args.rest = rest
    try:
        try:
            return args.run(args) or 0
        except KeyboardInterrupt:
            raise Interrupted("stopped by Ctrl-C") from None
    except UsageError as error:
        args.parser.error(str(error))
    except CommandError as error:
        print(f"{args.parser.prog}: {error.label}: {error}", file=sys.stderr)
        return error.exit_code
