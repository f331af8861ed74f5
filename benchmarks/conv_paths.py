"""Time one convolution layer on each path the tuned engine can take: im2col, Winograd, direct.

    python benchmarks/conv_paths.py --shape 128,16,32,32,16 --kernel 3 --padding 1

The tuned engine (``minidl.functional.conv_tuned``) picks one path per layer
by rules measured on this kind of machine (the constants at the top of that
module).  This tool times forward and backward (input and weight gradients)
of the same layer on every path that can compute it, round-robin in one
process (``timing.time_round_robin``), so that a rule can be checked, or
measured again elsewhere.  Each path is forced by overriding the plan's
choice after the engine made it; the numbers computed do not depend on the
path (the tests hold every path equal to the reference).

It prints each path's median and its ratio to the path the engine picks,
and writes them as JSON with ``--out``.
"""
import argparse
import contextlib
import json
import sys
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

__all__ = ["PATHS", "possible_paths", "forced", "compare"]

PATHS = ("im2col", "winograd", "direct")


def possible_paths(plan):
    """The paths that can compute the layer of a ``conv_tuned._Plan``: im2col always, and Winograd
    and the direct convolution where its geometry (and, for the direct one, the kernels) allow."""
    return ["im2col"] + [path for path in ("winograd", "direct") if getattr(plan, f"{path}_possible")]


@contextlib.contextmanager
def forced(path):
    """Inside the block every tuned convolution runs ``path`` (None: the engine's own choice)."""
    from minidl.functional import conv_tuned
    plan_init = conv_tuned._Plan.__init__

    def init(plan, *args):
        plan_init(plan, *args)
        if path is not None:
            plan.direct, plan.winograd = path == "direct", path == "winograd"

    conv_tuned._Plan.__init__ = init
    try:
        yield
    finally:
        conv_tuned._Plan.__init__ = plan_init


def compare(shape, kernel, padding, stride=1, reps=7, warmup=2, seed=0):
    """Median ms of forward + backward for each possible path and the engine's choice ('chosen').

    shape: (N, C, H, W, F).  Returns ``{'chosen': path, 'times': {path: summary}}``.
    """
    import minidl
    import minidl.functional as F
    from minidl.functional import conv_tuned
    from benchmarks.timing import time_round_robin

    N, C, H, W, F_ = shape
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, C, H, W)).astype(np.float32)
    w = (rng.standard_normal((F_, C, kernel, kernel)) / np.sqrt(C * kernel * kernel)).astype(np.float32)
    OH, OW = ((size + 2 * padding - kernel) // stride + 1 for size in (H, W))
    gy = rng.standard_normal((N, F_, OH, OW)).astype(np.float32)

    def step(path):
        def run():
            with forced(path):
                xt, wt = minidl.tensor(x, requires_grad=True), minidl.tensor(w, requires_grad=True)
                F.conv2d(xt, wt, stride=stride, padding=padding).backward(gy)
        return run, lambda: None

    plan = conv_tuned._Plan(x, w.shape, (stride,) * 2, ((padding,) * 2,) * 2, (1, 1), 1, (OH, OW))
    chosen = "direct" if plan.direct else "winograd" if plan.winograd else "im2col"
    paths = possible_paths(plan)
    times = time_round_robin({path: step(path) for path in paths}, warmup, reps)
    return {"chosen": chosen, "times": times}


def main(argv=None):
    parser = argparse.ArgumentParser(description="One convolution layer on each path of the tuned engine.")
    parser.add_argument("--shape", required=True, help="N,C,H,W,F (batch, channels, height, width, filters)")
    parser.add_argument("--kernel", type=int, default=3)
    parser.add_argument("--padding", type=int, default=1)
    parser.add_argument("--stride", type=int, default=1)
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2, help="BLAS and kernel threads (default 2)")
    parser.add_argument("--out", help="a JSON file to write")
    args = parser.parse_args(argv)
    shape = tuple(int(n) for n in args.shape.split(","))
    if len(shape) != 5:
        parser.error(f"--shape needs five numbers N,C,H,W,F, got {args.shape!r}")
    from benchmarks import impls
    impls.set_threads(args.threads)
    result = compare(shape, args.kernel, args.padding, args.stride, args.reps, args.warmup)
    chosen = result["times"][result["chosen"]]["median_ms"]
    print(f"conv {shape} kernel {args.kernel} padding {args.padding} stride {args.stride}: "
          f"the engine picks {result['chosen']}")
    for path, summary in result["times"].items():
        ms = summary["median_ms"]
        print(f"  {path:9s} {ms:9.2f} ms  {ms / chosen:5.2f}x the chosen path")
    if args.out:
        Path(args.out).write_text(json.dumps({"shape": shape, "kernel": args.kernel, "padding": args.padding,
                                              "stride": args.stride, **result}, indent=1))


if __name__ == "__main__":
    main()
