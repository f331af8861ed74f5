"""Kim's (2014) CNN for sentence classification, in its static, non-static and multichannel modes.

Parity is against tests/models/torch_classic.py, written from the paper: the
multichannel model there runs each filter over both channels and adds the
results (Kim 2014, Sec. 2), where minidl convolves the sum of the two embeddings.
"""
import numpy as np
import pytest

import minidl
from minidl.autograd import OpError
from minidl.models import from_torch, get
from tests.models.checks import DEVICES, assert_trains
from tests.models.common import count_params, default_dtype, reference

VOCAB = 50


def _sentences(n=2, length=20, seed=0):
    return np.random.default_rng(seed).integers(0, VOCAB, (n, length))


@pytest.mark.parametrize("mode", ["static", "non-static", "multichannel"])
@pytest.mark.parametrize("device", DEVICES)
def test_kim_cnn_trains_only_the_unfrozen_tables(device, mode):
    model = get("kim_cnn", vocab_size=VOCAB, mode=mode)
    assert assert_trains(model, _sentences(), device).shape == (2, 2)
    frozen = sorted(name for name, p in model.named_parameters() if not p.requires_grad)
    assert frozen == {"static": ["embed.weight"], "non-static": [],
                      "multichannel": ["embed_static.weight"]}[mode]


@pytest.mark.parametrize("mode", ["static", "non-static", "multichannel"])
def test_kim_cnn_counts_match_the_reference(mode):
    entry = reference(f"kim_cnn_{mode}_MR")
    model = get("kim_cnn", mode=mode)       # MR's 18,765 words is the default vocabulary
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert (count_params(model), trainable) == (entry["params"], entry["trainable_params"])


@pytest.mark.torch
@pytest.mark.parametrize("mode", ["static", "non-static", "multichannel"])
def test_kim_cnn_matches_torch(mode):
    # assert_parity casts the PyTorch model to the input's dtype, which cannot be the
    # integer dtype of word indices: the same checks, outputs then gradients, written out.
    torch = pytest.importorskip("torch")
    from tests.models import torch_classic
    with default_dtype(np.float64):
        model = get("kim_cnn", vocab_size=VOCAB, mode=mode)
    theirs = torch_classic.KimCNN(VOCAB, mode=mode).double()
    from_torch(theirs, model)
    model.eval()
    theirs.eval()
    tokens = _sentences()
    w = np.random.default_rng(1).standard_normal((2, 2))
    out, torch_out = model(minidl.tensor(tokens)), theirs(torch.from_numpy(tokens))
    (out * minidl.tensor(w)).sum().backward()
    (torch_out * torch.from_numpy(w)).sum().backward()
    np.testing.assert_allclose(out.numpy(), torch_out.detach().numpy(), rtol=1e-10, atol=1e-12)
    torch_params = dict(theirs.named_parameters())
    for name, p in model.named_parameters():
        if torch_params[name].grad is None:
            assert p.grad is None, name
        else:
            np.testing.assert_allclose(p.grad.numpy(), torch_params[name].grad.numpy(), rtol=1e-10,
                                       atol=1e-12, err_msg=name)


def test_kim_cnn_starts_from_the_given_word_vectors():
    vectors = np.random.default_rng(1).standard_normal((VOCAB, 8)).astype(np.float32)
    model = get("kim_cnn", vocab_size=VOCAB, embed_dim=8, mode="multichannel", embeddings=vectors)
    np.testing.assert_array_equal(model.embed.weight.numpy(), vectors)
    np.testing.assert_array_equal(model.embed_static.weight.numpy(), vectors)


def test_kim_cnn_rejects_sentences_shorter_than_the_widest_window():
    model = get("kim_cnn", vocab_size=VOCAB)
    with pytest.raises(OpError, match="L >= 5"):
        model(minidl.tensor(_sentences(length=4)))


def test_kim_cnn_rejects_an_unknown_mode():
    with pytest.raises(ValueError, match="mode"):
        get("kim_cnn", mode="rand")
