"""from_torch: PyTorch weights copied into a minidl model by state_dict name."""
import numpy as np
import pytest

from minidl import nn
from minidl.models import from_torch
from tests.models.common import randomize_batch_norm

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")


def _torch_net(out_features=5):
    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
                               torch.nn.Flatten(), torch.nn.Linear(4 * 6 * 6, out_features))


def _minidl_net(out_features=5):
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                         nn.Linear(4 * 6 * 6, out_features))


def _state(model):
    return {name: t.numpy() for name, t in model.state_dict().items()}


def test_copies_every_parameter_and_buffer_in_place(device):
    theirs = _torch_net()
    randomize_batch_norm(theirs)
    theirs[1].num_batches_tracked.fill_(7)
    ours = _minidl_net().to(device)
    params_before = list(ours.parameters())

    assert from_torch(theirs, ours) is ours

    expected = {name: t.detach().numpy() for name, t in theirs.state_dict().items()}
    got = _state(ours)
    assert sorted(got) == sorted(expected)
    for name, value in expected.items():
        np.testing.assert_allclose(got[name], value, rtol=1e-6, err_msg=name)
    assert all(a is b for a, b in zip(params_before, ours.parameters())), "parameters were replaced"
    assert all(p.device == ours[0].weight.device for p in ours.parameters())


def test_values_are_cast_to_the_minidl_dtype():
    theirs = _torch_net().double()
    ours = _minidl_net()
    dtypes = {name: p.dtype for name, p in ours.named_parameters()}
    from_torch(theirs, ours)
    assert {name: p.dtype for name, p in ours.named_parameters()} == dtypes


def test_mismatch_lists_missing_unexpected_and_misshapen_names():
    theirs = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Conv2d(4, 4, 1), torch.nn.ReLU(),
                                 torch.nn.Conv2d(4, 2, 1))
    ours = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8))
    with pytest.raises(ValueError) as info:
        from_torch(theirs, ours)
    message = str(info.value)
    assert message.startswith("from_torch: Sequential does not match Sequential")
    assert "missing keys: 1.running_mean, 1.running_var, 1.num_batches_tracked" in message
    assert "unexpected keys: 3.weight, 3.bias" in message
    assert "0.weight (checkpoint (4, 3, 3, 3), model (8, 3, 3, 3))" in message


def test_nothing_is_written_when_the_models_do_not_match():
    theirs = _torch_net(out_features=6)
    ours = _minidl_net(out_features=5)
    before = _state(ours)
    with pytest.raises(ValueError, match="4.weight"):
        from_torch(theirs, ours)
    after = _state(ours)
    assert all(np.array_equal(before[name], after[name]) for name in before)
