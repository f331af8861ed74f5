"""Data parallelism under a real ``mpirun -np 2`` (skipped, with the reason, without Open MPI)."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from minidl import distributed as dist

ROOT = Path(__file__).resolve().parents[2]


def _mpirun():
    if shutil.which("mpirun") is None:
        pytest.skip("mpirun not found: install openmpi-bin and libopenmpi-dev")
    pytest.importorskip("mpi4py", reason="mpi4py not installed: pip install mpi4py")
    return ["mpirun", "-np", "2", "--oversubscribe"] + (["--allow-run-as-root"] if os.geteuid() == 0 else [])


def test_two_ranks_match_one_process_on_the_full_batch(tmp_path):
    out = tmp_path / "result.json"
    cmd = _mpirun() + [sys.executable, "-m", "mpi4py", str(ROOT / "tests" / "distributed" / "worker.py"),
                       str(out)]
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMPI_MCA_rmaps_base_oversubscribe="1")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(out.read_text())
    assert result["world_size"] == 2
    assert result["init_diff"] == 0.0                       # broadcast_parameters
    assert result["grad_diff"] < 1e-6                       # float32 rounding
    assert result["rank_weight_diff"] == 0.0                # ranks never drift apart
    assert result["single_process_weight_diff"] < 1e-5
    a, b = result["sampler_parts"]
    assert not set(a) & set(b) and sorted(a + b) == list(range(16))


def test_a_world_of_one_needs_no_mpi():
    assert dist.world_size() == 1 and dist.is_main()


def test_sampler_reshuffles_each_epoch_and_covers_the_data():
    parts = [dist.DistributedSampler(10, r, 3, seed=1) for r in range(3)]
    first = [p.indices() for p in parts]
    assert set(np.concatenate(first)) == set(range(10)) and all(len(f) == 4 for f in first)
    for p in parts:
        p.set_epoch(1)
    assert any(not np.array_equal(f, p.indices()) for f, p in zip(first, parts))


def test_shard_gives_disjoint_contiguous_parts():
    parts = [dist.shard(10, r, 3) for r in range(3)]
    assert np.concatenate(parts).tolist() == list(range(10))
    assert [len(p) for p in parts] == [3, 3, 4]
