"""DataLoader: batches of a dataset as Tensors, shuffled by seed, on the device the model uses.

An epoch::

    order = generator.permutation(len(dataset))     # or 0, 1, 2, ... without shuffle
    for each slice of batch_size indices:
        x, y = dataset.get_batch(indices)            # or collate_fn([dataset[i] ...])
        yield Tensor(x on device), Tensor(y on device)

The permutation comes from the backend's seeded CPU generator, so
``minidl.manual_seed(s)`` fixes the order.  The same generator also seeds a
private one per epoch for the random transforms, which therefore give the same
images whether batches are made in the loop's thread or, with ``prefetch=N``,
in a background thread that keeps up to N finished batches ready while the
model computes.
"""
import queue
import threading

import numpy as np

from minidl import backend
from minidl.autograd import Tensor

from . import seeding
from .dataset import get_batch
from .transforms import to_unit_interval

__all__ = ["DataLoader"]


def _to_tensor(array, device, floating_dtype):
    """A batch array as a Tensor on ``device``.

    uint8 images are moved as bytes (4x less to copy) and scaled to [0, 1] on
    the device, as :class:`~minidl.data.transforms.ToFloat` would; other
    integers become int64 (labels, token ids); floats ``floating_dtype``.
    """
    if isinstance(array, Tensor):
        return array.to(device)
    array = np.asarray(array)
    if array.dtype.kind in "iub" and array.dtype != np.uint8:
        array = array.astype(np.int64, copy=False)
    data = backend.to_device(array, device)
    if array.dtype == np.uint8 or array.dtype.kind == "f":
        data = to_unit_interval(data, floating_dtype)
    return Tensor(data)


class DataLoader:
    """Iterate over ``dataset`` in batches of ``(x, y)`` Tensors.

    Args follow PyTorch's: ``batch_size``, ``shuffle``, ``drop_last`` (drop a
    last incomplete batch), ``collate_fn`` (list of samples -> batch arrays),
    ``sampler`` (an iterable of indices with a length, e.g.
    :class:`minidl.distributed.DistributedSampler`; excludes ``shuffle``),
    ``generator`` (default: the backend's CPU generator).  ``device`` is where
    batches go (None: the CPU); ``prefetch=N`` prepares up to N batches ahead
    in a background thread; ``dtype`` is the floating dtype of x (default:
    minidl's default dtype, float32).
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, collate_fn=None,
                 device=None, prefetch=0, sampler=None, generator=None, dtype=None):
        if not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
            raise ValueError(f"DataLoader: batch_size must be a positive int, got {batch_size!r}")
        if not isinstance(prefetch, (int, np.integer)) or prefetch < 0:
            raise ValueError(f"DataLoader: prefetch must be a non-negative int, got {prefetch!r}")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: give either shuffle=True or a sampler, not both")
        self.dataset, self.batch_size = dataset, int(batch_size)
        self.shuffle, self.drop_last, self.collate_fn = shuffle, drop_last, collate_fn
        self.device = backend.device(device)
        self.prefetch, self.sampler, self.generator = int(prefetch), sampler, generator
        self.dtype = np.dtype(dtype) if dtype is not None else None

    def _num_samples(self):
        return len(self.sampler) if self.sampler is not None else len(self.dataset)

    def __len__(self):
        n = self._num_samples()
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _epoch(self):
        """This epoch's index order and the generator of its random transforms (drawn now, in order)."""
        gen = self.generator or backend.generator("cpu")
        if self.sampler is not None:
            order = np.fromiter(iter(self.sampler), dtype=np.int64)
        elif self.shuffle:
            order = gen.permutation(len(self.dataset))
        else:
            order = np.arange(len(self.dataset))
        return order, backend.Generator("cpu", int(gen.integers(0, 2**62)))

    def _batches(self, order, transforms_generator):
        """Yield the epoch's batches as Tensors on the device; augmentations draw from the given generator."""
        dtype = self.dtype or backend.get_default_dtype()
        for k in range(len(self)):
            indices = order[k * self.batch_size:(k + 1) * self.batch_size]
            # installed per batch, never across the yield: the consumer's code between batches (and
            # another loader iterated alongside) must draw from its own generator, not this epoch's
            with seeding.using(transforms_generator):
                if self.collate_fn is None:
                    batch = get_batch(self.dataset, indices)
                else:
                    batch = self.collate_fn([self.dataset[int(i)] for i in indices])
            yield tuple(_to_tensor(part, self.device, dtype) for part in batch)

    def __iter__(self):
        batches = self._batches(*self._epoch())
        return batches if self.prefetch == 0 else _Prefetcher(batches, self.prefetch)

    def __repr__(self):
        return (f"DataLoader({type(self.dataset).__name__} of {len(self.dataset)}, "
                f"batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}, device='{self.device}', "
                f"prefetch={self.prefetch})")


_DONE = object()


def _produce(batches, out, stop):
    """Put each batch into the queue ``out``, then _DONE (or the error raised), until ``stop`` is set."""
    def put(item):
        while not stop.is_set():
            try:
                out.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    try:
        for batch in batches:
            if not put(batch):
                return
        put(_DONE)
    except BaseException as error:  # noqa: BLE001 - handed to the consumer, which re-raises it
        put(error)


class _Prefetcher:
    """Runs a batch generator in a daemon thread, ``depth`` batches ahead of the consumer.

    NumPy releases the GIL in its copies and arithmetic, so the augmentation
    of the next batches overlaps with the model's work on this one.  An error
    in the thread is raised in the consumer; a consumer that stops early (a
    ``break``) stops the thread when it drops the iterator.  The thread holds
    only the queue and the stop flag, never this object, so dropping it works.
    """

    def __init__(self, batches, depth):
        self._queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=_produce, args=(batches, self._queue, self._stop),
                                        daemon=True)
        self._thread.start()

    def __iter__(self):
        return self

    def __next__(self):
        if self._stop.is_set():
            raise StopIteration
        item = self._queue.get()
        if item is _DONE:
            self.close()
            raise StopIteration
        if isinstance(item, BaseException):
            self.close()
            raise item
        return item

    def close(self):
        """Stop the background thread and wait for it."""
        self._stop.set()
        self._thread.join()

    def __del__(self):
        self.close()
