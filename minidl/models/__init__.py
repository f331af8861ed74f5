"""The classic CNNs, composed from ``minidl.nn`` layers only.

``list_models()`` names them; ``get(name, num_classes=..., weights=None, **options)`` builds one,
with pretrained weights from a ``.npz`` file if asked (see :mod:`minidl.models.weights`).
"""
from .registry import get, input_size, list_models, register
from .torch_weights import from_torch
from .weights import WeightsError, export_torch, export_torchvision, load_weights
from . import cifar_convnet, cifar_resnet, densenet, preact_resnet, resnet
from . import alexnet, googlenet, inception, lenet, nin, textcnn, vgg, xception
