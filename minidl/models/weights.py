"""Pretrained weights: load a ``.npz`` state dict into a zoo model, export torchvision's as one.

The zoo names its parameters as torchvision does, so torchvision's ImageNet
weights, written once as ``.npz`` where torch is installed, load into a
minidl model anywhere NumPy runs::

    # where torch and torchvision are installed (and can download):
    export_torchvision("resnet18", "resnet18.npz")
    # anywhere:
    model = minidl.models.get("resnet18", num_classes=2, weights="resnet18.npz")

Loading is strict, except for what fine-tuning needs:

* a classifier whose number of outputs differs (1000 ImageNet classes, 2
  here) keeps its fresh initialization, and a message names it;
* auxiliary heads (GoogLeNet's ``aux1``, ``aux2``, Inception v3's
  ``AuxLogits``) found in the file but absent from the model are dropped,
  and those of the model missing from the file keep their initialization.

Anything else that differs raises :class:`WeightsError` listing the names.
A file written by :func:`export_torch` also records the builder options the
weights need (GoogLeNet's and Inception v3's ``transform_input``, whether
the aux heads were trained), which :func:`minidl.models.get` applies.
"""
from pathlib import Path

from ..serialization import load, save

__all__ = ["WeightsError", "read_weights", "load_weights", "export_torch", "export_torchvision"]


class WeightsError(ValueError):
    """A weights file that does not fit the model, or weights that cannot be exported."""


def read_weights(path):
    """``(state_dict, options)`` of a weights file.

    Accepts what :func:`export_torch` writes ({'state_dict', 'options',
    'source'}), a training checkpoint (its 'model' entry), and a flat
    name -> array ``.npz`` (``np.savez(path, **state_dict)`` or
    ``minidl.save(model.state_dict(), path)``), whose options are empty.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise WeightsError(f"weights: no such file {path}")
    content = load(path)
    if isinstance(content.get("state_dict"), dict):
        return content["state_dict"], dict(content.get("options") or {})
    if isinstance(content.get("model"), dict):
        return content["model"], {}
    return content, {}


def _module_of(key):
    return key.rsplit(".", 1)[0]


def _is_aux(key, aux_heads):
    return key.split(".", 1)[0] in aux_heads


def _outputs(state):
    """The number of outputs of the last layer with a weight: the classes of a classifier."""
    return next(tuple(state[k].shape)[0] for k in reversed(list(state)) if k.endswith(".weight"))


def _replaceable_heads(own, given, mismatched):
    """The classifiers built for another number of classes: the modules whose tensors differ only
    in their first axis (outputs), from the file's number of classes to the model's.  A body
    layer of another width has another number of outputs, and stays an error."""
    ours, theirs = _outputs(own), _outputs(given)
    modules = {}
    for key in mismatched:
        modules.setdefault(_module_of(key), []).append(key)
    return [module for module, keys in modules.items()
            if sorted(keys) == sorted(k for k in own if _module_of(k) == module)
            and all(len(own[k].shape) == len(given[k].shape) and own[k].shape[1:] == tuple(given[k].shape[1:])
                    and (own[k].shape[0], given[k].shape[0]) == (ours, theirs) for k in keys)]


def load_weights(model, weights):
    """Copy the weights of ``weights`` (a path, or a state dict) into ``model`` in place.

    Returns the list of messages about what was not copied (re-initialized
    classifiers, dropped or untouched aux heads), empty when every tensor
    loaded.  Raises :class:`WeightsError` naming every other difference,
    before copying anything.
    """
    state = read_weights(weights)[0] if isinstance(weights, (str, Path)) else weights
    own = model.state_dict()
    aux_heads = getattr(model, "aux_heads", ())
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    mismatched = [k for k in own if k in state and tuple(state[k].shape) != own[k].shape]
    heads = _replaceable_heads(own, state, mismatched) if mismatched else []

    problems = []
    bad_shapes = [f"{k} (file {tuple(state[k].shape)}, model {own[k].shape})" for k in mismatched
                  if _module_of(k) not in heads]
    if bad_shapes:
        problems.append("shape mismatch: " + ", ".join(bad_shapes))
    for what, keys in (("missing from the file", missing), ("not in the model", unexpected)):
        keys = [k for k in keys if not _is_aux(k, aux_heads)]
        if keys:
            problems.append(f"{what}: " + ", ".join(keys))
    if problems:
        raise WeightsError(f"weights do not fit {type(model).__name__}: " + "; ".join(problems))

    messages = [f"re-initialized {head} for {own[head + '.weight'].shape[0]} outputs (the file's has "
                f"{state[head + '.weight'].shape[0]})" for head in heads]
    dropped = sorted({k.split(".", 1)[0] for k in unexpected})
    if dropped:
        messages.append(f"dropped the file's auxiliary heads {', '.join(dropped)} (the model has none)")
    untouched = sorted({k.split(".", 1)[0] for k in missing})
    if untouched:
        messages.append(f"auxiliary heads {', '.join(untouched)} are not in the file: left at their "
                        "initialization")
    model.load_state_dict({k: v for k, v in state.items() if k in own and _module_of(k) not in heads},
                          strict=False)
    return messages


def export_torch(torch_module, path, source="", **options):
    """Write ``torch_module``'s state dict to ``path`` as ``.npz``, with the builder ``options`` its
    weights need (e.g. ``transform_input=True``) and a ``source`` line; returns the path."""
    state = {name: value.detach().cpu().numpy() for name, value in torch_module.state_dict().items()}
    save({"state_dict": state, "options": options, "source": source}, path)
    return Path(path)


def export_torchvision(name, path, weights="DEFAULT", **builder_options):
    """Write torchvision's ``weights`` of model ``name`` (e.g. 'resnet18', 'googlenet') to ``path``.

    ``weights`` is a name of torchvision's weights enum ('DEFAULT',
    'IMAGENET1K_V1', ...) or None for its random initialization;
    ``builder_options`` go to torchvision's builder.  Needs torch and
    torchvision, and the network unless the weights are already in torch's
    cache (``$TORCH_HOME/hub/checkpoints``).  Returns the path.
    """
    try:
        import torch
        import torchvision
    except ImportError as error:
        raise WeightsError(f"export_torchvision needs torch and torchvision ({error}): pip install torch "
                           "torchvision, export there, and copy the .npz file here") from error
    from .registry import list_models
    if name not in list_models():
        raise WeightsError(f"export_torchvision: minidl has no model {name!r}; available: "
                           f"{', '.join(list_models())}")
    try:
        builder = torchvision.models.get_model_builder(name)
        enum = torchvision.models.get_model_weights(name) if weights is not None else None
    except ValueError as error:
        raise WeightsError(f"export_torchvision: torchvision has no model {name!r} ({error})") from error
    if weights is not None:
        try:
            weights = enum[weights]
        except KeyError:
            raise WeightsError(f"export_torchvision: {name} has no weights {weights!r}; torchvision has "
                               f"{', '.join(enum.__members__)}") from None
    try:
        module = builder(weights=weights, **builder_options)
    except (OSError, RuntimeError) as error:     # URLError is an OSError; a truncated download a RuntimeError
        raise WeightsError(f"export_torchvision: cannot fetch torchvision's {weights} weights for {name} "
                           f"({error}); download them where there is network, or copy the .pth file "
                           f"into {torch.hub.get_dir()}/checkpoints") from error
    options = {key: getattr(module, key) for key in ("transform_input", "aux_logits") if hasattr(module, key)}
    return export_torch(module, path, source=f"torchvision {torchvision.__version__} {name} {weights}",
                        **options)
