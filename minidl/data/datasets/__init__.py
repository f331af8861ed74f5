"""Datasets: MNIST, Fashion-MNIST, CIFAR-10/100, image folders, the bundled MNIST subset,
scikit-learn's digits and a synthetic set, with :func:`get_dataset` mapping command-line
names to them.

    >>> from minidl.data.datasets import get_dataset
    >>> train = get_dataset("mnist-subset", train=True)      # bundled: no file, no network
    >>> len(train), train[0][0].shape
    (4000, (1, 28, 28))
"""
import inspect

from .cifar import CIFAR10, CIFAR100
from .digits import Digits
from .download import DatasetError, DatasetNotFoundError, cache_dir
from .folder import ImageFolder, image_folder_split, train_val_split
from .mnist import MNIST, FashionMNIST
from .subset import MNISTSubset
from .synthetic import Shapes

__all__ = ["MNIST", "FashionMNIST", "CIFAR10", "CIFAR100", "ImageFolder", "MNISTSubset", "Digits",
           "Shapes", "image_folder_split", "train_val_split", "DatasetError", "DatasetNotFoundError",
           "cache_dir", "get_dataset", "list_datasets"]


DATASETS = {
    "mnist": MNIST,
    "fashion-mnist": FashionMNIST,
    "cifar10": CIFAR10,
    "cifar100": CIFAR100,
    "mnist-subset": MNISTSubset,
    "digits": Digits,
    "synthetic": Shapes,
    "image-folder": image_folder_split,
}


def list_datasets():
    """The names :func:`get_dataset` knows."""
    return sorted(DATASETS)


def get_dataset(name, train=True, root=None, download=False, transform=None, **kwargs):
    """The dataset called ``name`` ('mnist', 'fashion-mnist', 'cifar10', 'cifar100', 'mnist-subset',
    'digits', 'synthetic', 'image-folder').

    ``root`` and ``download`` go to the datasets that read files and are
    ignored by the others; ``kwargs`` go to the dataset (e.g. ``image_size``
    for 'synthetic', ``size`` for 'image-folder').
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(list_datasets())}")
    factory = DATASETS[name]
    accepted = inspect.signature(factory).parameters
    common = {"train": train, "root": root, "download": download, "transform": transform}
    return factory(**{k: v for k, v in common.items() if k in accepted}, **kwargs)
