"""Fine-tuning a head: which layer is the head, freezing the rest, features computed once and kept."""
import numpy as np
import pytest

from minidl import autograd, backend, data, models, nn, optim
from minidl.nn.init import skip_init
from minidl.train import fit
from minidl.train.features import (FeatureCache, FrozenBody, extract_features, feature_key, freeze, head_name,
                                   submodule)


def _small_net():
    """Batch norm and dropout in the body: both behave differently in training mode, so a frozen
    body must stay in eval mode for its features to be those computed once."""
    backend.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Dropout(0.5),
                         nn.Linear(4 * 6 * 6, 8), nn.ReLU(), nn.Linear(8, 2))


def _images(n=24, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 3, 8, 8)).astype(np.float32), rng.integers(0, 2, n).astype(np.int64)


@pytest.mark.parametrize("name, head", [("resnet34", "fc"), ("alexnet", "classifier.6"),
                                        ("vgg16", "classifier.6"), ("googlenet", "fc")])
def test_the_head_is_the_classifier_of_the_practice_models(name, head):
    assert head_name(skip_init(models.get, name, num_classes=2)) == head


def test_freeze_leaves_only_the_head_trainable():
    model = _small_net()
    assert freeze(model) == "7"
    trainable = [name for name, p in model.named_parameters() if p.requires_grad]
    assert trainable == ["7.weight", "7.bias"]


def test_submodule_names_the_valid_ones():
    with pytest.raises(KeyError, match="no module 'fc'; it has 0, 1"):
        submodule(_small_net(), "fc")


def test_a_frozen_body_stays_in_eval_mode_and_keeps_its_names():
    model = _small_net()
    net = FrozenBody(model, freeze(model)).train()
    assert [m.training for m in model] == [False] * 7 + [True]
    assert list(net.state_dict()) == list(model.state_dict())


def test_features_are_the_input_of_the_head():
    model = _small_net()
    x, y = _images()
    features, targets = extract_features(model, data.DataLoader(data.TensorDataset(x, y), 5))
    assert features.shape == (24, 8) and features.dtype == np.float32 and np.array_equal(targets, y)
    head = model[7]
    logits = model.eval()(autograd.tensor(x)).numpy()
    np.testing.assert_allclose(features @ head.weight.data.T + head.bias.data, logits, rtol=1e-5, atol=1e-6)
    assert isinstance(model[7], nn.Linear)             # the head is back in place after the extraction


def test_the_head_trained_on_features_equals_the_frozen_network_trained_end_to_end():
    """One epoch, the same batches in the same order, no augmentation: SGD with momentum sees the
    same gradients whether the frozen body runs in every step or ran once before."""
    x, y = _images(40)
    trained = []
    for inputs in ("images", "features"):
        model = _small_net()
        head = freeze(model)
        dataset = data.TensorDataset(x, y)
        if inputs == "features":
            dataset = data.TensorDataset(*extract_features(model, data.DataLoader(dataset, 16), head))
        loader = data.DataLoader(dataset, 8, shuffle=True, generator=backend.Generator("cpu", 1))
        optimizer = optim.SGD(submodule(model, head).parameters(), lr=0.1, momentum=0.9)
        fit(FrozenBody(model, head, inputs), loader, optimizer=optimizer, epochs=1, progress=False)
        trained.append(model.state_dict())
    end_to_end, on_features = trained
    for name in end_to_end:
        np.testing.assert_allclose(on_features[name].numpy(), end_to_end[name].numpy(), rtol=1e-5, atol=1e-6,
                                   err_msg=name)
    assert not np.allclose(end_to_end["7.weight"].numpy(), _small_net()[7].weight.data)    # it did train


def test_the_cache_computes_once(tmp_path):
    cache, calls = FeatureCache(tmp_path / "features"), []

    def compute():
        calls.append(1)
        return np.ones((3, 2), np.float32), np.arange(3)

    (x, y), cached = cache.get("k", compute)
    assert not cached and calls == [1]
    (x2, y2), cached = cache.get("k", compute)
    assert cached and calls == [1] and np.array_equal(x, x2) and np.array_equal(y, y2)
    assert [p.name for p in (tmp_path / "features").iterdir()] == ["k.npz"]


def test_the_key_changes_with_what_the_features_depend_on(tmp_path):
    image = tmp_path / "cat.0.jpg"
    image.write_bytes(b"one")
    samples = [(image, 0)]
    key = feature_key("resnet34", "abc", 224, samples, "Resize(224)")
    assert key == feature_key("resnet34", "abc", 224, samples, "Resize(224)")
    others = [feature_key("resnet18", "abc", 224, samples, "Resize(224)"),
              feature_key("resnet34", "abd", 224, samples, "Resize(224)"),
              feature_key("resnet34", "abc", 112, samples, "Resize(224)"),
              feature_key("resnet34", "abc", 224, [(image, 1)], "Resize(224)"),
              feature_key("resnet34", "abc", 224, samples, "Resize(256)")]
    image.write_bytes(b"other")
    others.append(feature_key("resnet34", "abc", 224, samples, "Resize(224)"))
    assert len({key, *others}) == 7
