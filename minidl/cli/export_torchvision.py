"""``python -m minidl export-torchvision NAME PATH [--weights DEFAULT]``: torchvision's pretrained
weights of a zoo model, written as a ``.npz`` file that ``train --weights PATH`` loads.

Needs torch and torchvision where it runs (and the network, unless the
weights are in torch's cache); the file it writes needs neither.
"""
from minidl import models

from ._common import UsageError, unknown


def add_parser(sub):
    p = sub.add_parser("export-torchvision", help="write torchvision's pretrained weights of a model as .npz",
                       usage="python -m minidl export-torchvision NAME PATH [--weights DEFAULT]",
                       description="Write torchvision's pretrained weights of model NAME to PATH (.npz), "
                                   "for `python -m minidl train --weights PATH` or "
                                   "models.get(NAME, weights=PATH). "
                                   "Needs torch and torchvision here; the file works without them.")
    p.add_argument("name", metavar="NAME", help="a model of both minidl and torchvision, e.g. resnet34")
    p.add_argument("path", metavar="PATH", help="the .npz file to write")
    p.add_argument("--weights", default="DEFAULT", metavar="WEIGHTS",
                   help="a name of torchvision's weights for the model (default DEFAULT, e.g. IMAGENET1K_V1)")
    p.set_defaults(run=run, parser=p)


def run(args):
    """Export the weights; a missing torch or torchvision, or a failed download, is one error line."""
    if args.name not in models.list_models():
        raise UsageError(unknown("model", args.name, models.list_models()))
    try:
        path = models.export_torchvision(args.name, args.path, weights=args.weights)
    except models.WeightsError as error:
        raise UsageError(" ".join(str(error).split())) from None
    print(f"wrote torchvision's {args.weights} weights of {args.name} to {path}; load them with "
          f"python -m minidl train --model {args.name} --weights {path}")
