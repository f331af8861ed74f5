"""AlexNet (torchvision's and the 2012 original) and ZFNet.

Parity is against tests/models/torch_classic.py: torchvision's ``alexnet.py``
rewritten in PyTorch, and the 2012 AlexNet and ZFNet written from the papers
with the LRN formula spelled out (b = a / (2 + 1e-4 sum a^2)^0.75).
"""
import numpy as np
import pytest

from minidl.models import get
from tests.models.common import assert_parity
from tests.models.checks import assert_trains, random_input


def test_alexnet_trains_on_a_small_image(device):
    # 63x63 is the smallest input whose last max-pool still sees a 3x3 map.
    out = assert_trains(get("alexnet", num_classes=10), random_input((1, 3, 63, 63)), device)
    assert out.shape == (1, 10)


def test_alexnet_matches_torch_in_float32():
    pytest.importorskip("torch")
    from tests.models import torch_classic
    assert_parity(get("alexnet", num_classes=10), torch_classic.AlexNet(num_classes=10),
                  random_input((2, 3, 63, 63), np.float32), rtol=1e-4)


@pytest.mark.slow
@pytest.mark.parametrize("name, size", [("alexnet_original", 227), ("zfnet", 224)])
def test_paper_alexnets_match_torch_in_float32(name, size):
    pytest.importorskip("torch")
    from tests.models import torch_classic
    theirs = getattr(torch_classic, name)(num_classes=10)
    assert_parity(get(name, num_classes=10), theirs, random_input((1, 3, size, size), np.float32), rtol=1e-4)

