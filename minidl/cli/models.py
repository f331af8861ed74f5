"""``python -m minidl models [PATTERN ...]``: the model zoo with parameter counts."""
import fnmatch

from minidl import models
from minidl.nn.init import skip_init
from minidl.summary import count_parameters

from ._common import UsageError, unknown


def add_parser(sub):
    p = sub.add_parser("models", help="list the model zoo with parameter counts",
                       usage="python -m minidl models [PATTERN ...]")
    p.add_argument("patterns", nargs="*", metavar="PATTERN",
                   help="only the models matching these names or shell patterns (e.g. 'resnet*')")
    p.set_defaults(run=run, parser=p)


def run(args):
    """Print the registered models (all, or those matching the patterns) with their parameter counts."""
    names = models.list_models()
    for pattern in args.patterns:
        if not fnmatch.filter(names, pattern):
            raise UsageError(unknown("model", pattern, names, f"no model matches {pattern!r}"))
    if args.patterns:
        names = [n for n in names if any(fnmatch.fnmatchcase(n, p) for p in args.patterns)]
    width = max(map(len, names))
    print(f"{'model':<{width}}  {'parameters':>13}")
    for name in names:
        # built without drawing initial weights: the draws are what takes the time (VGG-16: seconds)
        print(f"{name:<{width}}  {count_parameters(skip_init(models.get, name)):>13,}", flush=True)
