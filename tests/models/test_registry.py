"""Every registered model against /work/shared/reference/architectures.json.

Each case builds a model through ``minidl.models.get`` and checks its
parameter count exactly; cheap cases also run the reference input through it
and check the output shape (the expensive ones do so under ``-m slow``).
The reference figures come from PyTorch (torchvision/timm or a definition
written from the paper), not from minidl.
"""
import numpy as np
import pytest

import minidl
from minidl import backend, models
from tests.models.common import count_params, reference

# (registered name, builder options, architectures.json key)
CASES = [
    # models-B: the ResNet family and DenseNet
    *[(f"resnet{d}", {}, f"resnet{d}") for d in (18, 34, 50, 101, 152)],
    *[(name, {}, name) for name in ("resnext50_32x4d", "resnext101_32x8d", "wide_resnet50_2")],
    *[(f"resnet{d}", {}, f"resnet{d}_cifar") for d in (20, 32, 44, 56, 110, 1202)],
    *[(f"preact_resnet{d}", {}, f"preact_resnet{d}") for d in (18, 34, 50, 101, 152)],
    *[(f"preact_resnet{d}", {}, f"preact_resnet{d}_cifar") for d in (110, 164, 1001)],
    *[(f"wrn_{d}_{k}", {}, f"wrn_{d}_{k}")
      for d, k in [(16, 4), (16, 8), (16, 10), (22, 8), (28, 10), (40, 1), (40, 2), (40, 4), (40, 10)]],
    ("wide_resnet", {}, "wrn_28_10"),
    ("wide_resnet", {"depth": 40, "widen_factor": 1}, "wrn_40_1"),
    *[(f"densenet{d}", {}, f"densenet{d}") for d in (121, 169, 201, 161)],
    *[(name, {}, name) for name in ("densenet_L40_k12_cifar", "densenet_L100_k12_cifar",
                                    "densenet_L100_k24_cifar", "densenet_bc_L100_k12_cifar",
                                    "densenet_bc_L250_k24_cifar", "densenet_bc_L190_k40_cifar")],
    ("densenet_cifar", {}, "densenet_L40_k12_cifar"),
    ("densenet_cifar", {"depth": 100, "growth_rate": 12, "bottleneck": True}, "densenet_bc_L100_k12_cifar"),
    # models-A: lecture nets, AlexNet, VGG, NIN, Inception, Xception, Kim's CNN
    ("lenet5", {"input_size": 32}, "lenet5_modern_relu_max"),
    ("lenet5", {"activation": "tanh", "pool": "avg", "input_size": 28}, "lenet5_modern_tanh_avg_28"),
    ("lenet5_original", {}, "lenet5_original"),
    ("mnist_convnet", {}, "mnist_convnet"),
    ("vgg_cifar", {}, "vgg_cifar_lecture"),
    ("cifar_convnet", {}, "tflearn_cifar"),
    ("alexnet", {}, "alexnet_tv"),
    ("alexnet_original", {}, "alexnet_original_2gpu"),
    ("zfnet", {}, "zfnet"),
    ("nin", {}, "nin_cifar10"),
    ("nin", {"variant": "imagenet"}, "nin_imagenet"),
    *[(name, {}, name) for name in ("vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn",
                                    "vgg19", "vgg19_bn")],
    ("vgg11_lrn", {}, "vgg_A-LRN_paper"),
    ("vgg16_c", {}, "vgg_C_paper"),
    ("googlenet", {"aux_logits": False}, "googlenet_tv"),
    ("googlenet", {}, "googlenet_tv_aux"),
    ("googlenet", {"variant": "paper", "aux_logits": False}, "googlenet_paper"),
    ("googlenet", {"variant": "paper"}, "googlenet_paper_aux"),
    ("inception_v3", {"aux_logits": False}, "inception_v3_tv"),
    ("inception_v3", {}, "inception_v3_tv_aux"),
    ("xception", {}, "xception_timm"),
    *[("kim_cnn", {"vocab_size": 18765, "mode": mode}, f"kim_cnn_{mode}_MR")
      for mode in ("non-static", "static", "multichannel")],
]

# Registered models without an entry of their own, and what checks them instead.
NO_REFERENCE = {
    "plain20": "test_cifar_resnet.py: the parameters of resnet20_cifar (option A shortcuts have none)",
    "plain56": "test_cifar_resnet.py: the parameters of resnet56_cifar",
    "resnet18_cifar": "test_resnet.py: parameter count and parity against a PyTorch definition",
}

# Forward passes at the reference input run in the default suite up to this many
# multiply-accumulates (the reference's own count); bigger ones run under -m slow.
CHEAP_MACS = 0.3e9


def _case_id(case):
    name, options, key = case
    return key if name == key and not options else f"{name}-{key}"


def _reference_input(entry):
    shape = entry["input_shape"]
    if len(shape) == 2:                       # token indices for the text CNN
        return minidl.tensor(np.arange(np.prod(shape)).reshape(shape) % 100)
    return minidl.tensor(np.random.default_rng(0).standard_normal(shape).astype(np.float32))


def test_every_registered_model_is_checked():
    checked = {name for name, _, _ in CASES} | set(NO_REFERENCE)
    assert sorted(set(models.list_models()) - checked) == []
    assert sorted(checked - set(models.list_models())) == []


@pytest.fixture
def no_random_draws(monkeypatch):
    """Zeros instead of random initial weights: a count needs the tensors, not their values.

    Drawing the 2 billion initial values of the zoo would take a minute; the
    builders, layers and shapes are exactly those of a normal build.
    """
    def zeros(self, low, high, size=None, dtype=None):
        return np.zeros(size, dtype or minidl.get_default_dtype())
    monkeypatch.setattr(backend.Generator, "uniform", zeros)
    monkeypatch.setattr(backend.Generator, "normal", zeros)


@pytest.mark.parametrize("name, options, key", CASES, ids=[_case_id(c) for c in CASES])
def test_parameter_count_matches_reference(name, options, key, no_random_draws):
    entry = reference(key)
    model = models.get(name, **options)
    assert count_params(model) == entry["params"]
    if entry.get("macs", 0) <= CHEAP_MACS:
        _assert_output_shape(model, entry)


@pytest.mark.slow
@pytest.mark.parametrize("name, options, key", CASES, ids=[_case_id(c) for c in CASES])
def test_output_shape_on_reference_input(name, options, key):
    entry = reference(key)
    if entry.get("macs", 0) <= CHEAP_MACS:
        pytest.skip("checked in the default suite by test_parameter_count_matches_reference")
    _assert_output_shape(models.get(name, **options), entry)


def _assert_output_shape(model, entry):
    model.eval()
    with minidl.no_grad():
        out = model(_reference_input(entry))
    assert list(out.shape) == entry["output_shape"]
