"""Data: datasets, the loader that batches them onto a device, and image transforms.

    >>> import minidl
    >>> from minidl.data import DataLoader, transforms as T
    >>> from minidl.data.datasets import MNISTSubset
    >>> train = MNISTSubset(train=True, transform=T.Compose([T.ToFloat(), T.RandomShift(2)]))
    >>> loader = DataLoader(train, batch_size=64, shuffle=True)
    >>> x, y = next(iter(loader))
    >>> x.shape, x.dtype, y.dtype
    ((64, 1, 28, 28), dtype('float32'), dtype('int64'))

Host-side NumPy is fine here: samples are made on the CPU and the loader
moves each finished batch to the device.
"""
from . import datasets, presets, transforms
from .dataset import (Dataset, ImageDataset, Subset, TensorDataset, default_collate, get_batch,
                      random_split)
from .datasets import DatasetError, get_dataset, list_datasets
from .loader import DataLoader
