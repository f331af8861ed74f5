# %% [markdown]
# # 7. The classic architectures, side by side
#
# From LeNet-5 (1998) to ResNet-152 (2015) the ILSVRC top-5 error fell from 28.2% to
# 3.57%. This notebook puts the networks of that story next to each other and teaches:
# - how to read a `summary` table: output shapes, parameters and multiply-accumulates (MACs);
# - why convolutions need so few parameters (the 1000x1000 image of the slides);
# - VGG's idea: three 3x3 convolutions see as much as one 7x7, with 27C² weights instead of 49C²;
# - the 1x1 convolution (NIN) and the inception module (GoogLeNet) built on it;
# - the residual block (ResNet), which can always fall back to the identity;
# - parameters and MACs of AlexNet, VGG-11..19, NIN, GoogLeNet, Inception v3,
#   ResNet-18..152 and DenseNet-121, against the top-5 errors of the slides.

# %%
import os
import time

import matplotlib.pyplot as plt
from matplotlib.transforms import Bbox
import numpy as np

import minidl
import minidl.nn as nn
from minidl import models
from minidl.models.googlenet import Inception
from minidl.models.resnet import BasicBlock

FAST = os.environ.get("MINIDL_FAST") == "1"
minidl.manual_seed(0)

# %% [markdown]
# ## Why convolutions: a 1000x1000 image
# Connect a 1000x1000 grey image to a layer of one million hidden units:
# - **fully connected**: every unit sees every pixel, 10^6 x 10^6 = 10^12 weights;
# - **locally connected**: every unit sees only a 10x10 patch, 10^6 x 100 = 10^8 weights;
# - **convolutional**: the units of a map share one 10x10 filter across the image, so
#   100 filters (100 feature maps) cost only 100 x 100 = 10^4 weights.
#
# The first two are arithmetic (no computer holds 10^12 weights); the third is a layer we can build.

# %%
pixels = hidden = 1000 * 1000
conv = nn.Conv2d(1, 100, kernel_size=10, bias=False)
for what, weights in [("fully connected", pixels * hidden),
                      ("locally connected, 10x10 patches", hidden * 10 * 10),
                      ("convolutional, 100 filters of 10x10", minidl.count_parameters(conv))]:
    print(f"{what:<38} {weights:>18,} weights  (10^{np.log10(weights):.0f})")

# %% [markdown]
# ## Reading a summary: LeNet-5
# `minidl.summary(model, input_shape)` runs one forward pass on a zero image and lists,
# per layer, the output shape, the parameters and the multiply-accumulates (MACs) per image.
# A convolution costs OH x OW x F x C x KH x KW MACs: its weights are few, but each is used
# at every position of the map. A linear layer uses each weight once.

# %%
lenet = models.get("lenet5")
lenet_summary = minidl.summary(lenet, (1, 28, 28))

# %% [markdown]
# ## VGG: three 3x3 convolutions instead of one 7x7
# Two stacked 3x3 convolutions see a 5x5 window of the input, three see 7x7. With C
# channels in and out, three 3x3 layers hold 3 x 9 C² = 27C² weights, one 7x7 layer
# 49C², and the stack puts three ReLUs where the 7x7 has one.
#
# To see the window, take the gradient of one output pixel with respect to the input:
# it is non-zero exactly where the pixel looks.

# %%
C = 64
three_3x3 = nn.Sequential(*[m for _ in range(3) for m in (nn.Conv2d(C, C, 3, padding=1, bias=False),
                                                          nn.ReLU())])
one_7x7 = nn.Sequential(nn.Conv2d(C, C, 7, padding=3, bias=False), nn.ReLU())
print(f"C = {C}: three 3x3 layers {minidl.count_parameters(three_3x3):,} weights = 27C² = {27 * C * C:,}; "
      f"one 7x7 layer {minidl.count_parameters(one_7x7):,} = 49C² = {49 * C * C:,}")

fig, axes = plt.subplots(1, 2, figsize=(7, 3.5))
for ax, (name, net) in zip(axes, [("three 3x3", three_3x3), ("one 7x7", one_7x7)]):
    # positive weights, so that no ReLU on the way is off and the whole window shows
    for p in net.parameters():
        p.data[...] = np.abs(p.data)
    x = minidl.rand(1, C, 15, 15, requires_grad=True)
    net(x)[0, 0, 7, 7].backward()
    seen = np.abs(x.grad.numpy()[0]).sum(axis=0) > 0
    rows, cols = np.nonzero(seen)
    print(f"{name}: the centre pixel sees a {np.ptp(rows) + 1}x{np.ptp(cols) + 1} window of the input")
    ax.imshow(seen, cmap="Greys")
    ax.set_title(f"{name}: input pixels seen")
plt.show()

# %% [markdown]
# ## The 1x1 convolution
# A 1x1 convolution is one matrix product over the channels, applied at every pixel:
# NIN's "mlpconv" and GoogLeNet's reductions use it to mix and shrink the channels
# (here 256 -> 64) without looking at the neighbours.

# %%
x = minidl.randn(1, 256, 28, 28)
reduce = nn.Conv2d(256, 64, kernel_size=1)
W = reduce.weight.numpy().reshape(64, 256)
by_matrix = (W @ x.numpy().reshape(256, 28 * 28) + reduce.bias.numpy()[:, None]).reshape(1, 64, 28, 28)
print("1x1 convolution equals W (64x256) @ x (256 x 784 pixels):",
      np.allclose(reduce(x).numpy(), by_matrix, atol=1e-4))
print(f"weights: {minidl.count_parameters(reduce):,} (a 3x3 layer 256->64 would hold "
      f"{minidl.count_parameters(nn.Conv2d(256, 64, 3)):,})")

# %% [markdown]
# ## The inception module
# GoogLeNet runs 1x1, 3x3 and 5x5 convolutions and a 3x3 max-pool side by side and
# joins their maps along the channels. Done naively the 3x3 and 5x5 branches on 192
# channels are expensive; a 1x1 convolution in front of each ("reduction") makes them
# cheap. Here is GoogLeNet's inception (3a) on its 192x28x28 input, with and without
# the reductions.

# %%
class NaiveInception(nn.Module):
    """The four branches of inception (3a) without the 1x1 reductions (and without batch norm)."""

    def __init__(self, c_in=192):
        super().__init__()
        self.branch1 = nn.Conv2d(c_in, 64, 1)
        self.branch2 = nn.Conv2d(c_in, 128, 3, padding=1)
        self.branch3 = nn.Conv2d(c_in, 32, 5, padding=2)
        self.branch4 = nn.MaxPool2d(3, stride=1, padding=1)

    def forward(self, x):
        return minidl.concat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], axis=1)


inception_3a = Inception(192, 64, 96, 128, 16, 32, 32)
reduced = minidl.summary(inception_3a, (192, 28, 28))
naive = minidl.summary(NaiveInception(), (192, 28, 28), verbose=False)
print(f"\nnaive module: {naive.total_params:,} parameters, "
      f"{naive.total_macs / 1e6:,.0f}M MACs; with 1x1 reductions: {reduced.total_params:,} parameters, "
      f"{reduced.total_macs / 1e6:,.0f}M MACs")

# %% [markdown]
# The naive module also outputs all 192 input channels through its pooling branch, so
# every module would make the maps wider; the 1x1 projection after the pool (32 channels)
# keeps the width under control.
#
# ## The residual block
# A ResNet block computes y = relu(F(x) + x): two 3x3 convolutions F and a shortcut that
# adds the input back. If the best thing a block can do is nothing, it only has to drive
# F to zero, which is easy (here: zero the last batch-norm scale); a plain stack of
# convolutions would have to learn the identity through its weights.

# %%
block = BasicBlock(64, 64)
block.eval()
x = minidl.rand(2, 64, 8, 8)       # non-negative, like the output of the ReLU before a block
with minidl.no_grad():
    print("a random block changes its input by", float(np.abs((block(x) - x).numpy()).max()))
    block.bn2.weight.data[...] = 0
    print("with bn2's scale at zero, F(x) = 0 and the block is the identity:",
          np.allclose(block(x).numpy(), x.numpy()))

# %% [markdown]
# ## The zoo: parameters and multiply-accumulates
# Each network is built as usual (VGG-19 draws 144 million random initial weights, a few
# seconds on a CPU). The MACs come from `summary`'s forward pass at each network's input
# size (224x224, 227x227 for the original AlexNet, 299x299 for Inception v3): a few
# seconds each for the VGGs; in fast mode those passes are skipped.

# %%
# (name in the registry, options, input shape, year, ILSVRC top-5 error of the slides in %)
ZOO = [
    ("lenet5", {}, (1, 28, 28), 1998, None),
    ("alexnet_original", {}, (3, 227, 227), 2012, 16.4),
    ("alexnet", {}, (3, 224, 224), 2012, None),
    ("zfnet", {}, (3, 224, 224), 2013, 11.7),
    ("nin", {"variant": "imagenet"}, (3, 224, 224), 2013, None),
    ("vgg11", {}, (3, 224, 224), 2014, None),
    ("vgg11_lrn", {}, (3, 224, 224), 2014, None),
    ("vgg13", {}, (3, 224, 224), 2014, None),
    ("vgg16_c", {}, (3, 224, 224), 2014, None),
    ("vgg16", {}, (3, 224, 224), 2014, None),
    ("vgg19", {}, (3, 224, 224), 2014, 7.3),
    ("googlenet", {"aux_logits": False}, (3, 224, 224), 2014, 6.7),
    ("inception_v3", {"aux_logits": False}, (3, 299, 299), 2015, None),
    ("resnet18", {}, (3, 224, 224), 2015, None),
    ("resnet34", {}, (3, 224, 224), 2015, None),
    ("resnet50", {}, (3, 224, 224), 2015, None),
    ("resnet101", {}, (3, 224, 224), 2015, None),
    ("resnet152", {}, (3, 224, 224), 2015, 3.57),
    ("densenet121", {}, (3, 224, 224), 2016, None),
]

if FAST:        # the members between the first and last of each family are skipped
    ZOO = [z for z in ZOO if z[0] not in ("vgg11_lrn", "vgg13", "vgg16_c", "vgg16", "resnet34", "resnet101")]

rows = []
print(f"{'model':<17} {'year':>4} {'input':>11} {'layers':>6} {'params':>13} {'GMACs':>7} "
      f"{'top-5':>6} {'time':>6}")
for name, options, shape, year, top5 in ZOO:
    start = time.perf_counter()
    model = models.get(name, **options)
    params = minidl.count_parameters(model)
    layers = sum(isinstance(m, (nn.Conv2d, nn.Linear)) for m in model.modules())
    macs = np.nan
    if not FAST or shape[-1] < 64:
        macs = minidl.summary(model, shape, verbose=False).total_macs
    seconds = time.perf_counter() - start
    rows.append(dict(name=name, year=year, params=params, macs=macs, top5=top5, layers=layers))
    print(f"{name:<17} {year:>4} {'x'.join(map(str, shape)):>11} {layers:>6} {params:>13,} "
          f"{macs / 1e9:>7.2f} {top5 if top5 else '':>6} {seconds:>5.1f}s")
    if name == "vgg19":
        vgg19 = model

# %% [markdown]
# "layers" counts the convolution and linear layers (the weighted layers of the papers:
# AlexNet 8, VGG-19 19, GoogLeNet 22 deep though 58 counted here because its branches run
# side by side, ResNet-152 152 + its projection shortcuts).
#
# What the table says:
# - most of AlexNet's and VGG's parameters sit in the fully connected head
#   (VGG-19: 103M of 144M in its first linear layer, 25,088 -> 4,096, printed below);
# - the cost is in the convolutions: VGG-16 spends 15.5 GMACs per image, AlexNet 0.7;
# - GoogLeNet, with global average pooling instead of a fully connected head, needs about
#   a tenth of AlexNet's parameters (the slides' 4-5M against 60M) and is more accurate;
# - ResNet-152 is deeper than VGG-19 by a factor of 8, yet has fewer parameters and MACs.

# %%
first_fc = vgg19.classifier[0]
head, total = minidl.count_parameters(first_fc), minidl.count_parameters(vgg19)
print(f"VGG-19: first linear layer {first_fc.in_features:,} -> {first_fc.out_features:,} holds "
      f"{head:,} of {total:,} parameters ({100 * head / total:.0f}%)")
del vgg19

# The claims above, checked on the table this run built.
table = {r["name"]: r for r in rows}
assert head > 0.7 * total
assert table["googlenet"]["params"] < table["alexnet_original"]["params"] / 8
assert table["resnet152"]["layers"] > 8 * table["vgg19"]["layers"]
assert table["resnet152"]["params"] < table["vgg19"]["params"]
if not FAST:    # fast mode skips the MACs of the large inputs
    assert abs(table["vgg16"]["macs"] / 1e9 - 15.5) < 0.05
    assert abs(table["alexnet"]["macs"] / 1e9 - 0.71) < 0.01
    assert table["resnet152"]["macs"] < table["vgg19"]["macs"]

# %% [markdown]
# ## Top-5 error against size and cost
# The ILSVRC top-5 errors of the slides, year by year, then against the parameters and
# the MACs of the networks built above. The errors are the competition entries
# (ensembles of several networks and many crops), not the single networks of this table;
# 2010 and 2011 were won without CNNs.

# %%
history = [("2010", 28.2), ("2011", 25.8), ("AlexNet\n2012", 16.4), ("ZFNet\n2013", 11.7),
           ("VGG\n2014", 7.3), ("GoogLeNet\n2014", 6.7), ("ResNet\n2015", 3.57)]
with_error = [r for r in rows if r["top5"] is not None]
fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
axes[0].bar([h[0] for h in history], [h[1] for h in history], color=["grey"] * 2 + ["tab:blue"] * 5)
for i, (_, error) in enumerate(history):
    axes[0].text(i, error + 0.5, f"{error}", ha="center")
axes[0].set(title="ILSVRC top-5 error (%)", ylabel="top-5 error (%)")
axes[0].tick_params(axis="x", labelsize=8)
for ax, key, unit, label in [(axes[1], "params", 1e6, "parameters (millions)"),
                             (axes[2], "macs", 1e9, "multiply-accumulates per image (G)")]:
    ax.scatter([r[key] / unit for r in with_error], [r["top5"] for r in with_error], s=60)
    for r in with_error:
        ax.annotate(r["name"], (r[key] / unit, r["top5"]), textcoords="offset points", xytext=(5, 5))
    ax.set(xlabel=label, ylabel="top-5 error (%)", title=f"top-5 error against {label.split(' (')[0]}")
    ax.grid(alpha=0.3)
plt.tight_layout()
plt.show()

# %% [markdown]
# And the whole zoo, parameters against MACs (log scales): the VGGs are the heavy corner
# on both axes; GoogLeNet, Inception v3, the ResNets and DenseNet buy depth with
# convolutions instead of fully connected layers.

# %%
measured = [r for r in rows if not np.isnan(r["macs"])]
FAMILIES = {"lenet": "LeNet", "alexnet": "AlexNet / ZFNet", "zfnet": "AlexNet / ZFNet", "nin": "NIN",
            "vgg": "VGG (A, A-LRN, B, C, D, E)", "googlenet": "GoogLeNet / Inception v3",
            "inception": "GoogLeNet / Inception v3", "resnet": "ResNet", "densenet": "DenseNet"}


def family(name):
    return next(f for prefix, f in FAMILIES.items() if name.startswith(prefix))


def unoverlap(ax, texts, points, step=8):
    """Slide each label up or down (in points), nearest first, until it overlaps no marker and no
    label placed before it; a thin line joins a moved label to its point."""
    renderer = ax.figure.canvas.get_renderer()
    to_pixels = ax.transData.transform
    placed = [Bbox.from_extents(x - 5, y - 5, x + 5, y + 5) for x, y in to_pixels(points)]
    for text in texts:
        x, y = text.get_position()
        for shift in [0] + [sign * k * step for k in range(1, 40) for sign in (1, -1)]:
            text.set_position((x, y + shift))
            if not any(text.get_window_extent(renderer).overlaps(box) for box in placed):
                break
        if shift:
            ax.annotate("", text.xy, xytext=text.get_position(), textcoords="offset points",
                        arrowprops=dict(arrowstyle="-", color=text.get_color(), lw=0.5, shrinkA=0, shrinkB=3))
        placed.append(text.get_window_extent(renderer))


fig, ax = plt.subplots(figsize=(9, 6))
colours = dict(zip(dict.fromkeys(FAMILIES.values()), plt.get_cmap("tab10").colors))
for name in colours:
    members = [r for r in measured if family(r["name"]) == name]
    if members:
        ax.scatter([r["macs"] / 1e9 for r in members], [r["params"] / 1e6 for r in members],
                   color=colours[name], s=50, label=name)
ordered = sorted(measured, key=lambda r: (r["params"], r["macs"]))
points = [(r["macs"] / 1e9, r["params"] / 1e6) for r in ordered]
texts = [ax.annotate(r["name"], point, textcoords="offset points", xytext=(7, -3), fontsize=8,
                     color=colours[family(r["name"])]) for r, point in zip(ordered, points)]
ax.set(xscale="log", yscale="log", xlabel="GMACs per image", ylabel="parameters (millions)",
       title="parameters against multiply-accumulates" + (" (fast mode: small inputs only)" if FAST else ""))
ax.grid(alpha=0.3, which="both")
ax.legend(fontsize=8, loc="lower right", title="family")
ax.set_ylim(top=1000)     # room above the VGGs for their labels
fig.canvas.draw()
unoverlap(ax, texts, points)
plt.show()

# %% [markdown]
# ## Exercises
# 1. Count the weights of two 5x5 layers against one 9x9 (C channels in and out). Which
#    window do two 5x5 layers see? Check it with the gradient trick above.
# 2. Print `minidl.summary(models.get("vgg16"), (3, 224, 224))` (takes a few seconds). Which
#    layer holds the most parameters, and which costs the most MACs?
# 3. Compute the MACs of inception (3a) branch by branch, by hand, with and without the
#    reductions, and compare with the summary above.
# 4. Replace VGG-16's fully connected head by global average pooling and one linear layer
#    512 -> 1000 (as GoogLeNet and ResNet do). How many parameters are left?
# 5. Why does `layers` for ResNet-50 exceed 50? (Look for the 1x1 convolutions on the shortcuts.)
