"""Results as JSON, a Markdown table with the targets marked met or not, and a PNG chart.

A record is one configuration on one device (see ``run.py``): ``kind``,
``name``, ``device``, ``parity`` and, per implementation, timing summaries
under ``forward`` / ``forward_backward`` (layers) or ``step`` (models) and
peak memory under ``memory``.

The targets (from the performance issue) are ratios minidl / PyTorch on the
CPU, measured in the same run: a training step of every model at most 1.0x,
every convolution and max-pool configuration's forward + backward at most
1.25x, batch norm's at most 1.1x, and every model's training-step peak memory
at most 1.15x.  A target counts as met only when the results also agree with
PyTorch's to ``PARITY_TOL``.
"""
import json
import math
from pathlib import Path

__all__ = ["PARITY_TOL", "QUIET_LOAD", "QUIET_STEAL", "load_warning", "steal_warning", "warning_lines",
           "print_footer", "MNIST_EPOCH", "STEP_LIMIT", "MEMORY_LIMIT", "target_limit", "parity_ok",
           "target_status", "targets", "ratio",
           "images_per_second", "times_cell", "ratio_cell", "parity_cell", "table", "environment_lines",
           "STEP_COLUMNS", "step_cells", "write_json", "markdown", "write_chart"]

PARITY_TOL = 1e-4       # float32 outputs and gradients within 1e-4 of PyTorch's, relative to their scale
MNIST_EPOCH = 60_000    # images in one MNIST training epoch
STEP_LIMIT = 1.0        # a training step at most as slow as PyTorch's
_TIMED_MODELS = ("lenet5", "mnist_convnet", "vgg_cifar", "resnet18_cifar", "resnet20")
_LAYER_LIMITS = {"conv": 1.25, "pool": 1.25, "batchnorm": 1.1}     # forward + backward
MEMORY_LIMIT = 1.15     # every model's training-step peak memory


def target_limit(record):
    """The speed target of a CPU record (max minidl/torch ratio), or None."""
    if record["device"] != "cpu":
        return None
    if record["kind"] == "model":
        return STEP_LIMIT if record["name"] in _TIMED_MODELS else None
    return _LAYER_LIMITS[record["kind"]]


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


def target_status(value, limit, agrees):
    """'met', 'NOT met', 'NOT met (results differ from PyTorch)' (``agrees`` false: parity failed) or
    'n/a' (no value) for a ratio."""
    if value is None:
        return "n/a"
    if not agrees:
        return "NOT met (results differ from PyTorch)"
    return "met" if value <= limit else "NOT met"


def targets(records):
    """Every target with its measured value and whether the record passed its parity check:
    ``[{'what', 'limit', 'value', 'parity_ok', 'status'}]``."""
    rows = []
    for r in records:
        measured = []       # (what, limit, value)
        speed_limit = target_limit(r)
        if speed_limit is not None:
            metric = "step" if r["kind"] == "model" else "forward_backward"
            what = f"{r['name']} {'training step' if metric == 'step' else 'forward+backward'} time"
            measured.append((what, speed_limit, ratio(r, metric)))
        if r["device"] == "cpu" and r["kind"] == "model":
            measured.append((f"{r['name']} training step peak memory", MEMORY_LIMIT, _memory_ratio(r)))
        agrees = parity_ok(r.get("parity", {}))
        rows += [{"what": what, "limit": limit, "value": value, "parity_ok": agrees,
                  "status": target_status(value, limit, agrees)} for what, limit, value in measured]
    return rows


def images_per_second(record):
    """``impl -> images per second`` of a model record's median training step (None without a time)."""
    return {impl: record["batch"] / (m / 1e3) if m else None
            for impl in ("minidl", "torch") for m in [_median(record, "step", impl)]}


def write_json(path, environment, settings, records):
    Path(path).write_text(json.dumps({"environment": environment, "settings": settings, "records": records,
                                      "targets": targets(records)}, indent=1, default=str))


# --------------------------------------------------------------------------- #
# Markdown
# --------------------------------------------------------------------------- #
def times_cell(record, metric, impl):
    """A median time with its interquartile range in brackets, for a table cell."""
    stats = record.get(metric, {}).get(impl)
    if stats is None:
        return "-"
    if "error" in stats:
        return "error"
    low, high = stats["iqr_ms"]
    return f"{stats['median_ms']:.3g} [{low:.3g}, {high:.3g}]"


def ratio_cell(value):
    return "-" if value is None else f"{value:.2f}x"


def _mb(value):
    return "-" if value is None else f"{value:.0f}"


def parity_cell(record):
    """The parity figures of a record and whether they pass, for a table cell."""
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
    limit = target_limit(record)
    if limit is None:
        return "-", "-"
    return f"<= {limit:g}x", target_status(ratio(record, metric), limit, parity_ok(record.get("parity", {})))


def table(header, rows):
    """A Markdown table, as a list of lines."""
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
QUIET_STEAL = 0.05  # more of the CPU time than this taken by the hypervisor: other machines shared the cores


def load_warning(environment):
    """A sentence saying the figures do not count when the machine was busy as the run started, else
    None.  Only the load at the start tells: by the end it includes the run's own threads."""
    load = environment["load_average_1_5_15min"][0]
    if load <= QUIET_LOAD:
        return None
    return (f"**Busy machine: the 1-minute load average was {load:.2f} when the run started (above "
            f"{QUIET_LOAD:g}). Other work shared the cores, so these figures do not count; run again on "
            "a quiet machine.**")



def steal_warning(settings):
    """A sentence saying how much CPU time the hypervisor took during the run when that was more than
    :data:`QUIET_STEAL`, else None."""
    share = settings.get("cpu_steal_share")
    if share is None or share <= QUIET_STEAL:
        return None
    return (f"**Shared host: {share:.0%} of the CPU time during the run went to other virtual machines "
            f"(steal time, above {QUIET_STEAL:.0%}). Every figure ran slower by a varying amount: "
            "distrust the ratios.**")


def warning_lines(environment, settings):
    """The load and steal warnings that apply, each followed by a blank line, for a Markdown report."""
    return [line for warning in (load_warning(environment), steal_warning(settings)) if warning
            for line in (warning, "")]


def print_footer(environment, settings, paths):
    """After a run's tables: the load and steal warnings, if any, and the files written."""
    for warning in (load_warning(environment), steal_warning(settings)):
        if warning:
            print("WARNING:", warning.strip("*"))
    print("wrote " + ", ".join(str(path) for path in paths))

def environment_lines(env, settings):
    """The report's Environment section (machine, libraries, BLAS, GPU, settings), as a list of lines."""
    return ["## Environment", "",
            f"- CPU: {env['cpu']}, {env['usable_cores']} usable of {env['logical_cores']} logical cores; "
            f"{env['platform']}; load average at start {env['load_average_1_5_15min']}",
            f"- Python {env['python']}, NumPy {env['numpy']}, CuPy {env['cupy'] or 'not installed'}, "
            f"torch {env.get('torch') or 'not installed'} ({env.get('torch_threads', '-')} threads)",
            f"- BLAS: {json.dumps(env['thread_pools'])}",
            f"- BLAS environment: {json.dumps({k: v for k, v in env['blas_environment'].items() if v})}",
            f"- GPU: {', '.join(env['gpus']) or 'none'} (minidl sees CUDA: {env['minidl_cuda_available']})",
            f"- Settings: {json.dumps(settings)}", ""]


STEP_COLUMNS = ["minidl ms/step", "torch ms/step", "ratio", "target", "status", "images/s minidl / torch"]


def step_cells(record):
    """The ``STEP_COLUMNS`` cells of a model record: both times, their ratio, its target and status,
    both speeds."""
    speed = images_per_second(record).values()
    return [times_cell(record, "step", "minidl"), times_cell(record, "step", "torch"),
            ratio_cell(ratio(record, "step")), *_row_target(record, "step"),
            " / ".join("-" if s is None else f"{s:.0f}" for s in speed)]


def markdown(environment, settings, records):
    """The whole report as Markdown text."""
    env = environment
    lines = ["# minidl vs PyTorch", "", *warning_lines(env, settings),
             f"Times are medians of {settings['reps']} repetitions after {settings['warmup']} warm-up "
             "calls, in milliseconds, with the interquartile range in brackets; minidl and PyTorch ran "
             "alternately in one process.  Ratios are minidl / PyTorch (below 1: minidl is faster).  "
             f"Parity: largest difference of outputs and gradients from PyTorch's, relative to their "
             f"scale (target <= {PARITY_TOL:g}).  Where gradients differ more (float32 rounding can flip "
             "a ReLU or max-pool decision), the outputs must still agree and the case is rerun in "
             "float64 on both sides, where it must agree too.  "
             "Peak memory: growth of the resident set during one step (CPU) or "
             "allocator peak (GPU), MiB, in a fresh process per case.", "",
             *environment_lines(env, settings)]
    layers = [r for r in records if r["kind"] != "model"]
    if layers:
        lines += ["## Layers: forward, and forward + backward", ""]
        lines += table(
            ["config", "device", "fwd minidl", "fwd torch", "fwd ratio", "fwd+bwd minidl", "fwd+bwd torch",
             "fwd+bwd ratio", "target", "status", "parity", "peak MiB minidl / torch"],
            [[r["name"], r["device"], times_cell(r, "forward", "minidl"), times_cell(r, "forward", "torch"),
              ratio_cell(ratio(r, "forward")), times_cell(r, "forward_backward", "minidl"),
              times_cell(r, "forward_backward", "torch"), ratio_cell(ratio(r, "forward_backward")),
              *_row_target(r, "forward_backward"), parity_cell(r),
              f"{_mb(_peak(r, 'minidl'))} / {_mb(_peak(r, 'torch'))}"] for r in layers]) + [""]
    models = [r for r in records if r["kind"] == "model"]
    if models:
        lines += ["## Training step (forward, cross-entropy, backward, SGD momentum 0.9)", ""]
        rows = []
        for r in models:
            speed = images_per_second(r).values()
            rows.append([r["name"], r["device"], r["batch"], *step_cells(r),
                         " / ".join("-" if s is None else f"{MNIST_EPOCH / s:.1f}" for s in speed),
                         parity_cell(r), _mb(_peak(r, "minidl")), _mb(_peak(r, "torch")),
                         ratio_cell(_memory_ratio(r))])
        lines += table(["model", "device", "batch", *STEP_COLUMNS, "s per 60k-image epoch minidl / torch",
                        "parity", "peak MiB minidl", "peak MiB torch", "memory ratio"], rows) + [""]
    rows = targets(records)
    met = sum(t["status"] == "met" for t in rows)
    lines += [f"## Targets (CPU): {met} of {len(rows)} met", ""]
    lines += table(["target", "limit (minidl / torch)", "measured", "status"],
                   [[t["what"], f"<= {t['limit']:g}x", ratio_cell(t["value"]), t["status"]] for t in rows])
    lines += [""]
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
    limits = [target_limit(r) for r in layers]
    colors = ["tab:grey" if limit is None else "tab:green" if status == "met" else "tab:red"
              for limit, status in ((limit, target_status(v, limit or 0, parity_ok(r.get("parity", {}))))
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
