"""The history file: a JSON round trip, atomic writes and the best epoch."""
import json
import stat

import pytest

from minidl.train.history import best_epoch, load_history, save_history

HISTORY = [{"epoch": 1, "val_acc": 0.90, "val_loss": 0.40},
           {"epoch": 2, "val_acc": 0.95, "val_loss": 0.20},
           {"epoch": 3, "val_acc": 0.94, "val_loss": 0.25}]


def test_round_trip_is_plain_json(tmp_path):
    path = tmp_path / "history.json"
    save_history(HISTORY, path)
    assert json.loads(path.read_text()) == HISTORY
    assert load_history(path) == HISTORY
    assert [p.name for p in tmp_path.iterdir()] == ["history.json"]     # no temporary file left


def test_a_failed_write_keeps_the_previous_file(tmp_path):
    path = tmp_path / "history.json"
    save_history(HISTORY[:1], path)
    with pytest.raises(TypeError):
        save_history([{"epoch": 2, "bad": object()}], path)
    assert load_history(path) == HISTORY[:1]
    assert [p.name for p in tmp_path.iterdir()] == ["history.json"]


def test_best_epoch():
    assert best_epoch(HISTORY)["epoch"] == 2
    assert best_epoch(HISTORY, "val_loss", mode="min")["epoch"] == 2
    with pytest.raises(KeyError, match="no epoch has 'val_top5'"):
        best_epoch(HISTORY, "val_top5")
    with pytest.raises(ValueError, match="mode must be 'min' or 'max'"):
        best_epoch(HISTORY, mode="up")


def test_the_file_is_readable_by_all_as_the_checkpoint_is(tmp_path):
    path = tmp_path / "history.json"
    save_history(HISTORY, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644          # not the 0o600 of a temporary file
    path.chmod(0o640)
    save_history(HISTORY[:1], path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640          # a rewrite keeps the file's mode
