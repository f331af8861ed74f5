"""The zoo against torchvision's own model builders, where torchvision is installed.

The other tests of tests/models compare each model with a PyTorch definition
written in the tests, from the papers and from torchvision's source, since
torchvision is not a dependency.  These use torchvision's builders themselves
(``torchvision.models.resnet50(weights=None)`` ...), so they also catch a
rewrite that drifted from torchvision.  For every zoo model torchvision has:

* the ``state_dict`` names and shapes are torchvision's, and so are the
  parameter counts;
* with torchvision's (random, seeded) weights and random batch-norm
  statistics loaded by name (``from_torch``), the eval-mode outputs agree in
  float64 to 1e-10 relative;
* for a few models, ``assert_parity`` also compares the gradient of every
  parameter and the batch-norm statistics after a training step.

torchvision builds its models without the ImageNet input transform of
GoogLeNet and Inception v3 (``transform_input``) when no weights are asked
for, which is the zoo's behaviour.  The whole file skips when torchvision is
absent; the large networks are marked slow (all of them:
``pytest tests/models/test_torchvision.py -m "slow or not slow"``, checked
with torch 2.14.1 and torchvision 0.29.1).
"""
import numpy as np
import pytest

import minidl
import minidl.models
from minidl.models import from_torch, get
from minidl.models.inception import InceptionV3Aux
from tests.models.checks import random_input, recorded_draws
from tests.models.common import (_as_list, _close, assert_parity, count_params, default_dtype,
                                 randomize_batch_norm)

pytestmark = pytest.mark.torch
torchvision = pytest.importorskip("torchvision")   # first: absent, it fails before torch loads
torch = pytest.importorskip("torch")

RTOL = 1e-10
slow = pytest.mark.slow

# (zoo name, torchvision builder options, input side, slow).  The zoo model is built with its
# defaults, torchvision's with ``weights=None`` and the options; inputs are (2, 3, side, side),
# as small as each network allows (AlexNet's features need 63, Inception v3's 75).
CASES = [
    ("alexnet", {}, 64, False),
    ("vgg11", {}, 32, True),
    ("vgg11_bn", {}, 32, False),
    ("vgg13", {}, 32, True),
    ("vgg13_bn", {}, 32, True),
    ("vgg16", {}, 32, True),
    ("vgg16_bn", {}, 32, True),
    ("vgg19", {}, 32, True),
    ("vgg19_bn", {}, 32, True),
    ("googlenet", dict(aux_logits=True, init_weights=True), 64, False),
    ("inception_v3", dict(aux_logits=True, init_weights=True), 75, True),
    ("resnet18", {}, 64, False),
    ("resnet34", {}, 64, False),
    ("resnet50", {}, 64, True),
    ("resnet101", {}, 64, True),
    ("resnet152", {}, 64, True),
    ("resnext50_32x4d", {}, 64, True),
    ("resnext101_32x8d", {}, 64, True),
    ("wide_resnet50_2", {}, 64, True),
    ("densenet121", {}, 64, False),
    ("densenet161", {}, 64, True),
    ("densenet169", {}, 64, True),
    ("densenet201", {}, 64, True),
]


CASES_BY_NAME = {name: options for name, options, _, _ in CASES}


def _params(cases):
    return [pytest.param(name, options, side, marks=[slow] if heavy else [], id=name)
            for name, options, side, heavy in cases]


@pytest.fixture(autouse=True)
def _one_torch_thread():
    # As in assert_parity: on small shared machines torch's thread pool beside NumPy's BLAS is slower.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _zoo(name, dtype=np.float64, **options):
    """The zoo model in ``dtype``; its initial draws are skipped, the weights being torchvision's."""
    with default_dtype(dtype), recorded_draws():
        return get(name, **options)


def _torchvision(name, dtype=np.float64, **options):
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)(weights=None, **options)
    return model.to(getattr(torch, np.dtype(dtype).name))


def _assert_same_state(model, torch_model):
    """Same state_dict names, in the same order, with the same shapes; same parameter count."""
    ours = [(name, tuple(t.shape)) for name, t in model.state_dict().items()]
    theirs = [(name, tuple(t.shape)) for name, t in torch_model.state_dict().items()]
    missing = sorted(set(theirs) - set(ours))
    extra = sorted(set(ours) - set(theirs))
    assert not missing and not extra, f"torchvision's only: {missing[:10]}; the zoo's only: {extra[:10]}"
    assert ours == theirs, "same names and shapes, but in another order"
    assert count_params(model) == sum(p.numel() for p in torch_model.parameters())


def _assert_same_eval_outputs(model, torch_model, x, rtol=RTOL):
    """Load ``torch_model``'s weights (batch norms randomized) into ``model``; compare eval outputs.

    Returns the largest difference relative to the output's scale, which the test prints.
    """
    randomize_batch_norm(torch_model)
    from_torch(torch_model, model)
    model.eval()
    torch_model.eval()
    with minidl.no_grad(), torch.no_grad():
        ours = _as_list(model(minidl.tensor(x)))
        theirs = _as_list(torch_model(torch.from_numpy(x)))
    assert len(ours) == len(theirs) == 1, "in eval mode both return the logits only"
    out, expected = ours[0].numpy(), theirs[0].numpy()
    assert out.shape == expected.shape
    _close(out, expected, rtol, "eval output")
    return float(np.max(np.abs(out - expected)) / np.max(np.abs(expected)))


def test_every_zoo_model_torchvision_has_is_compared():
    shared = set(minidl.models.list_models()) & set(torchvision.models.list_models())
    assert shared == {name for name, _, _, _ in CASES}


@pytest.mark.parametrize("name, options, side", _params(CASES))
def test_zoo_model_matches_torchvision(name, options, side):
    model = _zoo(name)
    theirs = _torchvision(name, **options)
    _assert_same_state(model, theirs)
    error = _assert_same_eval_outputs(model, theirs, random_input((2, 3, side, side)))
    print(f"{name}: {count_params(model):,} parameters, max relative difference {error:.2e}")


@pytest.mark.parametrize("name", ["resnet18", "googlenet", "densenet121"])
def test_zoo_model_matches_torchvision_in_float32(name):
    model = _zoo(name, np.float32)
    theirs = _torchvision(name, np.float32, **CASES_BY_NAME[name])
    error = _assert_same_eval_outputs(model, theirs, random_input((2, 3, 64, 64), np.float32), rtol=1e-4)
    print(f"{name} in float32: max relative difference {error:.2e}")


@pytest.mark.parametrize("name, aux_logits, side", [
    ("googlenet", False, 64),
    pytest.param("inception_v3", False, 75, marks=slow),
])
def test_inception_without_aux_heads_matches_torchvision(name, aux_logits, side):
    model = _zoo(name, aux_logits=aux_logits)
    theirs = _torchvision(name, aux_logits=aux_logits, init_weights=True)
    _assert_same_state(model, theirs)
    error = _assert_same_eval_outputs(model, theirs, random_input((2, 3, side, side)))
    print(f"{name} without aux heads: max relative difference {error:.2e}")


# Gradients and training-mode batch-norm statistics as well.  Dropout off where the builder
# allows, so that the training-mode outputs are compared too (the random masks differ).  64x64,
# not 32x32: a batch norm over 1x1 maps of two images normalizes two values per channel, and the
# training-mode gradients then grow to 1e5, where the two frameworks round apart by more than 1e-10.
GRADIENT_CASES = [
    ("alexnet", dict(dropout=0.0), 64, True),
    ("resnet18", {}, 64, False),
    ("googlenet", dict(aux_logits=True, init_weights=True, dropout=0.0, dropout_aux=0.0), 64, False),
    ("resnext50_32x4d", {}, 64, True),
    ("densenet121", {}, 64, True),
]


@pytest.mark.parametrize("name, options, side", _params(GRADIENT_CASES))
def test_zoo_gradients_match_torchvision(name, options, side):
    zoo_options = {k: v for k, v in options.items() if k in ("dropout", "dropout_aux")}
    model = _zoo(name, **zoo_options)
    theirs = _torchvision(name, **options)
    assert_parity(model, theirs, random_input((2, 3, side, side)), rtol=RTOL, train_outputs=True)


def test_inception_v3_aux_head_matches_torchvision():
    # The head on Mixed_6e runs in training mode only, on 17x17 maps (a 299x299 input):
    # compared here on its own, gradients and training-mode outputs included.
    with default_dtype(np.float64):
        ours = InceptionV3Aux(768, 10)
    torch.manual_seed(0)
    theirs = torchvision.models.inception.InceptionAux(768, 10)
    assert_parity(ours, theirs, random_input((2, 768, 17, 17)), rtol=RTOL, train_outputs=True)
