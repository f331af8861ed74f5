"""Anomaly mode, as ``torch.autograd.detect_anomaly``: slow checks for mistakes backward cannot see.

The version counter sees every assignment to ``t.data``, but not a write into
the array itself (``t.data[...] = v``, ``t.data[i] += 1``, or into the NumPy
array that ``Tensor(array)`` wraps): seeing those means reading every array the
graph keeps once more.  In anomaly mode each Function recorded for backward
keeps a fingerprint of the arrays of its inputs and outputs, and backward
refuses a Function whose arrays no longer match it; backward also refuses a
NaN gradient, naming the Function whose backward returned it.

    with minidl.autograd.detect_anomaly():
        loss = model(x).sum()
        loss.backward()

The fingerprints are taken by the forward, so it is the forward that must run
in anomaly mode; a backward checks every fingerprint it finds.  Off (the
default), a recorded op pays one flag check for it.
"""
import contextlib
import hashlib

import numpy as np

from .. import backend

__all__ = ["detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled", "is_anomaly_check_nan_enabled"]

enabled = False     # read by Function.__call__: fingerprint the arrays of each recorded op
check_nan = False   # read by backward: refuse NaN gradients


def is_anomaly_enabled():
    return enabled


def is_anomaly_check_nan_enabled():
    return check_nan


class set_detect_anomaly:
    """Turn anomaly mode on or off now; used in a ``with``, the previous mode comes back at its end.

    ``check_nan=False`` keeps the fingerprints but lets NaN gradients through.
    """

    def __init__(self, mode, check_nan=True):
        self.prev = _set(bool(mode), bool(mode) and check_nan)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _set(*self.prev)


class detect_anomaly(contextlib.ContextDecorator):
    """Context manager (or decorator) in which anomaly mode is on; the previous mode comes back after."""

    def __init__(self, check_nan=True):
        self.check_nan = check_nan

    def __enter__(self):
        self.prev = _set(True, self.check_nan)

    def __exit__(self, *exc):
        _set(*self.prev)


def _set(mode, nan):
    """Set the mode; return the one it replaces."""
    global enabled, check_nan
    prev = enabled, check_nan
    enabled, check_nan = mode, nan
    return prev


def fingerprint(array):
    """A digest of the bytes of ``array``: another digest later means it was written to.

    A copy of the array would be exact too, but would double the memory of
    everything the graph keeps; the digest costs one read (after a copy to the
    host for a device array) and 32 bytes.  That two different contents have the
    same SHA-256 has a chance of 2^-256.  SHA-256 rather than BLAKE2b: on CPUs with
    SHA extensions it hashes about twice as fast.
    """
    return hashlib.sha256(np.ascontiguousarray(backend.to_numpy(array))).digest()
