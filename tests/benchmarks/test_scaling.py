"""The scaling sweep: its smoke run, and which points it times at which batch and width."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import report, scaling

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.torch
def test_quick_sweep_times_each_width_once_and_writes_json_table_and_chart(tmp_path):
    pytest.importorskip("torch")
    command = [sys.executable, "benchmarks/scaling.py", "--quick", "--out", str(tmp_path)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    results = json.loads((tmp_path / "scaling.json").read_text())
    assert results["environment"]["load_average_1_5_15min"] and results["settings"]["reps"] == 1
    records = {r["width"]: r for r in results["records"]}
    assert sorted(records) == [8, 16, 32]      # resnet20's 16 channels at 0.5, 1 and 2 times
    assert records[16]["sweeps"] == ["batch", "width"] and records[8]["sweeps"] == ["width"]
    for width, record in records.items():
        assert record["name"] == "resnet20" and record["batch"] == 2
        assert record["config"]["width"] == width
        assert record["parity"]["max_rel_err"] <= report.PARITY_TOL, record["parity"]
        for impl in ("minidl", "torch"):
            assert record["step"][impl]["reps"] == 1 and record["step"][impl]["median_ms"] > 0
    table = (tmp_path / "scaling.md").read_text()
    assert "## Batch size" in table and "## Width" in table
    assert "| resnet20 | 2 | 8 (0.5x) |" in table and "| resnet20 | 2 | 32 (2x) |" in table
    assert (tmp_path / "scaling.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_points_cover_every_batch_and_width_and_share_the_default_one():
    points = scaling.points([16, 32, 128], [0.5, 1.0, 2.0], width_batch=128)
    assert points == {(16, 1.0): ["batch"], (32, 1.0): ["batch"], (128, 1.0): ["batch", "width"],
                      (128, 0.5): ["width"], (128, 2.0): ["width"]}


def test_a_point_scales_the_configurations_width():
    cfg = {"batch": 128, "input": [3, 32, 32], "width": 16}
    assert scaling.point_config(cfg, 32, 0.5) == {"batch": 32, "input": [3, 32, 32], "width": 8}
    assert scaling.point_config(cfg, 32, 0.01)["width"] == 1
    assert cfg["width"] == 16 and cfg["batch"] == 128


def test_options_and_models_without_a_width_are_refused():
    args = scaling.parse_args(["--models", "vgg_cifar", "--batches", "8,64", "--widths", "0.25,4"])
    assert (args.models, args.batches, args.widths) == (["vgg_cifar"], [8, 64], [0.25, 4.0])
    assert scaling.model_configs(["resnet20"])["resnet20"]["width"] == 16
    with pytest.raises(SystemExit, match="lenet5"):
        scaling.model_configs(["lenet5", "resnet20"])
