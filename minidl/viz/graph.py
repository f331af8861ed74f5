"""The computation graph behind a tensor, as Graphviz DOT (micrograd's ``draw_dot``, DeZero's
``plot_dot_graph``).

One node per Function (its name: Convolution, MaxPooling, ReLU, ...) and one
per tensor that flows between them (its shape and dtype, whether it requires
grad, and its name when it is a module's parameter or buffer); edges run in
data-flow order, from the inputs to ``output``.  A whole model is hundreds of
Functions, so :func:`collapse` records which Functions each chosen module
made, and :func:`draw_graph` draws each such call as one node.

With the ``graphviz`` package installed the result is a ``graphviz.Digraph``
(it draws itself in a notebook).  Without it, a :class:`DotGraph` holding
the same DOT text; it draws itself (``_repr_svg_``, ``save('g.svg')``) when
Graphviz's ``dot`` program is on the PATH, and otherwise says how to render
the text.  Both are imported and looked up only when called.
"""
import contextlib
import shutil
import subprocess
from pathlib import Path

from ..autograd import Tensor
from ..autograd.graph import _topological_order, graph_item

__all__ = ["draw_graph", "collapse", "DotGraph", "GraphvizNotFoundError", "ModuleCalls"]

INSTALL = ('install Graphviz to draw it: pip install graphviz (or pip install -e ".[viz]") and the '
           "dot program (apt-get install graphviz, brew install graphviz, conda install graphviz), "
           "or paste the DOT text into any Graphviz viewer")

# fill colours: Functions, tensors between them, parameters (and buffers), other inputs, the output,
# collapsed modules
COLOURS = {"function": "lightblue", "tensor": "white", "param": "darkolivegreen1", "leaf": "lightgrey",
           "output": "orange", "module": "khaki"}


class GraphvizNotFoundError(RuntimeError):
    """Drawing a graph needs Graphviz's ``dot`` program, which is not on the PATH."""


class DotGraph:
    """DOT source built with ``graphviz.Digraph``'s methods (``node``, ``edge``, ``attr``), for when
    the graphviz package is absent.  ``source`` is the text; ``save(path)`` writes it (``.dot``,
    ``.gv``) or renders it with ``dot`` (``.svg``, ``.png``, ``.pdf``)."""

    def __init__(self, name="minidl"):
        self.name, self.body = name, []

    def attr(self, kind, **attrs):
        self.body.append(f"\t{kind} [{_attributes(attrs)}]")

    def node(self, name, label=None, **attrs):
        attrs = {"label": label, **attrs} if label is not None else attrs
        self.body.append(f"\t{_quote(name)} [{_attributes(attrs)}]" if attrs else f"\t{_quote(name)}")

    def edge(self, tail_name, head_name, **attrs):
        extra = f" [{_attributes(attrs)}]" if attrs else ""
        self.body.append(f"\t{_quote(tail_name)} -> {_quote(head_name)}{extra}")

    @property
    def source(self):
        return f"digraph {_quote(self.name)} {{\n" + "\n".join(self.body) + "\n}\n"

    def pipe(self, format="svg"):
        """The graph rendered by ``dot`` as bytes of ``format``; GraphvizNotFoundError without it."""
        dot = shutil.which("dot")
        if dot is None:
            raise GraphvizNotFoundError(f"Graphviz's dot program is not on the PATH; {INSTALL}")
        return subprocess.run([dot, f"-T{format}"], input=self.source.encode(), capture_output=True,
                              check=True).stdout

    def save(self, path):
        """Write the DOT text (``.dot``, ``.gv``) or the picture (any other suffix, via ``dot``)."""
        path = Path(path)
        suffix = path.suffix.lstrip(".").lower()
        if suffix in ("dot", "gv", ""):
            path.write_text(self.source)
        else:
            path.write_bytes(self.pipe(suffix))
        return path

    def _repr_svg_(self):
        # None makes Jupyter fall back to the text repr, which says how to render the graph
        return self.pipe("svg").decode() if shutil.which("dot") else None

    def __str__(self):
        return self.source

    def __repr__(self):
        return f"DOT graph ({INSTALL}):\n{self.source}"


def _quote(text):
    return '"' + str(text).replace('"', '\\"') + '"'


def _attributes(attrs):
    return " ".join(f"{key}={_quote(value)}" for key, value in attrs.items())


def _digraph():
    """An empty ``graphviz.Digraph`` when the package is installed, else a :class:`DotGraph`."""
    try:
        import graphviz
    except ImportError:
        return DotGraph()
    return graphviz.Digraph("minidl")


class ModuleCalls(list):
    """What :func:`collapse` recorded: one ``(name, module, inputs, outputs)`` per call, inner first."""


@contextlib.contextmanager
def collapse(model, *modules):
    """Record the calls of ``modules`` of ``model`` while the block runs, for :func:`draw_graph`.

    ``modules`` are dotted names (``"layer1.0"``) or module classes
    (``BasicBlock``); none means every child of ``model``.  Each call's
    Functions, those between its input and output tensors, are drawn as one
    node; when modules nest, the outermost call wins.  Yields the
    :class:`ModuleCalls` to pass as ``draw_graph(..., collapse=calls)``::

        with viz.collapse(model, "layer1", "layer2") as calls:
            loss = F.cross_entropy(model(x), y)
        viz.draw_graph(loss, params=model, collapse=calls)
    """
    named = dict(model.named_modules())
    if modules:
        unknown = [m for m in modules if isinstance(m, str) and m not in named]
        if unknown:
            raise KeyError(f"collapse: {type(model).__name__} has no module {', '.join(map(repr, unknown))}; "
                           f"its modules are {', '.join(n for n in named if n)}")
        chosen = [(n, m) for n, m in named.items()
                  if n in modules or any(isinstance(k, type) and isinstance(m, k) for k in modules)]
    else:
        chosen = list(model.named_children())
    calls = ModuleCalls()

    def recorder(name):
        def hook(module, inputs, output):
            outputs = output if isinstance(output, (tuple, list)) else (output,)
            calls.append((name, module, [t for t in inputs if isinstance(t, Tensor)],
                          [t for t in outputs if isinstance(t, Tensor)]))
        return hook

    handles = [m.register_forward_hook(recorder(n)) for n, m in chosen]
    try:
        yield calls
    finally:
        for h in handles:
            h.remove()


def _groups(calls):
    """{id(Function): index of the recorded call that made it}, outermost calls last so they win."""
    group = {}
    for index, (_, _, inputs, outputs) in enumerate(calls):
        # the graph holds nodes of made tensors (see graph_item): compare those
        boundary = {id(graph_item(t)) for t in inputs}
        stack = [t.creator for t in outputs if t.creator is not None and id(graph_item(t)) not in boundary]
        seen = set()
        while stack:
            f = stack.pop()
            if id(f) in seen:
                continue
            seen.add(id(f))
            group[id(f)] = index
            stack.extend(t.creator for t in f.inputs if t.creator is not None and id(t) not in boundary)
    return group


def _names(params):
    if params is None:
        return {}
    if hasattr(params, "named_parameters"):
        return {id(t): n for n, t in [*params.named_parameters(), *params.named_buffers()]}
    return {id(t): n for n, t in dict(params).items()}


def _tensor_label(t, name):
    lines = [name] if name else []
    lines.append(f"{t.shape} {t.dtype}")
    if t.requires_grad:
        lines.append("requires_grad")
    return "\\n".join(lines)


def draw_graph(output, params=None, collapse=None):
    """The computation graph that produced ``output``, as Graphviz DOT.

    ``params`` (a Module, or a dict of name -> Tensor) names the tensors that
    are its parameters and buffers; ``collapse`` (what :func:`collapse`
    recorded) draws each recorded module call as one node, its parameters
    hidden.  Draw before ``backward()``, which frees the graph (or pass it
    ``retain_graph=True``).  Returns a ``graphviz.Digraph``, or a
    :class:`DotGraph` when the graphviz package is absent; ``.source`` is
    the DOT text either way.

    >>> import minidl
    >>> a = minidl.tensor([1.0, 2.0], requires_grad=True)
    >>> graph = draw_graph((a * a).sum(), params={"a": a})
    >>> [name for name in ("Mul", "Sum", "a") if name in graph.source]
    ['Mul', 'Sum', 'a']
    """
    if not isinstance(output, Tensor):
        raise TypeError(f"draw_graph: expected the Tensor whose graph to draw, got {type(output).__name__}")
    names, calls = _names(params), collapse or ModuleCalls()
    try:
        functions = _topological_order(output.creator) if output.creator is not None else []
    except RuntimeError as error:
        raise RuntimeError("draw_graph: the graph behind this tensor was freed by backward(); draw it "
                           "before backward, or call backward(retain_graph=True)") from error
    group = _groups(calls)
    inputs_of = [{id(graph_item(t)) for t in call[2]} for call in calls]
    graph = _digraph()
    graph.attr("node", style="filled", fontsize="10", fontname="Helvetica")
    drawn, edges = set(), set()

    def node_of(f):
        """The node that stands for Function ``f``: its own, or its collapsed module's."""
        index = group.get(id(f))
        node = f"f{id(f)}" if index is None else f"m{index}"
        if node not in drawn:
            drawn.add(node)
            if index is None:
                graph.node(node, f.name, shape="box", fillcolor=COLOURS["function"])
            else:
                name, module, _, outs = calls[index]
                count = sum(p.numel() for p in module.parameters())
                shapes = ", ".join(str(t.shape) for t in outs)
                graph.node(node, f"{name}: {type(module).__name__}\\n{count:,} parameters\\n-> {shapes}",
                           shape="box3d", fillcolor=COLOURS["module"])
        return node

    def tensor_node(t, kind):
        node = f"t{id(t)}"
        if node not in drawn:
            drawn.add(node)
            graph.node(node, _tensor_label(t, names.get(id(t))), shape="ellipse", fillcolor=COLOURS[kind])
        return node

    def connect(tail, head):
        if (tail, head) not in edges:
            edges.add((tail, head))
            graph.edge(tail, head)

    for f in functions:
        head = node_of(f)
        index = group.get(id(f))
        for t in f.inputs:
            if t.creator is None:
                if index is not None and id(t) not in inputs_of[index]:
                    continue                       # a parameter or constant inside a collapsed module
                kind = "param" if id(t) in names else "leaf"
                connect(tensor_node(t, kind), head)
            elif index is None or group.get(id(t.creator)) != index:
                tail = tensor_node(t, "tensor")
                connect(node_of(t.creator), tail)
                connect(tail, head)
    if output.creator is None:
        tensor_node(output, "output")
    else:
        connect(node_of(output.creator), tensor_node(output, "output"))
    return graph
