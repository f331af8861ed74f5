"""Checkpoints: ``save(obj, path)`` and ``load(path)`` on NumPy's ``.npz`` format, without pickle.

``obj`` is a tree of dicts, lists and tuples whose leaves are arrays,
Tensors, numbers, strings or None, for example
``{'model': model.state_dict(), 'optimizer': opt.state_dict(), 'epoch': 3}``.
Every array becomes one member of the archive, named by its path in the tree
(``model/features.0.weight``, ``optimizer/state/0/exp_avg``), so the file can
be read with ``np.load`` alone.  Everything else goes into a JSON manifest
(member ``__minidl__``) that records the tree, and a SHA-256 of the manifest
and all arrays (member ``__minidl_sha256__``) lets :func:`load` tell a
damaged file from a good one.

Writing is atomic: the archive goes to a temporary file in the same
directory, is flushed to disk (fsync) and then renamed over ``path`` in one
step (``os.replace``), so a crash mid-save leaves the previous file intact.

A plain ``.npz`` (say, ``np.savez('w.npz', **{k: v.numpy() for k, v in
torch_model.state_dict().items()})``) loads as a flat dict of name -> array,
ready for ``model.load_state_dict``; it carries no checksum to verify.
"""
import hashlib
import json
import os
import tempfile
import zipfile

import numpy as np

from . import backend
from .autograd import Tensor

__all__ = ["save", "load", "CheckpointError"]

_MANIFEST = "__minidl__"
_CHECKSUM = "__minidl_sha256__"
_FORMAT = 1


class CheckpointError(ValueError):
    """A checkpoint that cannot be read back: truncated, corrupted or modified after writing."""


# --------------------------------------------------------------------------- #
# The tree <-> manifest + arrays
# --------------------------------------------------------------------------- #
def _encode(obj, path, arrays):
    """The manifest node of ``obj``; its arrays go into ``arrays`` under their '/'-joined path."""
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return {"value": obj}
    if isinstance(obj, dict):
        for key in obj:
            if isinstance(key, bool) or not isinstance(key, (str, int)):
                raise TypeError(f"save: dict keys must be strings or ints, got {key!r} at {_where(path)}")
        return {"dict": [[key, _encode(value, path + [key], arrays)] for key, value in obj.items()]}
    if isinstance(obj, (list, tuple)):
        kind = "list" if isinstance(obj, list) else "tuple"
        return {kind: [_encode(value, path + [i], arrays) for i, value in enumerate(obj)]}
    is_tensor = isinstance(obj, Tensor)
    if is_tensor or isinstance(obj, (np.ndarray, np.generic)) or backend.get_array_module(obj) is not np:
        array = backend.to_numpy(obj.data if is_tensor else obj)
        if array.dtype.hasobject:
            raise TypeError(f"save: object arrays need pickle, which minidl does not use ({_where(path)})")
        key = "/".join(str(p) for p in path) or "array"
        if key in arrays or key in (_MANIFEST, _CHECKSUM):
            raise ValueError(f"save: two entries map to the archive member {key!r}; rename one")
        arrays[key] = array
        return {"array": key, "tensor": is_tensor}
    raise TypeError(f"save: cannot store a {type(obj).__name__} at {_where(path)}; only arrays, Tensors, "
                    "numbers, strings, None and dicts, lists and tuples of them")


def _where(path):
    return "/".join(str(p) for p in path) or "the top level"


def _decode(node, arrays, device):
    if "value" in node:
        return node["value"]
    if "dict" in node:
        return {key: _decode(value, arrays, device) for key, value in node["dict"]}
    if "list" in node:
        return [_decode(value, arrays, device) for value in node["list"]]
    if "tuple" in node:
        return tuple(_decode(value, arrays, device) for value in node["tuple"])
    array = arrays[node["array"]]
    if device is None:
        return array
    array = backend.to_device(array, device)
    return Tensor(array) if node["tensor"] else array


def _digest(manifest, arrays):
    h = hashlib.sha256(manifest.encode())
    for key in sorted(arrays):
        a = np.ascontiguousarray(arrays[key])
        h.update(f"{key}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


# --------------------------------------------------------------------------- #
# save / load
# --------------------------------------------------------------------------- #
def save(obj, path):
    """Write ``obj`` (a tree of dicts, lists, arrays, Tensors, numbers, strings) to ``path`` atomically."""
    path = os.fspath(path)
    arrays = {}
    manifest = json.dumps({"format": _FORMAT, "tree": _encode(obj, [], arrays)})
    members = dict(arrays)
    members[_MANIFEST] = np.array(manifest)
    members[_CHECKSUM] = np.array(_digest(manifest, arrays))

    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **members)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, os.stat(path).st_mode & 0o777 if os.path.exists(path) else 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _fsync_directory(directory)


def _fsync_directory(directory):
    """Make the rename itself durable; not every platform can open a directory."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def load(path, map_location=None):
    """Read what :func:`save` wrote (or a plain ``.npz``, as a flat dict of arrays).

    With ``map_location=None`` every array comes back as a NumPy array; with a
    device (``'cpu'``, ``'cuda'``) arrays go to that device and those saved
    from Tensors come back as Tensors.  A truncated, corrupted or modified file
    raises :class:`CheckpointError` naming it.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load: no such checkpoint: {path}")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as e:
        raise CheckpointError(f"load: {path} is not a readable .npz archive (truncated or corrupted?): "
                              f"{e}") from e
    if _MANIFEST not in arrays:
        return {key: _decode({"array": key, "tensor": True}, arrays, map_location) for key in arrays}
    manifest = str(arrays.pop(_MANIFEST))
    checksum = str(arrays.pop(_CHECKSUM, ""))
    if _digest(manifest, arrays) != checksum:
        raise CheckpointError(f"load: {path} fails its SHA-256 check: the file was modified or damaged "
                              "after it was written")
    tree = json.loads(manifest)
    if tree.get("format") != _FORMAT:
        raise CheckpointError(f"load: {path} has checkpoint format {tree.get('format')!r}; "
                              f"this minidl reads format {_FORMAT}")
    return _decode(tree["tree"], arrays, map_location)
