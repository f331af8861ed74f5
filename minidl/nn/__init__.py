"""Modules: layers that hold parameters, containers, losses, initialization (``import minidl.nn as nn``).

Each layer stores its options and parameters and calls the stateless op of
:mod:`minidl.functional` of the same name in ``forward``.
"""
from . import init, utils
from .activation import (ELU, Hardtanh, LeakyReLU, LogSoftmax, Maxout, ReLU, ScaledTanh, Sigmoid,
                         Softmax, Softplus, Tanh)
from .containers import Flatten, Identity, ModuleDict, ModuleList, Sequential
from .conv import Conv1d, Conv2d
from .dropout import DropPath, Dropout, Dropout2d
from .linear import Embedding, Linear
from .loss import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss, NLLLoss
from .module import Module, Parameter
from .normalization import BatchNorm1d, BatchNorm2d, LocalResponseNorm
from .pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool1d, MaxPool2d
