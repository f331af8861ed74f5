# %% [markdown]
# # 10. Activation functions
#
# A convolution and a linear layer are linear maps; the activation between them is what
# lets a stack of them compute anything else. This notebook teaches:
# - the shapes and the derivatives of sigmoid, tanh, ReLU, leaky ReLU, ELU and maxout,
#   each derivative computed by minidl's backward and checked against its closed form;
# - saturation: where sigmoid and tanh have almost no gradient, and what that does to the
#   first layer of a deep network (measured on real digits);
# - why stacked convolutions need an activation: two 3x3 convolutions with nothing between
#   them are exactly one 5x5 convolution.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

import minidl
import minidl.functional as F
import minidl.nn as nn
from minidl.data.datasets import MNISTSubset

FAST = os.environ.get("MINIDL_FAST") == "1"
minidl.manual_seed(0)

# %% [markdown]
# ## Shapes and derivatives
# Each function runs forward on a grid of inputs, then `backward()` gives its derivative at
# every point (the sum of the outputs has gradient 1 on each). The closed forms beside them:
# sigmoid' = s(1 - s), tanh' = 1 - tanh^2, ReLU' = 1 for x > 0 else 0, leaky ReLU' = 1 or
# 0.01, ELU' = 1 or e^x. The grid avoids x = 0, where ReLU has a kink and no derivative.

# %%
x_grid = np.linspace(-5, 5, 400) + 1e-3           # no point exactly at the kink
ACTIVATIONS = {
    "sigmoid": (F.sigmoid, lambda x: (s := 1 / (1 + np.exp(-x))) * (1 - s)),
    "tanh": (F.tanh, lambda x: 1 - np.tanh(x) ** 2),
    "ReLU": (F.relu, lambda x: (x > 0).astype(float)),
    "leaky ReLU": (F.leaky_relu, lambda x: np.where(x > 0, 1.0, 0.01)),
    "ELU": (F.elu, lambda x: np.where(x > 0, 1.0, np.exp(x))),
}
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
for name, (f, closed_form) in ACTIVATIONS.items():
    x = minidl.tensor(x_grid, requires_grad=True)
    y = f(x)
    y.sum().backward()
    derivative = x.grad.numpy()
    assert np.allclose(derivative, closed_form(x_grid), atol=1e-6), name
    axes[0].plot(x_grid, y.numpy(), label=name)
    axes[1].plot(x_grid, derivative, label=name)
    print(f"{name:<11} largest derivative {derivative.max():.3f}, at x = 5: {derivative[-1]:.4f}, "
          f"at x = -5: {derivative[0]:.4f}")
axes[0].set(title="f(x)", xlabel="x", ylim=(-1.5, 5))
axes[1].set(title="f'(x), from backward()", xlabel="x")
for ax in axes:
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# Every derivative equals its closed form (asserted above). Sigmoid's largest derivative is
# 1/4, at 0; tanh's is 1. Both fall towards 0 on either side: at |x| = 5 they pass on less
# than a hundredth of the gradient. ReLU passes all of it for x > 0 and none for x < 0;
# leaky ReLU and ELU keep a little on the negative side, so a unit that is off still learns.

# %%
sigmoid_grad = ACTIVATIONS["sigmoid"][1]
assert abs(sigmoid_grad(np.array([0.0]))[0] - 0.25) < 1e-12
assert sigmoid_grad(np.array([5.0]))[0] < 0.01 and 1 - np.tanh(5.0) ** 2 < 0.01

# %% [markdown]
# ## Maxout
# Maxout (Goodfellow et al. 2013) is not a fixed curve: it takes the maximum over groups of
# channels, so a layer learns its own piecewise-linear activation. Its gradient goes to the
# channel that won, as max pooling's does. Here 6 channels in groups of 3 give 2:

# %%
x = minidl.tensor(np.array([[1.0, 4.0, 2.0, -3.0, -1.0, -2.0]]), requires_grad=True)
y = F.maxout(x, 3)
y.sum().backward()
print("input     ", x.numpy()[0])
print("maxout(3) ", y.numpy()[0])
print("gradient  ", x.grad.numpy()[0])
assert y.numpy()[0].tolist() == [4.0, -1.0] and x.grad.numpy()[0].tolist() == [0, 1, 0, 0, 1, 0]

# %% [markdown]
# ## Saturation in a deep network
# The chain rule multiplies one activation derivative per layer. With sigmoid that factor is
# at most 1/4, so the gradient reaching the first layer of a deep sigmoid network shrinks
# geometrically; ReLU's factor is 1 where the unit is on. Two 10-layer MLPs (784 -> 10 x 256
# -> 10), the same default initialization and the same 256 real digits, one backward pass
# each: the mean |gradient| of each layer's weights.

# %%
digits = MNISTSubset(train=True)
pick = np.linspace(0, len(digits) - 1, 256).astype(int)
images = np.stack([np.asarray(digits[int(i)][0], dtype=np.float32) for i in pick]) / 255
labels = np.array([int(digits[int(i)][1]) for i in pick])


def deep_mlp(activation, depth=10, width=256):
    layers, inputs = [nn.Flatten()], 784
    for _ in range(depth):
        layers += [nn.Linear(inputs, width), activation()]
        inputs = width
    return nn.Sequential(*layers, nn.Linear(inputs, 10))


layer_grads = {}
for name, activation in (("sigmoid", nn.Sigmoid), ("ReLU", nn.ReLU)):
    minidl.manual_seed(0)
    model = deep_mlp(activation)
    F.cross_entropy(model(minidl.tensor(images)), minidl.tensor(labels)).backward()
    layer_grads[name] = [float(np.abs(m.weight.grad.numpy()).mean())
                         for m in model.modules() if isinstance(m, nn.Linear)]
    print(f"{name:<8} mean |gradient| of the weights, first layer {layer_grads[name][0]:.1e}, "
          f"last layer {layer_grads[name][-1]:.1e}")

plt.figure(figsize=(7, 3.8))
for name, values in layer_grads.items():
    plt.semilogy(range(1, len(values) + 1), values, marker="o", label=name)
plt.xlabel("layer (1 = nearest the input)")
plt.ylabel("mean |dL/dW|")
plt.title("gradient reaching each layer, one batch of 256 digits")
plt.grid(alpha=0.3, which="both")
plt.legend()
plt.show()
ratio = layer_grads["ReLU"][0] / layer_grads["sigmoid"][0]
print(f"the ReLU network's first layer gets {ratio:,.0f} times the gradient of the sigmoid network's")
assert ratio > 100, "sigmoid's derivative of at most 1/4 per layer starves the first layer"

# %% [markdown]
# In the sigmoid network the gradient falls by orders of magnitude from the last layer to
# the first (the figure and the assertion above): its first layers would barely move. The
# ReLU network's gradient falls too, far less: the default initialization (variance
# 1/(3 fan-in)) shrinks the signal a little at every layer, which Kaiming's initialization
# (variance 2/fan-in, notebook 5) is designed to prevent. That is
# the vanishing gradient that made deep networks hard to train before ReLU (AlexNet, 2012)
# and, for deeper still, batch norm and residual connections (notebooks 6 and 8).
#
# ## Why stacked convolutions need an activation
# A convolution is linear, and so is a stack of them: two 3x3 convolutions in a row equal
# one 5x5 convolution whose kernel is the two kernels convolved with each other,
# c[u, v] = sum over (i, j) of a[i, j] b[u - i, v - j]. Nothing is gained in what the
# network can compute, only in weights (18 instead of 25, VGG's argument in notebook 7).

# %%
rng = np.random.default_rng(0)
a, b = rng.normal(size=(3, 3)), rng.normal(size=(3, 3))
c = np.zeros((5, 5))
for i in range(3):
    for j in range(3):
        c[i:i + 3, j:j + 3] += a[i, j] * b
x = minidl.tensor(rng.normal(size=(1, 1, 12, 12)))
two_convs = F.conv2d(F.conv2d(x, minidl.tensor(a[None, None])), minidl.tensor(b[None, None]))
one_conv = F.conv2d(x, minidl.tensor(c[None, None]))
print("two 3x3 convolutions:", two_convs.shape, " one 5x5 convolution:", one_conv.shape)
print("largest difference:", float(np.abs(two_convs.numpy() - one_conv.numpy()).max()))
assert np.allclose(two_convs.numpy(), one_conv.numpy())

with_relu = F.conv2d(F.relu(F.conv2d(x, minidl.tensor(a[None, None]))), minidl.tensor(b[None, None]))
# The best any 5x5 kernel can do against the ReLU stack: least squares over all output positions.
windows = F.im2col(x, 5)[0]                          # (25, 8 * 8): one column per window
best, *_ = np.linalg.lstsq(windows.T, with_relu.numpy().ravel(), rcond=None)
residual = np.linalg.norm(windows.T @ best - with_relu.numpy().ravel()) / np.linalg.norm(with_relu.numpy())
print(f"with a ReLU between them, the best single 5x5 kernel still misses {100 * residual:.0f}% "
      f"of the output (relative error)")
assert residual > 0.1

# %% [markdown]
# With a ReLU between the two convolutions no 5x5 kernel reproduces the stack (the best one,
# fitted by least squares, misses by the printed relative error): the activation is what makes
# depth add something.
#
# ## Exercises
# 1. Repeat the deep-MLP experiment with tanh and with leaky ReLU. Where does tanh fall between
#    sigmoid and ReLU, and why (its largest derivative is 1, not 1/4)?
# 2. Initialize the sigmoid network's weights with `nn.init.xavier_normal_`. Does the first
#    layer's gradient grow? By how much?
# 3. Show that a stack of two `nn.Linear` layers without an activation equals one `nn.Linear`:
#    compute its weight and bias from the two layers' and compare the outputs.
# 4. In the maxout example, which input gets the gradient when two channels of a group tie?
