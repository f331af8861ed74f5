# %% [markdown]
# # 3. Gradient checking
#
# Every backward pass in minidl is written by hand, so every one can be wrong.
# This notebook teaches how to catch that:
# - the central difference (f(x + eps) - f(x - eps)) / 2eps approximates a derivative
#   with an error of order eps^2;
# - why the check must run in float64;
# - `minidl.gradcheck` on conv2d, max pooling and batch norm;
# - the graph that backward walks, drawn, for one convolution and a whole LeNet-5 loss;
# - a deliberately broken backward, caught.

# %%
import re
import shutil

import matplotlib.pyplot as plt
import numpy as np

import minidl
import minidl.functional as F
from minidl import models, viz
from minidl.autograd import Function

minidl.manual_seed(0)

# %% [markdown]
# ## Central differences, and why float64
# For f(x) = x^3 at x = 1 the derivative is 3. The error of the estimate first
# falls like eps^2, then rises again when rounding, about (machine epsilon) / eps,
# takes over. The two meet near eps = (machine epsilon)^(1/3), where the error is about
# (machine epsilon)^(2/3): in float32 (machine epsilon 1.2e-7) the best estimate is off by
# a few millionths, in float64 (2.2e-16) by about 1e-11, five orders of magnitude better.
# That is why gradient checks run in float64: a float32 check could not tell a correct
# backward from one that is wrong in the sixth digit.

# %%
eps_values = np.logspace(-12, -1, 45)
best_error = {}
for dtype in (np.float32, np.float64):
    x = dtype(1.0)
    errors = [abs(((x + dtype(e)) ** 3 - (x - dtype(e)) ** 3) / (2 * dtype(e)) - 3) for e in eps_values]
    plt.loglog(eps_values, np.maximum(errors, 1e-17), label=np.dtype(dtype).name)
    best = int(np.argmin(errors))
    best_error[np.dtype(dtype).name] = errors[best]
    print(f"{np.dtype(dtype).name}: best error {errors[best]:.1e} at eps = {eps_values[best]:.0e}")
plt.xlabel("eps"); plt.ylabel("|central difference - 3|"); plt.legend(); plt.show()
assert 1e-7 < best_error["float32"] < 1e-5 and 1e-13 < best_error["float64"] < 1e-10, best_error

# %% [markdown]
# ## `minidl.gradcheck`
# It reduces the outputs to one number with fixed random weights, computes the
# gradient with `backward()`, and compares it element by element with central
# differences. It returns True, or raises an error naming the worst element.

# %%
x = minidl.randn(2, 3, 7, 7, dtype=np.float64, requires_grad=True)
w = minidl.randn(4, 3, 3, 3, dtype=np.float64, requires_grad=True)
b = minidl.randn(4, dtype=np.float64, requires_grad=True)
print("conv2d, stride 2, padding 1:",
      minidl.gradcheck(lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1), [x, w, b]))

# max pooling: distinct values, so that no window has a tie (a tie has no derivative)
x = minidl.tensor(np.random.default_rng(0).permutation(2 * 3 * 6 * 6).reshape(2, 3, 6, 6) / 10.0,
                  requires_grad=True)
print("max_pool2d 3x3 stride 2:", minidl.gradcheck(lambda x: F.max_pool2d(x, 3, stride=2), [x]))

x = minidl.randn(4, 3, 5, 5, dtype=np.float64, requires_grad=True)
gamma = minidl.randn(3, dtype=np.float64, requires_grad=True)
beta = minidl.randn(3, dtype=np.float64, requires_grad=True)
mean, var = np.zeros(3), np.ones(3)
print("batch_norm, training:", minidl.gradcheck(
    lambda x, g, b: F.batch_norm(x, mean.copy(), var.copy(), g, b, training=True), [x, gamma, beta]))

# %% [markdown]
# ## The graph that backward walks
# `backward()` runs the Functions that forward recorded, in reverse. `minidl.viz.draw_graph` draws
# that record (Graphviz DOT): a blue box per Function, an ellipse per tensor with its shape and
# whether it requires grad, parameters in green, the output in orange. Here is the expression
# checked above, then a whole LeNet-5 loss, the graph that every training step differentiates.
# (The drawing needs Graphviz's `dot` program; without it the DOT text is printed.)

# %%
def show(graph):
    """The drawing where Graphviz is installed, else the first lines of the DOT text."""
    if shutil.which("dot") and hasattr(graph, "_repr_mimebundle_"):
        return graph
    print("\n".join(graph.source.splitlines()[:12]), "\n...")


# A Function's node: label=NAME ... shape=box, quoted or not (graphviz quotes only where it must)
FUNCTION_NODE = re.compile(r'label="?(\w+)"?[^\]]*\bshape="?box"?[\s\]]')


def functions(graph):
    """How many times each Function appears in a drawn graph."""
    names = {}
    for name in FUNCTION_NODE.findall(graph.source):
        names[name] = names.get(name, 0) + 1
    return names


x = minidl.randn(2, 3, 7, 7, dtype=np.float64, requires_grad=True)
conv = F.conv2d(x, w, b, stride=2, padding=1)
conv_graph = viz.draw_graph(conv, params={"x": x, "w": w, "b": b})
assert functions(conv_graph) == {"Convolution": 1}    # one Function, three inputs, one output
show(conv_graph)

# %%
lenet = models.get("lenet5")
loss = F.cross_entropy(lenet(minidl.randn(4, 1, 28, 28)), minidl.tensor([0, 1, 2, 3]))
lenet_graph = viz.draw_graph(loss, params=lenet)
print(functions(lenet_graph))
assert functions(lenet_graph) == {"Convolution": 3, "ReLU": 4, "MaxPooling": 2, "Reshape": 1,
                                  "Linear": 2, "CrossEntropy": 1}
show(lenet_graph)

# %% [markdown]
# Thirteen Functions: each has its own hand-written backward, and each was checked with
# `gradcheck` the way the cells above check conv2d, max pooling and batch norm. The weights
# (green) are leaves: backward accumulates their gradients into `.grad` and stops there.

# %% [markdown]
# ## A broken backward, caught
# Here is the square function with the factor 2 forgotten in its backward.

# %%
class BrokenSquare(Function):
    """y = x^2, with a wrong backward: gx = x gy (should be 2 x gy)."""

    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, gy):
        return self.x * gy

x = minidl.randn(5, dtype=np.float64, requires_grad=True)
try:
    minidl.gradcheck(lambda x: BrokenSquare()(x), [x])
except minidl.GradcheckError as error:
    print(error)

# %% [markdown]
# ## Exercises
# 1. Fix `BrokenSquare.backward` and check it again.
# 2. Run gradcheck on `F.max_pool2d` with an input that has ties. What happens, and why?
# 3. Try `minidl.gradcheck` with `eps=1e-2` and `eps=1e-10` on conv2d. Which fails, and why?
