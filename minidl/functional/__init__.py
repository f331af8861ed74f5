"""The ops: stateless Functions with hand-written backward (``import minidl.functional as F``).

Elementary math comes from :mod:`minidl.autograd`; the CNN ops live one family per module.
"""
from ..autograd import (abs, clip, concat, exp, flatten, log, matmul, max, maximum, mean, min,
                        minimum, pad, reshape, split, sqrt, stack, sum, transpose, where)
