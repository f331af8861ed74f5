# %% [markdown]
# # 1. Convolution, and why it is one matrix product
#
# This notebook teaches:
# - how padding, stride and the kernel size decide the output size,
#   `OH = floor((H + 2P - D(K-1) - 1) / S) + 1`;
# - what a convolution does to a multi-channel input with F filters;
# - how `im2col` rearranges the input so that the whole convolution is **one
#   matrix product** (which is why BLAS on a CPU and cuBLAS on a GPU make CNNs fast);
# - the Lab 01 demo, `nn.Conv2d(2, 5, kernel_size=3, padding=1)`.

# %%
import inspect
import os
import time

import matplotlib.pyplot as plt
import numpy as np

import minidl
import minidl.functional as F
import minidl.nn as nn
from minidl.functional import conv

FAST = os.environ.get("MINIDL_FAST") == "1"
minidl.manual_seed(0)

# %% [markdown]
# ## The 6x6 example of the slides
# The lecture's 6x6 image and 3x3 filter (CS5242 lecture 8, "Padding"). Sliding the
# filter over every position where it fits gives the slide's 4x4 map.

# %%
image = np.array([[3, 2, 3, 3, 3, 1],
                  [0, 1, 3, 3, 1, 2],
                  [2, 2, 0, 0, 2, 0],
                  [3, 0, 1, 3, 3, 0],
                  [2, 3, 2, 0, 0, 1],
                  [2, 2, 2, 3, 1, 0]], dtype=np.float32)
kernel = np.array([[0, 1, 0],
                   [0, 0, 0],
                   [1, 1, 2]], dtype=np.float32)
slide = np.array([[6, 5, 7, 5],
                  [6, 10, 13, 7],
                  [11, 5, 2, 4],
                  [8, 11, 10, 7]], dtype=np.float32)

# the definition, as loops: out[i, j] = sum over the window of image * kernel
by_hand = np.array([[(image[i:i + 3, j:j + 3] * kernel).sum() for j in range(4)] for i in range(4)])

x = minidl.tensor(image[None, None])          # N=1, C=1, H=6, W=6
w = minidl.tensor(kernel[None, None])         # F=1, C=1, KH=3, KW=3
y = F.conv2d(x, w)
print("output shape:", y.shape)
print(y.numpy()[0, 0])
assert np.array_equal(y.numpy()[0, 0], by_hand), "conv2d differs from the loops"
assert np.array_equal(y.numpy()[0, 0], slide), "conv2d differs from the slide"
print("equal to the loops and to the slide's 4x4 map")

# %% [markdown]
# ## The slides' stride-2 example, checked
# The slide "Strided convolution" takes a 7x7 image (the 6x6 above with one more row and
# column) and the same filter with stride 2, and shows the 3x3 map
# `[[6, 5, 7], [6, 10, 13], [11, 5, 2]]`. The output size is right, (7 - 3) / 2 + 1 = 3,
# but those nine numbers are the top-left corner of the stride-1 map: stride 2 visits the
# windows at rows and columns 0, 2 and 4. Computing it is how to catch such a slip:

# %%
image7 = np.array([[3, 2, 3, 3, 3, 1, 2],
                   [0, 1, 3, 3, 1, 2, 1],
                   [2, 2, 0, 0, 2, 0, 0],
                   [3, 0, 1, 3, 3, 0, 3],
                   [2, 3, 2, 0, 0, 1, 1],
                   [2, 2, 2, 3, 1, 0, 1],
                   [0, 2, 1, 1, 3, 3, 1]], dtype=np.float32)
slide_stride2 = np.array([[6, 5, 7], [6, 10, 13], [11, 5, 2]], dtype=np.float32)
x7 = minidl.tensor(image7[None, None])
stride1 = F.conv2d(x7, w).numpy()[0, 0]
stride2 = F.conv2d(x7, w, stride=2).numpy()[0, 0]
print("stride 2:\n", stride2)
print("stride 1, top-left 3x3:\n", stride1[:3, :3])
assert np.array_equal(stride2, stride1[::2, ::2]), "stride 2 keeps every other stride-1 window"
assert np.array_equal(stride1[:3, :3], slide_stride2), "the slide's map is the stride-1 corner"
assert not np.array_equal(stride2, slide_stride2)
print("stride 2 = every other window of stride 1; the slide printed the stride-1 corner instead")

# %% [markdown]
# ## Padding keeps the size, stride shrinks it
# A 5x5 filter needs two rings of zeros to keep a 6x6 image 6x6 (a 7x7 filter
# needs three). Stride 2 visits every other position.

# %%
def out_size(H, K, P=0, S=1, D=1):
    return (H + 2 * P - D * (K - 1) - 1) // S + 1

x = minidl.randn(1, 1, 6, 6)
for K, P, S in [(3, 0, 1), (5, 2, 1), (7, 3, 1), (3, 1, 2)]:
    y = F.conv2d(x, minidl.randn(1, 1, K, K), padding=P, stride=S)
    print(f"K={K} P={P} S={S}: formula {out_size(6, K, P, S)}, conv2d gives {y.shape[-1]}")

# %% [markdown]
# ## Many channels in, F filters out
# With C input channels each filter has C channels (C x K x K); F filters give
# F activation maps, so the weight tensor is F x C x K x K.

# %%
x = minidl.randn(2, 3, 8, 8)        # N=2 images, C=3 channels
w = minidl.randn(4, 3, 3, 3)        # F=4 filters of 3x3x3
print("weight", w.shape, "-> output", F.conv2d(x, w, padding=1).shape)

# %% [markdown]
# ## Convolution as one matrix product: im2col
# `im2col` copies every 3x3 window of the input into one column (one row per
# (channel, kernel row, kernel column)); the filters become rows. One matrix
# product then computes every output pixel of every filter at once.

# %%
x = minidl.tensor(np.arange(2 * 4 * 4, dtype=np.float32).reshape(1, 2, 4, 4))
w = minidl.randn(3, 2, 3, 3)
cols = F.im2col(x, (3, 3), stride=1, padding=1)       # (N, C*KH*KW, OH*OW)
print("input", x.shape, "-> columns", cols.shape)

plt.figure(figsize=(8, 4))
plt.imshow(cols[0], cmap="viridis", aspect="auto")
plt.xlabel("output position (oh, ow)")
plt.ylabel("(channel, kernel row, kernel column)")
plt.title("im2col of a 2x4x4 input, 3x3 windows, padding 1")
plt.colorbar()
plt.show()

# %% [markdown]
# Each column holds the 2 x 3 x 3 = 18 numbers one filter sees at one output
# position (zeros where the window hangs over the padding). The filters,
# flattened the same way, are the rows of a 3 x 18 matrix, and one product
# gives all 3 x 16 outputs:

# %%
y_matrix = (w.numpy().reshape(3, -1) @ cols[0]).reshape(3, 4, 4)
y_conv = F.conv2d(x, w, padding=1).numpy()[0]
print("one matrix product equals conv2d:", np.allclose(y_matrix, y_conv, atol=1e-5))

# %% [markdown]
# `col2im` goes the other way, adding each column back onto the pixels it came
# from: a pixel seen by k windows receives k values. That is exactly the
# backward pass of im2col, which conv2d uses for the input's gradient.

# %%
counts = F.col2im(np.ones_like(cols), (4, 4), (3, 3), padding=1)
print("how many 3x3 windows see each pixel of a 4x4 image (padding 1):")
print(counts[0, 0].astype(int))

# %% [markdown]
# ## The reference Convolution, and the tuned engine
# `minidl.functional.conv.Convolution` is these three steps and nothing else:
# im2col, one matrix product per group, and in backward one product for the
# weight gradient and col2im for the input gradient. Here is its source:

# %%
print(inspect.getsource(conv.Convolution))

# %% [markdown]
# `F.conv2d` runs by default a tuned engine (`minidl/functional/conv_tuned.py`) that computes the
# same numbers with the same interface, arranged for speed: the matrices in whichever memory
# layout makes im2col's copies contiguous, the batch in cache-sized chunks, and, for stride 1,
# the input gradient as a convolution of the output gradient instead of a col2im. `impl=` picks
# one for a call, `F.conv_impl(...)` for a block. Both give the same gradients (asserted below);
# how much faster the tuned one is depends on the machine and on how busy it is, so the cell
# times both here rather than promise a figure:

# %%
def forward_backward_ms(impl, x, w, gy, reps):
    """Median milliseconds of one forward and backward pass of conv2d with ``impl`` (after one
    untimed pass, which pays for first allocations), and the input gradient."""
    times = []
    for _ in range(reps + 1):
        xt, wt = minidl.tensor(x, requires_grad=True), minidl.tensor(w, requires_grad=True)
        start = time.perf_counter()
        with F.conv_impl(impl):
            F.conv2d(xt, wt, padding=1).backward(gy)
        times.append((time.perf_counter() - start) * 1000)
    return float(np.median(times[1:])), xt.grad.numpy()


rng = np.random.default_rng(0)
x_big = rng.standard_normal((8 if FAST else 32, 64, 16, 16)).astype(np.float32)
w_big = rng.standard_normal((64, 64, 3, 3)).astype(np.float32) * 0.05
gy_big = rng.standard_normal(x_big.shape).astype(np.float32)
reps = 3 if FAST else 7
(ms_ref, gx_ref), (ms_tuned, gx_tuned) = (forward_backward_ms(impl, x_big, w_big, gy_big, reps)
                                          for impl in ("reference", "tuned"))
print(f"64 -> 64 channels, 3x3, {x_big.shape[0]} images of 16x16: reference {ms_ref:.1f} ms, "
      f"tuned {ms_tuned:.1f} ms (x{ms_ref / ms_tuned:.1f})")
print("same input gradient:", np.allclose(gx_ref, gx_tuned, rtol=1e-4, atol=1e-4))
assert np.allclose(gx_ref, gx_tuned, rtol=1e-4, atol=1e-4)

# %% [markdown]
# ## Lab 01: `nn.Conv2d(2, 5, kernel_size=3, padding=1)`
# A layer holds its weight (F x C x K x K = 5 x 2 x 3 x 3) and bias (5); padding 1
# keeps the 6x6 size.

# %%
conv = nn.Conv2d(2, 5, kernel_size=3, padding=1)
x = minidl.rand(1, 2, 6, 6)
y = conv(x)
print(conv)
print("weight", conv.weight.shape, "bias", conv.bias.shape)
print("input", x.shape, "-> output", y.shape)

# %% [markdown]
# ## Exercises
# 1. Give the 6x6 example the diagonal filter [[1, 0, 0], [0, 1, 0], [0, 0, 1]]. Where is its map largest?
# 2. With stride 2 and padding 1, what size does a 7x7 input become under a 3x3 filter?
#    Check the formula with `F.conv2d`.
# 3. How many columns does im2col make for a batch of 64 MNIST images (1x28x28) with a
#    5x5 kernel and padding 2? How many numbers is that, compared with the images?
# 4. Write the convolution of a 1x1 kernel as a matrix product without im2col.
