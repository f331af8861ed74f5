"""get_dataset: the command-line names of the datasets."""
import pytest

from minidl.data.datasets import DatasetError, MNISTSubset, Shapes, get_dataset, list_datasets


def test_names():
    assert list_datasets() == ["cifar10", "cifar100", "digits", "fashion-mnist", "image-folder", "mnist",
                               "mnist-subset", "synthetic"]


def test_arguments_reach_the_dataset(tmp_path):
    ds = get_dataset("synthetic", train=False, num_samples=12, image_size=16, root=tmp_path)
    assert isinstance(ds, Shapes) and ds.data.shape == (12, 1, 16, 16) and not ds.train
    assert isinstance(get_dataset("mnist-subset", root=tmp_path, download=True), MNISTSubset)


def test_file_datasets_get_root(tmp_path):
    with pytest.raises(DatasetError, match=str(tmp_path)):
        get_dataset("mnist", root=tmp_path)


def test_unknown_name():
    with pytest.raises(ValueError, match="unknown dataset 'imagenet'; known: cifar10"):
        get_dataset("imagenet")
    with pytest.raises(TypeError):
        get_dataset("synthetic", colour=True)
