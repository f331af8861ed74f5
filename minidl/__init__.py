"""minidl: a deep-learning framework on NumPy (CPU) and CuPy (GPU), written to be read.

The layers, bottom up: ``backend`` (NumPy or CuPy) -> ``autograd`` (Tensor,
Function) -> ``functional`` (the ops) -> ``nn``/``optim`` -> ``data``/``models``
-> training and the command line.
"""
from . import backend, cuda
# torch.is_anomaly_enabled is top-level too; detect_anomaly stays in autograd, as torch.autograd's
from .autograd import (Function, Tensor, abs, amax, amin, arange, cat, concat, empty, enable_grad, exp,
                       flatten, full, is_anomaly_check_nan_enabled, is_anomaly_enabled, is_grad_enabled,
                       log, matmul, no_grad, ones, ones_like, permute, rand, randn, reshape, sqrt, squeeze,
                       stack, tensor, transpose, unsqueeze, where, zeros, zeros_like)
from .backend import Device, device, get_default_dtype, manual_seed, set_default_dtype
from .gradcheck import GradcheckError, gradcheck

float32 = backend.np.float32
float64 = backend.np.float64

__version__ = "0.1.0"

from . import nn, optim  # noqa: E402  (they build on the names above)
# PyTorch's top-level activations, so that ``import minidl as torch`` runs torch code unchanged.
from .functional import log_softmax, relu, sigmoid, softmax, tanh  # noqa: E402
from .serialization import load, save  # noqa: E402
from .summary import count_parameters, summary  # noqa: E402
