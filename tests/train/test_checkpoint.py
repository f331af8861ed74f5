"""Resuming: a run stopped after its first epoch and resumed ends with the same weights, bit for bit,
as the run that never stopped; a crash while writing a checkpoint leaves the previous one loadable."""
import os

import numpy as np
import pytest

import minidl
from minidl import nn, optim, serialization
from minidl.data import DataLoader, TensorDataset
from minidl.data.transforms import RandomShift
from minidl.train import Checkpoint, fit, load_checkpoint, read_checkpoint, save_checkpoint

EPOCHS = 3


def _problem():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 1, 6, 6)).astype(np.float32)
    y = (x[:, 0, :3].sum(axis=(1, 2)) > 0).astype(np.int64) + (x[:, 0, 3:, :3].sum(axis=(1, 2)) > 0)
    return x, y


def _run(path, device, stop_after=None, resume=False):
    """A run drawing from every generator: shuffling, a random shift, dropout; Adam with a schedule.

    Everything is built from seed 0 as a fresh process would; with ``resume``
    the checkpoint then overrides it.
    """
    minidl.manual_seed(0)
    x, y = _problem()
    loader = DataLoader(TensorDataset(x, y, transform=RandomShift(1)), batch_size=16, shuffle=True)
    model = nn.Sequential(nn.Flatten(), nn.Linear(36, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 3))
    model.to(device)
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    history = load_checkpoint(path, model, optimizer, scheduler, loader) if resume else None
    callbacks = [Checkpoint(path)]
    if stop_after is not None:
        callbacks.append(lambda state: state.epoch == stop_after)     # as if killed after this epoch
    history = fit(model, loader, None, optimizer, scheduler, epochs=EPOCHS, device=device,
                  callbacks=callbacks, history=history, progress=False)
    return model, optimizer, history


def _arrays(model):
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("device", ["cpu", "strict"])
def test_resume_gives_the_same_weights_bit_for_bit(tmp_path, device):
    full, full_optimizer, full_history = _run(tmp_path / "full.npz", device)

    _, _, stopped_history = _run(tmp_path / "run.npz", device, stop_after=1)
    assert len(stopped_history) == 1
    minidl.manual_seed(1234)       # whatever happened since must not matter
    resumed, resumed_optimizer, history = _run(tmp_path / "run.npz", device, resume=True)

    assert [r["epoch"] for r in history] == [1, 2, 3]
    for name, value in _arrays(full).items():
        assert np.array_equal(_arrays(resumed)[name], value), name
    for (p, state), (q, resumed_state) in zip(full_optimizer.state.items(), resumed_optimizer.state.items()):
        assert np.array_equal(minidl.backend.to_numpy(state["exp_avg"]),
                              minidl.backend.to_numpy(resumed_state["exp_avg"]))
    drop_timing = [{k: v for k, v in r.items() if k not in ("time", "images_per_s")} for r in history]
    assert drop_timing == [{k: v for k, v in r.items() if k not in ("time", "images_per_s")}
                           for r in full_history]


def test_resuming_without_the_generators_would_differ(tmp_path):
    """The test above can fail: a resume that skips the random state trains on other batches."""
    full, _, _ = _run(tmp_path / "full.npz", "cpu")
    _run(tmp_path / "run.npz", "cpu", stop_after=1)
    checkpoint = serialization.load(tmp_path / "run.npz")
    checkpoint["random"]["generators"]["cpu"] = minidl.backend.Generator("cpu", 0).get_state()
    serialization.save(checkpoint, tmp_path / "run.npz")
    resumed, _, _ = _run(tmp_path / "run.npz", "cpu", resume=True)
    assert not np.array_equal(_arrays(resumed)["1.weight"], _arrays(full)["1.weight"])


def test_the_checkpoint_holds_the_whole_run(tmp_path):
    model, optimizer, history = _run(tmp_path / "run.npz", "cpu", stop_after=2)
    checkpoint = serialization.load(tmp_path / "run.npz")
    assert checkpoint["epoch"] == 2 and checkpoint["history"] == history
    assert checkpoint["scheduler"]["last_epoch"] == 2
    assert set(checkpoint["model"]) == set(model.state_dict())
    assert checkpoint["random"]["generators"]["cpu"] == minidl.backend.generator("cpu").get_state()


def test_a_crash_while_writing_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "run.npz"
    model, optimizer, history = _run(path, "cpu", stop_after=1)
    before = _arrays(model)
    fit(model, DataLoader(TensorDataset(*_problem()), batch_size=16), None, optimizer, epochs=2,
        history=history, progress=False)       # the weights move on; the file still holds epoch 1

    def crash_midway(file, **arrays):
        file.write(b"PK\x03\x04 half an archive")
        raise KeyboardInterrupt("killed while writing")

    monkeypatch.setattr(serialization.np, "savez", crash_midway)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, model, optimizer, history=history)
    monkeypatch.undo()

    assert os.listdir(tmp_path) == ["run.npz"]      # the partial temporary file is gone
    restored = nn.Sequential(nn.Flatten(), nn.Linear(36, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 3))
    assert len(load_checkpoint(path, restored)) == 1
    for name, value in before.items():
        assert np.array_equal(_arrays(restored)[name], value), name


def test_a_file_of_weights_alone_cannot_resume(tmp_path):
    model = nn.Linear(3, 2)
    serialization.save(model.state_dict(), tmp_path / "weights.npz")
    message = r"weights.npz holds no training state \(no epoch, history, model, optimizer, scheduler, "
    with pytest.raises(serialization.CheckpointError, match=message):
        load_checkpoint(tmp_path / "weights.npz", model)


def test_load_checkpoint_takes_what_read_checkpoint_read(tmp_path):
    path = tmp_path / "run.npz"
    model, optimizer, history = _run(path, "cpu", stop_after=1)
    restored = nn.Sequential(nn.Flatten(), nn.Linear(36, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 3))
    assert load_checkpoint(read_checkpoint(path), restored) == history
    for name, value in _arrays(model).items():
        assert np.array_equal(_arrays(restored)[name], value), name
