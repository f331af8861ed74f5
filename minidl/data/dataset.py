"""Map-style datasets: ``dataset[i]`` is one sample, ``len(dataset)`` how many.

A sample is an ``(x, y)`` pair of NumPy arrays or numbers, kept on the host;
the :class:`~minidl.data.DataLoader` batches them and moves the batch to the
device.  Datasets that hold every sample in one array (:class:`TensorDataset`
and the image datasets built on it) also offer ``get_batch(indices)``: one
fancy-indexing step and one vectorized transform for the whole batch instead
of a Python call per image, which is what lets a loader keep up with a
training loop.
"""
import numpy as np

from minidl import backend
from minidl.autograd import Tensor

from .transforms import apply_to_batch

__all__ = ["Dataset", "TensorDataset", "ImageDataset", "Subset", "random_split", "default_collate",
           "get_batch"]


class Dataset:
    """Base class of map-style datasets: subclasses define ``__getitem__`` and ``__len__``."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __len__")


def default_collate(samples):
    """Stack a list of samples into a batch: ``[(x0, y0), (x1, y1)]`` -> ``(stack(x), stack(y))``."""
    first = samples[0]
    if isinstance(first, (tuple, list)):
        return tuple(default_collate([s[k] for s in samples]) for k in range(len(first)))
    arrays = [np.asarray(s) for s in samples]
    shapes = sorted({a.shape for a in arrays})
    if len(shapes) > 1:
        raise ValueError(f"default_collate: samples of different shapes {shapes[0]} and {shapes[1]} do not "
                         "stack into a batch; give images one size with a transform (e.g. "
                         "RandomResizedCrop(224) for training, Resize((224, 224)) or Resize(256) then "
                         "CenterCrop(224) for validation)")
    return np.stack(arrays)


def get_batch(dataset, indices):
    """The samples at ``indices`` as collated arrays, through ``dataset.get_batch`` where offered."""
    batched = getattr(dataset, "get_batch", None)
    if batched is not None:
        return batched(indices)
    return default_collate([dataset[int(i)] for i in indices])


def _host_array(a):
    if isinstance(a, Tensor):
        a = a.data
    if isinstance(a, (np.ndarray, np.generic, list, tuple)):
        return np.asarray(a)
    return backend.to_numpy(a)


class TensorDataset(Dataset):
    """Samples from arrays of equal length: ``dataset[i] == (transform(a[i]), b[i], ...)``.

    Accepts NumPy arrays, lists, Tensors or device arrays (copied to the
    host).  ``transform`` applies to the first array, the inputs.
    """

    def __init__(self, *tensors, transform=None):
        if not tensors:
            raise ValueError("TensorDataset: give at least one array")
        arrays = tuple(_host_array(t) for t in tensors)
        if any(a.ndim == 0 for a in arrays) or len({len(a) for a in arrays}) != 1:
            raise ValueError("TensorDataset: the arrays must have the same first dimension, got shapes "
                             f"{[a.shape for a in arrays]}")
        self.tensors = arrays
        self.transform = transform

    def __len__(self):
        return len(self.tensors[0])

    def __getitem__(self, index):
        x, *rest = (a[index] for a in self.tensors)
        if self.transform is not None:
            x = self.transform(x)
        return (x, *rest)

    def get_batch(self, indices):
        """``(x, y, ...)`` for ``indices`` in one step, the transform applied to the whole batch."""
        indices = np.asarray(indices, dtype=np.int64)
        x, *rest = (a[indices] for a in self.tensors)
        if self.transform is not None:
            x = apply_to_batch(self.transform, x)
        return (x, *rest)


class ImageDataset(TensorDataset):
    """Images held in one array: ``data`` (N, C, H, W), usually uint8, and ``targets`` (N,) int64.

    The base of MNIST, CIFAR and the other in-memory image sets; ``classes``
    names the labels.
    """

    def __init__(self, data, targets, transform=None, classes=None):
        super().__init__(data, np.asarray(targets, dtype=np.int64), transform=transform)
        self.classes = list(classes) if classes is not None else None

    @property
    def data(self):
        return self.tensors[0]

    @property
    def targets(self):
        return self.tensors[1]

    def __repr__(self):
        n, c, h, w = self.data.shape
        split = f"train={self.train}, " if hasattr(self, "train") else ""
        return f"{type(self).__name__}({split}{n} images {c}x{h}x{w}, transform={self.transform!r})"


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64)
        n = len(dataset)
        if self.indices.ndim != 1 or (len(self.indices) and not
                                      (-n <= self.indices.min() and self.indices.max() < n)):
            raise IndexError(f"Subset: indices must be a 1-D list within a dataset of {n} samples")

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, index):
        return self.dataset[int(self.indices[index])]

    def get_batch(self, indices):
        return get_batch(self.dataset, self.indices[np.asarray(indices, dtype=np.int64)])


def random_split(dataset, lengths, generator=None):
    """Split ``dataset`` at random into :class:`Subset` s of the given ``lengths``.

    ``lengths`` are counts summing to ``len(dataset)`` or fractions summing to
    1 (each fraction is floored, and the remainder dealt one by one from the
    first subset on, as PyTorch does).  The permutation comes from
    ``generator`` (default: the backend's CPU generator), so a seed fixes it.
    """
    n = len(dataset)
    lengths = list(lengths)
    if lengths and all(0 <= f <= 1 for f in lengths) and abs(sum(lengths) - 1) < 1e-6 and sum(lengths) != n:
        counts = [int(np.floor(n * f)) for f in lengths]
        for k in range(n - sum(counts)):
            counts[k % len(counts)] += 1
        lengths = counts
    if any(int(k) != k or k < 0 for k in lengths) or sum(lengths) != n:
        raise ValueError(f"random_split: lengths {lengths} must be counts summing to {n} "
                         "or fractions summing to 1")
    order = (generator or backend.generator("cpu")).permutation(n)
    bounds = np.cumsum([0, *lengths])
    return [Subset(dataset, order[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
