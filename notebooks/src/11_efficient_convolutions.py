# %% [markdown]
# # 11. Efficient convolutions: 1x1 bottlenecks, factorization, depthwise separable
#
# After VGG, the classic networks got deeper without getting heavier by changing the shape
# of their convolutions. This notebook counts what each idea saves, with `minidl.summary`
# (parameters and multiply-accumulates, MACs) and with the closed forms:
# - the **1x1 bottleneck** of GoogLeNet and ResNet-50: shrink the channels, convolve, expand;
# - **factorization** (Inception v2/v3): a 5x5 as two 3x3, an n x n as 1 x n then n x 1,
#   seeing the same window with fewer weights;
# - **depthwise-separable** convolution (Xception, MobileNet): one 3x3 filter per channel,
#   then a 1x1 across channels;
# - what that adds up to in whole networks: Inception v3 and Xception against VGG-16.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

import minidl
import minidl.nn as nn
from minidl import models

FAST = os.environ.get("MINIDL_FAST") == "1"
minidl.manual_seed(0)


def cost(module, input_shape):
    """(parameters, MACs) of ``module`` on one input of ``input_shape``, from minidl.summary."""
    table = minidl.summary(module, input_shape, verbose=False)
    return table.total_params, table.total_macs


def receptive_field(module, input_shape):
    """The input pixels that the centre output depends on: where its gradient is non-zero."""
    x = minidl.randn(1, *input_shape, requires_grad=True)
    y = module(x)
    centre = [s // 2 for s in y.shape[2:]]
    y[0, :, centre[0], centre[1]].sum().backward()
    seen = np.abs(x.grad.numpy()[0]).sum(axis=0) > 0
    rows, cols = np.flatnonzero(seen.any(axis=1)), np.flatnonzero(seen.any(axis=0))
    return f"{rows[-1] - rows[0] + 1}x{cols[-1] - cols[0] + 1}"

# %% [markdown]
# ## The 1x1 bottleneck
# ResNet-50's block on a 56x56 map with 256 channels: a 1x1 convolution down to 64
# channels, a 3x3 at 64, a 1x1 back up to 256. Against it, one 3x3 convolution at 256
# channels, which sees the same 3x3 window. Closed forms (no biases): 3x3 at C channels has
# 9C^2 weights; the bottleneck 256*64 + 9*64^2 + 64*256. MACs are weights times the
# 56*56 output positions.

# %%
C, B, HW = 256, 64, 56
direct = nn.Conv2d(C, C, 3, padding=1, bias=False)
bottleneck = nn.Sequential(nn.Conv2d(C, B, 1, bias=False), nn.ReLU(),
                           nn.Conv2d(B, B, 3, padding=1, bias=False), nn.ReLU(),
                           nn.Conv2d(B, C, 1, bias=False))
rows = {}
for name, module, closed_form in [("3x3 at 256 channels", direct, 9 * C * C),
                                  ("bottleneck 256-64-64-256", bottleneck, C * B + 9 * B * B + B * C)]:
    params, macs = cost(module, (C, HW, HW))
    assert params == closed_form and macs == closed_form * HW * HW, name
    rows[name] = (params, macs)
    print(f"{name:<26} {params:>9,} weights {macs / 1e6:>8.1f} M MACs")
saving = rows["3x3 at 256 channels"][0] / rows["bottleneck 256-64-64-256"][0]
print(f"the bottleneck needs {saving:.1f} times fewer weights and MACs")
assert saving > 8

# %% [markdown]
# ## Factorization: the same window, fewer weights
# Two 3x3 convolutions see a 5x5 window (18 weights per channel pair instead of 25); a 1x7
# then a 7x1 see a 7x7 window (14 instead of 49). The window is measured, not assumed: the
# gradient of the centre output marks the input pixels it depends on.

# %%
C = 32
PAIRS = [
    ("5x5", nn.Conv2d(C, C, 5, padding=2, bias=False),
     "two 3x3", nn.Sequential(nn.Conv2d(C, C, 3, padding=1, bias=False),
                              nn.Conv2d(C, C, 3, padding=1, bias=False))),
    ("7x7", nn.Conv2d(C, C, 7, padding=3, bias=False),
     "1x7 then 7x1", nn.Sequential(nn.Conv2d(C, C, (1, 7), padding=(0, 3), bias=False),
                                   nn.Conv2d(C, C, (7, 1), padding=(3, 0), bias=False))),
]
for full_name, full, split_name, split in PAIRS:
    (full_params, _), (split_params, _) = cost(full, (C, 17, 17)), cost(split, (C, 17, 17))
    window_full, window_split = receptive_field(full, (C, 17, 17)), receptive_field(split, (C, 17, 17))
    assert window_full == window_split
    fewer = 100 * (1 - split_params / full_params)
    print(f"{full_name:<4} {full_params:>7,} weights, window {window_full};  {split_name:<13} "
          f"{split_params:>7,} weights, window {window_split}: {fewer:.0f}% fewer")

# %% [markdown]
# ## Depthwise-separable convolution
# A depthwise convolution (`groups=C`) gives each channel its own 3x3 filter and mixes no
# channels: 9C weights. A 1x1 pointwise convolution then mixes the channels: CF weights.
# Against a full 3x3 from C to F channels (9CF) the ratio is 1/F + 1/9: for F = 256, about
# 8.7 times fewer.

# %%
C, F_out, HW = 256, 256, 28
full = nn.Conv2d(C, F_out, 3, padding=1, bias=False)
separable = nn.Sequential(nn.Conv2d(C, C, 3, padding=1, groups=C, bias=False),
                          nn.Conv2d(C, F_out, 1, bias=False))
(full_params, full_macs), (sep_params, sep_macs) = cost(full, (C, HW, HW)), cost(separable, (C, HW, HW))
assert full_params == 9 * C * F_out and sep_params == 9 * C + C * F_out
print(f"full 3x3:            {full_params:>8,} weights {full_macs / 1e6:>7.1f} M MACs")
print(f"depthwise-separable: {sep_params:>8,} weights {sep_macs / 1e6:>7.1f} M MACs")
print(f"ratio {sep_params / full_params:.4f}; closed form 1/F + 1/9 = {1 / F_out + 1 / 9:.4f}")
assert np.isclose(sep_params / full_params, 1 / F_out + 1 / 9)

# %% [markdown]
# ## Whole networks
# The same ideas at network scale: Inception v3 (factorized Inception modules, 299x299) and
# Xception (depthwise-separable throughout, 299x299) against VGG-16 (plain 3x3 stacks and a
# fully connected head, 224x224). Each summary runs one forward pass at full size, a few
# seconds on a CPU; fast mode counts parameters only.

# %%
NETWORKS = [("vgg16", {}, (3, 224, 224)), ("inception_v3", {"aux_logits": False}, (3, 299, 299)),
            ("xception", {}, (3, 299, 299))]
zoo = {}
for name, options, shape in NETWORKS:
    model = models.get(name, **options)
    params = minidl.count_parameters(model)
    macs = np.nan if FAST else minidl.summary(model, shape, verbose=False).total_macs
    zoo[name] = (params, macs)
    print(f"{name:<13} input {'x'.join(map(str, shape)):<10} {params / 1e6:>6.1f} M parameters "
          f"{macs / 1e9:>6.2f} GMACs")
    del model
assert zoo["vgg16"][0] > 5 * max(zoo["inception_v3"][0], zoo["xception"][0])
if not FAST:
    assert zoo["vgg16"][1] > max(zoo["inception_v3"][1], zoo["xception"][1])

fig, ax = plt.subplots(figsize=(6, 3.5))
names = list(zoo)
ax.bar(np.arange(3) - 0.2, [zoo[n][0] / 1e6 for n in names], width=0.4, label="parameters (M)")
if not FAST:
    ax.bar(np.arange(3) + 0.2, [zoo[n][1] / 1e9 * 10 for n in names], width=0.4, label="GMACs x 10")
ax.set_xticks(range(3))
ax.set_xticklabels(names)
ax.grid(alpha=0.3, axis="y")
ax.legend()
ax.set_title("three ImageNet networks")
plt.show()

# %% [markdown]
# VGG-16 carries more than five times the parameters of either (asserted above), most in its
# fully connected head, and (in a full run) more multiply-accumulates per image than either,
# although its input is smaller (both asserted; the figures are those printed above).
# Inception v3 and Xception spend their budget on depth and width of cheap convolutions instead.
#
# ## Exercises
# 1. Replace the bottleneck's 64 by 128 channels. How many weights now, and what is the
#    saving against the direct 3x3?
# 2. Factorize a 3x3 convolution into 1x3 then 3x1. What fraction of the weights is saved,
#    and what is the window?
# 3. Count the parameters of `models.get("xception").entry_flow` (or its first block) with
#    `minidl.count_parameters`, then of the same block with full 3x3 convolutions.
# 4. Time the full 3x3 and the depthwise-separable convolution above on your CPU (one forward
#    pass each). Is the depthwise one 8.7 times faster? Why not (think about how many
#    multiplications each matrix product has to do per byte it reads)?
