"""What the command line builds from its flags: schedules, optimizers and standardized datasets."""
import numpy as np
import pytest

from minidl import nn, optim
from minidl.data import get_batch
from minidl.data.datasets import DatasetError
from minidl.data.datasets.download import missing_error
from minidl.train import recipes
from minidl.train.recipes import load_datasets, make_optimizer, make_scheduler, parse_schedule


@pytest.mark.parametrize("text, parsed", [
    ("step:5:0.6667", ("step", 5, 0.6667)),
    ("multistep:18,10,14:0.5", ("multistep", [10, 14, 18], 0.5)),
    ("cosine", ("cosine",)),
    ("none", ("none",)),
])
def test_parse_schedule(text, parsed):
    assert parse_schedule(text) == parsed


@pytest.mark.parametrize("text", ["step:5", "step:0:0.5", "step:five:0.5", "multistep:a,b:0.5", "cosine:3",
                                  "linear", ""])
def test_parse_schedule_rejects(text):
    with pytest.raises(ValueError, match="bad schedule .* e.g. step:5:0.6667"):
        parse_schedule(text)


def _optimizer(name="sgd", lr=0.25):
    return make_optimizer(name, nn.Linear(3, 2).parameters(), lr=lr, momentum=0.9, weight_decay=1e-4)


@pytest.mark.parametrize("schedule, lrs", [
    ("step:2:0.5", [0.25, 0.25, 0.125, 0.125, 0.0625]),
    ("multistep:1,3:0.1", [0.25, 0.025, 0.025, 0.0025, 0.0025]),
    ("cosine", [0.25 * (1 + np.cos(np.pi * e / 5)) / 2 for e in range(5)]),
])
def test_schedules_give_the_lecture_rates(schedule, lrs):
    optimizer = _optimizer()
    scheduler = make_scheduler(parse_schedule(schedule), optimizer, epochs=5)
    seen = []
    for _ in range(5):
        seen.append(optimizer.param_groups[0]["lr"])
        scheduler.step()
    assert seen == pytest.approx(lrs)


def test_no_schedule():
    assert make_scheduler(("none",), _optimizer(), epochs=5) is None


@pytest.mark.parametrize("name, cls, momentum", [("sgd", optim.SGD, 0.9), ("rmsprop", optim.RMSprop, 0.9),
                                                 ("adam", optim.Adam, None), ("adamw", optim.AdamW, None),
                                                 ("adagrad", optim.Adagrad, None)])
def test_make_optimizer(name, cls, momentum):
    optimizer = _optimizer(name, lr=0.01)
    group = optimizer.param_groups[0]
    assert type(optimizer) is cls and group["lr"] == 0.01 and group["weight_decay"] == 1e-4
    if momentum is not None:
        assert group["momentum"] == momentum
    with pytest.raises(ValueError, match="unknown optimizer 'lbfgs'"):
        make_optimizer("lbfgs", nn.Linear(3, 2).parameters(), lr=0.1)


def test_datasets_are_standardized_with_the_training_statistics():
    train_set, test_set, line = load_datasets("synthetic")
    assert line == "dataset synthetic: 2,000 training / 500 test images 1x28x28, 4 classes"
    x = get_batch(train_set, np.arange(len(train_set)))[0]
    assert x.dtype == np.float32
    assert abs(x.mean()) < 0.01 and abs(x.std() - 1) < 0.01
    pixels = train_set.data.astype(np.float64) / 255
    expected = (test_set.data[:2] / 255 - pixels.mean()) / pixels.std()
    np.testing.assert_allclose(get_batch(test_set, [0, 1])[0], expected, rtol=1e-4, atol=1e-5)


def test_augmentation_moves_training_images_only():
    train_set, test_set, _ = load_datasets("synthetic", augment=True)
    twice = [get_batch(train_set, np.arange(20))[0] for _ in range(2)]
    assert not np.array_equal(*twice)        # 20 images drawing the same shifts twice: odds 25^-20
    assert np.array_equal(get_batch(test_set, np.arange(20))[0], get_batch(test_set, np.arange(20))[0])


def test_mnist_falls_back_to_the_bundled_subset_and_nothing_else_does(monkeypatch, tmp_path):
    real = recipes.get_dataset

    def missing_files(name, **kwargs):
        if name in ("mnist", "cifar10"):
            raise missing_error(name, "train-images-idx3-ubyte.gz", [tmp_path / "a", tmp_path / "b"])
        return real(name, **kwargs)

    monkeypatch.setattr(recipes, "get_dataset", missing_files)
    train_set, test_set, line = load_datasets("mnist")
    assert (len(train_set), len(test_set)) == (4000, 1000)
    assert line.startswith("dataset mnist: train-images-idx3-ubyte.gz is in none of the 2 directories "
                           "searched, so the bundled subset: 4,000")
    with pytest.raises(DatasetError, match="cifar10: train-images-idx3-ubyte.gz not found"):
        load_datasets("cifar10")


def test_a_corrupt_full_set_is_an_error_not_a_fallback(tmp_path, monkeypatch):
    # this used to fall back silently, saying "the full set is not in the cache"
    monkeypatch.setenv("MINIDL_DATA", str(tmp_path))
    (tmp_path / "mnist").mkdir()
    (tmp_path / "mnist" / "train-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(DatasetError, match=r"train-images-idx3-ubyte.gz: corrupt gzip data"):
        load_datasets("mnist")
