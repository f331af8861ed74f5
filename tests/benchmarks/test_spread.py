"""The spread of several runs: medians over the quiet runs, busy runs listed and left out."""
import json

import numpy as np
import pytest

from benchmarks import report, spread
from tests.benchmarks.records import make_record

TORCH_MS = 10.0
LOADS = [0.2, 1.6, 0.5, 0.9]        # the second run started on a busy machine
QUIET = [i for i, load in enumerate(LOADS) if load <= report.QUIET_LOAD]
STEALS = [0.01, 0.0, None, 0.3]     # the last run lost 30% of its CPU time to the host; run 3: no record


def _write_runs(tmp_path, ratios, lenet5, resnet20_parity):
    """One results.json per run (folders run1, run2 ...): conv, pool and batch-norm ratios from ``ratios``
    (runs x 3), lenet5's step and memory ratios ``lenet5`` (runs x 2), resnet20's step at 0.5x with
    the parity errors ``resnet20_parity``; the third run has no batch-norm record."""
    folders = []
    for i, load in enumerate(LOADS):
        records = [make_record("conv", "vgg_64x32", ratios[i, 0] * TORCH_MS, TORCH_MS),
                   make_record("pool", "maxpool2s2_128x64x32", ratios[i, 1] * TORCH_MS, TORCH_MS),
                   make_record("model", "lenet5", lenet5[i, 0] * TORCH_MS, TORCH_MS,
                               peaks=(lenet5[i, 1] * 100.0, 100.0)),
                   make_record("model", "resnet20", 0.5 * TORCH_MS, TORCH_MS, rel_err=resnet20_parity[i])]
        if i != 2:
            records.append(make_record("batchnorm", "bn2d_128x64x32", ratios[i, 2] * TORCH_MS, TORCH_MS))
        folder = tmp_path / f"run{i + 1}"
        folder.mkdir()
        settings = {} if STEALS[i] is None else {"cpu_steal_share": STEALS[i]}
        report.write_json(folder / "results.json", {"load_average_1_5_15min": [load, 1.0, 1.0]}, settings,
                          records)
        folders.append(folder)
    return folders


def test_medians_are_taken_over_the_quiet_runs_only(tmp_path):
    rng = np.random.default_rng(7)
    ratios = rng.uniform(0.8, 1.6, size=(len(LOADS), 3))
    lenet5 = np.array([[0.9, 1.0], [3.0, 3.0], [1.3, 1.2], [0.95, 1.1]])   # the busy run is far off
    folders = _write_runs(tmp_path, ratios, lenet5, resnet20_parity=[1e-6, 1e-6, 1e-3, 1e-6])
    # a folder or its results.json, either will do
    spread.main([str(folders[0]), str(folders[1]), str(folders[2] / "results.json"), str(folders[3]),
                 "--out", str(tmp_path / "out")])
    result = json.loads((tmp_path / "out" / "spread.json").read_text())
    assert [run["excluded"] for run in result["runs"]] == [False, True, False, False]
    rows = {row["what"]: row for row in result["targets"]}

    expected = {"vgg_64x32 forward+backward time": (ratios[:, 0], 1.25),
                "maxpool2s2_128x64x32 forward+backward time": (ratios[:, 1], 1.25)}
    for what, (values, limit) in expected.items():
        row = rows[what]
        assert row["values"] == pytest.approx(list(values))
        assert row["median"] == pytest.approx(np.median(values[QUIET]))
        assert (row["min"], row["max"]) == pytest.approx((values[QUIET].min(), values[QUIET].max()))
        assert row["status"] == ("met" if np.median(values[QUIET]) <= limit else "NOT met")

    # batch norm is missing from the third run: the median of the other two quiet runs
    bn = rows["bn2d_128x64x32 forward+backward time"]
    assert bn["values"][2] is None
    assert bn["median"] == pytest.approx((ratios[0, 2] + ratios[3, 2]) / 2)

    # one quiet run of three above the limit, the busy run's 3.0x left out: the median meets it
    step, memory = rows["lenet5 training step time"], rows["lenet5 training step peak memory"]
    assert (step["median"], step["min"], step["max"]) == pytest.approx((0.95, 0.9, 1.3))
    assert step["status"] == "met"
    assert memory["median"] == pytest.approx(1.1) and memory["status"] == "met"      # limit 1.15x
    # fast, but one quiet run's results differed from PyTorch's
    assert rows["resnet20 training step time"]["median"] == pytest.approx(0.5)
    assert rows["resnet20 training step time"]["status"] == "NOT met (results differ from PyTorch)"

    table = (tmp_path / "out" / "spread.md").read_text()
    assert f"{folders[1] / 'results.json'} (load 1.60)" in table and "run 2 (left out)" in table
    # median, min, max, then the four runs
    line = ("| lenet5 training step time | <= 1x | 0.95x | 0.90x | 1.30x "
            "| 0.90x | 3.00x | 1.30x | 0.95x | met |")
    assert line in table


def test_a_busy_run_parity_failure_does_not_count_and_no_quiet_run_means_no_median(tmp_path):
    ratios = np.full((len(LOADS), 3), 1.0)
    lenet5 = np.full((len(LOADS), 2), 1.0)
    folders = _write_runs(tmp_path, ratios, lenet5, resnet20_parity=[1e-6, 1e-3, 1e-6, 1e-6])
    rows = {row["what"]: row for row in spread.spread([spread.load_run(f) for f in folders])}
    assert rows["resnet20 training step time"]["status"] == "met"

    busy = [spread.load_run(folders[1])]
    rows = spread.spread(busy)
    assert all(row["median"] is None and row["status"] == "n/a" for row in rows)
    assert "No run started on a quiet machine" in spread.markdown(busy, rows)


def test_the_runs_steal_time_is_shown(tmp_path):
    folders = _write_runs(tmp_path, np.ones((len(LOADS), 3)), np.ones((len(LOADS), 2)), [1e-6] * len(LOADS))
    runs = [spread.load_run(f) for f in folders]
    assert [run["steal"] for run in runs] == STEALS
    text = spread.markdown(runs, spread.spread(runs))
    assert "| 4 | " in text and "| 30% |" in text and "| 1% |" in text
    assert "1 of the runs lost more than 5% of their CPU time" in text
