# %% [markdown]
# # 4. LeNet-5 on MNIST (Lab 03)
#
# The first complete run of the course: a convolutional network learns to read handwritten
# digits. This notebook teaches:
# - the two networks of the lab: the modern LeNet-5 (61,706 parameters) and the CS5242 MNIST
#   ConvNet (536,710 parameters), read layer by layer with `minidl.summary`;
# - the lab's recipe: plain SGD, learning rate 0.25 divided by 1.5 every 5 epochs;
# - how to read a run: loss and accuracy curves, the test error, the confusion matrix
#   and the digits the network gets wrong;
# - what the first layer learns: its filters, and the feature maps they make of one digit;
# - where the trained network looks: saliency maps and Grad-CAM;
# - what an epoch costs on a CPU (and on a GPU, when there is one).
#
# The data is the full MNIST when its files are found (in `MINIDL_DATA`, the cache or
# torchvision's layout; `MNIST(download=True)` fetches them), else the 5,000 real MNIST digits
# bundled with minidl (4,000 train / 1,000 test).

# %%
import os
import time

import matplotlib.pyplot as plt
import numpy as np

import minidl
from minidl import data, models, optim, train, viz
from minidl.train import blas_threads, recipes

FAST = os.environ.get("MINIDL_FAST") == "1"
minidl.manual_seed(0)
# One BLAS thread: the matrices of these small networks are too small for threads to pay,
# and on a shared CPU waiting threads make every step slower.
blas_threads()
device = minidl.device("cuda" if minidl.cuda.is_available() else "cpu")

# %% [markdown]
# ## The data
# `recipes.load_datasets` (what `python -m minidl train` uses) looks for the full MNIST and
# falls back to the bundled subset. It scales the pixels to [0, 1], standardizes them with the
# training set's mean and standard deviation, and moves every training digit by up to
# 2 pixels at random (augmentation; the last section measures what it is worth here).
# The test digits are not moved.

# %%
train_set, test_set, _ = recipes.load_datasets("mnist", augment=True)
classes = test_set.classes
FULL = len(train_set) == 60_000
print("data used:", "the full MNIST" if FULL else "the bundled MNIST subset (the full MNIST was not found)",
      f"- {len(train_set):,} training and {len(test_set):,} test digits")
if FAST:     # digits spread over each set (the subset is sorted by class)
    train_set = data.Subset(train_set, np.linspace(0, len(train_set) - 1, 256).astype(int))
    test_set = data.Subset(test_set, np.linspace(0, len(test_set) - 1, 500).astype(int))
    print(f"fast mode: {len(train_set)} training and {len(test_set)} test digits, 1 epoch")

images, labels = data.get_batch(train_set, np.linspace(0, len(train_set) - 1, 16).astype(int))
fig, axes = plt.subplots(2, 8, figsize=(8, 2.4))
for ax, image, label in zip(axes.flat, images, labels):
    ax.imshow(image[0], cmap="gray")
    ax.set_title(str(label), fontsize=9)
    ax.axis("off")
fig.suptitle("training digits, after the random shifts and the standardization")
plt.show()

# %% [markdown]
# ## Two networks
# **LeNet-5** as courses use it today: LeCun 1998's layout (C1 6 maps of 5x5, pooling, C3
# 16 maps, pooling, C5 120, F6 84, 10 outputs) with ReLU, max-pooling and a linear output.
#
# **The MNIST ConvNet of the lab**: conv 1→50 3x3 + ReLU, max-pool, conv 50→100 3x3 + ReLU,
# max-pool, linear 4,900→100 + ReLU, linear 100→10. Its parameters, layer by layer:
# 50 x (1 x 3 x 3) + 50 = 500; 100 x (50 x 3 x 3) + 100 = 45,100; 4,900 x 100 + 100 = 490,100;
# 100 x 10 + 10 = 1,010: 536,710 in all, 91% of them in the first linear layer. Its
# convolutions keep the 28x28 size (padding 1), so it does many more multiply-accumulates
# per digit than LeNet-5.

# %%
lenet = models.get("lenet5")
lenet_summary = minidl.summary(lenet, (1, 28, 28))

# %%
convnet = models.get("mnist_convnet")
convnet_summary = minidl.summary(convnet, (1, 28, 28))
print("\nparameters of the layers that have some:",
      " + ".join(f"{params:,}" for *_, params, _ in convnet_summary.rows if params),
      f"= {convnet_summary.total_params:,}")
print(f"multiply-accumulates per digit: ConvNet {convnet_summary.total_macs:,}, "
      f"LeNet-5 {lenet_summary.total_macs:,} ({convnet_summary.total_macs / lenet_summary.total_macs:.0f}x)")

# %% [markdown]
# ## Training LeNet-5 with the lab's recipe
# Plain SGD (no momentum), batches of 64 shuffled digits, learning rate 0.25 divided by 1.5
# every 5 epochs: `StepLR(optimizer, step_size=5, gamma=1 / 1.5)`, stepped once per epoch by
# `train.fit`. After each epoch `fit` evaluates the test set (in eval mode, without a graph).
# The training figures are measured on the fly, on shifted digits, while the weights change.

# %%
# Both networks get the same digits and the same epochs: every training digit on a GPU, at most
# 12,000 on a CPU (the ConvNet costs about 20 times more per digit than LeNet-5).
EPOCHS = 1 if FAST else 10
n_train = len(train_set) if device.type == "cuda" else min(len(train_set), 12_000)
train_set = data.Subset(train_set, range(n_train)) if n_train < len(train_set) else train_set
train_loader = data.DataLoader(train_set, batch_size=64, shuffle=True, device=device)
test_loader = data.DataLoader(test_set, batch_size=500, device=device)


def report(state):
    r = state.history[-1]
    print(f"epoch {r['epoch']:2d}  lr {r['lr']:.4f}  train loss {r['train_loss']:.4f} "
          f"acc {100 * r['train_acc']:.2f}%  test loss {r['val_loss']:.4f} acc {100 * r['val_acc']:.2f}%  "
          f"{r['time']:.1f} s")


optimizer = optim.SGD(lenet.parameters(), lr=0.25)
scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=5, gamma=1 / 1.5)
print(f"LeNet-5 on {device}: {len(train_set):,} training digits, epochs: {EPOCHS}")
lenet_history = train.fit(lenet, train_loader, test_loader, optimizer, scheduler, epochs=EPOCHS,
                          device=device, callbacks=[report], progress=False)

# %% [markdown]
# ## Reading the run
# The curves ('val' is the test set, evaluated after every epoch): the test loss follows the
# training loss down; the division of the learning rate after epoch 5 makes the steps
# smaller and the curves calmer. The training accuracy is on shifted digits, which are
# harder than the test digits: that is why it starts below the test accuracy.

# %%
train.plot_history(lenet_history)

# %%
lenet_acc = lenet_history[-1]["val_acc"]
print(f"LeNet-5, final test accuracy: {100 * lenet_acc:.2f}% (test error {100 * (1 - lenet_acc):.2f}%) "
      f"on {len(test_set):,} test digits of {'the full MNIST' if FULL else 'the bundled subset'}")
print("the lab's ConvNet in the slides: 0.78% test error, trained on 50,000 digits")
if not FAST:    # the lesson: LeNet-5's 61,706 weights learn the digits with the lab's recipe
    assert lenet_acc > 0.9, lenet_acc

# %% [markdown]
# The confusion matrix counts, for each true digit (row), what the network answered (column):
# everything off the diagonal is a mistake, and the largest counts name the digits the network
# mixes up; the cell prints the three largest.

# %%
predictions, targets = train.predict(lenet, test_loader, device)
confusion = train.confusion_matrix(predictions, targets, 10)
train.plot_confusion_matrix(confusion, class_names=classes)
off_diagonal = np.asarray(confusion) * (1 - np.eye(10, dtype=int))
for flat in np.argsort(off_diagonal, axis=None)[::-1][:3]:
    true, answer = divmod(int(flat), 10)
    print(f"{off_diagonal[true, answer]} test digits {true} read as {answer}")

# %% [markdown]
# The digits it gets wrong, as the network saw them: many are hard for a person too.

# %%
wrong = np.flatnonzero(predictions != targets)[:24]
print(f"{np.count_nonzero(predictions != targets)} of {len(targets):,} test digits misclassified")
train.plot_misclassified(data.get_batch(test_set, wrong)[0], targets[wrong], predictions[wrong])

# %% [markdown]
# ## What the first layer learned
# C1 holds 6 filters of 5x5 weights. Trained, they are small edge and stroke detectors
# (each is drawn with its own grey scale: white = its largest weight, black = its smallest).
# Applied to one digit (with ReLU), each gives a feature map: the places where its pattern is,
# here the edges of the strokes on one side or another. C3's 16 maps, after a pooling, are
# coarser (10x10) and respond to combinations of strokes; a black one did not fire on this digit.
# `lenet[:2]` is the network cut after its second layer, so we can look inside.

# %%
lenet.eval()
digit, label = test_set[int(np.flatnonzero(targets == 5)[0])]
with minidl.no_grad():
    x = minidl.tensor(digit[None]).to(device)
    c1_maps = lenet[:2](x).numpy()[0]        # c1, act1
    c3_maps = lenet[:5](x).numpy()[0]        # c1, act1, s2, c3, act3
filters = lenet.c1.weight.numpy()[:, 0]

fig, axes = plt.subplots(4, 8, figsize=(11, 6.2))
for ax in axes.flat:
    ax.axis("off")
axes[0, 0].imshow(digit[0], cmap="gray")
axes[0, 0].set_title(f"input: a {label}", fontsize=9)
for k in range(6):
    axes[0, k + 2].imshow(filters[k], cmap="gray")
    axes[0, k + 2].set_title(f"C1 filter {k}", fontsize=9)
    axes[1, k + 2].imshow(c1_maps[k], cmap="gray")
    axes[1, k + 2].set_title(f"C1 map {k}", fontsize=9)
for k in range(16):
    axes[2 + k // 8, k % 8].imshow(c3_maps[k], cmap="gray", vmin=0)
    axes[2 + k // 8, k % 8].set_title(f"C3 map {k}", fontsize=9)
fig.suptitle("LeNet-5: the 6 learned C1 filters (5x5), their maps of one digit (28x28), "
             "and C3's 16 maps (10x10)")
plt.show()

# %% [markdown]
# ## Where the network looks: saliency and Grad-CAM
# Two answers to "which pixels made it say 5?", one digit of each class:
# - the **saliency map** (Simonyan et al. 2014) is the gradient of the class score (the logit)
#   with respect to the pixels, |d score / d pixel|: where a small change of the image would
#   change the answer most;
# - **Grad-CAM** (Selvaraju et al. 2017) weighs C3's 16 feature maps (after its ReLU, 10x10)
#   by the mean gradient of the class score over each map, keeps the positive part of their sum
#   and scales it up to 28x28: where the evidence for the class lies, at the resolution of C3.
#
# Both are for the class the network predicts. In the saliency maps the gradient sits on the
# strokes and their edges: moving ink is what changes the score. Grad-CAM's coarser maps also
# light up *blank* places (in the committed run: the hole of the 0, the gap to the left of the
# 4, the empty side of the 7). For a digit, where there is no ink is evidence too. The next cell measures both
# claims: the share of each map on the pixels of a stroke or touching one.

# %%
picked = [int(np.flatnonzero(targets == digit)[0]) for digit in range(10)]
digits = data.get_batch(test_set, picked)[0]
saliency = viz.saliency(lenet, digits)
cam = viz.grad_cam(lenet, digits, "act3")
names = [f"{classes[t]} -> {classes[p]}" for t, p in zip(targets[picked], predictions[picked])]
viz.plot_heatmaps(digits, saliency, titles=names)

# %%
viz.plot_heatmaps(digits, cam, titles=names)

# %%
strokes = digits[:, 0] > digits.min() + 0.5 * (digits.max() - digits.min())
padded = np.pad(strokes, ((0, 0), (1, 1), (1, 1)))
near = np.zeros_like(strokes)
for di in range(3):            # widen the strokes by a pixel in every direction
    for dj in range(3):
        near |= padded[:, di:di + 28, dj:dj + 28]
share = {name: (maps * near).sum() / maps.sum() for name, maps in [("saliency", saliency), ("Grad-CAM", cam)]}
for name, value in share.items():
    print(f"{name}: {100 * value:.0f}% of the map lies on or next to a stroke, "
          f"which covers {100 * near.mean():.0f}% of the image")
assert share["saliency"] > 1.2 * near.mean()          # the gradient follows the ink
assert share["Grad-CAM"] < share["saliency"]          # Grad-CAM also weighs the blanks

# %% [markdown]
# ## The lab's ConvNet, same recipe
# Its first convolution makes 50 maps of 28x28 and the second 100 (LeNet-5: 6 and 16 at most,
# smaller), so each digit costs about 20 times more. It trains on the same digits for the same
# epochs as LeNet-5.

# %%
optimizer = optim.SGD(convnet.parameters(), lr=0.25)
scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=5, gamma=1 / 1.5)
print(f"MNIST ConvNet on {device}: {len(train_set):,} training digits, epochs: {EPOCHS} (as LeNet-5)")
convnet_history = train.fit(convnet, train_loader, test_loader, optimizer, scheduler,
                            epochs=EPOCHS, device=device, callbacks=[report], progress=False)
convnet_acc = convnet_history[-1]["val_acc"]
print(f"MNIST ConvNet, final test accuracy: {100 * convnet_acc:.2f}% "
      f"(test error {100 * (1 - convnet_acc):.2f}%); LeNet-5: {100 * lenet_acc:.2f}%")
if not FAST:
    assert convnet_acc > 0.9, convnet_acc

# %% [markdown]
# Its 50 first-layer filters are only 3x3: too small to hold a stroke, each can only weigh a
# pixel against its neighbours (a bright side next to a dark one is an edge detector).

# %%
conv1 = convnet.conv1.weight.numpy()[:, 0]
fig, axes = plt.subplots(5, 10, figsize=(8, 4.2))
for ax, w in zip(axes.flat, conv1):
    ax.imshow(w, cmap="gray")
    ax.axis("off")
fig.suptitle("MNIST ConvNet: the 50 learned conv1 filters (3x3)")
plt.show()

# %% [markdown]
# ## What an epoch costs
# The slides give, for the lab's ConvNet on 50,000 digits: CPU 96 s, Tesla K80 6 s,
# GTX 1080 Ti 2 s. Here each network trains on the same 1,000 digits once per device
# (after one batch of warm-up), and the rate is scaled to the lab's epoch of 50,000.
# The slides' CPU ran a tuned library on all its cores; minidl's convolution is im2col and one
# NumPy matrix product, here on one thread of a CPU that may be busy with other work, so expect
# it to be several times slower. A GPU runs the same code through CuPy.

# %%
def seconds_per_epoch(name, dev, n=128 if FAST else 1000, epoch=50_000):
    model = models.get(name).to(dev)
    loader = data.DataLoader(data.Subset(train_set, range(n)), batch_size=64, shuffle=True, device=dev)
    sgd = optim.SGD(model.parameters(), lr=0.01)
    train.train_one_epoch(model, [next(iter(loader))], sgd, progress=False)     # warm-up
    start = time.perf_counter()
    train.train_one_epoch(model, loader, sgd, progress=False)
    rate = n / (time.perf_counter() - start)
    return rate, epoch / rate


devices = ["cpu", "cuda"] if minidl.cuda.is_available() else ["cpu"]
for dev in devices:
    for name in ("lenet5", "mnist_convnet"):
        rate, seconds = seconds_per_epoch(name, dev)
        print(f"{name + ' on ' + dev + ':':<22} {rate:6.0f} digits/s, "
              f"{seconds:6.1f} s per epoch of 50,000 digits")
print("the slides, for the ConvNet: CPU 96 s, Tesla K80 6 s, GTX 1080 Ti 2 s per epoch")
if devices == ["cpu"]:
    print("no GPU was present (minidl.cuda.is_available() is False): CPU timings only")
print("this run's own epochs:", f"LeNet-5 {np.mean([r['time'] for r in lenet_history]):.1f} s "
      f"({len(train_set):,} digits),", f"ConvNet {np.mean([r['time'] for r in convnet_history]):.1f} s "
      f"({len(train_set):,} digits), on {device}")

# %% [markdown]
# ## What the random shifts are worth
# LeNet-5 again, with the same seed, recipe, digits and epochs, but without the random shifts.
# The two test accuracies below are this run's; on 1,000 test digits one digit is 0.1 point,
# so a difference of a few tenths is within what another seed would change.

# %%
plain_train, _, _ = recipes.load_datasets("mnist", augment=False)
plain_train = (data.Subset(plain_train, train_set.indices) if isinstance(train_set, data.Subset)
               else plain_train)
minidl.manual_seed(0)
lenet_plain = models.get("lenet5").to(device)
optimizer = optim.SGD(lenet_plain.parameters(), lr=0.25)
plain_loader = data.DataLoader(plain_train, batch_size=64, shuffle=True, device=device)
scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=5, gamma=1 / 1.5)
plain_history = train.fit(lenet_plain, plain_loader, test_loader, optimizer, scheduler, epochs=EPOCHS,
                          device=device, progress=False)
shifted, unshifted = lenet_acc, plain_history[-1]["val_acc"]
print(f"LeNet-5 test accuracy with random shifts {100 * shifted:.2f}%, without {100 * unshifted:.2f}% "
      f"({100 * (shifted - unshifted):+.2f} points); final training accuracy with shifts "
      f"{100 * lenet_history[-1]['train_acc']:.2f}%, without {100 * plain_history[-1]['train_acc']:.2f}%")

# %% [markdown]
# ## Exercises
# 1. Train LeNet-5 without augmentation (`recipes.load_datasets("mnist", augment=False)`).
#    How do the training and test accuracies move apart?
# 2. Replace the lab's schedule by a constant learning rate of 0.25, then of 0.05. Which
#    curves are noisier, and which ends better?
# 3. Add `momentum=0.9` to SGD. Which learning rate works now, and why must it be smaller?
# 4. Train both networks for 20 epochs (on a GPU if you have one). Does the ConvNet pull ahead
#    of LeNet-5, and is the gain worth 20 times the computation?
# 5. Find the digit with the most confident wrong answer (largest softmax probability among
#    the misclassified). Would you have read it correctly?
