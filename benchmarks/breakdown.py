"""Where one minidl training step spends its time: forward and backward per layer type.

    python benchmarks/breakdown.py --model vgg_cifar --device cpu

For the duration of the measurement only, the ``forward`` and ``backward`` of
every ``minidl.autograd.Function`` subclass are wrapped by a timer (minidl
itself is not modified; the original methods are put back afterwards).  A
Function's time is charged to the phase of the step it runs in (forward,
backward, optimizer step), whichever of its methods runs: a backward may
well call a forward (a convolution's input gradient is a convolution).  It
is *exclusive*: a Function called from inside another is charged to itself,
not twice.  Functions are grouped into layer types by the module that
defines them (``minidl.functional.conv`` -> conv, ...).  The time of a phase
not spent inside any Function is Python and graph bookkeeping, shown as
"outside Functions".

On a GPU each timed call synchronizes the device before and after, which
serializes the queue: the per-op times are then honest, the total a little
slower than an unmeasured step.
"""
import argparse
import contextlib
import functools
import sys
import time
from collections import defaultdict
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

__all__ = ["PHASES", "instrumented", "breakdown", "markdown", "category"]

_CATEGORIES = {"conv": "conv", "conv_tuned": "conv", "pooling": "pool", "normalization": "batch norm",
               "linear": "linear", "activation": "activation", "loss": "loss", "dropout": "dropout",
               "embedding": "embedding"}


def category(cls):
    """The layer type of a Function class, from the module that defines it."""
    module = cls.__module__
    if module.startswith("minidl.functional."):
        return _CATEGORIES.get(module.rsplit(".", 1)[1], module.rsplit(".", 1)[1])
    if module.startswith("minidl.autograd."):
        return "elementwise and shape"
    return "other"


def _subclasses(cls):
    found, todo = [], [cls]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in found:
                found.append(sub)
                todo.append(sub)
    return found


PHASES = ("forward", "backward", "optimizer step")


class _Clock:
    """Exclusive time per (Function class, phase of the step), accumulated across calls.

    ``phase`` is set by whoever drives the step, before each of its phases.
    """

    def __init__(self, sync):
        self.sync = sync
        self.phase = PHASES[0]
        self.seconds = defaultdict(float)
        self.calls = defaultdict(int)
        self.nested = []        # per open call: the time spent in Functions it called

    def wrap(self, method):
        @functools.wraps(method)
        def timed(fn_self, *arrays):
            self.sync()
            self.nested.append(0.0)
            start = time.perf_counter()
            try:
                return method(fn_self, *arrays)
            finally:
                self.sync()
                elapsed = time.perf_counter() - start
                key = (type(fn_self), self.phase)
                self.seconds[key] += elapsed - self.nested.pop()
                self.calls[key] += 1
                if self.nested:
                    self.nested[-1] += elapsed
        return timed


@contextlib.contextmanager
def instrumented(sync=lambda: None):
    """Inside the block every Function's forward and backward is timed; yields the :class:`_Clock`."""
    from minidl.autograd import Function
    clock, patched = _Clock(sync), []
    for cls in _subclasses(Function):
        for method in ("forward", "backward"):
            if method in vars(cls):
                original = vars(cls)[method]
                patched.append((cls, method, original))
                setattr(cls, method, clock.wrap(original))
    try:
        yield clock
    finally:
        for cls, method, original in patched:
            setattr(cls, method, original)


def breakdown(name, device="cpu", batch=None, reps=3, warmup=1):
    """Mean milliseconds per training step of model ``name``: per phase, per layer type, per Function.

    Returns ``{'model', 'device', 'batch', 'phases': {phase: ms}, 'categories': {type: {phase: ms}},
    'functions': [{'name', 'category', 'calls', phase: ms ...}]}``, phases as in :data:`PHASES`;
    ``calls`` counts the Function's calls in the forward phase.
    """
    from benchmarks import cases, impls
    kind, name, cfg = cases.select(cases.load_configs(), "model", name, batch)
    impl = impls.Minidl(device)
    case = cases.make_cases([impl], kind, name, cfg)["minidl"]
    phases = defaultdict(float)
    work = {"forward": lambda: case.forward_loss()[1], "backward": lambda loss: loss.backward(),
            "optimizer step": lambda _: case.optimizer.step()}

    def step(clock=None):
        case.optimizer.zero_grad()
        result = None
        for phase in PHASES:
            if clock is not None:
                clock.phase = phase
            start = time.perf_counter()
            result = work[phase]() if phase == "forward" else work[phase](result)
            impl.sync()
            if clock is not None:
                phases[phase] += time.perf_counter() - start

    for _ in range(warmup):
        step()
    with instrumented(impl.sync) as clock:
        for _ in range(reps):
            step(clock)
    ms = {key: s * 1e3 / reps for key, s in clock.seconds.items()}
    functions = sorted({cls for cls, _ in ms}, key=lambda c: -sum(ms.get((c, p), 0) for p in PHASES))
    rows = [{"name": cls.__name__, "category": category(cls), "calls": clock.calls[(cls, "forward")] // reps,
             **{p: ms.get((cls, p), 0.0) for p in PHASES}} for cls in functions]
    categories = defaultdict(lambda: dict.fromkeys(PHASES, 0.0))
    for row in rows:
        for phase in PHASES:
            categories[row["category"]][phase] += row[phase]
    phase_ms = {phase: s * 1e3 / reps for phase, s in phases.items()}
    categories["outside Functions"] = {p: phase_ms[p] - sum(c[p] for c in categories.values())
                                       for p in PHASES}
    return {"model": name, "device": device, "batch": cfg["batch"], "phases": phase_ms,
            "categories": dict(categories), "functions": rows}


def markdown(result):
    """The breakdown as two Markdown tables: per layer type, then per Function class."""
    phases = result["phases"]
    step = sum(phases.values())
    lines = [f"### {result['model']} on {result['device']}, batch {result['batch']}: {step:.1f} ms per step "
             f"(forward {phases['forward']:.1f}, backward {phases['backward']:.1f}, "
             f"optimizer step {phases['optimizer step']:.1f})", "",
             "| layer type | forward ms | backward ms | optimizer step ms | share of step |",
             "|---|---|---|---|---|"]
    for name, c in sorted(result["categories"].items(), key=lambda kv: -sum(kv[1].values())):
        lines.append(f"| {name} | " + " | ".join(f"{c[p]:.2f}" for p in PHASES) +
                     f" | {sum(c.values()) / step:.0%} |")
    lines += ["", "| Function | layer type | calls per step | forward ms | backward ms | optimizer step ms |",
              "|---|---|---|---|---|---|"]
    lines += [f"| {r['name']} | {r['category']} | {r['calls']} | " + " | ".join(f"{r[p]:.2f}" for p in PHASES)
              + " |" for r in result["functions"]]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description="Per-op time of one minidl training step.")
    parser.add_argument("--model", default="vgg_cifar", help="a model of configs.json (default vgg_cifar)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, help="batch size (default: the one in configs.json)")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2, help="BLAS threads (default 2)")
    args = parser.parse_args(argv)
    from benchmarks import impls
    impls.set_threads(args.threads)
    print(markdown(breakdown(args.model, args.device, args.batch, args.reps)))


if __name__ == "__main__":
    main()
