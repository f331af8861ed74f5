"""Every registered model against tests/models/reference/architectures.json.

Each case builds a model through ``minidl.models.get`` and checks its
parameter count exactly, then runs ``minidl.summary`` on the reference input
and checks the output shape, the shape after each reference stage, and the
total parameters and multiply-accumulates (the expensive passes run under
``-m slow``).
The reference figures come from PyTorch (torchvision/timm or a definition
written from the paper), not from minidl.
"""
import numpy as np
import pytest

import minidl
from minidl import backend, models
from tests.models.common import all_references, count_params, reference

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

# Reference passes up to this many multiply-accumulates (the reference's own count) run in the
# default suite, bigger ones under -m slow.
CHEAP_MACS = 0.3e9


def _case_id(case):
    name, options, key = case
    return key if name == key and not options else f"{name}-{key}"


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
    assert count_params(models.get(name, **options)) == reference(key)["params"]


# The three models whose summary the course shows; they run at full size in the default suite.
SUMMARY_CASES = {"vgg16", "resnet50", "googlenet_tv"}

# Where minidl computes the same function with fewer multiply-accumulates than the reference counts.
FEWER_MACS = {
    "kim_cnn_multichannel_MR": "the shared filters run once on the sum of the two embedding channels, "
                               "which equals running them on each channel and adding, in half the MACs",
}


def _stage_cases():
    table, seen = all_references(), set()
    for name, options, key in CASES:
        entry = table.get(key, {})
        if "stage_shapes" not in entry:
            continue
        repeat = key in seen              # another builder (or option) reaching a checked reference
        seen.add(key)
        heavy = (entry["macs"] > CHEAP_MACS or repeat) and key not in SUMMARY_CASES
        yield pytest.param(name, options, key, id=_case_id((name, options, key)),
                           marks=[pytest.mark.slow] if heavy else [])


def _recorder(shapes, stage):
    def hook(module, inputs, output):
        shapes[stage] = list(output.shape)
    return hook


@pytest.mark.parametrize("name, options, key", list(_stage_cases()))
def test_reference_pass_matches_stage_shapes_output_and_summary(name, options, key, no_random_draws):
    """One eval-mode pass of minidl.summary at the reference input; hooks on the model and on each
    reference stage record their outputs.  Auxiliary heads run only in training mode, so they
    are not in this pass (nor in its MACs)."""
    entry = reference(key)
    model = models.get(name, **options)
    modules = dict(model.named_modules())
    shapes, handles = {}, []
    for stage in [""] + [stage for stage, _ in entry["stage_shapes"]]:
        assert stage in modules, f"{name} has no module {stage!r}"
        handles.append(modules[stage].register_forward_hook(_recorder(shapes, stage)))
    input_shape = entry["input_shape"][1:]
    text_model = len(entry["input_shape"]) == 2
    table = minidl.summary(model, input_shape, dtype=np.int64 if text_model else None, verbose=False)
    for handle in handles:
        handle.remove()
    expected = {stage: shape for stage, shape in entry["stage_shapes"]
                if not stage.lower().startswith("aux")}
    assert {stage: shapes.get(stage) for stage in expected} == expected
    assert shapes[""] == entry["output_shape"]
    assert table.total_params == entry["params"]
    if not key.endswith("_aux") and key not in FEWER_MACS:
        assert table.total_macs == entry["macs"]


def test_every_image_model_records_the_input_size_it_was_designed_for():
    sizes = {name: models.input_size(name) for name in models.list_models()}
    assert sizes["kim_cnn"] is None                                  # token indices, not images
    assert sizes["lenet5"] == (1, 28, 28) and sizes["resnet50"] == (3, 224, 224)
    assert sizes["inception_v3"] == (3, 299, 299) and sizes["resnet20"] == (3, 32, 32)
    assert all(len(size) == 3 for name, size in sizes.items() if name != "kim_cnn")
