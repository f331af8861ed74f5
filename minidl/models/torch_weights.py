"""Load the weights of a PyTorch model into the equivalent minidl model.

The zoo names its parameters and buffers as torchvision does
(``features.0.weight``, ``layer1.0.downsample.1.running_mean``), so copying is
a matter of matching ``state_dict`` names.  torch is imported only here, and
only when called, so minidl itself never needs it.
"""
__all__ = ["from_torch"]


def from_torch(torch_module, model):
    """Copy every parameter and buffer of ``torch_module`` into ``model``, by state_dict name.

    Values are cast to the dtype of the minidl tensor they land in and written
    in place (optimizers already holding the parameters see the new values);
    returns ``model``.  Raises ``ValueError`` listing the missing, unexpected
    and mismatched names, before copying anything, when the two models' states
    differ.
    """
    import torch  # noqa: F401 - fail here, with torch's own message, when it is absent

    state = {name: value.detach().cpu().numpy() for name, value in torch_module.state_dict().items()}
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise ValueError(f"from_torch: {type(torch_module).__name__} does not match "
                         f"{type(model).__name__}: {error}") from error
    return model
