"""draw_graph: the DOT text of a graph, with and without the graphviz package and the dot program."""
import re
import subprocess
import sys
from collections import Counter

import pytest

import minidl
import minidl.functional as F
from minidl import models, viz
from minidl.models.resnet import BasicBlock
from minidl.viz import graph as graph_module


@pytest.fixture(params=["graphviz", "no graphviz"])
def graphviz_package(request, monkeypatch):
    """Each test runs with the graphviz package (skipped if absent) and with it hidden."""
    if request.param == "graphviz":
        pytest.importorskip("graphviz")
    else:
        monkeypatch.setitem(sys.modules, "graphviz", None)     # makes `import graphviz` fail
    return request.param


def parse(source):
    """({node: label}, [(tail, head)]) of a DOT text, for the simple form both writers produce."""
    labels, edges = {}, []
    for line in source.splitlines():
        edge = re.fullmatch(r"\s*(\S+) -> (\S+)", line)
        node = re.fullmatch(r'\s*(\S+) \[.*?label=("(?:[^"\\]|\\.)*"|\S+).*\]', line)
        if edge:
            edges.append(tuple(n.strip('"') for n in edge.groups()))
        elif node and node.group(1) not in ("node", "graph", "edge"):
            labels[node.group(1).strip('"')] = node.group(2).strip('"').replace("\\n", "\n")
    return labels, edges


def functions(labels):
    return Counter(label for node, label in labels.items() if node.startswith("f"))


def test_scalar_expression_in_data_flow_order(graphviz_package):
    a = minidl.tensor(2.0, requires_grad=True)
    b = minidl.tensor(-3.0, requires_grad=True)
    c = minidl.tensor(10.0, requires_grad=True)
    L = (a * b + c) * 2.0
    graph = viz.draw_graph(L, params={"a": a, "b": b, "c": c})
    assert type(graph).__name__ == ("Digraph" if graphviz_package == "graphviz" else "DotGraph")
    labels, edges = parse(graph.source)
    assert functions(labels) == {"Mul": 2, "Add": 1}
    by_label = {label.split("\n")[0]: node for node, label in labels.items()}
    successors = {tail: [h for t, h in edges if t == tail] for tail, _ in edges}

    def path(*nodes):
        return all(b in successors.get(a, []) for a, b in zip(nodes, nodes[1:]))

    mul1 = next(h for t, h in edges if t == by_label["a"])
    (ab,) = successors[mul1]
    (add,) = successors[ab]
    assert labels[mul1] == "Mul" and labels[add] == "Add"
    assert path(by_label["b"], mul1) and path(by_label["c"], add)
    (abc,) = successors[add]
    (mul2,) = successors[abc]
    (out,) = successors[mul2]
    assert labels[out] == "() float32\nrequires_grad" and out not in successors
    assert labels[by_label["a"]] == "a\n() float32\nrequires_grad"
    assert len(edges) == 9       # a, b, c and the constant 2 in; 2 intermediates out and in; L out


def test_whole_lenet5_loss(graphviz_package):
    model = models.get("lenet5")
    loss = F.cross_entropy(model(minidl.randn(2, 1, 28, 28)), minidl.tensor([3, 7]))
    labels, edges = parse(viz.draw_graph(loss, params=model).source)
    assert functions(labels) == {"Convolution": 3, "ReLU": 4, "MaxPooling": 2, "Reshape": 1, "Linear": 2,
                                 "CrossEntropy": 1}
    for name, p in model.named_parameters():
        (node,) = [n for n, label in labels.items() if label.startswith(name + "\n")]
        assert labels[node] == f"{name}\n{p.shape} float32\nrequires_grad"
        (consumer,) = [h for t, h in edges if t == node]
        assert labels[consumer] == ("Convolution" if name[0] == "c" else "Linear")
    assert "(2, 1, 28, 28) float32" in labels.values()         # the images: no grad, no name
    sinks = set(labels) - {t for t, _ in edges}
    assert [labels[s] for s in sinks] == ["() float32\nrequires_grad"]


def test_resnet_block_whole_and_collapsed(graphviz_package):
    model = models.get("resnet20")
    x = minidl.randn(1, 3, 32, 32)
    block = model.layer2[0]
    labels, edges = parse(viz.draw_graph(block(minidl.randn(1, 16, 32, 32, requires_grad=True)),
                                         params=block).source)
    assert functions(labels) == {"Convolution": 2, "BatchNorm": 2, "ReLU": 2, "Add": 1,
                                 "GetItem": 1, "Pad": 1}     # the shortcut: every 2nd pixel, zero channels
    add = next(n for n, label in labels.items() if label == "Add")
    assert len([t for t, h in edges if h == add]) == 2           # the main path and the shortcut meet

    with viz.collapse(model, "layer1.0") as calls:
        out = model(x)
    labels, edges = parse(viz.draw_graph(out, params=model, collapse=calls).source)
    (node,) = [n for n, label in labels.items() if label.startswith("layer1.0: BasicBlock")]
    assert labels[node] == "layer1.0: BasicBlock\n4,672 parameters\n-> (1, 16, 32, 32)"
    assert len([t for t, h in edges if h == node]) == 1 and len([h for t, h in edges if t == node]) == 1
    assert functions(labels)["Convolution"] == 19 - 2
    assert not any(label.startswith("layer1.0.conv1") for label in labels.values())

    with viz.collapse(model, BasicBlock) as calls:
        loss = F.cross_entropy(model(x), minidl.tensor([1]))
    labels, _ = parse(viz.draw_graph(loss, collapse=calls).source)
    assert sum(label.startswith("layer") for label in labels.values()) == 9
    assert functions(labels)["Convolution"] == 1                  # only the stem is left


def test_errors_name_the_problem():
    model = models.get("lenet5")
    with pytest.raises(KeyError, match="has no module 'c2'"):
        with viz.collapse(model, "c2"):
            pass
    loss = model(minidl.randn(1, 1, 28, 28)).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="freed by backward"):
        viz.draw_graph(loss)
    with pytest.raises(TypeError, match="expected the Tensor"):
        viz.draw_graph([loss])


def test_dot_text_without_the_dot_program(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "graphviz", None)
    monkeypatch.setattr(graph_module.shutil, "which", lambda name: None)
    graph = viz.draw_graph(minidl.tensor([1.0, 2.0], requires_grad=True).sum())
    assert graph.source.startswith('digraph "minidl" {') and graph.source.endswith("}\n")
    assert graph._repr_svg_() is None and "pip install graphviz" in repr(graph)
    assert graph.save(tmp_path / "g.dot").read_text() == graph.source
    with pytest.raises(viz.GraphvizNotFoundError, match="apt-get install graphviz"):
        graph.save(tmp_path / "g.svg")


def test_dot_program_renders_when_present(monkeypatch, tmp_path):
    """A stand-in dot that echoes what it is asked, so the rendering path runs without Graphviz."""
    monkeypatch.setitem(sys.modules, "graphviz", None)
    fake = tmp_path / "dot"
    fake.write_text('#!/bin/sh\ncat > /dev/null; echo "<svg>$1</svg>"\n')
    fake.chmod(0o755)
    monkeypatch.setattr(graph_module.shutil, "which", lambda name: str(fake))
    graph = viz.draw_graph(minidl.tensor([1.0], requires_grad=True) * 2)
    assert graph._repr_svg_().strip() == "<svg>-Tsvg</svg>"
    assert graph.save(tmp_path / "g.png").read_text().strip() == "<svg>-Tpng</svg>"


@pytest.mark.skipif(graph_module.shutil.which("dot") is None, reason="Graphviz's dot program is absent")
def test_real_dot_renders_svg(monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)
    model = models.get("lenet5")
    graph = viz.draw_graph(model(minidl.randn(1, 1, 28, 28)).sum(), params=model)
    assert graph._repr_svg_().count('<g id="node') == len(parse(graph.source)[0])


def test_import_minidl_stays_light():
    code = ("import sys, minidl, minidl.viz; "
            "print([m for m in ('graphviz', 'matplotlib', 'torch') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
