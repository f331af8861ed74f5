"""The Dogs vs Cats deck's own PyTorch code runs on minidl with its imports changed, and computes
what it computes on PyTorch (tests/models/deck_dogs_vs_cats.py holds the code)."""
from pathlib import Path

import numpy as np
import pytest

import minidl
from tests.models.checks import random_input
from tests.models.common import assert_parity, default_dtype

DECK = Path(__file__).with_name("deck_dogs_vs_cats.py")
TORCH_IMPORTS = "import torch\nimport torch.nn as nn\n"
MINIDL_IMPORTS = "import minidl as torch\nimport minidl.nn as nn\n"


def deck_code(framework, batch_size):
    """The deck's definitions run as a module, on ``framework`` ('torch' or 'minidl')."""
    source = DECK.read_text()
    assert source.count(TORCH_IMPORTS) == 1
    if framework == "minidl":
        source = source.replace(TORCH_IMPORTS, MINIDL_IMPORTS)
    namespace = {"__name__": f"deck_dogs_vs_cats_{framework}"}
    exec(compile(source, str(DECK), "exec"), namespace)
    namespace["batch_size"] = batch_size
    return namespace


def test_deck_resnet_runs_on_minidl_and_trains():
    deck = deck_code("minidl", batch_size=2)
    model = deck["ResNet"](base_dim=4)
    x = minidl.tensor(random_input((2, 3, 224, 224), np.float32))
    out = model(x)
    assert out.shape == (2, 2)
    minidl.nn.CrossEntropyLoss()(out, minidl.tensor(np.array([0, 1]))).backward()
    assert model.fc_layer.weight.grad is not None and model.layer_1[0].weight.grad is not None


@pytest.mark.torch
@pytest.mark.slow
def test_deck_resnet_matches_pytorch():
    pytest.importorskip("torch")
    with default_dtype(np.float64):
        ours = deck_code("minidl", batch_size=2)["ResNet"](base_dim=4)
    theirs = deck_code("torch", batch_size=2)["ResNet"](base_dim=4)
    assert_parity(ours, theirs, random_input((2, 3, 224, 224)), rtol=1e-10, train_outputs=True)


@pytest.mark.torch
@pytest.mark.slow
def test_deck_googlenet_matches_pytorch():
    """base_dim 64: the deck's inception modules expect 192 = 3 * base_dim input channels.
    Dropout2d draws differ between the frameworks, so training-mode outputs are not compared."""
    pytest.importorskip("torch")
    with default_dtype(np.float64):
        ours = deck_code("minidl", batch_size=2)["GoogLeNet"](base_dim=64)
    theirs = deck_code("torch", batch_size=2)["GoogLeNet"](base_dim=64)
    assert_parity(ours, theirs, random_input((2, 3, 224, 224)), rtol=1e-10)
