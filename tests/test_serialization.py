"""save/load: round trips, PyTorch weights from .npz, atomic writes, damaged files."""
import io
import json
import os
import zipfile

import numpy as np
import pytest

import minidl
from minidl import backend, nn, optim
from minidl.autograd import Tensor
from minidl.serialization import CheckpointError, load, save

from tests.conftest import make


def _mlp():
    return nn.Sequential(nn.Linear(6, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 3))


def _train_a_little(model, device, steps=3):
    opt = optim.Adam(model.parameters(), lr=0.01)
    x = minidl.randn(8, 6, device=device)
    for _ in range(steps):
        opt.zero_grad()
        (model(x) ** 2).mean().backward()
        opt.step()
    return opt


def test_nested_round_trip_keeps_types_and_values(tmp_path):
    obj = {"epoch": 3, "lr": 0.125, "name": "lab3", "done": False, "none": None,
           "history": [0.5, 0.25], "betas": (0.9, 0.999), "inf": float("inf"),
           "steps": {0: np.int64(7), 1: np.arange(3, dtype=np.int32)},
           "weights": {"w": np.ones((2, 3), np.float32), "t": Tensor(np.zeros(2, np.float64))},
           "text": np.array(["a", "bc"])}
    save(obj, tmp_path / "c.npz")
    back = load(tmp_path / "c.npz")
    assert back["epoch"] == 3 and back["lr"] == 0.125 and back["name"] == "lab3"
    assert back["done"] is False and back["none"] is None and back["inf"] == float("inf")
    assert back["history"] == [0.5, 0.25] and back["betas"] == (0.9, 0.999)
    assert list(back["steps"]) == [0, 1] and back["steps"][0] == 7
    assert back["steps"][1].dtype == np.int32
    assert back["weights"]["w"].dtype == np.float32 and isinstance(back["weights"]["t"], np.ndarray)
    assert back["text"].tolist() == ["a", "bc"]
    # the arrays are ordinary members, readable with NumPy alone
    with np.load(tmp_path / "c.npz") as raw:
        assert "weights/w" in raw.files and "steps/1" in raw.files


def test_map_location_gives_tensors_on_the_device(tmp_path):
    save({"t": Tensor(np.ones(2)), "a": np.zeros(2)}, tmp_path / "c.npz")
    back = load(tmp_path / "c.npz", map_location="strict")
    assert isinstance(back["t"], Tensor) and str(back["t"].device) == "strict:0"
    assert not isinstance(back["a"], Tensor) and str(backend.device_of(back["a"])) == "strict:0"


def test_saved_state_dict_reproduces_outputs_exactly(tmp_path, device):
    model = _mlp().to(device)
    opt = _train_a_little(model, device)
    save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 1}, tmp_path / "m.npz")
    fresh = _mlp().to(device)
    checkpoint = load(tmp_path / "m.npz")
    fresh.load_state_dict(checkpoint["model"])
    model.eval(), fresh.eval()
    x = make(np.random.default_rng(1).standard_normal((5, 6)), device, dtype=np.float32)
    np.testing.assert_array_equal(fresh(x).numpy(), model(x).numpy())
    assert fresh[1].num_batches_tracked.item() == 3
    fresh_opt = optim.Adam(fresh.parameters(), lr=0.5)
    fresh_opt.load_state_dict(checkpoint["optimizer"])
    assert fresh_opt.param_groups[0]["lr"] == 0.01 and fresh_opt.state[fresh[0].weight]["step"] == 3


@pytest.mark.torch
def test_pytorch_weights_exported_to_npz_load_by_name(tmp_path):
    torch = pytest.importorskip("torch")
    theirs = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.BatchNorm1d(16), torch.nn.ReLU(),
                                 torch.nn.Dropout(0.1), torch.nn.Linear(16, 3))
    theirs.train()
    theirs(torch.randn(32, 6))          # move the running statistics away from 0 and 1
    theirs.eval()
    np.savez(tmp_path / "torch.npz", **{k: v.numpy() for k, v in theirs.state_dict().items()})
    ours = _mlp()
    ours.load_state_dict(load(tmp_path / "torch.npz"))
    ours.eval()
    x = np.random.default_rng(2).standard_normal((4, 6)).astype(np.float32)
    expected = theirs(torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(ours(minidl.tensor(x)).numpy(), expected, rtol=1e-5, atol=1e-6)


def test_write_is_atomic_and_a_failed_save_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "c.npz"
    save({"epoch": 1, "w": np.ones(3)}, path)
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(OSError, match="disk full"):
        save({"epoch": 2, "w": np.zeros(3)}, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["c.npz"]      # no temporary file left behind
    assert load(path)["epoch"] == 1


def test_truncated_checkpoint_names_the_file(tmp_path):
    path = tmp_path / "c.npz"
    save({"w": np.arange(1000.0)}, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=f"{path}.*truncated or corrupted"):
        load(path)


def _rewrite_member(path, member, array):
    """Replace one member of the archive with valid zip bookkeeping (only our checksum can tell)."""
    with zipfile.ZipFile(path) as z:
        members = {name: z.read(name) for name in z.namelist()}
    buffer = io.BytesIO()
    np.save(buffer, array)
    members[member] = buffer.getvalue()
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)


def test_tampered_checkpoint_fails_its_checksum(tmp_path):
    path = tmp_path / "c.npz"
    save({"model": {"w": np.ones(4, np.float32)}}, path)
    _rewrite_member(path, "model/w.npy", np.array([1, 1, 1, 2], np.float32))
    with pytest.raises(CheckpointError, match=f"{path} fails its SHA-256 check"):
        load(path)


def test_flipped_byte_is_detected(tmp_path):
    path = tmp_path / "c.npz"
    save({"w": np.zeros(64, np.float32)}, path)
    data = bytearray(path.read_bytes())
    data[data.index(b"\x00" * 64) + 10] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=str(path)):
        load(path)


def test_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such checkpoint"):
        load(tmp_path / "missing.npz")
    with pytest.raises(TypeError, match="cannot store a function at scheduler/f"):
        save({"scheduler": {"f": lambda e: e}}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match="dict keys must be strings or ints"):
        save({(1, 2): 3}, tmp_path / "x.npz")
    with pytest.raises(ValueError, match="two entries map to the archive member 'a/1'"):
        save({"a": {1: np.ones(1), "1": np.ones(1)}}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match="object arrays need pickle"):
        save({"o": np.array([object()])}, tmp_path / "x.npz")
    assert not os.listdir(tmp_path)


# -- every corruption of a file written by save is a CheckpointError --------------------------
def _small_checkpoint(path):
    save({"epoch": 2, "model": {f"w{i}": np.full(3, i, np.float32) for i in range(3)},
          "note": "x", "steps": (np.int64(4),)}, path)
    return path.read_bytes()


def test_every_single_byte_flip_and_every_truncation_raises(tmp_path):
    path = tmp_path / "c.npz"
    good = _small_checkpoint(path)
    bad = tmp_path / "bad.npz"
    # before the whole-file digest, 16 of 899 flips raised zipfile's NotImplementedError and a flip
    # in the central directory name of the manifest returned a partial dict without error
    for i in range(len(good)):
        data = bytearray(good)
        data[i] ^= 0x20
        bad.write_bytes(bytes(data))
        with pytest.raises(CheckpointError, match=str(bad)):
            load(bad)
    for end in range(0, len(good), 7):
        bad.write_bytes(good[:end])
        with pytest.raises(CheckpointError, match=str(bad)):
            load(bad)


def test_npy_file_and_hand_made_manifests_raise_checkpoint_errors(tmp_path):
    np.save(tmp_path / "a.npy", np.ones(3))
    with pytest.raises(CheckpointError, match=r"single \.npy array, not a checkpoint"):
        load(tmp_path / "a.npy")
    # a hand-made archive: checkpoint members without minidl's signature
    for manifest in ['{"format": 2}', '{"tree": {"value": 1}}', "[1, 2]", "not json",
                     '{"format": 2, "tree": {"dict": [["a", {"array": "a"}]]}}',
                     '{"format": 2, "tree": ' + '{"list": [' * 5000 + "]}" * 5000 + "}"]:
        np.savez(tmp_path / "m.npz", __minidl__=np.array(manifest))
        with pytest.raises(CheckpointError, match="m.npz"):
            load(tmp_path / "m.npz")


def _format_1_file(path, manifest_tree, arrays):
    """A checkpoint as minidl wrote them before the whole-file digest: a digest member instead."""
    from minidl.serialization import _digest
    manifest = json.dumps({"format": 1, "tree": manifest_tree})
    np.savez(path, __minidl__=np.array(manifest), __minidl_sha256__=np.array(_digest(manifest, arrays)),
             **arrays)


def test_format_1_checkpoints_still_load_and_must_name_every_member(tmp_path):
    _format_1_file(tmp_path / "old.npz", {"dict": [["w", {"array": "w", "tensor": True}]]},
                   {"w": np.arange(3.0)})
    np.testing.assert_array_equal(load(tmp_path / "old.npz")["w"], np.arange(3.0))
    # a member that the manifest does not name, though the digest covers it
    _format_1_file(tmp_path / "extra.npz", {"dict": [["w", {"array": "w", "tensor": True}]]},
                   {"w": np.arange(3.0), "stray": np.zeros(1)})
    with pytest.raises(CheckpointError, match=r"holds members \['stray'\] that its manifest does not name"):
        load(tmp_path / "extra.npz")


def test_a_member_that_claims_more_bytes_than_it_holds_is_refused_before_allocating(tmp_path):
    path = tmp_path / "c.npz"
    with zipfile.ZipFile(path, "w") as z:
        buffer = io.BytesIO()
        np.lib.format.write_array_header_1_0(buffer, {"descr": "<f8", "fortran_order": False,
                                                      "shape": (9999999999,)})
        z.writestr("w.npy", buffer.getvalue() + bytes(16))
    with pytest.raises(CheckpointError, match=r"declares \(9999999999,\) float64 but holds 16 bytes"):
        load(path)


def test_save_removes_temporary_files_of_killed_saves(tmp_path):
    path = tmp_path / "c.npz"
    abandoned = tmp_path / ".c.npz.999999999.k3j2.tmp"     # no such process
    running = tmp_path / f".c.npz.{os.getpid()}.a1b2.tmp"    # a save still in progress
    abandoned.write_bytes(b"half a checkpoint")
    running.write_bytes(b"being written")
    save({"w": np.ones(2)}, path)
    assert sorted(os.listdir(tmp_path)) == sorted(["c.npz", running.name])


# -- generated checkpoints, generated damage ------------------------------------------------
def _damaged_checkpoint_always_raises(tmp_path):
    from hypothesis import strategies as st

    from tests.data.datasets.test_corruption import damage

    def array(shape, dtype, seed):
        return np.random.default_rng(seed).integers(0, 9, shape).astype(dtype)

    arrays = st.builds(array, st.lists(st.integers(0, 4), max_size=3),
                       st.sampled_from(["f4", "f8", "i8", "u1", "?"]), st.integers(0, 9))
    leaves = st.one_of(arrays, st.integers(-5, 5), st.text(max_size=5), st.none(), st.floats(allow_nan=False))
    keys = st.text("abc", min_size=1, max_size=3)
    trees = st.recursive(leaves, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                          st.dictionaries(keys, inner, max_size=3)),
                         max_leaves=6)
    path = tmp_path / "c.npz"

    def check(data):
        save({"tree": data.draw(trees, label="tree")}, path)
        path.write_bytes(damage(data, path.read_bytes()))
        with pytest.raises(CheckpointError, match=str(path)):
            load(path)
    return check


def test_generated_damage_to_a_checkpoint_always_raises(tmp_path):
    from tests.property_support import FAST, run_property
    run_property(_damaged_checkpoint_always_raises(tmp_path), dict(FAST, max_examples=60))


@pytest.mark.slow
def test_generated_damage_to_a_checkpoint_always_raises_wide(tmp_path):
    from tests.property_support import run_property
    run_property(_damaged_checkpoint_always_raises(tmp_path), dict(max_examples=2000))
