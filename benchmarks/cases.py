"""Benchmark cases: one layer configuration or one model, on one implementation and device.

A case owns its inputs and offers ``run()``, the work that is timed (a
layer's forward + backward, a model's training step), and ``results()``, the
numbers compared with the reference before any timing (outputs and
gradients, as NumPy arrays).  Layer cases also offer ``forward()``, an
inference forward without a graph.  Every implementation of one
configuration gets the same input arrays, drawn here from a seeded NumPy
generator, and, for models, the same initial weights.
"""
import copy
import json
import math
from pathlib import Path

import numpy as np

__all__ = ["CONFIGS_PATH", "load_configs", "select", "layer_arrays", "model_arrays", "model_options",
           "LayerCase", "ModelCase", "make_cases", "relative_error", "compare"]

CONFIGS_PATH = Path(__file__).with_name("configs.json")
LAYER_KINDS = ("conv", "pool", "batchnorm")
_GRADS = {"conv": ("x", "weight", "bias"), "pool": ("x",), "batchnorm": ("x", "weight", "bias")}
MODEL_OPTIONS = ("width",)      # keys of a model configuration that its builders take as keywords


def load_configs(path=CONFIGS_PATH):
    """The configurations as ``[(kind, name, cfg)]``, kind in conv/pool/batchnorm/model."""
    raw = json.loads(Path(path).read_text())
    configs = [(kind, cfg["name"], cfg) for kind in LAYER_KINDS for cfg in raw[kind]]
    configs += [("model", name, cfg) for name, cfg in raw["models"].items() if isinstance(cfg, dict)]
    return configs


def select(configs, kind, name, batch=None):
    """The configuration ``kind``/``name`` of ``configs``; its batch size replaced by ``batch`` if given."""
    for k, n, cfg in configs:
        if (k, n) == (kind, name):
            if batch is not None:
                cfg = {**cfg, ("batch" if kind == "model" else "N"): batch}
            return k, n, cfg
    raise KeyError(f"no {kind} configuration named {name!r}")


def layer_arrays(kind, cfg, seed=0):
    """Float32 inputs of a layer configuration, and ``gy``, the gradient fed to its backward."""
    rng = np.random.default_rng(seed)
    N, C, H, W = cfg["N"], cfg["C"], cfg["H"], cfg["W"]
    arrays = {"x": rng.standard_normal((N, C, H, W), dtype=np.float32)}
    if kind == "conv":
        k, groups = cfg["k"], cfg["groups"]
        # scaled by 1/sqrt(fan_in), as a trained layer's, so outputs stay O(1) like the inputs
        scale = 1 / math.sqrt(C // groups * k * k)
        arrays["weight"] = rng.standard_normal((cfg["F"], C // groups, k, k), dtype=np.float32) * scale
        arrays["bias"] = rng.standard_normal(cfg["F"], dtype=np.float32) * np.float32(0.1)
        out_shape = (N, cfg["F"], cfg["OH"], cfg["OW"])
    elif kind == "pool":
        out_shape = (N, C, cfg["OH"], cfg["OW"])
    else:
        arrays["running_mean"] = np.zeros(C, dtype=np.float32)
        arrays["running_var"] = np.ones(C, dtype=np.float32)
        arrays["weight"] = 1 + rng.standard_normal(C, dtype=np.float32) * np.float32(0.1)
        arrays["bias"] = rng.standard_normal(C, dtype=np.float32) * np.float32(0.1)
        out_shape = (N, C, H, W)
    arrays["gy"] = rng.standard_normal(out_shape, dtype=np.float32)
    return arrays


def model_options(cfg):
    """The builder keywords of a model configuration (``{'width': 64}``; ``{}`` for models without any)."""
    return {key: cfg[key] for key in MODEL_OPTIONS if key in cfg}


def model_arrays(cfg, seed=0):
    """A float32 image batch ``x`` (batch, *input) and int64 class labels ``target`` in [0, 10)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((cfg["batch"], *cfg["input"]), dtype=np.float32)
    return {"x": x, "target": rng.integers(0, 10, cfg["batch"]).astype(np.int64)}


class LayerCase:
    """Conv, max-pool or batch norm (training mode) with one configuration, on one implementation."""

    def __init__(self, impl, kind, cfg, arrays):
        self.impl, self.kind, self.cfg, self.arrays = impl, kind, cfg, arrays
        self.trainable = _GRADS[kind]
        self.tensors = {name: impl.tensor(a, requires_grad=name in self.trainable)
                        for name, a in arrays.items() if name != "gy"}
        self.gy = impl.tensor(arrays["gy"])
        self.op = {"conv": lambda x, weight, bias: impl.conv2d(x, weight, bias, cfg),
                   "pool": lambda x: impl.max_pool2d(x, cfg),
                   "batchnorm": lambda x, running_mean, running_var, weight, bias:
                       impl.batch_norm(x, running_mean, running_var, weight, bias, cfg)}[kind]

    def forward(self):
        with self.impl.no_grad():
            return self.op(**self.tensors)

    def run(self):
        """Forward and backward; the gradients are reset first so that none accumulate."""
        for name in self.trainable:
            self.tensors[name].grad = None
        y = self.op(**self.tensors)
        y.backward(self.gy)
        return y

    def results(self):
        y = self.run()
        out = {"y": self.impl.numpy(y)}
        out.update({f"grad {name}": self.impl.numpy(self.tensors[name].grad) for name in self.trainable})
        return out

    def float64(self):
        """The same case in float64, a reference for the float32 rounding errors."""
        arrays = {name: a.astype(np.float64) for name, a in self.arrays.items()}
        return LayerCase(self.impl, self.kind, self.cfg, arrays)


class ModelCase:
    """One training step of a model: forward, cross-entropy, backward, SGD (momentum 0.9) update."""

    def __init__(self, impl, name, arrays, weights_from=None, options=None):
        self.impl = impl
        self.model = impl.model(name, weights_from=weights_from, **(options or {}))
        self.model.train()
        self.optimizer = impl.sgd(list(self.model.parameters()))
        self.x = impl.tensor(arrays["x"])
        self.target = impl.tensor(arrays["target"])

    def forward_loss(self):
        """Logits and cross-entropy loss of the batch, recording the graph."""
        logits = self.model(self.x)
        return logits, self.impl.cross_entropy(logits, self.target)

    def run(self):
        self.optimizer.zero_grad()
        _, loss = self.forward_loss()
        loss.backward()
        self.optimizer.step()
        return loss

    def results(self):
        """Logits, loss and every parameter's gradient, before any update."""
        self.optimizer.zero_grad()
        logits, loss = self.forward_loss()
        loss.backward()
        out = {"logits": self.impl.numpy(logits), "loss": self.impl.numpy(loss)}
        out.update({f"grad {name}": self.impl.numpy(p.grad) for name, p in self.model.named_parameters()})
        return out

    def float64(self):
        """The same case in float64, with a copy of the model: a reference for float32 rounding errors."""
        twin = copy.copy(self)
        twin.model = copy.deepcopy(self.model).double()
        twin.optimizer = self.impl.sgd(list(twin.model.parameters()))
        twin.x = self.x.double()
        return twin


def make_cases(impls, kind, name, cfg, seed=0):
    """``impl name -> case`` for one configuration, every implementation with the same inputs.

    For models the torch side (when present) is built first, seeded, and
    minidl copies its weights; alone, minidl starts from its own seeded init.
    Both sides build the model with the configuration's ``model_options``.
    """
    if kind != "model":
        arrays = layer_arrays(kind, cfg, seed)
        return {impl.name: LayerCase(impl, kind, cfg, arrays) for impl in impls}
    arrays = model_arrays(cfg, seed)
    cases, source = {}, None
    for impl in sorted(impls, key=lambda i: i.name != "torch"):    # torch first: it gives the weights
        impl.manual_seed(seed)
        cases[impl.name] = ModelCase(impl, name, arrays, weights_from=source, options=model_options(cfg))
        if impl.name == "torch":
            source = cases["torch"].model
    return cases


def relative_error(a, reference):
    """max |a - reference| / max |reference|: the error relative to the reference's scale."""
    a, reference = np.asarray(a, np.float64), np.asarray(reference, np.float64)
    if a.shape != reference.shape:
        return math.inf
    scale = np.abs(reference).max(initial=0.0)
    return float(np.abs(a - reference).max(initial=0.0) / (scale if scale > 0 else 1.0))


def compare(results, reference, outputs_only=False):
    """The worst relative error over the arrays of two ``results()`` and the name of the worst one.

    ``outputs_only`` leaves out the gradients (the arrays named ``grad ...``).
    """
    missing = sorted(set(reference) ^ set(results))
    if missing:
        return {"max_rel_err": math.inf, "worst": f"not on both sides: {', '.join(missing)}"}
    keys = [key for key in reference if not (outputs_only and key.startswith("grad "))]
    errors = {key: relative_error(results[key], reference[key]) for key in keys}
    worst = max(errors, key=errors.get)
    return {"max_rel_err": errors[worst], "worst": worst}
