"""TensorDataset, ImageDataset, Subset, random_split and collation."""
import numpy as np
import pytest

import minidl
from minidl.data import ImageDataset, Subset, TensorDataset, default_collate, get_batch, random_split
from minidl.data import transforms as T


def make_dataset(n=10, transform=None):
    x = np.arange(n * 4, dtype=np.uint8).reshape(n, 1, 2, 2)
    return TensorDataset(x, np.arange(n) % 3, transform=transform)


def test_tensor_dataset_items_and_batches():
    ds = make_dataset(transform=T.ToFloat())
    assert len(ds) == 10
    x, y = ds[3]
    np.testing.assert_allclose(x, np.arange(12, 16).reshape(1, 2, 2) / 255, rtol=1e-6)
    assert y == 0
    xb, yb = ds.get_batch([3, 0, 7])
    np.testing.assert_array_equal(xb, np.stack([ds[i][0] for i in (3, 0, 7)]))
    np.testing.assert_array_equal(yb, [0, 0, 1])


def test_tensor_dataset_accepts_tensors_and_checks_lengths():
    ds = TensorDataset(minidl.tensor([[1.0], [2.0]]), [5, 6])
    assert ds[1][0].tolist() == [2.0] and ds[1][1] == 6
    with pytest.raises(ValueError, match="same first dimension"):
        TensorDataset(np.zeros((3, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="at least one"):
        TensorDataset()


def test_image_dataset_exposes_data_targets_classes():
    ds = ImageDataset(np.zeros((4, 3, 5, 5), np.uint8), [0, 1, 1, 0], classes=["a", "b"])
    assert ds.data.shape == (4, 3, 5, 5) and ds.targets.dtype == np.int64 and ds.classes == ["a", "b"]
    assert "4 images 3x5x5" in repr(ds)


def test_subset_forwards_batches_to_the_dataset():
    ds = make_dataset()
    sub = Subset(ds, [9, 2, 4])
    assert len(sub) == 3 and sub[0][1] == ds[9][1]
    xb, yb = sub.get_batch([2, 0])
    np.testing.assert_array_equal(xb, ds.tensors[0][[4, 9]])
    np.testing.assert_array_equal(yb, ds.tensors[1][[4, 9]])
    with pytest.raises(IndexError, match="10 samples"):
        Subset(ds, [0, 10])


def test_get_batch_falls_back_to_items_for_plain_datasets():
    class Squares:
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return np.full((2,), i * i), i
    x, y = get_batch(Squares(), [1, 3])
    np.testing.assert_array_equal(x, [[1, 1], [9, 9]])
    np.testing.assert_array_equal(y, [1, 3])
    x, y = Subset(Squares(), [4, 2]).get_batch([0, 1])
    np.testing.assert_array_equal(y, [4, 2])


def test_default_collate_stacks_fields():
    x, y = default_collate([(np.zeros((2, 2)), 1), (np.ones((2, 2)), 2)])
    assert x.shape == (2, 2, 2) and y.tolist() == [1, 2]


def test_random_split_partitions_by_seed():
    ds = make_dataset(n=10)
    minidl.manual_seed(5)
    a, b = random_split(ds, [7, 3])
    assert len(a) == 7 and len(b) == 3
    assert sorted([*a.indices, *b.indices]) == list(range(10))
    minidl.manual_seed(5)
    assert random_split(ds, [7, 3])[0].indices.tolist() == a.indices.tolist()
    parts = random_split(ds, [0.5, 0.3, 0.2])
    assert [len(p) for p in parts] == [5, 3, 2]
    assert [len(p) for p in random_split(make_dataset(n=11), [0.5, 0.5])] == [6, 5]
    with pytest.raises(ValueError, match="summing to 10"):
        random_split(ds, [5, 4])
