"""Pretrained weights: .npz files load into the zoo (classifier replaced, aux heads dropped or kept),
written from the PyTorch twins of tests/models/torch_*.py and, where installed, from torchvision."""
import sys

import numpy as np
import pytest

import minidl
from minidl import models, nn
from minidl.models import WeightsError, export_torch, export_torchvision, load_weights
from minidl.models.googlenet import imagenet_to_half_range
from tests.models.checks import random_input
from tests.models.common import default_dtype, randomize_batch_norm


def _state(model):
    return {name: t.numpy() for name, t in model.state_dict().items()}


def _eval_output(model, x):
    model.eval()
    with minidl.no_grad():
        return model(minidl.tensor(x)).numpy()


# --------------------------------------------------------------------------- #
# minidl's own files: no torch needed
# --------------------------------------------------------------------------- #
def test_a_classifier_of_another_size_is_reinitialized_and_named(tmp_path, capsys):
    source = models.get("resnet18", num_classes=1000)
    minidl.save(source.state_dict(), tmp_path / "r18.npz")
    minidl.manual_seed(1)
    fresh = models.get("resnet18", num_classes=2)
    minidl.manual_seed(1)
    model = models.get("resnet18", num_classes=2, weights=tmp_path / "r18.npz")
    assert capsys.readouterr().out == "resnet18: re-initialized fc for 2 outputs (the file's has 1000)\n"
    got, expected, init = _state(model), _state(source), _state(fresh)
    for name in got:
        np.testing.assert_array_equal(got[name], init[name] if name.startswith("fc.") else expected[name],
                                      err_msg=name)


def test_the_same_classes_load_every_tensor_silently(tmp_path, capsys):
    source = models.get("lenet5", num_classes=10)
    minidl.save({"model": source.state_dict(), "epoch": 3}, tmp_path / "checkpoint.npz")   # a training one
    model = models.get("lenet5", num_classes=10, weights=tmp_path / "checkpoint.npz")
    assert capsys.readouterr().out == ""
    x = random_input((2, 1, 28, 28), np.float32)
    np.testing.assert_array_equal(_eval_output(model, x), _eval_output(source, x))


def test_other_differences_raise_naming_them(tmp_path):
    state = _state(models.get("resnet18"))
    state["layer1.0.conv1.weight"] = np.zeros((32, 64, 3, 3), np.float32)     # a narrower body layer
    del state["layer4.1.bn2.running_mean"]
    state["head.weight"] = np.zeros(3, np.float32)
    np.savez(tmp_path / "bad.npz", **state)
    with pytest.raises(WeightsError) as info:
        models.get("resnet18", weights=tmp_path / "bad.npz")
    message = str(info.value)
    assert "shape mismatch: layer1.0.conv1.weight (file (32, 64, 3, 3), model (64, 64, 3, 3))" in message
    assert "missing from the file: layer4.1.bn2.running_mean" in message
    assert "not in the model: head.weight" in message
    with pytest.raises(WeightsError, match="no such file"):
        models.get("resnet18", weights=tmp_path / "absent.npz")


def test_nothing_is_written_when_the_file_does_not_fit(tmp_path):
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    before = _state(model)
    with pytest.raises(WeightsError, match="0.weight"):
        load_weights(model, {"0.weight": np.zeros((4, 5)), "0.bias": np.zeros(4),
                             "2.weight": np.zeros((2, 4)), "2.bias": np.zeros(2)})
    assert all(np.array_equal(before[k], v) for k, v in _state(model).items())


@pytest.mark.parametrize("name, side", [("googlenet", 64),
                                        pytest.param("inception_v3", 75, marks=pytest.mark.slow)])
def test_transform_input_is_torchvisions_rescaling(name, side):
    with default_dtype(np.float64):
        plain = models.get(name, aux_logits=False)
        model = models.get(name, aux_logits=False, transform_input=True)
    model.load_state_dict(plain.state_dict())
    x = random_input((2, 3, side, side))
    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
    half_range = ((x * std[:, None, None] + mean[:, None, None]) - 0.5) / 0.5     # un-normalize, re-normalize
    np.testing.assert_allclose(imagenet_to_half_range(minidl.tensor(x)).numpy(), half_range,
                               rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(_eval_output(model, x), _eval_output(plain, half_range), rtol=1e-10)


def test_transform_input_runs_on_every_device(device):
    x = random_input((2, 3, 4, 4))
    out = imagenet_to_half_range(minidl.tensor(x).to(device))
    assert out.device == minidl.device(device)
    np.testing.assert_allclose(out.numpy(), imagenet_to_half_range(minidl.tensor(x)).numpy(), rtol=1e-12)


def test_export_torchvision_says_when_torchvision_is_missing(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)            # imports fail as when they are not installed
    monkeypatch.setitem(sys.modules, "torchvision", None)
    with pytest.raises(WeightsError, match="needs torch and torchvision"):
        export_torchvision("resnet18", tmp_path / "r18.npz")


# --------------------------------------------------------------------------- #
# files written from the PyTorch twins of the zoo (torch only)
# --------------------------------------------------------------------------- #
@pytest.mark.torch
def test_exported_resnet_gives_the_torch_models_outputs(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    from tests.models import torch_resnets
    theirs = torch_resnets.ResNet(torch_resnets.BasicBlock, [2, 2, 2, 2]).double()
    randomize_batch_norm(theirs)
    theirs.eval()
    export_torch(theirs, tmp_path / "r18.npz", source="twin")
    with default_dtype(np.float64):
        ours = models.get("resnet18", weights=tmp_path / "r18.npz")
    assert capsys.readouterr().out == ""
    x = random_input((2, 3, 64, 64))
    expected = theirs(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(_eval_output(ours, x), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.torch
def test_googlenet_aux_heads_load_or_drop_and_transform_input_is_recorded(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    from tests.models import torch_inception
    theirs = torch_inception.GoogLeNet(aux_logits=True).double()
    randomize_batch_norm(theirs)
    theirs.eval()
    export_torch(theirs, tmp_path / "g.npz", transform_input=True)
    x = random_input((2, 3, 64, 64))
    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
    expected = theirs(torch.from_numpy(((x * std[:, None, None] + mean[:, None, None]) - 0.5) / 0.5))

    with default_dtype(np.float64):
        with_aux = models.get("googlenet", weights=tmp_path / "g.npz")      # aux heads load
        assert capsys.readouterr().out == "" and with_aux.transform_input
        without = models.get("googlenet", aux_logits=False, weights=tmp_path / "g.npz")
        assert capsys.readouterr().out == ("googlenet: dropped the file's auxiliary heads aux1, aux2 "
                                           "(the model has none)\n")
    for model in (with_aux, without):
        np.testing.assert_allclose(_eval_output(model, x), expected.detach().numpy(), rtol=1e-10, atol=1e-12)

    with default_dtype(np.float64):
        models.get("googlenet", num_classes=2, weights=tmp_path / "g.npz")
    assert capsys.readouterr().out.splitlines() == [
        "googlenet: re-initialized aux1.fc2 for 2 outputs (the file's has 1000)",
        "googlenet: re-initialized aux2.fc2 for 2 outputs (the file's has 1000)",
        "googlenet: re-initialized fc for 2 outputs (the file's has 1000)"]

    export_torch(torch_inception.GoogLeNet(aux_logits=False), tmp_path / "no_aux.npz", aux_logits=False)
    assert not hasattr(models.get("googlenet", weights=tmp_path / "no_aux.npz"), "aux1")   # as recorded
    models.get("googlenet", aux_logits=True, weights=tmp_path / "no_aux.npz")
    assert capsys.readouterr().out == ("googlenet: auxiliary heads aux1, aux2 are not in the file: left at "
                                       "their initialization\n")


@pytest.mark.torch
@pytest.mark.slow
def test_inception_v3_aux_head_drops_and_the_rest_gives_the_torch_models_outputs(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    from tests.models import torch_inception
    theirs = torch_inception.Inception3(aux_logits=True).double()
    randomize_batch_norm(theirs)
    theirs.eval()
    export_torch(theirs, tmp_path / "i3.npz")
    with default_dtype(np.float64):
        ours = models.get("inception_v3", aux_logits=False, weights=tmp_path / "i3.npz")
    assert capsys.readouterr().out == ("inception_v3: dropped the file's auxiliary heads AuxLogits "
                                       "(the model has none)\n")
    x = random_input((2, 3, 75, 75))
    np.testing.assert_allclose(_eval_output(ours, x), theirs(torch.from_numpy(x)).detach().numpy(),
                               rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------------- #
# torchvision's own architectures and exporter, where torchvision is installed
# --------------------------------------------------------------------------- #
TORCHVISION_CASES = [
    ("resnet18", {}, 64),
    ("googlenet", dict(transform_input=True, aux_logits=True, init_weights=True), 64),
    pytest.param("inception_v3", dict(transform_input=True, aux_logits=True, init_weights=True), 75,
                 marks=pytest.mark.slow),
]


@pytest.mark.torch
@pytest.mark.parametrize("name, options, side", TORCHVISION_CASES)
def test_export_torchvision_file_gives_torchvisions_outputs(tmp_path, name, options, side):
    torchvision = pytest.importorskip("torchvision")
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    export_torchvision(name, tmp_path / "w.npz", weights=None, **options)
    torch.manual_seed(0)                                   # the same random weights again, for the reference
    theirs = torchvision.models.get_model(name, weights=None, **options).double().eval()
    with default_dtype(np.float64):
        ours = models.get(name, weights=tmp_path / "w.npz")
    assert getattr(ours, "transform_input", False) == options.get("transform_input", False)
    x = random_input((2, 3, side, side))
    with torch.no_grad():
        expected = theirs(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(_eval_output(ours, x), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.torch
def test_export_torchvision_errors(tmp_path, monkeypatch):
    torchvision = pytest.importorskip("torchvision")
    pytest.importorskip("torch")
    with pytest.raises(WeightsError, match="minidl has no model"):
        export_torchvision("no_such_net", tmp_path / "w.npz")
    with pytest.raises(WeightsError, match="has no weights 'IMAGENET9K'"):
        export_torchvision("resnet18", tmp_path / "w.npz", weights="IMAGENET9K")

    def offline(self, *args, **kwargs):
        raise OSError("<urlopen error [Errno -3] Temporary failure in name resolution>")
    weights_class = type(torchvision.models.ResNet18_Weights.IMAGENET1K_V1)
    monkeypatch.setattr(weights_class, "get_state_dict", offline)
    with pytest.raises(WeightsError, match="cannot fetch torchvision's .* weights for resnet18"):
        export_torchvision("resnet18", tmp_path / "w.npz", weights="IMAGENET1K_V1")
