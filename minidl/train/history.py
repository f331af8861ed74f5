"""The history of a run: a list of one dict of figures per epoch, kept as JSON for people and plots."""
import json
import os
import tempfile

__all__ = ["save_history", "load_history", "best_epoch", "write_json"]


def save_history(history, path):
    """Write ``history`` to ``path`` as indented JSON, atomically (temporary file, then rename)."""
    write_json(list(history), path)


def write_json(obj, path):
    """Write ``obj`` to ``path`` as indented JSON, atomically: a run killed while writing leaves the
    previous file whole.  The file gets the permissions of the one it replaces, else rw-r--r--, as
    :func:`minidl.save` gives checkpoints (a temporary file alone would be private to its owner)."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(obj, f, indent=1)
            f.write("\n")
        os.chmod(tmp, os.stat(path).st_mode & 0o777 if os.path.exists(path) else 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def load_history(path):
    """The list of per-epoch dicts written by :func:`save_history`."""
    with open(path) as f:
        return json.load(f)


def best_epoch(history, monitor="val_acc", mode="max"):
    """The record of the epoch with the best ``monitor`` ('max' for accuracies, 'min' for losses)."""
    if mode not in ("min", "max"):
        raise ValueError(f"best_epoch: mode must be 'min' or 'max', got {mode!r}")
    records = [r for r in history if monitor in r]
    if not records:
        raise KeyError(f"best_epoch: no epoch has {monitor!r}; the history holds "
                       f"{sorted(history[-1]) if history else 'no epochs'}")
    pick = max if mode == "max" else min
    return pick(records, key=lambda r: r[monitor])
