# %% [markdown]
# # 9. CPU vs GPU: where the time of a training step goes
#
# The slides time one epoch of the MNIST ConvNet at 96 s on a CPU, 6 s on a Tesla K80 and 2 s
# on a GTX 1080 Ti. This notebook measures such figures on the machine it runs on, with the
# benchmark harness of `benchmarks/` (the code behind `python benchmarks/run.py`), and teaches:
# - how a fair timing is made: the same inputs for every implementation, the answers compared
#   before any clock is read, the libraries timed alternately in one process, medians reported;
# - per layer and per model: minidl on the CPU, minidl on the GPU, and PyTorch, side by side;
# - what dominates a training step: the time per layer type, and inside a convolution the
#   **im2col copy** against the **matrix product**.
#
# Every number below is a measurement of the run that produced this notebook, so it depends on
# the machine: its CPU, how many cores it gives us, its BLAS library, the other work it was doing,
# and whether it has a GPU. **Without a GPU (or without CuPy) only the CPU bars are drawn.**

# %%
import os
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown, display

import minidl
import minidl.functional as F
from minidl import backend
from minidl.train import blas_threads

ROOT = Path.cwd().resolve().parent          # notebooks run in notebooks/; benchmarks/ is beside it
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from benchmarks import breakdown, cases, environment, impls, report, run, timing  # noqa: E402

FAST = os.environ.get("MINIDL_FAST") == "1"
minidl.manual_seed(0)

# %% [markdown]
# ## The machine
# The benchmark records what a timing depends on. BLAS is the library that multiplies the
# matrices (OpenBLAS or MKL under NumPy, cuBLAS on a GPU); the harness gives it and PyTorch
# the same number of threads, here one, as notebook 4 trains (so that the two notebooks'
# images per second can be compared). The load average says how busy the machine was: other
# work on the same cores slows every library, multi-threaded ones most.

# %%
# fast mode is the harness's smoke run: one layer, one model, batch 2, one repetition
args = run.parse_args(["--threads", "1", "--no-memory"]
                      + (["--quick"] if FAST else ["--reps", "3", "--warmup", "1"]))
impls.set_threads(args.threads)
DEVICES = ["cpu"] + (["cuda"] if minidl.cuda.is_available() else [])
env = environment.collect()

print(f"CPU:     {env['cpu']}, {env['usable_cores']} usable of {env['logical_cores']} logical cores")
load = ", ".join(f"{x:.1f}" for x in env["load_average_1_5_15min"])
print(f"system:  {env['platform']}, load average {load} (1, 5, 15 min)")
print(f"python {env['python']}, numpy {env['numpy']}, minidl {env['minidl']}, "
      f"torch {env['torch'] or 'not installed'}, cupy {env['cupy'] or 'not installed'}")
pools = env["thread_pools"] if isinstance(env["thread_pools"], list) else []
for pool in pools:
    print(f"BLAS:    {pool.get('internal_api')} {pool.get('version')} ({pool.get('architecture', '?')}), "
          f"{pool.get('num_threads')} threads")
print(f"GPU:     {', '.join(env['gpus']) or 'none'}; minidl sees CUDA: {env['minidl_cuda_available']}")
QUIET = env["load_average_1_5_15min"][0] <= 1.0
if not QUIET:
    print("WARNING: the 1-minute load average is above 1.0: other programs were using the CPU while this "
          "ran, so the timings below are unreliable (slow and scattered; see the ranges in brackets)")
print(f"devices benchmarked: {', '.join(DEVICES)}; "
      f"{args.reps} timed repetitions after {args.warmup} warm-up calls")
if DEVICES == ["cpu"]:
    print("no GPU here (minidl.cuda.is_available() is False): this run compares minidl and PyTorch "
          "on the CPU only")

# %% [markdown]
# ## Layers, one at a time
# A reduced set of the layer configurations of `benchmarks/configs.json` (the full set runs
# with `python benchmarks/run.py`): convolutions from LeNet's small ones to a VGG layer of
# 9.7 GFLOP, a strided one, a 1x1 and a depthwise one, then max pooling and batch norm.
# `run.bench_config` checks minidl's outputs and gradients against PyTorch's, then times
# the forward pass and forward + backward of each implementation, alternately.

# %%
LAYERS = ["lenet_conv2", "mnistnet_conv2", "vgg_128x16", "resnet_s2_64to128", "resnet_1x1_256to512",
          "depthwise_128x32", "maxpool2s2_128x64x32", "bn2d_128x64x32"]
MODELS = ["lenet5", "mnist_convnet", "resnet18_cifar"]
if FAST:
    LAYERS, MODELS = [n for k, n in run.QUICK_CONFIGS if k != "model"], [n for k, n in run.QUICK_CONFIGS
                                                                         if k == "model"]
BATCH = {"resnet18_cifar": 8}       # instead of 64: a ResNet-18 step is 0.2 TFLOP at batch 64
configs = cases.load_configs()
selected = [cases.select(configs, kind, name, args.batch or BATCH.get(name))
            for kind, name, _ in configs if name in LAYERS + MODELS]

records = []
for device in DEVICES:
    implementations = impls.implementations(device, compare_torch=True)
    for kind, name, cfg in selected:
        records.append(run.bench_config(kind, name, cfg, device, implementations, args))
        print(f"{device:>4} {name:<22}", "  ".join(
            f"{impl} {stats['median_ms']:8.2f} ms" for impl, stats in
            records[-1].get("step" if kind == "model" else "forward_backward", {}).items()
            if "median_ms" in stats))
# A timing means something only if both libraries computed the same thing: the harness compares
# outputs and gradients before any clock is read, and this run's comparisons all passed.
if env["torch"]:
    compared = [r for r in records if "parity" in r and r["device"] == "cpu"]
    assert compared and all(report.parity_ok(r["parity"]) for r in compared), [r["parity"] for r in compared]

# %% [markdown]
# One bar per implementation and device, on a log scale (the layers differ by three orders of
# magnitude). The number above a PyTorch bar is minidl's time divided by PyTorch's on the same
# device: above 1, minidl is slower.

# %%
SERIES = [(impl, dev) for dev in DEVICES for impl in ("minidl", "torch")]
COLOURS = {("minidl", "cpu"): "tab:blue", ("torch", "cpu"): "tab:orange",
           ("minidl", "cuda"): "tab:green", ("torch", "cuda"): "tab:red"}


def bars(ax, recs, metric, title, ylabel):
    """Grouped bars of the median ``metric`` (ms) per configuration, one per (implementation, device)."""
    names = list(dict.fromkeys(r["name"] for r in recs))
    shown = [s for s in SERIES if any(r["device"] == s[1] and "median_ms" in r.get(metric, {}).get(s[0], {})
                                      for r in recs)]
    width = 0.8 / max(len(shown), 1)
    for i, (impl, dev) in enumerate(shown):
        times = {r["name"]: r.get(metric, {}).get(impl, {}).get("median_ms") for r in recs
                 if r["device"] == dev}
        xs = np.arange(len(names)) + (i - (len(shown) - 1) / 2) * width
        heights = [times.get(n) or np.nan for n in names]
        ax.bar(xs, heights, width, label=f"{impl} {dev}", color=COLOURS[impl, dev])
        if impl == "torch":
            ours = {r["name"]: r.get(metric, {}).get("minidl", {}).get("median_ms") for r in recs
                    if r["device"] == dev}
            for x, n, h in zip(xs, names, heights):
                if ours.get(n) and np.isfinite(h):
                    ax.annotate(f"{ours[n] / h:.1f}x", (x, h), ha="center", va="bottom", fontsize=8)
    ax.set_yscale("log")
    ax.set_xticks(range(len(names)), names, rotation=20, ha="right")
    ax.set(title=title, ylabel=ylabel)
    ax.grid(axis="y", alpha=0.3)
    ax.legend()


layer_records = [r for r in records if r["kind"] != "model"]
fig, ax = plt.subplots(figsize=(11, 4.5))
bars(ax, layer_records, "forward_backward", "Layers: forward + backward", "ms (median)")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Whole models: one training step
# A training step is forward, cross-entropy, backward and an SGD (momentum 0.9) update, on the
# batch sizes of `configs.json`, LeNet-5 (batch 64) and the MNIST ConvNet of Lab 03 (128), and
# on the CIFAR ResNet-18 with its batch cut from 64 to 8 (`BATCH` above) to keep the run short.
# Both libraries start from the same weights (minidl copies PyTorch's).

# %%
EPOCH = 50_000      # the slides' MNIST epoch (Lab 03), as in notebook 4
model_records = [r for r in records if r["kind"] == "model"]
fig, ax = plt.subplots(figsize=(8, 4.5))
bars(ax, model_records, "step", "Training step", "ms per step (median)")
fig.tight_layout()
plt.show()
for r in model_records:
    for impl, stats in r.get("step", {}).items():
        if "median_ms" in stats:
            speed = r["batch"] / stats["median_ms"] * 1e3
            print(f"{r['name']:<15} {r['device']:>4} {impl:<7} {speed:8.0f} images/s"
                  f"  -> {EPOCH / speed:7.1f} s for an epoch of {EPOCH:,} images")

# %% [markdown]
# The bars show medians; where the machine was busy (the load average at the top), the ranges
# in brackets in the report below show how scattered the repetitions were. Small layers and
# small models suffer most from a busy machine: their BLAS threads can spend as long waiting
# for a free core as computing (the docstring of `minidl.train.blas_threads` has an example).
#
# The harness's own report of these records: medians with their interquartile range, the
# parity check against PyTorch, and the speed targets of the project (minidl / PyTorch on the CPU).

# %%
text = report.markdown(env, {k: getattr(args, k) for k in ("device", "compare", "reps", "warmup",
                                                             "threads", "batch", "quick")}, records)
display(Markdown(text[text.index("## Layers"):]))        # the environment was printed above

# %% [markdown]
# ## What dominates a training step
# `breakdown.breakdown` wraps every minidl `Function` with a timer for a few steps and charges
# each one's time to the phase it runs in (forward, backward, optimizer step). Time in a phase
# that no Function accounts for is Python and graph bookkeeping ("outside Functions").

# %%
BREAKDOWN_MODEL = "lenet5" if FAST else "mnist_convnet"
result = breakdown.breakdown(BREAKDOWN_MODEL, DEVICES[0], batch=args.batch, reps=1 if FAST else 2)
step_ms = sum(result["phases"].values())
rows = sorted(result["categories"].items(), key=lambda kv: -sum(kv[1].values()))

fig, ax = plt.subplots(figsize=(9, 3.5))
left = np.zeros(len(rows))
for phase, colour in zip(breakdown.PHASES, ["tab:blue", "tab:orange", "tab:grey"]):
    widths = np.array([c[phase] for _, c in rows])
    ax.barh([name for name, _ in rows], widths, left=left, color=colour, label=phase)
    left += widths
ax.invert_yaxis()
ax.set(xlabel="ms per training step",
       title=f"{result['model']} on {result['device']}, batch {result['batch']}: {step_ms:.0f} ms per step")
ax.legend(loc="lower right")
fig.tight_layout()
plt.show()
for name, c in rows:
    print(f"{name:<22} {sum(c.values()):8.2f} ms  {sum(c.values()) / step_ms:5.1%}")

# %% [markdown]
# ## Inside a convolution: the im2col copy against the matrix product
# A convolution is an im2col (copy every KH x KW window of the input into a column) followed
# by one matrix product of the F filters with those columns. The product does all the
# arithmetic, 2 x N x F x OH x OW x C x KH x KW flops, and BLAS runs it at its best speed; the
# copy does no arithmetic but writes KH x KW times as many numbers as the input holds. Each
# number it writes is then used by F multiply-adds, one per filter, so the number of filters
# decides which of the two a layer waits on. Below, `F.im2col` is timed alone, and the product
# is one `matmul` of the filters (F, C x KH x KW) with the columns of the whole batch laid side
# by side (C x KH x KW, N x OH x OW). The third bar is minidl's `conv2d`, which does the same
# two steps chunk by chunk (so that the columns stay in the cache) in the faster of two layouts,
# and also pads the input and writes its output in the (N, F, OH, OW) order: two more copies.
# NumPy copies on one thread, so this section gives BLAS one thread too (`blas_threads(1)`):
# the two steps are compared core for core.

# %%
CONVS = ["lenet_conv2"] if FAST else ["lenet_conv2", "mnistnet_conv2", "vgg_conv1_3to64", "vgg_128x16",
                                      "resnet_s2_64to128"]


def im2col_and_product(cfg, device):
    """Medians (ms) of the im2col copy, the matrix product on its columns and conv2d's forward;
    the bytes im2col writes and the flops of the product."""
    impl = impls.Minidl(device)
    arrays = cases.layer_arrays("conv", cfg)
    x, W = impl.tensor(arrays["x"]), impl.tensor(arrays["weight"])
    k, stride, pad = cfg["k"], cfg["stride"], cfg["pad"]
    xp = backend.get_array_module(x.data)
    cols = F.im2col(x, k, stride=stride, padding=pad)                  # (N, C*KH*KW, OH*OW)
    N, CKK, L = cols.shape
    A = xp.ascontiguousarray(cols.transpose(1, 0, 2)).reshape(CKK, N * L)
    Wm = W.data.reshape(cfg["F"], CKK)                                 # groups = 1 in these layers
    # the lesson of this section, checked: conv2d is this copy followed by this one product
    y = (Wm @ A).reshape(cfg["F"], N, L).swapaxes(0, 1)
    with minidl.no_grad():
        assert xp.allclose(y, F.conv2d(x, W, stride=stride, padding=pad).data.reshape(N, cfg["F"], L),
                           rtol=1e-4, atol=1e-3)
    work = {"im2col": lambda: F.im2col(x, k, stride=stride, padding=pad),
            "product": lambda: Wm @ A,
            "conv2d": lambda: F.conv2d(x, W, stride=stride, padding=pad)}
    with minidl.no_grad():
        times = timing.time_round_robin({n: (fn, impl.sync) for n, fn in work.items()},
                                        args.warmup, args.reps)
    return {n: t["median_ms"] for n, t in times.items()}, cols.nbytes, 2 * cfg["F"] * CKK * N * L


split = {}
for device in DEVICES:
    for name in CONVS:
        _, _, cfg = cases.select(configs, "conv", name, args.batch)
        with blas_threads(1):
            split[name, device], nbytes, flops = im2col_and_product(cfg, device)
        ms = split[name, device]
        share = ms["im2col"] / (ms["im2col"] + ms["product"])
        print(f"{device:>4} {name:<18} F = {cfg['F']:3}   im2col {ms['im2col']:7.2f} ms "
              f"({nbytes / ms['im2col'] / 1e6:4.1f} GB/s)   product {ms['product']:7.2f} ms "
              f"({flops / ms['product'] / 1e6:5.1f} GFLOP/s)   conv2d {ms['conv2d']:7.2f} ms   "
              f"copy share {share:4.0%}")

# %%
fig, ax = plt.subplots(figsize=(10, 4))
labels = [f"{name}\n{device}" for name, device in split]
copy = np.array([ms["im2col"] for ms in split.values()])
product = np.array([ms["product"] for ms in split.values()])
conv = np.array([ms["conv2d"] for ms in split.values()])
xs = np.arange(len(split))
ax.bar(xs - 0.2, copy / (copy + product) * 100, 0.4, color="tab:purple", label="im2col copy")
ax.bar(xs - 0.2, product / (copy + product) * 100, 0.4, bottom=copy / (copy + product) * 100,
       color="tab:cyan", label="matrix product")
ax.bar(xs + 0.2, conv / (copy + product) * 100, 0.4, color="tab:grey", label="conv2d forward")
ax.axhline(100, color="black", linewidth=0.8)
ax.set_xticks(xs, labels, fontsize=8)
ax.set(ylabel="% of im2col + product", title="Convolution forward: the copy against the product")
ax.legend(loc="upper left", bbox_to_anchor=(1, 1))
fig.tight_layout()
plt.show()

# %% [markdown]
# How to read these figures, whatever machine ran them:
# - the **copy share** should fall as F grows: LeNet's second layer (16 filters) does 16
#   multiply-adds per number copied, VGG's 128 x 16 x 16 layer 128. Where the copy dominates,
#   the layer is limited by memory bandwidth, not by BLAS, and more BLAS threads help little.
#   Where the product dominates, the layer runs at BLAS speed;
# - the GFLOP/s of the product are one core's BLAS speed on that shape; thin products (few
#   filters, or few rows C x KH x KW, as in the 3-channel first VGG layer) run below it, which
#   shrinks the copy's share there;
# - a GPU speeds up both, the product most (thousands of cores and cuBLAS), so on a GPU the
#   fixed cost of every call (launching kernels, Python) weighs more, and small layers and
#   small batches gain least.
#
# The printed lines say how far each held in this run. In the step breakdown above, this split
# is what decides how much of the "conv" time a faster BLAS could remove.

# %% [markdown]
# ## Exercises
# 1. Run `python benchmarks/run.py --only vgg_cifar --breakdown` on your machine. Which layer type
#    dominates the VGG step, and how does the share of "outside Functions" compare with the MNIST ConvNet's?
# 2. Re-run the layer and model cells with `run.parse_args(["--threads", "2", ...])`. Which get
#    slower, which faster, and by how much? (Think of the copy share, and of a busy machine.)
# 3. Change `BREAKDOWN_MODEL`'s batch size (the `batch` argument) from 128 to 8. How do the shares of
#    conv, of the optimizer step and of "outside Functions" change, and why?
# 4. For `vgg_conv1_3to64` compute by hand how many numbers im2col writes (N x C x KH x KW x OH x OW)
#    and compare with the GB/s printed: is that copy near your machine's memory bandwidth?
# 5. On a machine with a GPU, which configurations does the GPU speed up least? Relate your answer
#    to the size of the work per call.
