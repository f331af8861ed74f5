"""Saliency: the input gradient equals central differences of the class score, and PyTorch's."""
import numpy as np
import pytest

import minidl
from minidl import models, viz
from minidl.models import from_torch
from tests.viz.twins import digits_like, lenet5_twin, tiny_convnet


def test_input_gradient_is_the_numerical_gradient_of_the_class_score():
    model = tiny_convnet()
    images = np.random.default_rng(1).standard_normal((2, 2, 8, 8))
    target = [3, 1]
    gradient, used = viz.input_gradient(model, images, target)
    np.testing.assert_array_equal(used, target)

    def scores(x):
        with minidl.no_grad():
            out = model.eval()(minidl.Tensor(x)).numpy()
        return out[np.arange(2), target]

    eps, numerical = 1e-6, np.zeros_like(images)
    for index in np.ndindex(images.shape[1:]):
        step = np.zeros_like(images)
        step[(slice(None), *index)] = eps
        numerical[(slice(None), *index)] = (scores(images + step) - scores(images - step)) / (2 * eps)
    np.testing.assert_allclose(gradient, numerical, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(viz.saliency(model, images, target), np.abs(numerical).max(axis=1),
                               rtol=1e-6, atol=1e-8)


def test_model_is_left_as_it_was():
    model = models.get("lenet5").train()
    model.c1.weight.requires_grad_(False)
    viz.saliency(model, digits_like(2))
    assert model.training and all(m.training for m in model.modules())
    assert [p.requires_grad for p in model.parameters()] == [False] + [True] * 9
    assert all(p.grad is None for p in model.parameters())


def test_targets_are_checked():
    model = models.get("lenet5")
    with pytest.raises(ValueError, match=r"target must be one class index or 2, in \[0, 10\)"):
        viz.saliency(model, digits_like(2), target=[1, 2, 3])
    with pytest.raises(ValueError, match=r"in \[0, 10\)"):
        viz.saliency(model, digits_like(2), target=10)
    with pytest.raises(ValueError, match=r"expected a batch of images \(N, C, H, W\)"):
        viz.saliency(model, digits_like(1)[0])


@pytest.mark.torch
def test_saliency_of_lenet5_matches_pytorch():
    torch = pytest.importorskip("torch")
    twin = lenet5_twin(torch).eval()
    model = from_torch(twin, models.get("lenet5"))
    images = digits_like(4)
    x = torch.tensor(images, requires_grad=True)
    scores = twin(x)
    predicted = scores.argmax(1)
    scores[torch.arange(4), predicted].sum().backward()
    expected = x.grad.abs().amax(1).numpy()
    np.testing.assert_allclose(viz.saliency(model, images), expected, rtol=1e-4, atol=1e-6)
    _, used = viz.input_gradient(model, images)
    np.testing.assert_array_equal(used, predicted.numpy())
