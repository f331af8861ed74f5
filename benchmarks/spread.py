"""The spread of several runs of run.py: per target, the median of the runs' ratios, their min and max.

    python benchmarks/spread.py results/run1 results/run2 results/run3 --out results/

One run's ratio moves with whatever else the machine did meanwhile, so a
target is decided by the median over several runs.  Each argument is a
``results.json`` of ``run.py`` or the folder holding one.  The targets are
recomputed from each run's records with ``report.targets``, so the current
limits apply to old runs too.  Runs whose 1-minute load average exceeded
``report.QUIET_LOAD`` when they started are listed and left out of the
medians.  A median meets its target when it is within the limit and every
run it is taken over passed the parity check.  Writes ``spread.json`` and
``spread.md`` under ``--out``.
"""
import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # so that `python benchmarks/spread.py` works

from benchmarks import report  # noqa: E402

__all__ = ["load_run", "spread", "markdown", "main"]


def load_run(path):
    """One run: ``{'path', 'load_at_start', 'excluded', 'steal', 'targets': {what: report.targets row}}``
    (``steal``: the share of CPU time the host took, None for runs that did not record it)."""
    path = Path(path)
    if path.is_dir():
        path = path / "results.json"
    results = json.loads(path.read_text())
    load = results["environment"]["load_average_1_5_15min"][0]
    return {"path": str(path), "load_at_start": load, "excluded": load > report.QUIET_LOAD,
            "steal": results["settings"].get("cpu_steal_share"),
            "targets": {row["what"]: row for row in report.targets(results["records"])}}


def spread(runs):
    """One row per target of any run, in the order they first appear:
    ``{'what', 'limit', 'values' (one per run, None where it has none), 'median', 'min', 'max', 'status'}``,
    the statistics over the runs not excluded."""
    rows = []
    for what in dict.fromkeys(what for run in runs for what in run["targets"]):
        found = [run["targets"].get(what) for run in runs]
        quiet = [row for run, row in zip(runs, found)
                 if row and row["value"] is not None and not run["excluded"]]
        values = [row["value"] for row in quiet]
        median = statistics.median(values) if values else None
        limit = next(row["limit"] for row in found if row)
        rows.append({"what": what, "limit": limit, "values": [row and row["value"] for row in found],
                     "median": median, "min": min(values, default=None), "max": max(values, default=None),
                     "status": report.target_status(median, limit, all(row["parity_ok"] for row in quiet))})
    return rows


def markdown(runs, rows):
    """The report: the runs with their load at start, then a table of the targets' spreads."""
    used = [run for run in runs if not run["excluded"]]
    met = sum(row["status"] == "met" for row in rows)
    lines = [f"# Spread of {len(runs)} runs of run.py", "",
             f"Per target: the median, min and max of the ratio minidl / PyTorch over the {len(used)} runs "
             f"that started on a quiet machine (1-minute load average at most {report.QUIET_LOAD:g}), and "
             "each run's own value.  A median meets its target when it is within the limit and every run "
             "it is taken over passed the parity check.", ""]
    excluded = [run for run in runs if run["excluded"]]
    if excluded:
        busy = ", ".join(f"{run['path']} (load {run['load_at_start']:.2f})" for run in excluded)
        lines += [f"**Left out of the medians, busy when they started: {busy}.**", ""]
    if not used:
        lines += ["**No run started on a quiet machine: there is no median.**", ""]
    lines += ["## Runs", ""]
    lines += report.table(["run", "results", "load at start", "CPU steal during the run", "in the medians"],
                          [[i, run["path"], f"{run['load_at_start']:.2f}",
                            "-" if run["steal"] is None else f"{run['steal']:.0%}",
                            "no" if run["excluded"] else "yes"]
                           for i, run in enumerate(runs, start=1)]) + [""]
    stolen = [run for run in runs if run["steal"] is not None and run["steal"] > report.QUIET_STEAL]
    if stolen:
        lines += [f"**{len(stolen)} of the runs lost more than {report.QUIET_STEAL:.0%} of their CPU time to "
                  "other virtual machines on the host (steal): their ratios moved with it.**", ""]
    lines += [f"## Targets (CPU): {met} of {len(rows)} medians met", ""]
    run_columns = [f"run {i}" + (" (left out)" if run["excluded"] else "")
                   for i, run in enumerate(runs, start=1)]
    lines += report.table(
        ["target", "limit (minidl / torch)", "median", "min", "max", *run_columns, "status"],
        [[row["what"], f"<= {row['limit']:g}x",
          *map(report.ratio_cell, [row["median"], row["min"], row["max"], *row["values"]]), row["status"]]
         for row in rows])
    return "\n".join(lines + [""])


def main(argv=None):
    parser = argparse.ArgumentParser(description="Median, min and max of each target over several runs.")
    parser.add_argument("runs", nargs="+", help="results.json files of run.py, or the folders holding them")
    parser.add_argument("--out", default="results", help="output folder (default results/)")
    args = parser.parse_args(argv)
    runs = [load_run(path) for path in args.runs]
    rows = spread(runs)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    summary = {"quiet_load": report.QUIET_LOAD,
               "runs": [{k: run[k] for k in ("path", "load_at_start", "steal", "excluded")} for run in runs],
               "targets": rows}
    (out / "spread.json").write_text(json.dumps(summary, indent=1))
    text = markdown(runs, rows)
    (out / "spread.md").write_text(text)
    print(text)
    print(f"wrote {out / 'spread.json'}, {out / 'spread.md'}")


if __name__ == "__main__":
    main()
