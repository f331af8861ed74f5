"""Where one minidl training step spends its time: forward and backward per layer type.

    python benchmarks/breakdown.py --model vgg_cifar --device cpu

For the duration of the measurement only, the ``forward`` and ``backward`` of
every ``minidl.autograd.Function`` subclass are wrapped by a timer (minidl
itself is not modified; the original methods are put back afterwards).  Each
Function's time is *exclusive*: a Function called from inside another is
charged to itself, not twice.  Functions are grouped into layer types by the
module that defines them (``minidl.functional.conv`` -> conv, ...).  The time
of a phase (forward, backward, optimizer step) not spent inside any Function
is Python and graph bookkeeping, shown as "outside Functions".

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

__all__ = ["instrumented", "breakdown", "markdown", "category"]

_CATEGORIES = {"conv": "conv", "pooling": "pool", "normalization": "batch norm", "linear": "linear",
               "activation": "activation", "loss": "loss", "dropout": "dropout", "embedding": "embedding"}


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


class _Clock:
    """Exclusive time per (Function class, 'forward' | 'backward'), accumulated across calls."""

    def __init__(self, sync):
        self.sync = sync
        self.seconds = defaultdict(float)
        self.calls = defaultdict(int)
        self.nested = []        # per open call: the time spent in Functions it called

    def wrap(self, method, phase):
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
                key = (type(fn_self), phase)
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
        for phase in ("forward", "backward"):
            if phase in vars(cls):
                original = vars(cls)[phase]
                patched.append((cls, phase, original))
                setattr(cls, phase, clock.wrap(original, phase))
    try:
        yield clock
    finally:
        for cls, phase, original in patched:
            setattr(cls, phase, original)


def breakdown(name, device="cpu", batch=None, reps=3, warmup=1):
    """Mean milliseconds per training step of model ``name``: per phase, per layer type, per Function.

    Returns ``{'model', 'device', 'batch', 'phases': {phase: ms}, 'categories': {type: {'forward',
    'backward'}}, 'functions': [{'name', 'category', 'forward', 'backward', 'calls'}]}``.
    """
    from benchmarks import cases, impls
    kind, name, cfg = cases.select(cases.load_configs(), "model", name, batch)
    impl = impls.Minidl(device)
    case = cases.make_cases([impl], kind, name, cfg)["minidl"]
    phases = defaultdict(float)

    def step(clock_phases):
        case.optimizer.zero_grad()
        t0 = time.perf_counter()
        _, loss = case.forward_loss()
        impl.sync()
        t1 = time.perf_counter()
        loss.backward()
        impl.sync()
        t2 = time.perf_counter()
        case.optimizer.step()
        impl.sync()
        t3 = time.perf_counter()
        if clock_phases is not None:
            for phase, seconds in (("forward", t1 - t0), ("backward", t2 - t1), ("optimizer step", t3 - t2)):
                clock_phases[phase] += seconds

    for _ in range(warmup):
        step(None)
    with instrumented(impl.sync) as clock:
        for _ in range(reps):
            step(phases)
    ms = {key: s * 1e3 / reps for key, s in clock.seconds.items()}
    functions = sorted({cls for cls, _ in ms},
                       key=lambda c: -(ms.get((c, "forward"), 0) + ms.get((c, "backward"), 0)))
    rows = [{"name": cls.__name__, "category": category(cls), "forward": ms.get((cls, "forward"), 0.0),
             "backward": ms.get((cls, "backward"), 0.0),
             "calls": clock.calls[(cls, "forward")] // reps}
            for cls in functions]
    categories = defaultdict(lambda: {"forward": 0.0, "backward": 0.0})
    for row in rows:
        for phase in ("forward", "backward"):
            categories[row["category"]][phase] += row[phase]
    phase_ms = {phase: s * 1e3 / reps for phase, s in phases.items()}
    categories["outside Functions"] = {p: phase_ms[p] - sum(c[p] for c in categories.values())
                                       for p in ("forward", "backward")}
    return {"model": name, "device": device, "batch": cfg["batch"], "phases": phase_ms,
            "categories": dict(categories), "functions": rows}


def markdown(result):
    """The breakdown as two Markdown tables: per layer type, then per Function class."""
    phases = result["phases"]
    step = sum(phases.values())
    lines = [f"### {result['model']} on {result['device']}, batch {result['batch']}: {step:.1f} ms per step "
             f"(forward {phases['forward']:.1f}, backward {phases['backward']:.1f}, "
             f"optimizer step {phases['optimizer step']:.1f})", "",
             "| layer type | forward ms | backward ms | share of step |", "|---|---|---|---|"]
    by_time = sorted(result["categories"].items(), key=lambda kv: -(kv[1]["forward"] + kv[1]["backward"]))
    for name, c in by_time:
        lines.append(f"| {name} | {c['forward']:.2f} | {c['backward']:.2f} | "
                     f"{(c['forward'] + c['backward']) / step:.0%} |")
    lines += ["", "| Function | layer type | calls per step | forward ms | backward ms |",
              "|---|---|---|---|---|"]
    lines += [f"| {r['name']} | {r['category']} | {r['calls']} | {r['forward']:.2f} | {r['backward']:.2f} |"
              for r in result["functions"]]
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
