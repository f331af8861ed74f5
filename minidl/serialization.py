"""Checkpoints: ``save(obj, path)`` and ``load(path)`` on NumPy's ``.npz`` format, without pickle.

``obj`` is a tree of dicts, lists and tuples whose leaves are arrays,
Tensors, numbers, strings or None, for example
``{'model': model.state_dict(), 'optimizer': opt.state_dict(), 'epoch': 3}``.
Every array becomes one member of the archive, named by its path in the tree
(``model/features.0.weight``, ``optimizer/state/0/exp_avg``), so the file can
be read with ``np.load`` alone.  Everything else goes into a JSON manifest
(member ``__minidl__``) that records the tree.  The archive's comment, its
last bytes, is the SHA-256 of every byte before it: one flipped or missing
byte anywhere is a :class:`CheckpointError`, never a partial or altered tree.
The loader returns exactly the arrays the manifest names, reads no member
that claims more bytes than it holds, and never unpickles.

Writing is atomic: the archive goes to a temporary file in the same
directory, is flushed to disk (fsync) and then renamed over ``path`` in one
step (``os.replace``), so a crash mid-save leaves the previous file intact.
Temporary files that a killed process left behind are removed by the next
save to the same path.

A plain ``.npz`` (say, ``np.savez('w.npz', **{k: v.numpy() for k, v in
torch_model.state_dict().items()})``) loads as a flat dict of name -> array,
ready for ``model.load_state_dict``; it carries no checksum to verify.
"""
import glob
import hashlib
import json
import os
import struct
import tempfile
import zipfile

import numpy as np

from . import backend
from .autograd import Tensor

__all__ = ["save", "load", "CheckpointError"]

_MANIFEST = "__minidl__"
_CHECKSUM = "__minidl_sha256__"     # format 1 kept a digest of the arrays in this member
_FORMAT = 2
_TRAILER = b"minidl-sha256:"        # the archive comment: this, then 64 hex digits
_TRAILER_SIZE = len(_TRAILER) + 64


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
    """The tree of manifest ``node``; a KeyError, TypeError or ValueError for a malformed one."""
    if not isinstance(node, dict) or len(node) != (2 if "array" in node else 1):
        raise ValueError(f"malformed manifest node {str(node)[:80]}")
    if "value" in node:
        return node["value"]
    if "dict" in node:
        return {key: _decode(value, arrays, device) for key, value in node["dict"]}
    if "list" in node:
        return [_decode(value, arrays, device) for value in node["list"]]
    if "tuple" in node:
        return tuple(_decode(value, arrays, device) for value in node["tuple"])
    array = arrays[node["array"]]
    if not isinstance(node["tensor"], bool):
        raise ValueError(f"malformed manifest node {str(node)[:80]}")
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
    members = {_MANIFEST: np.array(json.dumps({"format": _FORMAT, "tree": _encode(obj, [], arrays)}))}
    members.update(arrays)

    directory = os.path.dirname(os.path.abspath(path))
    _remove_abandoned_temporaries(path)
    fd, tmp = tempfile.mkstemp(prefix=_temporary_prefix(path, os.getpid()), suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w+b") as f:
            np.savez(f, **members)
            _sign(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, os.stat(path).st_mode & 0o777 if os.path.exists(path) else 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _fsync_directory(directory)


def _sign(f):
    """Append the SHA-256 of the archive as its comment (a zip ends with the comment's length)."""
    f.seek(-2, os.SEEK_END)
    f.write(struct.pack("<H", _TRAILER_SIZE))
    f.seek(0)
    digest = _file_digest(f, f.seek(0, os.SEEK_END))
    f.write(_TRAILER + digest.encode())


def _file_digest(f, size):
    """The SHA-256 (hex) of the first ``size`` bytes of the open file ``f``; leaves f at ``size``."""
    f.seek(0)
    h = hashlib.sha256()
    while size > 0:
        block = f.read(min(size, 1 << 20))
        if not block:
            break
        h.update(block)
        size -= len(block)
    return h.hexdigest()


def _temporary_prefix(path, pid):
    return f".{os.path.basename(path)}.{pid}."


def _remove_abandoned_temporaries(path):
    """Delete the temporary files of saves to ``path`` whose process no longer runs (killed mid-save)."""
    pattern = os.path.join(os.path.dirname(os.path.abspath(path)),
                           glob.escape(f".{os.path.basename(path)}.") + "*.tmp")
    for tmp in glob.glob(pattern):
        pid = os.path.basename(tmp)[len(f".{os.path.basename(path)}."):].split(".")[0]
        if pid.isdigit() and not _process_exists(int(pid)):
            try:
                os.unlink(tmp)
            except OSError:
                pass


def _process_exists(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True     # someone else's process, or a platform that cannot tell: keep its file
    return True


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
    signed = _signature_holds(path)
    arrays = _read_arrays(path)
    if _MANIFEST not in arrays and _CHECKSUM not in arrays and signed is None:
        return {key: _decode({"array": key, "tensor": True}, arrays, map_location) for key in arrays}
    damaged = CheckpointError(f"load: {path} fails its SHA-256 check: the file was modified or damaged "
                              "after it was written")
    if signed is False:
        raise damaged
    try:
        manifest, checksum = str(arrays.pop(_MANIFEST)), arrays.pop(_CHECKSUM, None)
        tree = json.loads(manifest)
        version = tree["format"]
        # an unsigned file is a checkpoint of format 1, which kept a digest of its arrays instead
        if signed is None and (version != 1 or checksum is None
                               or _digest(manifest, arrays) != str(checksum)):
            raise damaged
        if version not in (1, _FORMAT):
            raise CheckpointError(f"load: {path} has checkpoint format {version!r}; this minidl reads "
                                  f"formats 1 and {_FORMAT}")
        named = set()
        _collect_arrays(tree["tree"], named)
        if named != set(arrays):
            raise CheckpointError(f"load: {path} holds members {sorted(set(arrays) - named)} that its "
                                  f"manifest does not name, or lacks {sorted(named - set(arrays))}")
        return _decode(tree["tree"], arrays, map_location)
    except CheckpointError:
        raise
    except (KeyError, TypeError, ValueError, RecursionError) as e:
        raise CheckpointError(f"load: {path} has a malformed manifest ({type(e).__name__}: {e}); "
                              "it was not written by minidl.save") from e


def _collect_arrays(node, names):
    """Add the member names that the manifest ``node`` refers to (iteratively: a deep tree is fine)."""
    stack = [node]
    while stack:
        node = stack.pop()
        if not isinstance(node, dict):
            raise ValueError(f"malformed manifest node {str(node)[:80]}")
        if "array" in node:
            names.add(node["array"])
        elif "dict" in node:
            stack.extend(value for _, value in node["dict"])
        else:
            stack.extend(node.get("list", node.get("tuple", ())))


def _signature_holds(path):
    """True when the file ends in its own valid SHA-256, False when it ends in a wrong one, None without."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        if size < _TRAILER_SIZE:
            return None
        f.seek(size - _TRAILER_SIZE)
        trailer = f.read(_TRAILER_SIZE)
        if not trailer.startswith(_TRAILER):
            # a minidl file whose trailer itself was hit is caught by its manifest's format
            return None
        return _file_digest(f, size - _TRAILER_SIZE) == trailer[len(_TRAILER):].decode("ascii", "replace")


def _read_arrays(path):
    """Every member of the archive as a NumPy array; no pickles, no member that lies about its size."""
    with open(path, "rb") as f:
        magic = f.read(6)
    if magic == b"\x93NUMPY":
        raise CheckpointError(f"load: {path} is a single .npy array, not a checkpoint; read it with np.load")
    try:
        with zipfile.ZipFile(path) as archive:
            return {_member_key(info.filename): _read_member(archive, info) for info in archive.infolist()}
    except CheckpointError:
        raise
    except Exception as e:
        # a damaged archive fails inside zipfile or NumPy's header parser in many ways
        # (BadZipFile, NotImplementedError for a flipped compression method, struct.error,
        # UnicodeDecodeError, ...); every one of them means the same thing here
        raise CheckpointError(f"load: {path} is not a readable .npz archive (truncated or corrupted?): "
                              f"{type(e).__name__}: {e}") from e


def _member_key(name):
    return name[:-4] if name.endswith(".npy") else name


def _read_member(archive, info):
    with archive.open(info) as f:
        version = np.lib.format.read_magic(f)
        read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                       (2, 0): np.lib.format.read_array_header_2_0}.get(version)
        if read_header is None:
            raise ValueError(f"member {info.filename} has .npy version {version}")
        shape, fortran_order, dtype = read_header(f)
        if dtype.hasobject:
            raise ValueError(f"member {info.filename} holds Python objects, which would need pickle")
        count = 1
        for n in shape:
            count *= n
        header_size = f.tell()
        if info.file_size != header_size + count * dtype.itemsize:
            raise ValueError(f"member {info.filename} declares {shape} {dtype} but holds "
                             f"{info.file_size - header_size} bytes of data")
        data = bytearray(f.read())     # the CRC of the member is checked as its last byte is read
    return np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran_order else "C")

