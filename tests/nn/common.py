"""PyTorch parity for a layer: the same weights, then the same outputs, gradients and buffers."""
import numpy as np
import pytest

from minidl import backend

from tests.conftest import make


def assert_matches_torch(ours, theirs, *inputs, device="cpu", train=False, grad_inputs=None,
                         same_repr=True, rtol=1e-10, atol=1e-12):
    """Copy ``theirs``' state into ``ours`` (both float64), run both on ``inputs`` (NumPy arrays)
    and compare the output, the gradients of the inputs numbered in ``grad_inputs`` (default: the
    floating ones) and of the parameters, the buffers afterwards and (``same_repr``) the reprs."""
    torch = pytest.importorskip("torch")
    theirs = theirs.double().train(train)
    ours = ours.to(device).double().train(train)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})

    if grad_inputs is None:
        grad_inputs = [i for i, a in enumerate(inputs) if a.dtype.kind == "f"]
    t_in = [torch.tensor(a, requires_grad=i in grad_inputs) for i, a in enumerate(inputs)]
    m_in = [make(a, device, requires_grad=i in grad_inputs) for i, a in enumerate(inputs)]
    t_out, m_out = theirs(*t_in), ours(*m_in)
    np.testing.assert_allclose(m_out.numpy(), t_out.detach().numpy(), rtol=rtol, atol=atol)

    gy = np.random.default_rng(7).standard_normal(t_out.shape)
    t_out.backward(torch.tensor(gy))
    m_out.backward(backend.to_device(gy, device))
    for t, m in zip(t_in, m_in):
        if t.requires_grad:
            np.testing.assert_allclose(m.grad.numpy(), t.grad.numpy(), rtol=rtol, atol=atol)
    t_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), t_params[name].grad.numpy(), rtol=rtol, atol=atol,
                                   err_msg=f"gradient of {name}")
    t_buffers = dict(theirs.named_buffers())
    for name, b in ours.named_buffers():
        np.testing.assert_allclose(b.numpy(), t_buffers[name].numpy(), rtol=rtol, atol=atol,
                                   err_msg=f"buffer {name}")
    if same_repr:
        assert repr(ours) == repr(theirs)
