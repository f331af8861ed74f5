"""``python -m minidl gradcheck [OP ...]``: each op's hand-written backward against central differences."""
import numpy as np

import minidl
import minidl.functional as F
from minidl.gradcheck import compare_gradients

from ._common import UsageError, unknown


def _target():
    return minidl.tensor(np.array([0, 3, 1, 4]))


def _indices():
    return minidl.tensor(np.array([[0, 2], [5, 1]]))


# op name -> (function of Tensors, shapes of its float64 inputs): small enough to check in a blink.
# The functions build their constant tensors when called, so that building the parser makes none.
CASES = {
    "conv2d": (lambda x, W, b: F.conv2d(x, W, b, stride=2, padding=1), [(2, 3, 6, 6), (4, 3, 3, 3), (4,)]),
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
    "embedding": (lambda W: F.embedding(_indices(), W), [(6, 3)]),
    "relu": (F.relu, [(3, 4)]),
    "leaky_relu": (F.leaky_relu, [(3, 4)]),
    "elu": (F.elu, [(3, 4)]),
    "sigmoid": (F.sigmoid, [(3, 4)]),
    "tanh": (F.tanh, [(3, 4)]),
    "softplus": (F.softplus, [(3, 4)]),
    "maxout": (lambda x: F.maxout(x, 2), [(3, 4, 2)]),
    "softmax": (F.softmax, [(3, 4)]),
    "log_softmax": (F.log_softmax, [(3, 4)]),
    "cross_entropy": (lambda x: F.cross_entropy(x, _target(), label_smoothing=0.1), [(4, 5)]),
    "mse_loss": (F.mse_loss, [(3, 4), (3, 4)]),
    "matmul": (F.matmul, [(3, 4), (4, 5)]),
}


def add_parser(sub):
    p = sub.add_parser("gradcheck", help="check ops' backward against numerical gradients",
                       usage="python -m minidl gradcheck [OP ...]")
    p.add_argument("ops", nargs="*", metavar="OP",
                   help=f"ops to check (default all): {', '.join(sorted(CASES))}")
    p.add_argument("--seed", type=int, default=0, help="seed of the random inputs (default 0)")
    p.set_defaults(run=run, parser=p)


def run(args):
    """Check each op's backward against central differences in float64; exit code 1 if any fails."""
    for op in args.ops:
        if op not in CASES:
            raise UsageError(unknown("op", op, sorted(CASES)))
    rng = np.random.default_rng(args.seed)
    failed = 0
    for op in args.ops or sorted(CASES):
        fn, shapes = CASES[op]
        inputs = [minidl.tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]
        result = compare_gradients(fn, inputs)
        failed += not result.ok
        print(f"{op:<20} {'ok' if result.ok else 'FAILED':<6}  max |analytic - numerical| = "
              f"{result.max_difference:.2e}")
    return 1 if failed else 0
