"""``RemovableHandle``: what every ``register_*hook`` returns, to take the hook off again."""
import itertools

__all__ = ["RemovableHandle"]

_ids = itertools.count()


class RemovableHandle:
    """Registers ``hook`` in the dict ``hooks`` under a fresh key; ``remove()`` unregisters it.

    The dict keeps registration order, which is the order the hooks run in.
    """

    def __init__(self, hooks, hook):
        self.hooks, self.key = hooks, next(_ids)
        hooks[self.key] = hook

    def remove(self):
        self.hooks.pop(self.key, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
