"""Gradient flow: the mean and max |gradient| of each layer's weights, at every training step.

The picture of vanishing gradients (Glorot & Bengio 2010; He et al. 2016,
Fig. 1 and Sec. 4.1): in a deep plain network the first layers' gradients are
orders of magnitude smaller than the last layers', and a residual network
keeps them level.  :class:`GradientFlow` records, through a hook on each
weight (``Tensor.register_hook``), every gradient a backward computes, so it
works with any training loop, ``minidl.train.fit`` included.
"""
import numpy as np

from ..train.plots import _figure

__all__ = ["GradientFlow", "plot_gradient_flow"]


class GradientFlow:
    """Mean and max |gradient| of each weight of ``model``, one entry per backward that reached it.

    ``names``: the parameters to follow (dotted names); by default every
    weight with two or more dimensions (convolutions and linear layers),
    in the model's order, the input side first.  ``mean[name]`` and
    ``max[name]`` are lists with one value per step.  Use it as a context
    manager, or call ``remove()`` to stop recording::

        with GradientFlow(model) as flow:
            train.fit(model, loader, None, optimizer, epochs=1)
        plot_gradient_flow(flow)
    """

    def __init__(self, model, names=None):
        params = dict(model.named_parameters())
        if names is None:
            names = [n for n, p in params.items() if p.ndim >= 2 and p.requires_grad]
        unknown = [n for n in names if n not in params or not params[n].requires_grad]
        if unknown:
            raise KeyError(f"GradientFlow: {', '.join(unknown)} not a parameter of "
                           f"{type(model).__name__} that requires grad")
        self.names = list(names)
        self.mean = {n: [] for n in self.names}
        self.max = {n: [] for n in self.names}
        self.handles = [params[n].register_hook(self._recorder(n)) for n in self.names]

    def _recorder(self, name):
        def record(grad):
            magnitude = abs(grad.data)
            self.mean[name].append(float(magnitude.mean()))
            self.max[name].append(float(magnitude.max()))
        return record

    def averages(self):
        """(names, mean |g| averaged over the steps, max |g| over the steps), one entry per layer."""
        empty = [n for n in self.names if not self.mean[n]]
        if empty:
            raise ValueError(f"GradientFlow: no gradient recorded yet for {', '.join(empty)}; "
                             "run a backward while recording")
        return (self.names, np.fromiter((np.mean(self.mean[n]) for n in self.names), dtype=np.float64),
                np.fromiter((np.max(self.max[n]) for n in self.names), dtype=np.float64))

    def remove(self):
        """Stop recording (what was recorded stays)."""
        for h in self.handles:
            h.remove()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def _layer(name):
    return name[:-len(".weight")] if name.endswith(".weight") else name


def plot_gradient_flow(flows, title=None):
    """Left: mean (solid) and max (dashed) |gradient| per layer, input side first, averaged over the
    steps; right: mean |gradient| of the first and last layers at each step.  Log scales.

    ``flows``: one :class:`GradientFlow`, or a dict of label -> GradientFlow
    to compare networks (plain-56 against ResNet-56).  Returns the figure.
    """
    flows = flows if isinstance(flows, dict) else {"": flows}
    fig = _figure(12, 4.5)
    per_layer, per_step = fig.subplots(1, 2)
    for k, (label, flow) in enumerate(flows.items()):
        names, mean, largest = flow.averages()
        colour = f"C{k % 10}"           # matplotlib's colour cycle
        depth = np.arange(len(names))
        per_layer.plot(depth, mean, "-", color=colour, label=f"{label} mean".strip())
        per_layer.plot(depth, largest, "--", color=colour, label=f"{label} max".strip())
        for name, style in [(names[0], "-"), (names[-1], ":")]:
            per_step.plot(flow.mean[name], style, color=colour, label=f"{label} {_layer(name)}".strip())
    last = next(reversed(flows.values()))
    step = max(1, len(last.names) // 12)
    per_layer.set_xticks(range(0, len(last.names), step))
    per_layer.set_xticklabels([_layer(n) for n in last.names[::step]], rotation=60, ha="right", fontsize=7)
    per_layer.set(yscale="log", xlabel="layer (input side first)", ylabel="|gradient|",
                  title="gradient per layer, over the steps")
    per_step.set(yscale="log", xlabel="step", ylabel="mean |gradient|", title="first and last layer")
    for ax in (per_layer, per_step):
        ax.legend(fontsize=8)
        ax.grid(True, which="major", alpha=0.3)
    if title:
        fig.suptitle(title)
    return fig
