"""CUDA status for users: is a GPU there, how many, how much memory is in use.

Never raises when CuPy is missing or no GPU answers; every question then has
the answer "none".
"""
from . import backend

__all__ = ["is_available", "device_count", "memory_info", "synchronize"]


def is_available():
    """True when CuPy imports and at least one GPU answers."""
    return backend.cupy_or_none() is not None


def device_count():
    """The number of visible GPUs (0 without CuPy or a GPU)."""
    cp = backend.cupy_or_none()
    return 0 if cp is None else cp.cuda.runtime.getDeviceCount()


def memory_info():
    """Bytes held by CuPy's memory pool: ``{'used': ..., 'total': ...}`` (zeros without a GPU)."""
    cp = backend.cupy_or_none()
    if cp is None:
        return {"used": 0, "total": 0}
    pool = cp.get_default_memory_pool()
    return {"used": int(pool.used_bytes()), "total": int(pool.total_bytes())}


def synchronize(device="cuda"):
    """Wait for the GPU's queued work (a no-op without one)."""
    if is_available():
        backend.synchronize(device)
