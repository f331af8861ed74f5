"""The model zoo's registry: ``list_models()`` and ``get(name, weights=None, **options)``."""
import inspect

_MODELS = {}

__all__ = ["register", "list_models", "get"]


def register(fn=None, *, name=None):
    """Register a model builder under ``name`` (default: the function's name); usable as a decorator."""
    def wrap(f):
        key = name or f.__name__
        if key in _MODELS:
            raise ValueError(f"model {key!r} is registered twice")
        _MODELS[key] = f
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
