"""summary and count_parameters: the CS5242 MNIST ConvNet as on the lecture slide."""
import pytest

import minidl
from minidl import nn
from minidl.summary import count_parameters, summary


def mnist_convnet():
    """Lab 03: conv 1->50 3x3 pad 1, ReLU, max-pool 2, conv 50->100 3x3 pad 1, ReLU, max-pool 2,
    linear 4900->100, ReLU, linear 100->10."""
    return nn.Sequential(
        nn.Conv2d(1, 50, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(50, 100, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(4900, 100), nn.ReLU(), nn.Linear(100, 10))


def test_mnist_convnet_has_the_slides_parameter_counts(capsys):
    model = mnist_convnet()
    result = summary(model, (1, 28, 28))
    assert result.total_params == 536_710 == count_parameters(model)
    with_params = [(name, params) for name, _, _, params, _ in result.rows if params]
    assert with_params == [("0", 500), ("3", 45_100), ("7", 490_100), ("9", 1_010)]
    printed = capsys.readouterr().out
    assert "Total params: 536,710" in printed and printed.strip() == str(result).strip()


def test_output_shapes_and_macs_per_layer():
    result = summary(mnist_convnet(), (1, 28, 28), verbose=False)
    shapes = {name: shapes[0] for name, _, shapes, _, _ in result.rows}
    assert shapes["0"] == (50, 28, 28) and shapes["2"] == (50, 14, 14)
    assert shapes["5"] == (100, 7, 7) and shapes["6"] == (4900,) and shapes["9"] == (10,)
    macs = {name: m for name, _, _, _, m in result.rows if m}
    # conv: OH * OW * F * C/G * KH * KW; linear: in * out
    assert macs == {"0": 28 * 28 * 50 * 1 * 9, "3": 14 * 14 * 100 * 50 * 9, "7": 4900 * 100, "9": 100 * 10}
    assert result.total_macs == 352_800 + 8_820_000 + 490_000 + 1_000
    assert [kind for _, kind, _, _, _ in result.rows][:3] == ["Conv2d", "ReLU", "MaxPool2d"]


def test_grouped_conv_and_conv1d_macs_match_the_reference_definition():
    model = nn.Sequential(nn.Conv2d(8, 16, 3, stride=2, groups=4, bias=False), nn.Flatten(2, 3),
                          nn.Conv1d(16, 4, 5))
    result = summary(model, (8, 9, 9), verbose=False)
    macs = [m for _, _, _, _, m in result.rows]
    assert macs[0] == 4 * 4 * 16 * (8 // 4) * 3 * 3
    assert macs[2] == 12 * 4 * 16 * 5


@pytest.mark.torch
def test_count_parameters_matches_torch_and_skips_frozen_ones_on_request():
    torch = pytest.importorskip("torch")
    theirs = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8), torch.nn.Linear(8, 2))
    ours = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.Linear(8, 2))
    assert count_parameters(ours) == sum(p.numel() for p in theirs.parameters())
    ours[1].requires_grad_(False)
    assert count_parameters(ours, trainable_only=True) == count_parameters(ours) - 16


def test_summary_restores_modes_removes_hooks_and_keeps_statistics():
    model = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4), nn.Dropout())
    model[2].eval()
    result = summary(model, (4,), verbose=False)
    assert [m.training for m in model.modules()] == [True, True, True, False]
    assert all(not m._forward_hooks for m in model.modules())
    assert model[1].num_batches_tracked.item() == 0
    assert result.trainable_params == result.total_params == 4 * 4 + 4 + 8


def test_modules_with_their_own_parameters_and_children_get_a_row():
    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.gain = nn.Parameter(minidl.ones(1))
            self.pool = nn.AvgPool2d(2)

        def forward(self, x):
            return self.pool(x) * self.gain

    model = nn.Sequential(Scaled())
    rows = summary(model, (1, 4, 4), verbose=False).rows
    assert [(name, params) for name, _, _, params, _ in rows] == [("0.pool", 0), ("0", 1)]


def test_integer_input_for_embedding_models():
    model = nn.Sequential(nn.Embedding(10, 3), nn.Flatten())
    result = summary(model, (5,), dtype="int64", verbose=False)
    assert result.rows[-1][2] == [(15,)]
