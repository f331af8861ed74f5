"""Results as JSON, a Markdown table with the targets marked met or not, and a PNG chart.

A record is one configuration on one device (see ``run.py``): ``kind``,
``name``, ``device``, ``parity`` and, per implementation, timing summaries
under ``forward`` / ``forward_backward`` (layers) or ``step`` (models) and
peak memory under ``memory``.

The targets (from the issue that asked for these benchmarks) are ratios
minidl / PyTorch on the CPU, measured in the same run: a target counts as met
only when the results also agree with PyTorch's to ``PARITY_TOL``.
"""
import json
import math
from pathlib import Path

__all__ = ["PARITY_TOL", "QUIET_LOAD", "load_warning", "MNIST_EPOCH", "parity_ok", "targets", "ratio",
           "write_json", "markdown", "write_chart"]

PARITY_TOL = 1e-4       # float32 outputs and gradients within 1e-4 of PyTorch's, relative to their scale
MNIST_EPOCH = 60_000    # images in one MNIST training epoch
_MODEL_LIMITS = {"lenet5": 2.5, "mnist_convnet": 1.5, "vgg_cifar": 1.5, "resnet18_cifar": 1.5}
_MEMORY_LIMITS = {"vgg_cifar": 1.5}


def _limit(record):
    """The speed target of a CPU record (max minidl/torch ratio), or None."""
    if record["device"] != "cpu":
        return None
    if record["kind"] == "model":
        return _MODEL_LIMITS.get(record["name"])
    if record["kind"] == "conv" and record["name"].startswith("lenet_"):
        return 3.0      # LeNet's layers are so small that fixed per-call costs dominate
    return 1.5


def _median(record, metric, impl):
    stats = record.get(metric, {}).get(impl, {})
    return stats.get("median_ms")


def ratio(record, metric):
    """minidl's median over torch's for ``metric`` ('forward', 'forward_backward', 'step'), or None."""
    ours, theirs = _median(record, metric, "minidl"), _median(record, metric, "torch")
    return ours / theirs if ours and theirs else None


def _peak(record, impl):
    return record.get("memory", {}).get(impl, {}).get("peak_mb")


def _memory_ratio(record):
    ours, theirs = _peak(record, "minidl"), _peak(record, "torch")
    return ours / theirs if ours and theirs and theirs > 0 else None


def parity_ok(parity):
    """Whether minidl's float32 results agree with PyTorch's to ``PARITY_TOL``; where only the
    gradients do not, whether the outputs do and the whole case agrees in float64 (see run.py)."""
    if "error" in parity or "max_rel_err" not in parity:
        return False
    if parity["max_rel_err"] <= PARITY_TOL:
        return True
    return (parity.get("outputs_max_rel_err", math.inf) <= PARITY_TOL
            and parity.get("float64_max_rel_err", math.inf) <= PARITY_TOL)


def _status(value, limit, parity):
    if value is None:
        return "n/a"
    if not parity_ok(parity):
        return "NOT met (results differ from PyTorch)"
    return "met" if value <= limit else "NOT met"


def targets(records):
    """Every target with its measured value: ``[{'what', 'limit', 'value', 'status'}]``."""
    rows = []
    for r in records:
        limit = _limit(r)
        if limit is not None:
            metric = "step" if r["kind"] == "model" else "forward_backward"
            what = f"{r['name']} {'training step' if metric == 'step' else 'forward+backward'} time"
            value = ratio(r, metric)
            rows.append({"what": what, "limit": limit, "value": value,
                         "status": _status(value, limit, r.get("parity", {}))})
        if r["device"] == "cpu" and r["kind"] == "model" and r["name"] in _MEMORY_LIMITS:
            value, limit = _memory_ratio(r), _MEMORY_LIMITS[r["name"]]
            rows.append({"what": f"{r['name']} training step peak memory", "limit": limit,
                         "value": value, "status": _status(value, limit, r.get("parity", {}))})
    return rows


def write_json(path, environment, settings, records):
    Path(path).write_text(json.dumps({"environment": environment, "settings": settings, "records": records,
                                      "targets": targets(records)}, indent=1, default=str))


# --------------------------------------------------------------------------- #
# Markdown
# --------------------------------------------------------------------------- #
def _ms(record, metric, impl):
    stats = record.get(metric, {}).get(impl)
    if stats is None:
        return "-"
    if "error" in stats:
        return "error"
    low, high = stats["iqr_ms"]
    return f"{stats['median_ms']:.3g} [{low:.3g}, {high:.3g}]"


def _x(value):
    return "-" if value is None else f"{value:.2f}x"


def _mb(value):
    return "-" if value is None else f"{value:.0f}"


def _parity(record):
    parity = record.get("parity", {})
    if "error" in parity:
        return f"error: {parity['error']}"
    if "max_rel_err" not in parity:
        return "no reference"
    text = f"{parity['max_rel_err']:.1e}"
    if parity["max_rel_err"] > PARITY_TOL:
        text += (f" in {parity['worst']} (outputs {parity['outputs_max_rel_err']:.1e}; float32 from float64: "
                 f"minidl {parity['minidl_vs_float64']:.1e}, torch {parity['torch_vs_float64']:.1e}); "
                 f"float64 {parity['float64_max_rel_err']:.1e}")
    return f"{text} {'ok' if parity_ok(parity) else 'MISMATCH'}"


def _row_target(record, metric):
    limit = _limit(record)
    if limit is None:
        return "-", "-"
    return f"<= {limit:g}x", _status(ratio(record, metric), limit, record.get("parity", {}))


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]


def _errors(records):
    out = []
    for r in records:
        for where in ("forward", "forward_backward", "step", "memory"):
            for impl, stats in r.get(where, {}).items():
                if "error" in stats:
                    out.append(f"- {r['name']} on {r['device']}, {impl} {where}: {stats['error']}")
    return out


QUIET_LOAD = 1.0    # a 1-minute load average above this: other work shared the cores


def load_warning(environment):
    """A sentence saying the figures do not count when the machine was busy as the run started, else
    None.  Only the load at the start tells: by the end it includes the run's own threads."""
    load = environment["load_average_1_5_15min"][0]
    if load <= QUIET_LOAD:
        return None
    return (f"**Busy machine: the 1-minute load average was {load:.2f} when the run started (above "
            f"{QUIET_LOAD:g}). Other work shared the cores, so these figures do not count; run again on "
            "a quiet machine.**")


def markdown(environment, settings, records):
    """The whole report as Markdown text."""
    env = environment
    warning = load_warning(env)
    lines = ["# minidl vs PyTorch", "", *([warning, ""] if warning else []),
             f"Times are medians of {settings['reps']} repetitions after {settings['warmup']} warm-up "
             "calls, in milliseconds, with the interquartile range in brackets; minidl and PyTorch ran "
             "alternately in one process.  Ratios are minidl / PyTorch (below 1: minidl is faster).  "
             f"Parity: largest difference of outputs and gradients from PyTorch's, relative to their "
             f"scale (target <= {PARITY_TOL:g}).  Where gradients differ more (float32 rounding can flip "
             "a ReLU or max-pool decision), the outputs must still agree and the case is rerun in "
             "float64 on both sides, where it must agree too.  "
             "Peak memory: growth of the resident set during one step (CPU) or "
             "allocator peak (GPU), MiB, in a fresh process per case.", "",
             "## Environment", "",
             f"- CPU: {env['cpu']}, {env['usable_cores']} usable of {env['logical_cores']} logical cores; "
             f"{env['platform']}; load average at start {env['load_average_1_5_15min']}",
             f"- Python {env['python']}, NumPy {env['numpy']}, CuPy {env['cupy'] or 'not installed'}, "
             f"torch {env.get('torch') or 'not installed'} ({env.get('torch_threads', '-')} threads)",
             f"- BLAS: {json.dumps(env['thread_pools'])}",
             f"- BLAS environment: {json.dumps({k: v for k, v in env['blas_environment'].items() if v})}",
             f"- GPU: {', '.join(env['gpus']) or 'none'} (minidl sees CUDA: {env['minidl_cuda_available']})",
             f"- Settings: {json.dumps(settings)}", ""]
    layers = [r for r in records if r["kind"] != "model"]
    if layers:
        lines += ["## Layers: forward, and forward + backward", ""]
        lines += _table(
            ["config", "device", "fwd minidl", "fwd torch", "fwd ratio", "fwd+bwd minidl", "fwd+bwd torch",
             "fwd+bwd ratio", "target", "status", "parity", "peak MiB minidl / torch"],
            [[r["name"], r["device"], _ms(r, "forward", "minidl"), _ms(r, "forward", "torch"),
              _x(ratio(r, "forward")), _ms(r, "forward_backward", "minidl"),
              _ms(r, "forward_backward", "torch"), _x(ratio(r, "forward_backward")),
              *_row_target(r, "forward_backward"), _parity(r),
              f"{_mb(_peak(r, 'minidl'))} / {_mb(_peak(r, 'torch'))}"] for r in layers]) + [""]
    models = [r for r in records if r["kind"] == "model"]
    if models:
        lines += ["## Training step (forward, cross-entropy, backward, SGD momentum 0.9)", ""]
        rows = []
        for r in models:
            speed = {impl: r["batch"] / (m / 1e3) if m else None
                     for impl in ("minidl", "torch") for m in [_median(r, "step", impl)]}
            rows.append([r["name"], r["device"], r["batch"],
                         _ms(r, "step", "minidl"), _ms(r, "step", "torch"), _x(ratio(r, "step")),
                         *_row_target(r, "step"),
                         " / ".join("-" if s is None else f"{s:.0f}" for s in speed.values()),
                         " / ".join("-" if s is None else f"{MNIST_EPOCH / s:.1f}" for s in speed.values()),
                         _parity(r), _mb(_peak(r, "minidl")), _mb(_peak(r, "torch")), _x(_memory_ratio(r))])
        lines += _table(["model", "device", "batch", "minidl ms/step", "torch ms/step", "ratio", "target",
                         "status", "images/s minidl / torch", "s per 60k-image epoch minidl / torch",
                         "parity", "peak MiB minidl", "peak MiB torch", "memory ratio"], rows) + [""]
    rows = targets(records)
    met = sum(t["status"] == "met" for t in rows)
    lines += [f"## Targets (CPU): {met} of {len(rows)} met", ""]
    lines += _table(["target", "limit (minidl / torch)", "measured", "status"],
                    [[t["what"], f"<= {t['limit']:g}x", _x(t["value"]), t["status"]] for t in rows]) + [""]
    errors = _errors(records)
    if errors:
        lines += ["## Errors", "", *errors, ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------- #
# Chart
# --------------------------------------------------------------------------- #
def write_chart(path, records):
    """Two panels: training-step time per model, each device with PyTorch beside minidl (log scale);
    and minidl / PyTorch forward+backward ratio per layer configuration against its target."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = [r for r in records if r["kind"] == "model"]
    layers = [r for r in records if r["kind"] != "model" and ratio(r, "forward_backward")]
    fig, (ax_models, ax_layers) = plt.subplots(2, 1, figsize=(12, 9))
    names = list(dict.fromkeys(r["name"] for r in models))
    devices = dict.fromkeys(r["device"] for r in models)
    series = [(impl, dev) for dev in devices for impl in ("minidl", "torch")]
    width = 0.8 / max(len(series), 1)
    for i, (impl, dev) in enumerate(series):
        by_name = {r["name"]: _median(r, "step", impl) for r in models if r["device"] == dev}
        heights = [by_name.get(n) or 0 for n in names]
        ax_models.bar([j + i * width for j in range(len(names))], heights, width, label=f"{impl} {dev}",
                      hatch="//" if impl == "torch" else None)
    ax_models.set_xticks([j + width * (len(series) - 1) / 2 for j in range(len(names))], names)
    if any(_median(r, "step", impl) for r in models for impl in ("minidl", "torch")):
        ax_models.set_yscale("log")
    ax_models.set_ylabel("ms per training step")
    ax_models.set_title("Training step: minidl beside PyTorch")
    if series:
        ax_models.legend()
    labels = [f"{r['name']} ({r['device']})" for r in layers]
    ratios = [ratio(r, "forward_backward") for r in layers]
    limits = [_limit(r) for r in layers]
    colors = ["tab:grey" if limit is None else "tab:green" if status == "met" else "tab:red"
              for limit, status in ((limit, _status(v, limit or 0, r.get("parity", {})))
                                    for v, limit, r in zip(ratios, limits, layers))]
    ax_layers.bar(range(len(layers)), ratios, color=colors)
    targeted = [(i, limit) for i, limit in enumerate(limits) if limit is not None]
    if targeted:
        ax_layers.hlines([limit for _, limit in targeted], [i - 0.4 for i, _ in targeted],
                         [i + 0.4 for i, _ in targeted], colors="black", linestyles="--",
                         label="target (green: met, red: not met)")
    ax_layers.axhline(1.0, color="grey", linewidth=0.8)
    ax_layers.set_xticks(range(len(layers)), labels, rotation=60, ha="right", fontsize=8)
    ax_layers.set_ylabel("minidl / PyTorch time")
    ax_layers.set_title("Layers, forward + backward")
    if targeted:
        # headroom above the tallest bar or target line, so that the legend covers neither
        ax_layers.set_ylim(0, 1.25 * max(ratios + [limit for _, limit in targeted]))
        ax_layers.legend(loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
