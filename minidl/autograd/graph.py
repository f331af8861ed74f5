"""The recorded graph and backward through it, in topological order.

A Function keeps its inputs as graph items: a leaf tensor itself, or the
:class:`_Node` of a tensor another Function made.  ``Tensor.backward()`` runs
:func:`_run_backward`: it sorts the Functions reachable from the root
topologically (iteratively, so a 10,000-op chain is fine), calls each
``backward`` once with the summed gradients of its outputs, accumulates
gradients into the leaves' ``.grad`` and frees the graph as it goes.
"""
from .. import backend
from . import anomaly_mode
from .core import BackwardError, Tensor

__all__ = ["graph_item"]


class _Node:
    """A tensor that a Function made, as the graph keeps it: its ``creator``, shape, dtype
    and gradient hooks, but not its data.

    Functions keep their inputs' nodes, not the tensors, so an activation that
    no backward needs (a ReLU's input, a sum's output) is freed as soon as the
    forward is done with it, as in PyTorch: what a backward needs, its forward
    saved.
    """

    __slots__ = ("creator", "shape", "dtype", "_grad_hooks", "__weakref__")
    requires_grad = True

    def __init__(self, creator, tensor):
        self.creator, self.shape, self.dtype = creator, tensor.shape, tensor.dtype
        self._grad_hooks = None


def graph_item(t):
    """What the graph keeps of tensor ``t``: its node if a Function made it, else ``t`` itself."""
    return t if t._node is None else t._node


def _hooked(t, g):
    """The gradient ``g`` (an array) of ``t`` (a leaf or a node) after its hooks saw or replaced it."""
    for hook in list((t._grad_hooks or {}).values()):
        result = hook(Tensor(g))
        if result is not None:
            result = result.data if isinstance(result, Tensor) else result
            if tuple(result.shape) != tuple(g.shape):
                raise RuntimeError(f"register_hook: the hook returned a gradient of shape "
                                   f"{tuple(result.shape)} for a tensor of shape {t.shape}")
            g = result
    return g


def _run_backward(root, grad, retain_graph):
    order = _topological_order(root.creator)
    # pending gradients of nodes and hooked leaves, keyed by id, holding the node or leaf
    # too: releasing a Function may drop the last other reference to it
    grads = {id(root._node): (root._node, grad)}
    for f in reversed(order):
        gys = [_pop_hooked(grads, o()) for o in f.outputs]
        if all(g is None for g in gys):
            continue
        xp = backend.get_array_module(*gys)
        gys = [xp.zeros(shape, dtype=dtype) if g is None else g
               for g, (shape, dtype) in zip(gys, f.output_meta)]
        _check_versions(f)
        gxs = f.backward(*gys)
        if not isinstance(gxs, tuple):
            gxs = (gxs,)
        for i, (t, gx) in enumerate(zip(f.inputs, gxs)):    # t: a leaf tensor or a node
            if gx is None or not t.requires_grad:
                continue
            if tuple(gx.shape) != tuple(t.shape):
                raise RuntimeError(f"{f.name}.backward returned a gradient of shape "
                                   f"{tuple(gx.shape)} for an input of shape {t.shape}")
            if gx.dtype != t.dtype:
                raise BackwardError(f"{f.name}.backward returned a {gx.dtype} gradient for a {t.dtype} "
                                    f"input of shape {t.shape}; a gradient has its tensor's dtype")
            if anomaly_mode.check_nan and xp.isnan(gx).any():
                raise BackwardError(f"{f.name}.backward returned NaN in the gradient of its input {i} of "
                                    f"shape {t.shape} (found by anomaly mode); look for values outside "
                                    f"the op's domain or infinities among its inputs")
            if t.creator is None and t._grad_hooks is None:
                t._accumulate(gx)
            else:
                # a hooked leaf, like every intermediate, waits until its gradient is complete
                prev = grads.get(id(t))
                grads[id(t)] = (t, gx if prev is None else prev[1] + gx)
        if not retain_graph:
            f.release()
    for t, _ in list(grads.values()):       # what is left are the hooked leaves
        t._accumulate(_pop_hooked(grads, t))


def _pop_hooked(grads, t):
    """The complete gradient of ``t`` (a node or a leaf; None if it got none), through its hooks,
    out of ``grads``."""
    g = grads.pop(id(t), (None, None))[1] if t is not None else None
    return g if g is None or t._grad_hooks is None else _hooked(t, g)


def _check_versions(f):
    """Refuse a backward through ``f`` if its inputs or outputs changed since its forward.

    Their version counters see assigned ``.data``; in anomaly mode, their fingerprints see
    writes into the arrays themselves.
    """
    for counter, version, role, shape in f.versions:
        if counter[0] != version:
            raise BackwardError(
                f"backward through {f.name}: its {role} of shape {shape} was modified in place (its "
                f".data assigned, e.g. by optimizer.step()) after the forward pass, so the gradients "
                "would use the new values; run the forward again after the change, or change a copy")
    for (_, _, role, shape), (array, digest) in zip(f.versions, f.fingerprints):
        if anomaly_mode.fingerprint(array) != digest:
            raise BackwardError(
                f"backward through {f.name}: its {role} of shape {shape} was modified in place after the "
                "forward pass (found by anomaly mode: written through `.data[...] =` or into the NumPy "
                "array it wraps), so the gradients would use the new values; edit a copy "
                "(`t.data.copy()`) instead, or edit after the backward")


def _topological_order(start):
    """Functions reachable from ``start``, each after every Function that feeds it."""
    order, visited, stack = [], set(), [(start, False)]
    while stack:
        f, expanded = stack.pop()
        if expanded:
            order.append(f)
            continue
        if id(f) in visited:
            continue
        if f.inputs is None:
            raise RuntimeError(f"backward through {f.name} a second time: its graph was freed "
                               "by the first backward (pass retain_graph=True to keep it)")
        visited.add(id(f))
        stack.append((f, True))
        for t in f.inputs:
            if t.creator is not None and id(t.creator) not in visited:
                stack.append((t.creator, False))
    return order
