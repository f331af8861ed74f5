"""``python -m minidl summary MODEL [--input C,H,W]``: a model's layers, output shapes, parameters, MACs."""
import numpy as np

from minidl import models
from minidl.autograd import OpError
from minidl.nn.init import skip_init
from minidl.summary import summary

from ._common import UsageError, positive_int, shape, unknown


def add_parser(sub):
    p = sub.add_parser("summary", help="print a model's layers, output shapes, parameters and MACs",
                       usage="python -m minidl summary MODEL [--input C,H,W]")
    p.add_argument("model", help="a model name (see `python -m minidl models`)")
    p.add_argument("--input", type=shape, metavar="C,H,W",
                   help="the shape of one input, e.g. 3,32,32 (default: the size the model was designed "
                        "for, e.g. 3,224,224 for vgg16)")
    p.add_argument("--num-classes", type=positive_int, metavar="N",
                   help="number of classes (default: the model's own)")
    p.set_defaults(run=run, parser=p)


def run(args):
    """Print a model's layers with their output shapes, parameters and MACs for one input."""
    if args.model not in models.list_models():
        raise UsageError(unknown("model", args.model, models.list_models()))
    input_size = args.input or models.input_size(args.model)
    if input_size is None:
        raise UsageError(f"model {args.model} takes no images, so it has no input size to assume: "
                         "give one with --input")
    options = {} if args.num_classes is None else {"num_classes": args.num_classes}
    # the weights' values do not change the table, and drawing them is what takes the time; left as
    # allocated, they may overflow, which says nothing about the shapes measured
    model = skip_init(models.get, args.model, **options)
    try:
        with np.errstate(all="ignore"):
            summary(model, input_size)
    except (OpError, ValueError) as error:
        expected = models.input_size(args.model)
        hint = f" (it was designed for {','.join(map(str, expected))})" if expected else ""
        raise UsageError(f"model {args.model} cannot read an input of shape "
                         f"{','.join(map(str, input_size))}{hint}: {error}") from None
