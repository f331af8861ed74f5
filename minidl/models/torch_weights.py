"""Load the weights of a PyTorch model into the equivalent minidl model.

The zoo names its parameters and buffers as torchvision does
(``features.0.weight``, ``layer1.0.downsample.1.running_mean``), so copying is
a matter of matching ``state_dict`` names.  torch is imported only here, and
only when called, so minidl itself never needs it.
"""
from .. import backend
from ..autograd import Tensor

__all__ = ["from_torch"]

_SHOWN = 10     # names listed per kind of mismatch before "... and N more"


def _listing(title, items):
    shown = ", ".join(items[:_SHOWN])
    more = f" ... and {len(items) - _SHOWN} more" if len(items) > _SHOWN else ""
    return f"{title} ({len(items)}): {shown}{more}"


def from_torch(torch_module, model):
    """Copy every parameter and buffer of ``torch_module`` into ``model``, by name; return ``model``.

    Values are cast to the dtype of the minidl tensor they land in and written
    in place, so optimizers already holding the parameters see the new values.
    Raises ``ValueError`` listing the missing, unexpected and mismatched names
    when the two models do not have exactly the same state.
    """
    import torch  # noqa: F401 - fail here, with torch's own message, when it is absent

    source = {name: value.detach().cpu().numpy() for name, value in torch_module.state_dict().items()}
    target = dict(model.named_parameters())
    target.update(model.named_buffers())
    missing = sorted(set(target) - set(source))
    unexpected = sorted(set(source) - set(target))
    mismatched = [f"{name} (PyTorch {tuple(source[name].shape)} vs minidl {tuple(target[name].shape)})"
                  for name in sorted(set(source) & set(target))
                  if tuple(source[name].shape) != tuple(target[name].shape)]
    if missing or unexpected or mismatched:
        problems = [_listing(title, items) for title, items in
                    [("missing from the PyTorch model", missing),
                     ("unexpected (only in the PyTorch model)", unexpected),
                     ("shape mismatch", mismatched)] if items]
        raise ValueError(f"from_torch: {type(torch_module).__name__} does not match "
                         f"{type(model).__name__}; " + "; ".join(problems))
    for name, value in target.items():
        array = value.data if isinstance(value, Tensor) else value
        array[...] = backend.to_device(source[name].astype(array.dtype), backend.device_of(array))
    return model
