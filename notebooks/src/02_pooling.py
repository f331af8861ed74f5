# %% [markdown]
# # 2. Pooling
#
# This notebook teaches:
# - max pooling and average pooling, and the Lab 02 demo `nn.MaxPool2d(2, 2)` on a 2x6x6 input;
# - the 6x6 -> 3x3 example of the slides, with the slides' numbers;
# - why pooling helps: halving the size cuts the cost, and the maximum of a window
#   barely moves when the picture shifts by a pixel. We check that on a real digit.

# %%
import matplotlib.pyplot as plt
import numpy as np

import minidl
import minidl.functional as F
import minidl.nn as nn
from minidl.data.datasets import MNISTSubset

minidl.manual_seed(0)

# %% [markdown]
# ## The slides' 6x6 example: 2x2 max pooling with stride 2
# Every 2x2 block is replaced by its largest value. The lecture's activation map
# (CS5242 lecture 8, "Pooling layer in PyTorch") and the 3x3 map the slide gives:

# %%
a = np.array([[3, 3, 0, 1, 1, 1],
              [7, 2, 1, 1, 5, 2],
              [7, 9, 1, 0, 5, 6],
              [5, 6, 1, 0, 3, 2],
              [9, 7, 0, 0, 0, 0],
              [4, 7, 0, 0, 0, 1]], dtype=np.float32)
slide = np.array([[7, 1, 5],
                  [9, 1, 6],
                  [9, 0, 1]], dtype=np.float32)
y = F.max_pool2d(minidl.tensor(a[None, None]), 2)
by_hand = a.reshape(3, 2, 3, 2).max(axis=(1, 3))
print(y.numpy()[0, 0])
assert np.array_equal(y.numpy()[0, 0], by_hand), "max_pool2d differs from the block maxima"
assert np.array_equal(y.numpy()[0, 0], slide), "max_pool2d differs from the slide"
print("equal to the block maxima and to the slide's 3x3 map")

# %% [markdown]
# ## Lab 02: `nn.MaxPool2d(2, 2)` on a 1x2x6x6 input
# Pooling works on each channel separately: 2 channels in, 2 channels out, each 3x3.

# %%
pool = nn.MaxPool2d(2, 2)
x = minidl.rand(1, 2, 6, 6)
print(pool)
print("input", x.shape, "-> output", pool(x).shape)

# %% [markdown]
# ## Max or average?
# Average pooling keeps the mean of each window instead. On a real digit, max
# pooling keeps the strokes bright; average pooling blurs them.

# %%
digits = MNISTSubset(train=False)
image, label = digits[0]
image = np.asarray(image, dtype=np.float32).reshape(1, 1, 28, 28)
x = minidl.tensor(image)
fig, axes = plt.subplots(1, 3, figsize=(9, 3))
for ax, (title, picture) in zip(axes, [("input 28x28", image),
                                       ("max pool 2x2 -> 14x14", F.max_pool2d(x, 2).numpy()),
                                       ("average pool 2x2 -> 14x14", F.avg_pool2d(x, 2).numpy())]):
    ax.imshow(picture[0, 0], cmap="gray")
    ax.set_title(title)
    ax.axis("off")
plt.show()
print("label:", int(label))

# %% [markdown]
# ## Tolerance to small shifts
# Shift each digit one pixel to the right and measure how much the picture changes,
# as the relative distance |a - b| / |a|, before and after max pooling. The pooled
# maps change less, and the larger the window the less they change: a window's
# maximum stays where it is when the stroke moves inside the window, and a one-pixel
# shift leaves a larger window more often. The cell asserts that ordering; the sizes
# of the drops are what the run prints (a 2x2 window removes only part of the change).

# %%
def relative_change(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(a))

def max_pool(a, k):
    return F.max_pool2d(minidl.tensor(a), k).numpy()

rows = []
for i in range(20):
    img = np.asarray(digits[i][0], dtype=np.float32).reshape(1, 1, 28, 28) / 255
    moved = np.roll(img, 1, axis=3)
    rows.append([relative_change(img, moved), relative_change(max_pool(img, 2), max_pool(moved, 2)),
                 relative_change(max_pool(img, 4), max_pool(moved, 4))])
raw, pooled2, pooled4 = np.mean(rows, axis=0)
print(f"mean relative change over 20 digits: input {raw:.2f}, "
      f"after 2x2 max-pool {pooled2:.2f}, after 4x4 max-pool {pooled4:.2f}")
assert raw > pooled2 > pooled4, "the lesson: larger pooling windows tolerate a shift better"

# %% [markdown]
# ## Exercises
# 1. Repeat the shift experiment with average pooling (`F.avg_pool2d`). Which is more tolerant?
# 2. AlexNet pools 3x3 windows with stride 2 (overlapping). What size does a 55x55 map become?
#    Check with `F.max_pool2d(x, 3, stride=2)`.
# 3. What does `ceil_mode=True` change for a 7x7 input and 2x2 windows?
