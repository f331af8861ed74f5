"""Tensors, Functions and reverse-mode differentiation."""
from .core import BackwardError, Function, OpError, Tensor, enable_grad, is_grad_enabled, no_grad
from .anomaly_mode import (detect_anomaly, is_anomaly_check_nan_enabled, is_anomaly_enabled,
                           set_detect_anomaly)
from .arithmetic import (abs, add, clip, div, exp, log, matmul, maximum, minimum, mul, neg,
                         pow, sqrt, sub, unbroadcast, where)
from .reduction import amax, amin, max, mean, min, sum
from .shape import (cat, concat, flatten, getitem, pad, permute, reshape, split, squeeze, stack,
                    transpose, unsqueeze)
from . import torch_names  # noqa: F401  (attaches PyTorch's method names to Tensor)
from .creation import (arange, empty, full, ones, ones_like, rand, randn, tensor, zeros,
                       zeros_like)
