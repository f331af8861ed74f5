"""A Keras-style table of a model: each layer's output shape, parameters and multiply-accumulates.

``summary(model, input_shape)`` runs one forward pass on a zero input with a
forward hook on every leaf module (and every module holding parameters of its
own) and records what each produced.  MACs count the multiply-accumulates of
convolution and linear layers per sample, without bias adds, as the reference
tables of the zoo do (``tests/models/reference/ARCHITECTURES.md`` in the repository):

    conv:   OH * OW * F * (C / G) * KH * KW        linear:  in_features * out_features
"""
import math

from . import backend
from .autograd import Tensor, no_grad
from .nn import Conv1d, Conv2d, Linear

__all__ = ["summary", "count_parameters", "Summary"]


def count_parameters(model, trainable_only=False):
    """The number of parameter elements of ``model`` (each shared parameter once)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def _macs(module, output):
    """Multiply-accumulates per sample of a conv or linear layer, 0 for any other."""
    per_sample = math.prod(output.shape[1:])
    if isinstance(module, (Conv1d, Conv2d)):
        return per_sample * module.weight.numel() // module.out_channels
    if isinstance(module, Linear):
        return per_sample * module.in_features
    return 0


def _shapes(output):
    if isinstance(output, Tensor):
        return [output.shape[1:]]
    if isinstance(output, (tuple, list)):
        return [s for o in output for s in _shapes(o)]
    return []


class Summary:
    """The result of :func:`summary`: ``rows`` of (name, type, output shapes, params, MACs) and totals.

    Output shapes are per sample (without the batch dimension).  ``str()`` gives the table.
    """

    def __init__(self, input_shape, rows, total_params, trainable_params):
        self.input_shape, self.rows = input_shape, rows
        self.total_params, self.trainable_params = total_params, trainable_params
        self.total_macs = sum(row[4] for row in rows)

    def __str__(self):
        header = ("Layer", "Type", "Output shape", "Params", "MACs")
        cells = [(name, kind, "; ".join(str(s) for s in shapes) or "-", f"{params:,}", f"{macs:,}")
                 for name, kind, shapes, params, macs in self.rows]
        widths = [max(len(r[i]) for r in [header] + cells) for i in range(5)]

        def line(row):
            return "  ".join(c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))

        rule = "=" * len(line(header))
        return "\n".join([line(header), rule, *map(line, cells), rule,
                          f"Input shape: {self.input_shape} per sample",
                          f"Total params: {self.total_params:,}",
                          f"Trainable params: {self.trainable_params:,}",
                          f"Non-trainable params: {self.total_params - self.trainable_params:,}",
                          f"Total MACs: {self.total_macs:,} per sample"])

    __repr__ = __str__


def summary(model, input_shape, device="cpu", dtype=None, verbose=True):
    """Print and return a :class:`Summary` of ``model`` for one input of ``input_shape``.

    ``input_shape`` is the shape of one sample, e.g. (1, 28, 28) for MNIST;
    ``dtype`` defaults to the default float dtype (give an int dtype for
    models that start with an Embedding).  The model runs once in eval mode
    without recording a graph; its training flag is restored afterwards.
    """
    rows, handles = [], []
    names = {id(m): name for name, m in model.named_modules()}

    def record(module, inputs, output):
        own = sum(p.numel() for p in module._parameters.values() if p is not None)
        rows.append((names[id(module)] or type(module).__name__, type(module).__name__,
                     _shapes(output), own, _macs(module, output) if isinstance(output, Tensor) else 0))

    for _, m in model.named_modules():
        if not m._modules or any(p is not None for p in m._parameters.values()):
            handles.append(m.register_forward_hook(record))
    modes = {id(m): m.training for m in model.modules()}
    xp = backend.device(device).xp
    x = Tensor(xp.zeros((1, *input_shape), dtype=dtype or backend.get_default_dtype()))
    try:
        model.eval()
        with no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
        for m in model.modules():
            m.training = modes[id(m)]
    result = Summary(tuple(input_shape), rows, count_parameters(model), count_parameters(model, True))
    if verbose:
        print(result)
    return result
