"""Tensors, Functions and reverse-mode differentiation."""
from .core import BackwardError, Function, OpError, Tensor, enable_grad, is_grad_enabled, no_grad
from .arithmetic import (abs, add, clip, div, exp, log, matmul, maximum, minimum, mul, neg,
                         pow, sqrt, sub, unbroadcast, where)
from .reduction import max, mean, min, sum
from .shape import concat, flatten, getitem, pad, permute, reshape, split, stack, transpose
from .creation import (arange, empty, full, ones, ones_like, rand, randn, tensor, zeros,
                       zeros_like)
