"""The tflearn CIFAR-10 example network (examples/images/convnet_cifar10.py), 2,159,114 parameters."""
from collections import OrderedDict

from .. import nn
from .registry import register

__all__ = ["CifarConvNet", "cifar_convnet"]


class CifarConvNet(nn.Sequential):
    """The tflearn CIFAR-10 example network (2,159,114 parameters).

    conv 32 3x3 'same', ReLU, max-pool 2, conv 64 3x3, ReLU, conv 64 3x3, ReLU,
    max-pool 2, fully connected 4,096->512, ReLU, dropout 0.5, fully connected
    512->10.  tflearn flattens NHWC; here the flatten is PyTorch's (C, H, W)
    order, which permutes fc1's inputs but changes nothing else.
    x (N, 3, 32, 32) -> logits (N, num_classes).
    """

    def __init__(self, num_classes=10):
        super().__init__(OrderedDict([
            ("conv1", nn.Conv2d(3, 32, 3, padding=1)), ("relu1", nn.ReLU()), ("pool1", nn.MaxPool2d(2)),
            ("conv2", nn.Conv2d(32, 64, 3, padding=1)), ("relu2", nn.ReLU()),
            ("conv3", nn.Conv2d(64, 64, 3, padding=1)), ("relu3", nn.ReLU()), ("pool2", nn.MaxPool2d(2)),
            ("flatten", nn.Flatten()),
            ("fc1", nn.Linear(64 * 8 * 8, 512)), ("relu4", nn.ReLU()), ("dropout", nn.Dropout(0.5)),
            ("fc2", nn.Linear(512, num_classes)),
        ]))


@register(input_size=(3, 32, 32))
def cifar_convnet(num_classes=10):
    """The tflearn CIFAR-10 example network (2,159,114 parameters)."""
    return CifarConvNet(num_classes)
