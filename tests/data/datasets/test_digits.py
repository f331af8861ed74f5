"""Digits: scikit-learn's 8x8 digits, scaled to bytes, split by index."""
import numpy as np
import pytest

from minidl.data.datasets import Digits


def test_split_and_scaling():
    datasets = pytest.importorskip("sklearn.datasets")
    reference = datasets.load_digits()
    train, test = Digits(train=True), Digits(train=False)
    assert len(train) + len(test) == 1797 and len(test) == 359
    assert train.data.shape == (1438, 1, 8, 8) and train.data.dtype == np.uint8
    np.testing.assert_array_equal(test.targets, reference.target[4::5])
    np.testing.assert_allclose(test.data[:, 0] / 255 * 16, reference.images[4::5], atol=16 / 255 / 2 + 1e-9)
    assert train.data.max() == 255


def test_clear_error_without_scikit_learn(monkeypatch):
    import builtins
    real_import = builtins.__import__

    def no_sklearn(name, *args, **kwargs):
        if name.startswith("sklearn"):
            raise ImportError("No module named 'sklearn'")
        return real_import(name, *args, **kwargs)
    monkeypatch.setattr(builtins, "__import__", no_sklearn)
    with pytest.raises(ImportError, match="pip install scikit-learn"):
        Digits()
