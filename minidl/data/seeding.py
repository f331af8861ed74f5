"""Which generator the random transforms draw from.

By default, the CPU generator of the backend (:func:`minidl.backend.generator`),
seeded by :func:`minidl.manual_seed`.  A :class:`~minidl.data.DataLoader`
gives each epoch a generator of its own, seeded from that one, and installs it
with :func:`using` in the thread that runs the transforms: a prefetching thread
must not share a generator with the training loop, whose dropout masks would
otherwise interleave with the augmentation draws in an order that changes from
run to run.
"""
import contextlib
import threading

from minidl import backend

_local = threading.local()


def current():
    """The generator random transforms use in this thread."""
    return getattr(_local, "generator", None) or backend.generator("cpu")


@contextlib.contextmanager
def using(generator):
    """Make ``generator`` the one random transforms use in this thread, inside the block."""
    previous = getattr(_local, "generator", None)
    _local.generator = generator
    try:
        yield generator
    finally:
        _local.generator = previous
