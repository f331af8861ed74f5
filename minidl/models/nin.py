"""Network in Network (Lin, Chen & Yan, "Network in network", ICLR 2014).

Each "mlpconv" block is a spatial convolution followed by two 1x1
convolutions (a small MLP slid over the image), all with ReLU; the last
block has one map per class and global average pooling replaces the fully
connected head.  The paper prints no layer table: the widths are those of the
authors' released Caffe configurations, with Caffe's round-up pooling.

* ``variant='cifar'`` (966,986 parameters): 192-160-96 5x5 / 192-192-192 5x5 /
  192-192-classes 3x3, max-pool then average-pool 3x3/2, dropout 0.5 after
  the first two pools, 8x8 global average pool; input 3x32x32.
* ``variant='imagenet'`` (7,595,176 parameters): 96-96-96 11x11/4 /
  256-256-256 5x5 / 384-384-384 3x3 / 1024-1024-classes 3x3, max-pools 3x3/2,
  dropout 0.5 before the last block; input 3x224x224.
"""
from collections import OrderedDict

from .. import nn
from .registry import register

__all__ = ["NIN", "mlpconv", "nin"]


def mlpconv(in_channels, widths, kernel_size, stride=1, padding=0):
    """One mlpconv block: a kxk convolution then two 1x1 convolutions, each followed by ReLU.

    x (N, in_channels, H, W) -> (N, widths[2], OH, OW).
    """
    c1, c2, c3 = widths
    return nn.Sequential(
        nn.Conv2d(in_channels, c1, kernel_size, stride=stride, padding=padding), nn.ReLU(),
        nn.Conv2d(c1, c2, 1), nn.ReLU(),
        nn.Conv2d(c2, c3, 1), nn.ReLU())


def _cifar_stages(num_classes, dropout):
    return [
        ("block1", mlpconv(3, (192, 160, 96), 5, padding=2)),
        ("pool1", nn.MaxPool2d(3, stride=2, ceil_mode=True)), ("drop1", nn.Dropout(dropout)),
        ("block2", mlpconv(96, (192, 192, 192), 5, padding=2)),
        ("pool2", nn.AvgPool2d(3, stride=2, ceil_mode=True)), ("drop2", nn.Dropout(dropout)),
        ("block3", mlpconv(192, (192, 192, num_classes), 3, padding=1)),
    ]


def _imagenet_stages(num_classes, dropout):
    return [
        ("block1", mlpconv(3, (96, 96, 96), 11, stride=4)),
        ("pool1", nn.MaxPool2d(3, stride=2, ceil_mode=True)),
        ("block2", mlpconv(96, (256, 256, 256), 5, padding=2)),
        ("pool2", nn.MaxPool2d(3, stride=2, ceil_mode=True)),
        ("block3", mlpconv(256, (384, 384, 384), 3, padding=1)),
        ("pool3", nn.MaxPool2d(3, stride=2, ceil_mode=True)), ("drop3", nn.Dropout(dropout)),
        ("block4", mlpconv(384, (1024, 1024, num_classes), 3, padding=1)),
    ]


_VARIANTS = {"cifar": _cifar_stages, "imagenet": _imagenet_stages}


class NIN(nn.Sequential):
    """Network in Network: mlpconv blocks, pools, and a global average pool as the classifier.

    x (N, 3, 32, 32) for 'cifar', (N, 3, 224, 224) for 'imagenet' -> logits (N, num_classes).
    """

    def __init__(self, num_classes=10, variant="cifar", dropout=0.5):
        if variant not in _VARIANTS:
            raise ValueError(f"nin: variant must be one of {sorted(_VARIANTS)}, got {variant!r}")
        stages = _VARIANTS[variant](num_classes, dropout)
        super().__init__(OrderedDict(stages + [("gap", nn.AdaptiveAvgPool2d(1)),
                                               ("flatten", nn.Flatten())]))


@register(input_size=(3, 32, 32))
def nin(num_classes=None, variant="cifar", dropout=0.5):
    """Network in Network; ``num_classes`` defaults to 10 for 'cifar' and 1000 for 'imagenet'."""
    if num_classes is None:
        num_classes = 1000 if variant == "imagenet" else 10
    return NIN(num_classes, variant, dropout)
