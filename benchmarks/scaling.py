"""How minidl's training step compares with PyTorch's as the batch and the model width grow (CPU).

    python benchmarks/scaling.py --out results/
    python benchmarks/scaling.py --quick --out /tmp/smoke     # the smoke test's tiny run

For each model (default vgg_cifar, resnet18_cifar and resnet20): a training
step at every batch of ``--batches`` with the configuration's width, and at
every width multiplier of ``--widths`` (the builders' ``width``, the base
channel count, times it) with the configuration's batch.  Each point is
built, checked for parity and timed as ``run.py`` times a model (same inputs
and weights, minidl and PyTorch alternately in one process); peak memory is
left to ``run.py``.  Writes ``scaling.json``, ``scaling.md`` and
``scaling.png`` under ``--out``.
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # so that `python benchmarks/scaling.py` works

from benchmarks import cases, environment, impls, report, run, timing  # noqa: E402

MODELS = ("vgg_cifar", "resnet18_cifar", "resnet20")
BATCHES = (16, 32, 64, 128, 256)
WIDTHS = (0.5, 1.0, 2.0)
QUICK_MODEL, QUICK_BATCH = "resnet20", 2


def _list(convert):
    return lambda text: [convert(item) for item in text.split(",")]


def parse_args(argv):
    parser = argparse.ArgumentParser(description="Training-step time of minidl and PyTorch against batch "
                                                 "size and model width.")
    parser.add_argument("--models", type=_list(str), default=list(MODELS),
                        help=f"comma-separated models of configs.json (default {','.join(MODELS)})")
    parser.add_argument("--batches", type=_list(int), default=list(BATCHES),
                        help="batch sizes timed at the configuration's width "
                             f"(default {','.join(map(str, BATCHES))})")
    parser.add_argument("--widths", type=_list(float), default=list(WIDTHS),
                        help="width multipliers timed at the configuration's batch "
                             f"(default {','.join(f'{w:g}' for w in WIDTHS)})")
    parser.add_argument("--reps", type=int, default=7, help="timed repetitions (default 7)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed calls first (default 2)")
    parser.add_argument("--settle", type=float, default=timing.SETTLE,
                        help=f"seconds of pause before each timed call (default {timing.SETTLE:g}; "
                             "see run.py)")
    parser.add_argument("--threads", type=int, default=2,
                        help="CPU threads for NumPy's BLAS and for torch (default 2)")
    parser.add_argument("--out", default="results", help="output folder (default results/)")
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run: {QUICK_MODEL} at batch {QUICK_BATCH} and every width, one "
                             "repetition")
    parser.set_defaults(memory=False)   # read by run.bench_config: the sweep measures time only
    args = parser.parse_args(argv)
    if args.quick:
        args.models, args.batches, args.reps, args.warmup = [QUICK_MODEL], [QUICK_BATCH], 1, 0
        args.settle = 0.0
    return args


def model_configs(names, configs_path=cases.CONFIGS_PATH):
    """``name -> cfg`` of the models to sweep; each needs a ``width`` in configs.json to be scaled."""
    models = {name: cfg for kind, name, cfg in cases.load_configs(configs_path) if kind == "model"}
    unknown = [name for name in names if "width" not in models.get(name, {})]
    if unknown:
        raise SystemExit(f"--models: no configuration with a width for {', '.join(unknown)}; known: "
                         f"{', '.join(name for name, cfg in models.items() if 'width' in cfg)}")
    return {name: models[name] for name in names}


def points(batches, widths, width_batch):
    """``(batch, width multiplier) -> the sweeps it belongs to``: every batch at multiplier 1 ('batch'),
    every multiplier at ``width_batch`` ('width'); a point in both is timed once."""
    sweeps = {}
    for batch in batches:
        sweeps.setdefault((batch, 1.0), []).append("batch")
    for multiplier in widths:
        sweeps.setdefault((width_batch, multiplier), []).append("width")
    return sweeps


def point_config(cfg, batch, multiplier):
    """The model configuration at ``batch`` and ``multiplier`` times its width (rounded, at least 1)."""
    return {**cfg, "batch": batch, "width": max(1, round(cfg["width"] * multiplier))}


def sweep(args, impl_list):
    """The records (as run.py's, plus ``width``, ``multiplier`` and ``sweeps``) of every point."""
    records = []
    for name, cfg in model_configs(args.models).items():
        width_batch = QUICK_BATCH if args.quick else cfg["batch"]
        for (batch, multiplier), sweeps in points(args.batches, args.widths, width_batch).items():
            start = time.perf_counter()
            record = run.bench_config("model", name, point_config(cfg, batch, multiplier), "cpu", impl_list,
                                      args)
            record.update(width=record["config"]["width"], multiplier=multiplier, sweeps=sweeps)
            records.append(record)
            print(f"{name} batch {batch} width {record['width']}: {time.perf_counter() - start:.1f} s",
                  flush=True)
    return records


_X_KEYS = {"batch": "batch", "width": "multiplier"}    # what each sweep varies


def _in_order(records, sweep_name):
    """The records of one sweep, model by model (in the order swept), each model's in increasing order."""
    models = list(dict.fromkeys(r["name"] for r in records))
    return sorted((r for r in records if sweep_name in r["sweeps"]),
                  key=lambda r: (models.index(r["name"]), r[_X_KEYS[sweep_name]]))


def markdown(env, settings, records):
    """The report: one table per sweep, each point's times, ratio and the training-step target."""
    statuses = [report.target_status(report.ratio(r, "step"), report.target_limit(r),
                                     report.parity_ok(r.get("parity", {}))) for r in records]
    lines = ["# minidl vs PyTorch: training step against batch and width", "",
             *report.warning_lines(env, settings),
             f"Times are medians of {settings['reps']} repetitions after {settings['warmup']} warm-up calls, "
             "in milliseconds, with the interquartile range in brackets; minidl and PyTorch ran alternately "
             "in one process on the CPU.  Ratios are minidl / PyTorch; the target is the training step's, "
             f"at most {report.STEP_LIMIT:g}x, met only where the parity check passes too (see run.py).  "
             f"{statuses.count('met')} of {len(records)} points meet it.", "",
             *report.environment_lines(env, settings)]
    header = ["model", "batch", "width (multiplier)", *report.STEP_COLUMNS, "parity"]
    for sweep_name, title in (("batch", "## Batch size (each model at its configuration's width)"),
                              ("width", "## Width (each model at its configuration's batch)")):
        rows = [[r["name"], r["batch"], f"{r['width']} ({r['multiplier']:g}x)", *report.step_cells(r),
                 report.parity_cell(r)]
                for r in _in_order(records, sweep_name)]
        if rows:
            lines += [title, "", *report.table(header, rows), ""]
    return "\n".join(lines)


def write_chart(path, records):
    """Two panels of minidl / PyTorch step-time ratios, a line per model: against the batch size, and
    against the width multiplier; the target drawn across both."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, sweep_name, x_label in ((axes[0], "batch", "batch size"), (axes[1], "width", "width multiplier")):
        swept = [r for r in _in_order(records, sweep_name) if report.ratio(r, "step")]
        for name in dict.fromkeys(r["name"] for r in swept):
            line = [(r[_X_KEYS[sweep_name]], report.ratio(r, "step")) for r in swept if r["name"] == name]
            ax.plot(*zip(*line), marker="o", label=name)
        ax.axhline(report.STEP_LIMIT, color="black", linestyle="--", label=f"target {report.STEP_LIMIT:g}x")
        ax.set_xscale("log", base=2)
        ticks = sorted({r[_X_KEYS[sweep_name]] for r in swept})
        ax.set_xticks(ticks, [f"{tick:g}" for tick in ticks])
        ax.minorticks_off()
        ax.set_xlabel(x_label)
        ax.set_ylabel("minidl / PyTorch step time")
        ax.set_ylim(bottom=0)
        ax.legend()
    axes[0].set_title("Ratio against batch size")
    axes[1].set_title("Ratio against width")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    args = parse_args(argv)
    impl_list = impls.implementations("cpu", compare_torch=True)
    impls.set_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    env, cpu_at_start = environment.collect(), environment.cpu_times()
    settings = {k: getattr(args, k)
                for k in ("models", "batches", "widths", "reps", "warmup", "settle", "threads", "quick")}
    settings["notes"] = [] if len(impl_list) == 2 else ["torch unavailable: minidl timed alone"]
    records = sweep(args, impl_list)
    settings["load_average_at_end"] = os.getloadavg()
    settings["cpu_steal_share"] = environment.steal_share(cpu_at_start, environment.cpu_times())
    settings["rounds_retaken_for_steal"] = timing.rounds_retaken(
        record["step"] for record in records if isinstance(record.get("step"), dict))
    results = {"environment": env, "settings": settings, "records": records}
    (out / "scaling.json").write_text(json.dumps(results, indent=1, default=str))
    text = markdown(env, settings, records)
    (out / "scaling.md").write_text(text)
    write_chart(out / "scaling.png", records)
    print(text)
    report.print_footer(env, settings, [out / "scaling.json", out / "scaling.md", out / "scaling.png"])


if __name__ == "__main__":
    main()
