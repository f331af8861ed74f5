"""The ops: stateless Functions with hand-written backward (``import minidl.functional as F``).

Elementary math comes from :mod:`minidl.autograd`; the CNN ops live one family per module.
"""
from ..autograd import (abs, clip, concat, exp, flatten, log, matmul, max, maximum, mean, min,
                        minimum, pad, reshape, split, sqrt, stack, sum, transpose, where)
from .activation import (elu, hardtanh, leaky_relu, log_softmax, maxout, relu, scaled_tanh, sigmoid,
                         softmax, softplus, tanh)
from .normalization import batch_norm, local_response_norm
from .dropout import drop_path, dropout, dropout2d
from .linear import embedding, linear
from .loss import binary_cross_entropy_with_logits, cross_entropy, mse_loss, nll_loss
from .conv import col2im, conv1d, conv2d, conv_impl, im2col
from .pooling import adaptive_avg_pool2d, avg_pool2d, global_avg_pool2d, max_pool1d, max_pool2d
