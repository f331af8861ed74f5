"""Grad-CAM: equal to the paper's formula computed by hand from hooked maps and gradients, and PyTorch's."""
import numpy as np
import pytest

import minidl
from minidl import models, viz
from minidl.models import from_torch
from tests.viz.twins import digits_like, lenet5_twin


def test_resnet_layer3_equals_a_hand_computation_from_hooks():
    model = models.get("resnet20")
    images = digits_like(2, size=32, channels=3)
    model.eval()
    kept = {}

    def keep(module, inputs, output):
        kept["A"] = output
        output.register_hook(lambda g: kept.update(dA=g))

    handle = model.layer3.register_forward_hook(keep)
    x = minidl.Tensor(images, requires_grad=True)
    scores = model(x)
    scores[:, 7].sum().backward()
    handle.remove()
    A, dA = kept["A"].numpy(), kept["dA"].numpy()                       # (2, 64, 8, 8)
    expected = np.maximum(np.einsum("nk,nkij->nij", dA.mean(axis=(2, 3)), A), 0)

    cam = viz.grad_cam(model, images, "layer3", target=7, upsample=False)
    np.testing.assert_allclose(cam, expected, rtol=1e-4, atol=1e-7)
    assert viz.grad_cam(model, images, "layer3", target=7).shape == (2, 32, 32)


def test_errors_name_the_problem():
    model = models.get("lenet5")
    with pytest.raises(KeyError, match="no layer 'conv1'; its layers are c1, act1"):
        viz.grad_cam(model, digits_like(1), "conv1")
    with pytest.raises(ValueError, match="pick a convolutional layer"):
        viz.grad_cam(model, digits_like(1), "f6")


@pytest.mark.torch
def test_lenet5_matches_pytorch():
    torch = pytest.importorskip("torch")
    twin = lenet5_twin(torch).eval()
    model = from_torch(twin, models.get("lenet5"))
    images = digits_like(3)
    kept = {}

    def keep(module, inputs, output):
        kept["A"] = output
        output.register_hook(lambda g: kept.update(dA=g))

    twin.act3.register_forward_hook(keep)
    scores = twin(torch.tensor(images))
    target = torch.tensor([0, 4, 9])
    scores[torch.arange(3), target].sum().backward()
    weights = kept["dA"].mean(dim=(2, 3), keepdim=True)
    cam = torch.relu((weights * kept["A"]).sum(1, keepdim=True))
    expected = torch.nn.functional.interpolate(cam, size=(28, 28), mode="bilinear", align_corners=False)
    mine = viz.grad_cam(model, images, "act3", target=[0, 4, 9])
    np.testing.assert_allclose(mine, expected[:, 0].detach().numpy(), rtol=1e-4, atol=1e-6)


@pytest.mark.torch
@pytest.mark.parametrize("size", [(13, 11), (2, 3), (5, 7)])
def test_resize_bilinear_matches_pytorch(size):
    torch = pytest.importorskip("torch")
    maps = np.random.default_rng(0).standard_normal((2, 5, 7))
    expected = torch.nn.functional.interpolate(torch.tensor(maps[:, None]), size=size, mode="bilinear",
                                               align_corners=False)[:, 0].numpy()
    np.testing.assert_allclose(viz.resize_bilinear(maps, size), expected, rtol=1e-12)
