"""The model zoo's registry: ``list_models()`` and ``get(name, **options)``."""

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


def get(name, **options):
    """Build model ``name`` with ``options`` (e.g. ``num_classes=10``)."""
    if name not in _MODELS:
        raise KeyError(f"unknown model {name!r}; available: {', '.join(list_models())}")
    return _MODELS[name](**options)
