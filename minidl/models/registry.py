"""The model zoo's registry: ``list_models()``, ``get(name, weights=None, **options)``, ``input_size(name)``.
"""
import inspect

_MODELS = {}
_INPUT_SIZES = {}

__all__ = ["register", "list_models", "get", "input_size"]


def register(fn=None, *, name=None, input_size=None):
    """Register a model builder under ``name`` (default: the function's name); usable as a decorator.

    ``input_size``: the shape (C, H, W) of one input the model was designed for,
    e.g. (3, 224, 224) for the ImageNet networks; None for models whose input
    is not an image.
    """
    def wrap(f):
        key = name or f.__name__
        if key in _MODELS:
            raise ValueError(f"model {key!r} is registered twice")
        _MODELS[key] = f
        _INPUT_SIZES[key] = None if input_size is None else tuple(input_size)
        return f
    return wrap(fn) if fn is not None else wrap


def list_models():
    """The registered model names, sorted."""
    return sorted(_MODELS)


def get(name, weights=None, **options):
    """Build model ``name`` with ``options`` (e.g. ``num_classes=10``), with pretrained ``weights`` if given.

    ``weights``: a ``.npz`` state dict (see :mod:`minidl.models.weights`).
    The builder options recorded in the file (e.g. ``transform_input``) apply
    unless given here; a classifier of another size is re-initialized, and a
    line says which.
    """
    if name not in _MODELS:
        raise KeyError(f"unknown model {name!r}; available: {', '.join(list_models())}")
    if weights is None:
        return _MODELS[name](**options)
    from .weights import load_weights, read_weights
    state, recorded = read_weights(weights)
    accepted = inspect.signature(_MODELS[name]).parameters
    model = _MODELS[name](**{**{k: v for k, v in recorded.items() if k in accepted}, **options})
    for message in load_weights(model, state):
        print(f"{name}: {message}")
    return model


def input_size(name):
    """The shape (C, H, W) of one input model ``name`` was designed for (None if it takes no images)."""
    if name not in _MODELS:
        raise KeyError(f"unknown model {name!r}; available: {', '.join(list_models())}")
    return _INPUT_SIZES.get(name)
