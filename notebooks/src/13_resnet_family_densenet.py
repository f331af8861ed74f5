# %% [markdown]
# # 13. The ResNet family and DenseNet
#
# Notebook 8 shows why residual connections let deep networks train. This one walks through
# what came after, each idea on minidl's zoo, each count checked against its paper:
# - the **bottleneck** block of ResNet-50/101/152 against the basic block of ResNet-18/34;
# - **pre-activation** (He et al. 2016): BN and ReLU before each convolution, so the shortcut
#   path carries x untouched from block to block;
# - **wide** ResNets (Zagoruyko & Komodakis 2016): fewer, wider layers;
# - **ResNeXt** (Xie et al. 2017): the same budget split into 32 groups (cardinality);
# - **stochastic depth** (Huang et al. 2016): whole residual branches dropped at random
#   during training;
# - **DenseNet** (Huang et al. 2017): every layer reads all earlier ones, growing the
#   channels by k per layer; transitions and the BC variant keep it small.

# %%
import matplotlib.pyplot as plt
import numpy as np

import minidl
import minidl.nn as nn
from minidl import models
from minidl.models.densenet import DenseBlock
from minidl.models.preact_resnet import PreActBasicBlock
from minidl.models.resnet import BasicBlock, Bottleneck, drop_path_rates

minidl.manual_seed(0)


def params(module):
    return minidl.count_parameters(module)

# %% [markdown]
# ## Basic block and bottleneck
# At 256 channels a basic block (two 3x3 convolutions at 256) would hold 2 x 9 x 256^2
# weights; the bottleneck (1x1 to 64, 3x3 at 64, 1x1 back to 256) about 17 times fewer,
# which is what lets ResNet-50 be deeper than ResNet-34 with little more weight (notebook 11
# counts the same saving in MACs).

# %%
basic = BasicBlock(256, 256)
bottleneck = Bottleneck(256, 64)           # planes 64, expansion 4: 256 channels out
conv_weights = {name: sum(m.weight.numel() for m in block.modules() if isinstance(m, nn.Conv2d))
                for name, block in (("basic", basic), ("bottleneck", bottleneck))}
print(f"convolution weights: basic block at 256 channels {conv_weights['basic']:,}, "
      f"bottleneck 256-64-256 {conv_weights['bottleneck']:,}")
assert conv_weights["basic"] == 2 * 9 * 256 ** 2
assert conv_weights["bottleneck"] == 256 * 64 + 9 * 64 * 64 + 64 * 256
PUBLISHED = {"resnet18": 11.7, "resnet34": 21.8, "resnet50": 25.6, "resnet101": 44.5, "resnet152": 60.2}
for name, millions in PUBLISHED.items():
    count = params(models.get(name))
    print(f"{name:<10} {count:>12,} parameters (torchvision: {millions}M)")
    assert abs(count / 1e6 - millions) < 0.05, name

# %% [markdown]
# ## Pre-activation: a clean path for x
# In the original block the sum is followed by a ReLU, so x is changed at every block. The
# pre-activation block computes x + F(x) with BN and ReLU inside F, so a stack of blocks is
# x plus a sum of residuals: when every residual is zero, the stack is exactly the identity.
# Setting the last convolution of each branch to zero shows the difference:

# %%
x = minidl.randn(2, 16, 8, 8)
original_blocks = nn.Sequential(*[BasicBlock(16, 16) for _ in range(4)])
preact_blocks = nn.Sequential(*[PreActBasicBlock(16, 16) for _ in range(4)])
for block in list(original_blocks) + list(preact_blocks):
    nn.init.zeros_(block.conv2.weight)
original_blocks.eval(), preact_blocks.eval()
with minidl.no_grad():
    through_original, through_preact = original_blocks(x).numpy(), preact_blocks(x).numpy()
print("pre-activation stack, zero residuals: output equals input:", np.array_equal(through_preact, x.numpy()))
print("original stack, zero residuals: output equals relu(input):",
      np.array_equal(through_original, np.maximum(x.numpy(), 0)))
assert np.array_equal(through_preact, x.numpy())
assert np.array_equal(through_original, np.maximum(x.numpy(), 0))

# %% [markdown]
# ## Wide, and many groups
# Wide ResNets trade depth for width: WRN-28-10 has 28 layers, 10 times the channels of a
# CIFAR ResNet, and 36.5M parameters against ResNet-110's 1.7M; on CIFAR it is more accurate
# and, its layers being wider, faster on a GPU. ResNeXt-50 (32x4d) keeps ResNet-50's layout
# and budget, but its 3x3 convolutions are split into 32 groups of 4 channels per 64: about
# the same parameters (25.0M against 25.6M), better accuracy in the paper.

# %%
PUBLISHED = {"resnet110": 1.7, "preact_resnet164": 1.7, "wrn_28_10": 36.5, "resnext50_32x4d": 25.0,
             "wide_resnet50_2": 68.9}
for name, millions in PUBLISHED.items():
    count = params(models.get(name))
    print(f"{name:<17} {count:>12,} parameters (paper: {millions}M)")
    assert abs(count / 1e6 - millions) < 0.06, name
grouped = models.get("resnext50_32x4d").layer1[0].conv2
print(f"ResNeXt's first grouped 3x3: {grouped.in_channels} -> {grouped.out_channels} channels "
      f"in {grouped.groups} groups, weight {tuple(grouped.weight.shape)}")

# %% [markdown]
# ## Stochastic depth
# During training each residual branch is dropped, for a whole sample, with a probability
# that grows linearly from the first block to `drop_path_rate` at the last; a kept branch is
# scaled by 1 / (1 - p), so its expected value is unchanged, and in evaluation nothing is
# dropped. The rates of a 54-block network with `drop_path_rate=0.5` (ResNet-110's 54 blocks,
# as in the paper), and what one block does to 10,000 samples:

# %%
rates = drop_path_rates(0.5, 54)
print(f"first block {rates[0]:.4f}, middle {rates[26]:.3f}, last {rates[-1]:.2f}")
assert np.isclose(rates[-1], 0.5) and np.allclose(np.diff(rates), 0.5 / 54)
drop = nn.DropPath(0.3)
branch = minidl.ones(10_000, 4)
kept = (drop(branch).numpy()[:, 0] > 0).mean()
print(f"DropPath(0.3) in training keeps {100 * kept:.1f}% of the samples, scaled by "
      f"{drop(branch).numpy().max():.4f} (1 / 0.7 = {1 / 0.7:.4f})")
assert abs(kept - 0.7) < 0.02
drop.eval()
assert np.array_equal(drop(branch).numpy(), branch.numpy())
plt.figure(figsize=(6, 3))
plt.plot(range(1, 55), rates, marker=".")
plt.xlabel("block")
plt.ylabel("probability of dropping")
plt.title("stochastic depth: the linear decay rule")
plt.grid(alpha=0.3)
plt.show()

# %% [markdown]
# ## DenseNet: growth rate, transitions, bottleneck and compression
# A dense block's layer l reads the concatenation of the block's input and all l - 1
# earlier outputs, and adds k channels (the growth rate): a block of L layers turns C
# channels into C + L k. A transition (1x1 convolution, 2x2 average pooling) between blocks
# halves the size and, in DenseNet-BC, also the channels (compression 0.5); the B is a 1x1
# bottleneck to 4k channels before each 3x3.

# %%
block = DenseBlock(num_layers=6, in_channels=24, growth_rate=12, bn_size=None)
with minidl.no_grad():
    out = block(minidl.randn(1, 24, 8, 8))
print(f"a dense block of 6 layers, k = 12, on 24 channels: {out.shape[1]} channels out")
assert out.shape[1] == 24 + 6 * 12
PUBLISHED = {"densenet_L40_k12_cifar": 1.0, "densenet_bc_L100_k12_cifar": 0.8, "densenet121": 8.0}
for name, millions in PUBLISHED.items():
    count = params(models.get(name))
    print(f"{name:<27} {count:>11,} parameters (paper: {millions}M)")
    assert abs(count / 1e6 - millions) < 0.05, name

# %% [markdown]
# DenseNet-BC with 100 layers holds fewer parameters than the 40-layer DenseNet: the
# bottlenecks and the compression at each transition pay for the extra depth (the paper's
# Table 2 puts it ahead on CIFAR as well).
#
# ## Exercises
# 1. Build `models.get("resnet56", drop_path_rate=0.2)` and check that two forward passes in
#    training mode differ while two in evaluation mode agree.
# 2. How many channels leave each dense block of DenseNet-121 (k = 32, blocks of 6, 12, 24, 16
#    layers, 64 channels in, compression 0.5)? Check with `minidl.summary`.
# 3. Count the weights of ResNeXt-50's first grouped 3x3 convolution by hand and check them
#    against `grouped.weight.numel()`.
