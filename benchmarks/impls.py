"""The two implementations under test, behind one small interface.

``Minidl(device)`` and ``Torch(device)`` offer the same methods (make a
tensor, read it back, run conv / max-pool / batch norm with a configuration
of ``configs.json``, build a model and its SGD optimizer), so a benchmark case
is written once and runs on either.  torch is imported only by ``Torch``.
"""
import sys

import numpy as np

import minidl
import minidl.functional as F
from minidl import backend

__all__ = ["Minidl", "Torch", "torch_available", "implementations", "set_threads", "LR", "MOMENTUM"]

LR, MOMENTUM = 0.01, 0.9     # the training step's SGD (configs.json: "SGD with momentum 0.9")


def torch_available(device="cpu"):
    """True when torch imports and can run on ``device`` ('cpu' or 'cuda')."""
    try:
        import torch
    except ImportError:
        return False
    return device == "cpu" or torch.cuda.is_available()


class Minidl:
    """minidl on ``device`` ('cpu' or 'cuda')."""

    name = "minidl"

    def __init__(self, device):
        self.device = device

    @staticmethod
    def available(device):
        return device == "cpu" or minidl.cuda.is_available()

    def manual_seed(self, seed):
        minidl.manual_seed(seed)

    def tensor(self, array, requires_grad=False):
        return minidl.Tensor(array, requires_grad=requires_grad, device=self.device)

    def numpy(self, t):
        return t.numpy()

    def no_grad(self):
        return minidl.no_grad()

    def sync(self):
        backend.synchronize(self.device)

    def conv2d(self, x, weight, bias, cfg):
        return F.conv2d(x, weight, bias, stride=cfg["stride"], padding=cfg["pad"], groups=cfg["groups"])

    def max_pool2d(self, x, cfg):
        return F.max_pool2d(x, cfg["k"], stride=cfg["stride"])

    def batch_norm(self, x, running_mean, running_var, weight, bias, cfg):
        return F.batch_norm(x, running_mean, running_var, weight, bias, training=True, eps=cfg["eps"])

    def cross_entropy(self, logits, target):
        return F.cross_entropy(logits, target)

    def model(self, name, weights_from=None, **options):
        """``minidl.models.get(name, **options)`` on this device, with the weights of a torch model if any."""
        import minidl.models
        model = minidl.models.get(name, num_classes=10, **options)
        if weights_from is not None:
            minidl.models.from_torch(weights_from, model)
        return model.to(self.device)

    def sgd(self, parameters):
        import minidl.optim
        return minidl.optim.SGD(parameters, lr=LR, momentum=MOMENTUM)


class Torch:
    """PyTorch on ``device`` ('cpu' or 'cuda')."""

    name = "torch"

    def __init__(self, device):
        import torch
        self.torch = torch
        self.device = device

    @staticmethod
    def available(device):
        return torch_available(device)

    def manual_seed(self, seed):
        self.torch.manual_seed(seed)

    def tensor(self, array, requires_grad=False):
        t = self.torch.from_numpy(np.ascontiguousarray(array)).to(self.device)
        return t.requires_grad_(requires_grad)

    def numpy(self, t):
        return t.detach().cpu().numpy()

    def no_grad(self):
        return self.torch.no_grad()

    def sync(self):
        if self.device != "cpu":
            self.torch.cuda.synchronize()

    def conv2d(self, x, weight, bias, cfg):
        return self.torch.nn.functional.conv2d(x, weight, bias, stride=cfg["stride"], padding=cfg["pad"],
                                               groups=cfg["groups"])

    def max_pool2d(self, x, cfg):
        return self.torch.nn.functional.max_pool2d(x, cfg["k"], stride=cfg["stride"])

    def batch_norm(self, x, running_mean, running_var, weight, bias, cfg):
        return self.torch.nn.functional.batch_norm(x, running_mean, running_var, weight, bias,
                                                   training=True, eps=cfg["eps"])

    def cross_entropy(self, logits, target):
        return self.torch.nn.functional.cross_entropy(logits, target)

    def model(self, name, weights_from=None, **options):
        """The PyTorch twin of ``minidl.models.get(name, **options)`` on this device."""
        from benchmarks import torch_models
        if weights_from is not None:
            raise ValueError("Torch.model: the torch side is the source of the weights, not a copy")
        return torch_models.build(name, **options).to(self.device)

    def sgd(self, parameters):
        return self.torch.optim.SGD(parameters, lr=LR, momentum=MOMENTUM)


def implementations(device, compare_torch):
    """The implementations to run on ``device``: minidl, then torch when asked for and usable there."""
    impls = [Minidl(device)] if Minidl.available(device) else []
    if compare_torch and torch_available(device):
        impls.append(Torch(device))
    return impls



def set_threads(n):
    """Give NumPy's BLAS (through threadpoolctl, when installed), minidl's compiled kernels and torch,
    if imported, ``n`` CPU threads."""
    from minidl.backend import kernels
    kernels.set_num_threads(n)
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(limits=n)
    except ImportError:
        pass
    if "torch" in sys.modules:      # never import torch (seconds) just to set its threads
        sys.modules["torch"].set_num_threads(n)
