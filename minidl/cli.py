"""The command line: ``python -m minidl COMMAND``.

    python -m minidl train                         # LeNet-5 on MNIST, under a minute on 2 cores
    python -m minidl train --model mnist_convnet --dataset fashion-mnist --epochs 10
    python -m minidl summary vgg16 --input 3,224,224
    python -m minidl models                        # the zoo, with parameter counts
    python -m minidl gradcheck conv2d              # check an op's backward numerically
    python -m minidl bench --quick                 # benchmarks/run.py, arguments passed through
    mpirun -np 2 python -m mpi4py -m minidl train --distributed   # data-parallel on 2 processes

A wrong model, dataset, device or flag ends with a one-line error and exit code 2.
"""
import argparse
import contextlib
import fnmatch
import subprocess
import sys
from pathlib import Path

import numpy as np

import minidl
from minidl.train import command
from minidl.train.command import UsageError, unknown

# The defaults of `train`, chosen for its main job: LeNet-5 on the bundled MNIST subset reaches 97.7-97.9%
# test accuracy with them (seeds 0-2; 97.4-97.5% after 15 epochs), in about 45 s on two busy cores.
DEFAULTS = {"epochs": 18, "batch_size": 64, "lr": 0.05, "momentum": 0.9, "schedule": "cosine"}
# `bench` runs the benchmarks of the source tree, which an installed package does not carry.
BENCHMARK_SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "run.py"


def _fail(parser, what, value, valid, message=None):
    """End with argparse's usage line and one error line naming the valid choices."""
    parser.error(unknown(what, value, valid, message))


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _shape(text):
    try:
        shape = tuple(int(d) for d in text.split(","))
    except ValueError:
        shape = ()
    if not shape or min(shape) <= 0:
        raise argparse.ArgumentTypeError(f"expected positive sizes separated by commas, like 3,224,224, "
                                         f"got {text!r}")
    return shape


# --------------------------------------------------------------------------- #
# demo
# --------------------------------------------------------------------------- #
def demo(args):
    """Train a two-layer network on synthetic two-class data and print the loss falling."""
    minidl.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    n = 512
    x = rng.standard_normal((n, 2)).astype(np.float32)
    y = (x[:, 0] * x[:, 1] > 0).astype(np.float32)[:, None]     # XOR-like quadrants
    x, y = minidl.tensor(x), minidl.tensor(y)
    w1 = minidl.randn(2, 32, requires_grad=True)
    b1 = minidl.zeros(32, requires_grad=True)
    w2 = minidl.randn(32, 1, requires_grad=True)
    b2 = minidl.zeros(1, requires_grad=True)
    params = [w1, b1, w2, b2]
    for step in range(args.steps + 1):
        h = minidl.autograd.maximum(x @ w1 * 0.5 + b1, 0.0)
        p = 1 / (1 + (-(h @ w2 * 0.2 + b2)).exp())
        loss = ((p - y) ** 2).mean()
        for t in params:
            t.grad = None
        loss.backward()
        for t in params:
            t.data -= args.lr * t.grad.data
        if step % (args.steps // 10) == 0:
            acc = float(((p.numpy() > 0.5) == (y.numpy() > 0.5)).mean())
            print(f"step {step:4d}  loss {loss.item():.4f}  accuracy {acc:.3f}")


# --------------------------------------------------------------------------- #
# train (the work is in minidl/train/command.py)
# --------------------------------------------------------------------------- #
def train(args):
    """Train a model of the zoo on a dataset; write the checkpoint, history and figures to --out."""
    try:
        command.run(args)
    except UsageError as error:
        args.parser.error(str(error))


# --------------------------------------------------------------------------- #
# models and summary
# --------------------------------------------------------------------------- #
@contextlib.contextmanager
def _no_random_draws():
    """Zeros instead of random initial weights while models are built only to be counted.

    Drawing the initial values is what takes time (VGG-16's 138 million take
    seconds); the layers and shapes are exactly those of a normal build.
    """
    gen = minidl.backend.Generator
    saved = gen.uniform, gen.normal

    def zeros(self, low=0.0, high=1.0, size=None, dtype=None):
        return np.zeros(size, dtype or minidl.get_default_dtype())

    gen.uniform = gen.normal = zeros
    try:
        yield
    finally:
        gen.uniform, gen.normal = saved


def list_zoo(args):
    """Print the registered models (all, or those matching the patterns) with their parameter counts."""
    from minidl import models
    names = models.list_models()
    if args.patterns:
        for pattern in args.patterns:
            if not fnmatch.filter(names, pattern):
                _fail(args.parser, "model", pattern, names, f"no model matches {pattern!r}")
        names = [n for n in names if any(fnmatch.fnmatchcase(n, p) for p in args.patterns)]
    width = max(map(len, names))
    print(f"{'model':<{width}}  {'parameters':>13}")
    with _no_random_draws():
        for name in names:
            print(f"{name:<{width}}  {minidl.count_parameters(models.get(name)):>13,}", flush=True)


def summary(args):
    """Print a model's layers with their output shapes, parameters and MACs for one input."""
    from minidl import models
    if args.model not in models.list_models():
        _fail(args.parser, "model", args.model, models.list_models())
    options = {} if args.num_classes is None else {"num_classes": args.num_classes}
    minidl.summary(models.get(args.model, **options), args.input)


# --------------------------------------------------------------------------- #
# gradcheck
# --------------------------------------------------------------------------- #
def _gradcheck_cases():
    """op name -> (function of Tensors, shapes of its float64 inputs): small enough to check in a blink."""
    import minidl.functional as F
    target = minidl.tensor(np.array([0, 3, 1, 4]))
    indices = minidl.tensor(np.array([[0, 2], [5, 1]]))
    return {
        "conv2d": (lambda x, W, b: F.conv2d(x, W, b, stride=2, padding=1),
                   [(2, 3, 6, 6), (4, 3, 3, 3), (4,)]),
        "conv2d_groups": (lambda x, W: F.conv2d(x, W, padding=1, dilation=2, groups=2),
                          [(1, 4, 6, 6), (6, 2, 3, 3)]),
        "conv1d": (lambda x, W, b: F.conv1d(x, W, b, padding=1), [(2, 3, 7), (4, 3, 3), (4,)]),
        "max_pool2d": (lambda x: F.max_pool2d(x, 3, stride=2, padding=1), [(2, 3, 6, 6)]),
        "avg_pool2d": (lambda x: F.avg_pool2d(x, 3, stride=2, padding=1), [(2, 3, 6, 6)]),
        "adaptive_avg_pool2d": (lambda x: F.adaptive_avg_pool2d(x, (3, 2)), [(2, 3, 7, 5)]),
        "max_pool1d": (lambda x: F.max_pool1d(x, 2), [(2, 3, 8)]),
        "batch_norm": (lambda x, w, b: F.batch_norm(x, np.zeros(3), np.ones(3), w, b, training=True),
                       [(4, 3, 3, 3), (3,), (3,)]),
        "local_response_norm": (lambda x: F.local_response_norm(x, size=3), [(2, 5, 3, 3)]),
        "linear": (F.linear, [(4, 5), (3, 5), (3,)]),
        "embedding": (lambda W: F.embedding(indices, W), [(6, 3)]),
        "relu": (F.relu, [(3, 4)]),
        "leaky_relu": (F.leaky_relu, [(3, 4)]),
        "elu": (F.elu, [(3, 4)]),
        "sigmoid": (F.sigmoid, [(3, 4)]),
        "tanh": (F.tanh, [(3, 4)]),
        "softplus": (F.softplus, [(3, 4)]),
        "maxout": (lambda x: F.maxout(x, 2), [(3, 4, 2)]),
        "softmax": (F.softmax, [(3, 4)]),
        "log_softmax": (F.log_softmax, [(3, 4)]),
        "cross_entropy": (lambda x: F.cross_entropy(x, target, label_smoothing=0.1), [(4, 5)]),
        "mse_loss": (F.mse_loss, [(3, 4), (3, 4)]),
        "matmul": (F.matmul, [(3, 4), (4, 5)]),
    }


def _worst_difference(fn, inputs):
    """The largest |analytic - numerical| over all input elements.

    With zero tolerances every differing element fails, and the error of
    :func:`minidl.gradcheck` reports the worst one ('difference <value>').
    """
    try:
        minidl.gradcheck(fn, inputs, atol=0.0, rtol=0.0)
    except minidl.GradcheckError as error:
        return float(str(error).split("difference ")[1].split()[0])
    return 0.0


def gradcheck(args):
    """Check each op's hand-written backward against central differences in float64."""
    cases = _gradcheck_cases()
    for op in args.ops:
        if op not in cases:
            _fail(args.parser, "op", op, sorted(cases))
    rng = np.random.default_rng(args.seed)
    failed = 0
    for op in args.ops or sorted(cases):
        fn, shapes = cases[op]
        inputs = [minidl.tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]
        ok = minidl.gradcheck(fn, inputs, raise_exception=False)
        failed += not ok
        print(f"{op:<20} {'ok' if ok else 'FAILED':<6}  max |analytic - numerical| = "
              f"{_worst_difference(fn, inputs):.2e}")
    return 1 if failed else 0


# --------------------------------------------------------------------------- #
# bench
# --------------------------------------------------------------------------- #
def bench(args):
    """Run benchmarks/run.py of the source tree with the remaining arguments."""
    if not BENCHMARK_SCRIPT.exists():
        args.parser.error(f"the benchmarks are not installed ({BENCHMARK_SCRIPT} is missing): run this "
                          "command from a clone of the minidl repository")
    return subprocess.call([sys.executable, str(BENCHMARK_SCRIPT), *args.args])


# --------------------------------------------------------------------------- #
# The parser
# --------------------------------------------------------------------------- #
def _schedule(text):
    from minidl.train.recipes import parse_schedule
    try:
        return parse_schedule(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _add_train_parser(sub):
    from minidl.data import list_datasets
    from minidl.train.recipes import OPTIMIZERS
    p = sub.add_parser(
        "train", help="train a model of the zoo on a dataset (default: LeNet-5 on MNIST)",
        usage="python -m minidl train [--model NAME] [--dataset NAME] [--epochs N] [options]",
        description="Train a model of the zoo, evaluating on the test split after every epoch.  Writes "
                    "checkpoint.npz (resumable), history.json, config.json, curves.png, confusion.png and "
                    "misclassified.png to --out.")
    p.add_argument("--model", default="lenet5", metavar="NAME",
                   help="model name (default lenet5; `python -m minidl models` lists them)")
    p.add_argument("--dataset", default="mnist", metavar="NAME",
                   help=f"one of {', '.join(list_datasets())} (default mnist: the full set if its files "
                        "are found, else the bundled 5,000-digit subset)")
    p.add_argument("--data-dir", metavar="DIR",
                   help="directory searched first for the dataset's files (image-folder: the folder "
                        "holding train/ and val/)")
    p.add_argument("--download", action="store_true", help="download missing dataset files")
    p.add_argument("--image-size", type=_positive_int, metavar="N",
                   help="image-folder: resize the images on load (N: the shorter side)")
    p.add_argument("--epochs", type=_positive_int, default=DEFAULTS["epochs"], metavar="N",
                   help=f"number of epochs (default {DEFAULTS['epochs']})")
    p.add_argument("--batch-size", type=_positive_int, default=DEFAULTS["batch_size"], metavar="N",
                   help=f"training batch size (default {DEFAULTS['batch_size']})")
    p.add_argument("--optimizer", default="sgd", choices=OPTIMIZERS, help="optimizer (default sgd)")
    p.add_argument("--lr", type=float, default=DEFAULTS["lr"],
                   help=f"learning rate (default {DEFAULTS['lr']})")
    p.add_argument("--momentum", type=float, default=DEFAULTS["momentum"],
                   help=f"momentum of SGD and RMSprop (default {DEFAULTS['momentum']})")
    p.add_argument("--weight-decay", type=float, default=0.0, metavar="WD",
                   help="L2 weight decay (default 0)")
    p.add_argument("--schedule", type=_schedule, default=DEFAULTS["schedule"], metavar="SCHEDULE",
                   help="learning-rate schedule: step:STEP:GAMMA (e.g. step:5:0.6667), "
                        "multistep:M1,M2,...:GAMMA (e.g. multistep:10,14,18:0.5), cosine or none "
                        f"(default {DEFAULTS['schedule']})")
    p.add_argument("--augment", action=argparse.BooleanOptionalAction, default=True,
                   help="random shifts of the training images, and left-right flips of colour ones "
                        "(default on; --no-augment turns it off)")
    p.add_argument("--device", default="cpu", metavar="DEVICE", help="cpu, cuda or cuda:N (default cpu)")
    p.add_argument("--threads", type=_positive_int, metavar="N",
                   help="BLAS threads on the CPU (default 1, the fastest for small networks and on a "
                        "busy machine; more helps big networks on an idle multi-core CPU)")
    p.add_argument("--seed", type=int, default=0, metavar="N", help="random seed (default 0)")
    p.add_argument("--out", metavar="DIR", help="output directory (default runs/MODEL-DATASET)")
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out, if any")
    p.add_argument("--quiet", action="store_true", help="no progress bars or per-epoch lines")
    p.add_argument("--distributed", action="store_true",
                   help="data-parallel training over the ranks of `mpirun -np N python -m mpi4py -m minidl "
                        "train ...`: each rank takes --batch-size/N samples of every batch, gradients are "
                        "averaged over the ranks after each backward, and the learning rate is not scaled "
                        "(the global batch and its mean gradient are those of one process); batch-norm "
                        "statistics are per rank; the test figures are summed over the ranks; rank 0 alone "
                        "prints and writes --out.  Without MPI: a world of one, the same as without the "
                        "flag")
    p.set_defaults(func=train, parser=p)


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m minidl", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("demo", help="train a two-layer network on synthetic data")
    p.add_argument("--steps", type=int, default=500, help="gradient steps (default 500)")
    p.add_argument("--lr", type=float, default=1.0, help="learning rate (default 1.0)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.set_defaults(func=demo, parser=p)

    _add_train_parser(sub)

    p = sub.add_parser("summary", help="print a model's layers, output shapes, parameters and MACs",
                       usage="python -m minidl summary MODEL --input C,H,W")
    p.add_argument("model", help="a model name (see `python -m minidl models`)")
    p.add_argument("--input", type=_shape, required=True, help="the shape of one input, e.g. 3,224,224")
    p.add_argument("--num-classes", type=_positive_int, metavar="N",
                   help="number of classes (default: the model's own)")
    p.set_defaults(func=summary, parser=p)

    p = sub.add_parser("models", help="list the model zoo with parameter counts",
                       usage="python -m minidl models [PATTERN ...]")
    p.add_argument("patterns", nargs="*", metavar="PATTERN",
                   help="only the models matching these names or shell patterns (e.g. 'resnet*')")
    p.set_defaults(func=list_zoo, parser=p)

    p = sub.add_parser("gradcheck", help="check ops' backward against numerical gradients",
                       usage="python -m minidl gradcheck [OP ...]")
    p.add_argument("ops", nargs="*", metavar="OP",
                   help=f"ops to check (default all): {', '.join(sorted(_gradcheck_cases()))}")
    p.add_argument("--seed", type=int, default=0, help="seed of the random inputs (default 0)")
    p.set_defaults(func=gradcheck, parser=p)

    p = sub.add_parser("bench", help="benchmark against PyTorch (benchmarks/run.py; try bench --help)",
                       add_help=False, usage="python -m minidl bench [ARGS of benchmarks/run.py]")
    p.set_defaults(func=bench, parser=p)
    return parser


def main(argv=None):
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if args.command == "bench":        # everything after `bench` belongs to benchmarks/run.py
        args.args = rest
    elif rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
