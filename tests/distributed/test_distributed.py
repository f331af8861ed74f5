"""Data parallelism under a real ``mpirun -np 2`` (skipped, with the reason, without Open MPI).

The command-line runs compare ``mpirun -np 2 ... -m minidl train --distributed``
with one process on the same global batches: LeNet-5 (no batch norm, no
dropout) on the synthetic shapes without augmentation, whose final weights
agree to float32 rounding.
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import minidl
from minidl import backend, optim
from minidl import distributed as dist
from minidl.data import DataLoader, TensorDataset
from minidl.train import fit

ROOT = Path(__file__).resolve().parents[2]
# 2,000 training images in batches of 200: 10 steps of 100 per rank and epoch.  Few, large steps, because
# the float32 rounding by which the mean of two half-batch gradients differs from the gradient of the whole
# batch (1e-7) grows as training goes on: to 4e-6 in these 20 steps, to 1e-3 in 80 steps of 50.
TRAIN = ["train", "--model", "lenet5", "--dataset", "synthetic", "--epochs", "2", "--batch-size", "200",
         "--no-augment", "--quiet"]


def _mpirun():
    if shutil.which("mpirun") is None:
        pytest.skip("mpirun not found: install openmpi-bin and libopenmpi-dev")
    pytest.importorskip("mpi4py", reason="mpi4py not installed: pip install mpi4py")
    return ["mpirun", "-np", "2", "--oversubscribe"] + (["--allow-run-as-root"] if os.geteuid() == 0 else [])


def _call(cmd, timeout=300):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMPI_MCA_rmaps_base_oversubscribe="1", MPLBACKEND="Agg")
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT)


def _weights(out):
    return minidl.load(out / "checkpoint.npz")["model"]


def test_two_ranks_match_one_process_on_the_full_batch(tmp_path):
    out = tmp_path / "result.json"
    worker = ROOT / "tests" / "distributed" / "worker.py"
    proc = _call(_mpirun() + [sys.executable, "-m", "mpi4py", str(worker), str(out)], timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(out.read_text())
    assert result["world_size"] == 2
    assert result["init_diff"] == 0.0                       # broadcast_parameters
    assert result["grad_diff"] < 1e-6                       # float32 rounding
    assert result["rank_weight_diff"] == 0.0                # ranks never drift apart
    assert result["single_process_weight_diff"] < 1e-5
    a, b = result["sampler_parts"]
    assert not set(a) & set(b) and sorted(a + b) == list(range(16))
    a, b = result["drawn_parts"]
    assert a == result["rank_0_permutation"][0::2] and b == result["rank_0_permutation"][1::2]
    assert result["sums"] == [1.0, 3.0]


def test_train_distributed_on_two_ranks_equals_one_process(tmp_path):
    mpirun = _mpirun()
    single = _call([sys.executable, "-m", "minidl", *TRAIN, "--out", str(tmp_path / "single")])
    assert single.returncode == 0, single.stdout + single.stderr
    two = _call(mpirun + [sys.executable, "-m", "mpi4py", "-m", "minidl", *TRAIN, "--distributed",
                          "--out", str(tmp_path / "two")])
    assert two.returncode == 0, two.stdout + two.stderr
    # rank 0 alone prints and writes
    assert two.stdout.count("test accuracy") == 1 and "x 2 ranks" in two.stdout, two.stdout
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == sorted(
        p.name for p in (tmp_path / "single").iterdir())
    history = json.loads((tmp_path / "two" / "history.json").read_text())
    reference = json.loads((tmp_path / "single" / "history.json").read_text())
    assert [r["epoch"] for r in history] == [1, 2]
    for mine, theirs in zip(history, reference):    # figures over both ranks' parts
        for key in ("train_loss", "train_acc", "val_loss", "val_acc"):
            assert mine[key] == pytest.approx(theirs[key], abs=1e-5), key
    expected = _weights(tmp_path / "single")
    for name, value in _weights(tmp_path / "two").items():
        np.testing.assert_allclose(value, expected[name], rtol=0, atol=2e-5, err_msg=name)


def test_train_distributed_without_mpirun_is_a_plain_run(tmp_path):
    # with mpi4py installed this starts a world of one; without it --distributed has nothing to join
    runs = {}
    for name, flags in (("plain", []), ("distributed", ["--distributed"])):
        proc = _call([sys.executable, "-m", "minidl", *TRAIN, "--epochs", "1", "--out", str(tmp_path / name),
                      *flags])
        assert proc.returncode == 0, proc.stdout + proc.stderr
        runs[name] = _weights(tmp_path / name)
    for name, value in runs["plain"].items():
        assert np.array_equal(runs["distributed"][name], value), name


def test_a_batch_that_does_not_split_evenly_is_a_usage_error():
    proc = _call(_mpirun() + [sys.executable, "-m", "mpi4py", "-m", "minidl", *TRAIN, "--batch-size", "201",
                              "--distributed"])
    assert proc.returncode != 0
    assert "--batch-size 201 is not a multiple of the 2 ranks" in proc.stderr, proc.stderr


def test_a_world_of_one_needs_no_mpi():
    assert dist.world_size() == 1 and dist.is_main()


def test_sampler_reshuffles_each_epoch_and_covers_the_data():
    parts = [dist.DistributedSampler(10, r, 3, seed=1) for r in range(3)]
    first = [p.indices() for p in parts]
    assert set(np.concatenate(first)) == set(range(10)) and all(len(f) == 4 for f in first)
    for p in parts:
        p.set_epoch(1)
    assert any(not np.array_equal(f, p.indices()) for f, p in zip(first, parts))


def test_sampler_with_a_generator_gives_the_batches_of_a_shuffling_loader():
    data = TensorDataset(np.arange(20, dtype=np.float32)[:, None], np.arange(20))
    mine, theirs = backend.Generator("cpu", 7), backend.Generator("cpu", 7)
    distributed = DataLoader(data, 6, sampler=dist.DistributedSampler(20, generator=mine), generator=mine)
    plain = DataLoader(data, 6, shuffle=True, generator=theirs)
    for _ in range(2):
        for (x, _), (x_ref, _) in zip(distributed, plain, strict=True):
            assert np.array_equal(x.numpy(), x_ref.numpy())


def test_fit_distributed_in_a_world_of_one_changes_nothing():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((40, 4)).astype(np.float32), rng.integers(0, 3, 40)
    results = []
    for distributed in (False, True):
        minidl.manual_seed(0)
        model = minidl.nn.Sequential(minidl.nn.Linear(4, 8), minidl.nn.ReLU(), minidl.nn.Dropout(0.3),
                                     minidl.nn.Linear(8, 3))
        loader = DataLoader(TensorDataset(x, y), 8, shuffle=True)
        history = fit(model, loader, loader, optim.SGD(model.parameters(), lr=0.1, momentum=0.9), epochs=2,
                      progress=False, distributed=distributed)
        results.append((history, [p.numpy() for p in model.parameters()]))
    (history, weights), (history_d, weights_d) = results
    assert [{k: v for k, v in r.items() if k not in ("time", "images_per_s")} for r in history] == \
        [{k: v for k, v in r.items() if k not in ("time", "images_per_s")} for r in history_d]
    assert all(np.array_equal(a, b) for a, b in zip(weights, weights_d))


def test_shard_gives_disjoint_contiguous_parts():
    parts = [dist.shard(10, r, 3) for r in range(3)]
    assert np.concatenate(parts).tolist() == list(range(10))
    assert [len(p) for p in parts] == [3, 3, 4]
