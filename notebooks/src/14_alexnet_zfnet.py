# %% [markdown]
# # 14. AlexNet's ideas, and ZFNet's question: what does a filter respond to?
#
# AlexNet (Krizhevsky, Sutskever & Hinton 2012) won ILSVRC 2012 with 16.4% top-5 error
# against 26% for the runner-up, and most of its ingredients are still in use. ZFNet (Zeiler
# & Fergus 2014) improved it by looking inside. This notebook teaches:
# - **overlapping pooling**: 3x3 windows with stride 2;
# - **local response normalization** (LRN), checked against its formula;
# - **grouped convolution**: the two GPUs of 2012, and what the split saves;
# - **dropout** in the fully connected head, where most of the weights are;
# - ZFNet's question answered on a trained network: the inputs on which a filter responds
#   most, and the patch of each that it sees (`minidl.viz.top_activations`).

# %%
import os

import numpy as np
from IPython.display import display

import minidl
import minidl.functional as F
import minidl.nn as nn
from minidl import data, models, optim, train, viz
from minidl.data import transforms
from minidl.data.datasets import MNISTSubset
from minidl.train import blas_threads

FAST = os.environ.get("MINIDL_FAST") == "1"
minidl.manual_seed(0)
blas_threads()

# %% [markdown]
# ## Overlapping pooling
# AlexNet pools 3x3 windows with stride 2, so neighbouring windows share a row or column;
# the paper reports that this lowered its top-1 and top-5 errors by 0.4% and 0.3% against
# 2x2 windows with stride 2, which give the same output size. On its 55x55 maps both give 27x27:

# %%
maps = minidl.randn(1, 96, 55, 55)
for k, s in ((3, 2), (2, 2)):
    print(f"{k}x{k} windows, stride {s}: 55x55 -> {F.max_pool2d(maps, k, stride=s).shape[-1]}x"
          f"{F.max_pool2d(maps, k, stride=s).shape[-1]}")
assert F.max_pool2d(maps, 3, stride=2).shape == F.max_pool2d(maps, 2, stride=2).shape == (1, 96, 27, 27)
cover = F.col2im(np.ones((1, 9, 4)), (5, 5), (3, 3), stride=2)[0, 0]
print("how many 3x3/2 windows see each pixel of a 5x5 map:\n", cover.astype(int))

# %% [markdown]
# ## Local response normalization
# Each activation is divided by a power of the energy of its n neighbouring channels at the
# same place: b_c = a_c / (k + alpha/n * sum_j a_j^2)^beta over the n channels around c. The
# paper uses n = 5, k = 2, alpha = 1e-4, beta = 0.75 and writes alpha without the division by
# n; PyTorch and minidl divide, so the paper's layer is `LocalResponseNorm(5, alpha=5e-4,
# beta=0.75, k=2)`. A strongly firing channel damps its neighbours: "lateral inhibition".
# The layer against the formula, written out:

# %%
a = minidl.randn(2, 8, 4, 4) * 10
lrn = nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0)
x = a.numpy()
squares = np.pad(x ** 2, ((0, 0), (2, 2), (0, 0), (0, 0)))
window_sums = sum(squares[:, i:i + 8] for i in range(5))
by_formula = x / (2.0 + 1e-4 * window_sums) ** 0.75          # the paper's alpha, undivided
print("largest difference from the formula:", float(np.abs(lrn(a).numpy() - by_formula).max()))
assert np.allclose(lrn(a).numpy(), by_formula)

# %% [markdown]
# Batch norm (2015) replaced LRN: VGG's paper found LRN gave no gain (its configuration
# A-LRN, `models.get("vgg11_lrn")`, has exactly the parameters of A, since LRN has none).
#
# ## Two GPUs: grouped convolutions
# The 2012 network did not fit one 3 GB GPU, so each layer was split in two halves, one per
# GPU; conv2, conv4 and conv5 see only the maps of their own half. In minidl that is
# `groups=2`: each group's filters see C/2 channels, so those layers hold half the weights.

# %%
two_gpus = models.get("alexnet_original")
convs = {name: m for name, m in two_gpus.features.named_children() if isinstance(m, nn.Conv2d)}
for name, conv in convs.items():
    print(f"{name}: {conv.in_channels:>3} -> {conv.out_channels:>3}, groups {conv.groups}, "
          f"weight {tuple(conv.weight.shape)}")
one_tower = nn.Conv2d(96, 256, 5, padding=2)
assert convs["conv2"].weight.numel() * 2 == one_tower.weight.numel()
total = minidl.count_parameters(two_gpus)
head = minidl.count_parameters(two_gpus.classifier)
print(f"\nAlexNet (2012): {total:,} parameters, {head:,} of them ({100 * head / total:.0f}%) "
      "in the three fully connected layers")
assert total == 60_965_224        # the paper's "60 million"

# %% [markdown]
# ## Dropout where the weights are
# The fully connected head holds most of the weights (printed above), and so most of the
# capacity to memorize 1.2 million images; AlexNet applies dropout (p = 0.5) to the outputs
# of its first two fully connected layers, and the paper says that without it the network
# overfitted badly.
# Notebook 6 shows dropout at work on digits.

# %%
print([type(m).__name__ for m in two_gpus.classifier])
assert sum(isinstance(m, nn.Dropout) for m in two_gpus.classifier) == 2
del two_gpus

# %% [markdown]
# ## ZFNet's question: what does a filter respond to?
# Zeiler and Fergus showed, for a filter of a trained network, the inputs that excite it most
# and the patch of each that the filter sees. A filter of the first layer sees a small
# window; one deeper down sees a larger one and responds to larger patterns. A modern
# LeNet-5 trained for a few epochs on the bundled MNIST digits, then for one filter of C1
# (5x5 window) and one of C3 (14x14 window: two 5x5 convolutions with a 2x2 pooling
# between), the 9 test digits on which it fires most and their patches:

# %%
standardize = transforms.Compose([transforms.ToFloat(), transforms.Normalize((0.1307,), (0.3081,))])
train_set = MNISTSubset(train=True, transform=standardize)
test_set = MNISTSubset(train=False, transform=standardize)
if FAST:
    train_set = data.Subset(train_set, np.linspace(0, len(train_set) - 1, 256).astype(int))
    test_set = data.Subset(test_set, np.linspace(0, len(test_set) - 1, 200).astype(int))
minidl.manual_seed(0)
lenet = models.get("lenet5")
optimizer = optim.SGD(lenet.parameters(), lr=0.05, momentum=0.9)
history = train.fit(lenet, data.DataLoader(train_set, batch_size=64, shuffle=True),
                    data.DataLoader(test_set, batch_size=500), optimizer, epochs=1 if FAST else 5,
                    progress=False)
print(f"LeNet-5 test accuracy: {100 * history[-1]['val_acc']:.1f}%")

patch_sizes = {}
for layer, channel in (("c1", 0), ("c3", 0)):
    found = viz.top_activations(lenet, layer, channel, test_set, k=9)
    values = [a.value for a in found]
    assert values == sorted(values, reverse=True)
    boxes = [a.box for a in found if a.box is not None]
    patch_sizes[layer] = np.mean([(bottom - top) * (right - left) for top, left, bottom, right in boxes])
    title = f"{layer}, filter {channel}: its 9 strongest test digits, and the patch it sees"
    display(viz.plot_top_activations(test_set, found, title=title))      # a Figure: shown, not returned
    print(f"{layer} filter {channel}: activations {values[0]:.2f} ... {values[-1]:.2f}, "
          f"mean patch {patch_sizes[layer]:.0f} pixels")
assert patch_sizes["c3"] > 2 * patch_sizes["c1"], patch_sizes

# %% [markdown]
# The C1 filter's patches are small strokes at one orientation, wherever in the digit they
# are; the C3 filter's patches are several times larger (asserted above) and hold parts of
# digits: a stroke with its neighbours. That growth of what a unit sees, and of the pattern
# it stands for, layer after layer, is what ZFNet made visible, and it used the pictures to
# fix AlexNet's first layer (smaller 7x7 filters with stride 2 instead of 11x11 with stride 4).
#
# ## Exercises
# 1. Show the top activations of the other 5 filters of C1. Do they split the orientations
#    between them?
# 2. `viz.saliency(lenet, images)` and `viz.grad_cam(lenet, images, "c3")` (notebook 4) answer
#    the opposite question: for one image, which pixels decide the class. Try them on the
#    digits of the figures above.
# 3. Print `models.get("zfnet").features` and compare conv1 with AlexNet's. How large is each
#    network's first feature map for a 224x224 image?
