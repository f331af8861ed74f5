"""Time minidl against PyTorch: the layers of configs.json and training steps of five models.

    python benchmarks/run.py --device cpu,cuda --compare torch --out results/
    python benchmarks/run.py --quick --out /tmp/smoke     # the smoke test's tiny run

For every configuration and device: check that minidl's float32 outputs and
gradients agree with PyTorch's (same inputs, same weights) to 1e-4 relative,
then time minidl and PyTorch alternately in this process (medians and
interquartile ranges after warm-up), then measure peak memory in a fresh
process per implementation.  Writes ``results.json``, ``results.md`` and
``results.png`` under ``--out``.  A device that is not available (no GPU,
torch without CUDA) is skipped with a note, never an error.
"""
import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # so that `python benchmarks/run.py` works

from benchmarks import breakdown, cases, environment, impls, memory, report, timing  # noqa: E402

QUICK_BATCH = 2
QUICK_CONFIGS = [("conv", "lenet_conv2"), ("model", "lenet5")]


def parse_args(argv):
    parser = argparse.ArgumentParser(description="Benchmark minidl against PyTorch.")
    parser.add_argument("--device", default="cpu,cuda",
                        help="comma-separated devices (default cpu,cuda; unavailable ones are skipped)")
    parser.add_argument("--compare", default="torch", choices=["torch", "none"],
                        help="reference implementation (default torch; 'none' times minidl alone)")
    parser.add_argument("--out", default="results", help="output folder (default results/)")
    parser.add_argument("--configs", default=str(cases.CONFIGS_PATH), help="configuration file")
    parser.add_argument("--only", help="comma-separated configuration names to run (default all)")
    parser.add_argument("--batch", type=int, help="replace every configuration's batch size")
    parser.add_argument("--reps", type=int, default=7, help="timed repetitions (default 7)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed calls first (default 2)")
    parser.add_argument("--settle", type=float, default=timing.SETTLE,
                        help="seconds of pause, then one untimed call, before each timed call, so "
                             f"that no thread pool spins into another's call (default {timing.SETTLE:g}; "
                             "see timing.py)")
    parser.add_argument("--threads", type=int, default=2,
                        help="CPU threads for NumPy's BLAS and for torch (default 2)")
    parser.add_argument("--no-memory", dest="memory", action="store_false",
                        help="skip the peak-memory probes (one subprocess per case)")
    parser.add_argument("--breakdown", action="store_true",
                        help="add the per-op time breakdown of each model's training step")
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run: {', '.join(n for _, n in QUICK_CONFIGS)} at batch {QUICK_BATCH}, "
                             "one repetition, peak memory of the model only")
    args = parser.parse_args(argv)
    if args.quick:
        args.reps, args.warmup, args.batch, args.settle = 1, 0, QUICK_BATCH, 0.0
    return args


def selected_configs(args):
    configs = cases.load_configs(args.configs)
    if args.quick:
        wanted = QUICK_CONFIGS
    elif args.only:
        names = set(args.only.split(","))
        wanted = [(k, n) for k, n, _ in configs if n in names]
        unknown = names - {n for _, n in wanted}
        if unknown:
            raise SystemExit(f"--only: unknown configurations {', '.join(sorted(unknown))}; "
                             f"known: {', '.join(n for _, n, _ in configs)}")
    else:
        wanted = [(k, n) for k, n, _ in configs]
    return [cases.select(configs, kind, name, args.batch) for kind, name in wanted]


def check_parity(built):
    """minidl's outputs and gradients against torch's, or a note why there is no comparison.

    Where they differ by more than the tolerance, the case is run again in
    float64 on both sides.  A float32 rounding difference of 1e-7 can flip a
    ReLU or a max-pool decision between two nearly equal values, which moves
    a gradient term from one pixel to another: weight gradients, sums of many
    terms that mostly cancel at initialization, then differ by far more than
    1e-4 although both libraries are right.  In float64 no decision flips, so
    agreement there shows the maths is the same.  The float32 outputs must
    agree in any case, and both float32 results' distances from float64 are
    recorded.
    """
    if "torch" not in built or "minidl" not in built:
        return {}
    try:
        reference, ours = built["torch"].results(), built["minidl"].results()
        parity = cases.compare(ours, reference)
        if parity["max_rel_err"] > report.PARITY_TOL:
            exact, ours64 = built["torch"].float64().results(), built["minidl"].float64().results()
            errors = {"outputs_max_rel_err": cases.compare(ours, reference, outputs_only=True),
                      "float64_max_rel_err": cases.compare(ours64, exact),
                      "minidl_vs_float64": cases.compare(ours, exact),
                      "torch_vs_float64": cases.compare(reference, exact)}
            parity.update({key: error["max_rel_err"] for key, error in errors.items()})
        return parity
    except Exception as error:  # noqa: BLE001 - reported in the table, the run goes on
        return {"error": f"{type(error).__name__}: {error}"}


def bench_config(kind, name, cfg, device, impl_list, args):
    """The record of one configuration on one device (see report.py)."""
    record = {"kind": kind, "name": name, "device": device, "config": cfg}
    if kind == "model":
        record["batch"] = cfg["batch"]
    try:
        built = cases.make_cases(impl_list, kind, name, cfg)
    except Exception as error:  # noqa: BLE001
        record["parity"] = {"error": f"could not build: {type(error).__name__}: {error}"}
        return record
    record["parity"] = check_parity(built)
    metrics = {"step": "run"} if kind == "model" else {"forward": "forward", "forward_backward": "run"}
    for metric, method in metrics.items():
        contestants = {impl: (getattr(case, method), case.impl.sync) for impl, case in built.items()}
        record[metric] = timing.time_round_robin(contestants, args.warmup, args.reps, args.settle)
    del built       # free this case's arrays before the next one
    if args.memory and (kind == "model" or not args.quick):
        batch = cfg["batch"] if kind == "model" else cfg["N"]
        record["memory"] = memory.measure(kind, name, [impl.name for impl in impl_list], device, batch,
                                          args.threads)
    return record


def main(argv=None):
    args = parse_args(argv)
    devices = {device: impls.implementations(device, args.compare == "torch")
               for device in args.device.split(",")}
    impls.set_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    env, cpu_at_start = environment.collect(), environment.cpu_times()
    settings = {k: getattr(args, k)
                for k in ("device", "compare", "reps", "warmup", "settle", "threads", "batch", "quick")}
    records, notes = [], []
    for device, impl_list in devices.items():
        if not any(i.name == "minidl" for i in impl_list):
            notes.append(f"{device}: skipped (minidl cannot use it here)")
            continue
        if args.compare == "torch" and len(impl_list) == 1:
            notes.append(f"{device}: torch unavailable there, minidl timed alone")
        for kind, name, cfg in selected_configs(args):
            start = time.perf_counter()
            records.append(bench_config(kind, name, cfg, device, impl_list, args))
            print(f"{device} {kind} {name}: {time.perf_counter() - start:.1f} s", flush=True)
            if args.breakdown and kind == "model":
                try:
                    records[-1]["breakdown"] = breakdown.breakdown(name, device, cfg["batch"],
                                                                   reps=max(1, args.reps // 2))
                except Exception as error:  # noqa: BLE001
                    notes.append(f"{device} {name}: no breakdown ({type(error).__name__}: {error})")
    settings["notes"] = notes
    settings["load_average_at_end"] = os.getloadavg()
    settings["cpu_steal_share"] = environment.steal_share(cpu_at_start, environment.cpu_times())
    settings["rounds_retaken_for_steal"] = timing.rounds_retaken(
        record[metric] for record in records for metric in ("forward", "forward_backward", "step")
        if isinstance(record.get(metric), dict))
    report.write_json(out / "results.json", env, settings, records)
    text = report.markdown(env, settings, records)
    if args.breakdown:
        text += "\n## Per-op breakdown of the minidl training step\n\n" + "\n".join(
            breakdown.markdown(r["breakdown"]) for r in records if "breakdown" in r)
    (out / "results.md").write_text(text)
    report.write_chart(out / "results.png", records)
    print(text)
    for note in notes:
        print("note:", note)
    report.print_footer(env, settings, [out / "results.json", out / "results.md", out / "results.png"])


if __name__ == "__main__":
    main()
