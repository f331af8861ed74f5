"""AlexNet and ZFNet.

* ``alexnet``: torchvision's AlexNet (61,100,840 parameters), which is the
  single-tower network of Krizhevsky, "One weird trick for parallelizing
  convolutional neural networks", 2014: conv widths 64-192-384-256-256, no
  LRN, no groups, an adaptive 6x6 average pool.  torchvision's weights load
  into it by name.
* ``alexnet_original``: the 2012 network of Krizhevsky, Sutskever & Hinton,
  "ImageNet classification with deep convolutional neural networks", NIPS
  2012 (60,965,224 parameters): widths 96-256-384-384-256, conv2/4/5 split
  into two groups (the two GPUs), LRN after conv1 and conv2, overlapping 3x3/2
  pooling, 227x227 input (the paper's "224" does not give 55x55).
* ``zfnet``: Zeiler & Fergus, "Visualizing and understanding convolutional
  networks", ECCV 2014, Fig. 3 (62,357,608 parameters): 7x7/2 conv1, 5x5/2
  conv2, dense conv3-5; padding and ceil-mode pooling give Fig. 3's
  110/55/26/13/6 map sizes.
"""
from collections import OrderedDict

from .. import nn
from .registry import register

__all__ = ["AlexNet", "PaperAlexNet", "torchvision_features", "original_features", "zfnet_features",
           "alexnet", "alexnet_original", "zfnet"]


def torchvision_features():
    """torchvision's convolutional part: 64-192-384-256-256, no LRN, no groups.

    x (N, 3, H, W) -> (N, 256, OH, OW); 224 -> 6, 63 -> 1.
    """
    return nn.Sequential(
        nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(64, 192, kernel_size=5, padding=2), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(192, 384, kernel_size=3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(),
        nn.Conv2d(256, 256, kernel_size=3, padding=1), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2))


def _lrn():
    # The paper's b = a / (k + alpha * sum a^2)^beta with k=2, n=5, alpha=1e-4, beta=0.75.
    # PyTorch's (and minidl's) LocalResponseNorm divides alpha by n, so it gets n * 1e-4.
    return nn.LocalResponseNorm(size=5, alpha=5 * 1e-4, beta=0.75, k=2.0)


def original_features():
    """The 2012 AlexNet's convolutional part (Krizhevsky et al. 2012, Sec. 3 and Fig. 2).

    conv1 96 11x11/4, ReLU, LRN, max-pool 3/2; conv2 256 5x5 pad 2 in 2 groups
    (one per GPU), ReLU, LRN, max-pool 3/2; conv3 384 3x3 (reads both GPUs);
    conv4 384 and conv5 256 3x3 in 2 groups; max-pool 3/2.
    x (N, 3, 227, 227) -> (N, 256, 6, 6).
    """
    return nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(3, 96, kernel_size=11, stride=4)), ("relu1", nn.ReLU()),
        ("norm1", _lrn()), ("pool1", nn.MaxPool2d(kernel_size=3, stride=2)),
        ("conv2", nn.Conv2d(96, 256, kernel_size=5, padding=2, groups=2)), ("relu2", nn.ReLU()),
        ("norm2", _lrn()), ("pool2", nn.MaxPool2d(kernel_size=3, stride=2)),
        ("conv3", nn.Conv2d(256, 384, kernel_size=3, padding=1)), ("relu3", nn.ReLU()),
        ("conv4", nn.Conv2d(384, 384, kernel_size=3, padding=1, groups=2)), ("relu4", nn.ReLU()),
        ("conv5", nn.Conv2d(384, 256, kernel_size=3, padding=1, groups=2)), ("relu5", nn.ReLU()),
        ("pool5", nn.MaxPool2d(kernel_size=3, stride=2)),
    ]))


def zfnet_features():
    """ZFNet's convolutional part (Zeiler & Fergus 2014, Fig. 3).

    conv1 96 7x7/2 pad 1 (224 -> 110), ReLU, max-pool 3/2 (-> 55), contrast
    normalisation across maps (LRN); conv2 256 5x5/2 (-> 26), ReLU, max-pool
    3/2 (-> 13), LRN; conv3 384, conv4 384, conv5 256, all 3x3 pad 1;
    max-pool 3/2 (-> 6).  The pools round up (``ceil_mode``) to reach the
    figure's 55 and 13.  x (N, 3, 224, 224) -> (N, 256, 6, 6).
    """
    return nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(3, 96, kernel_size=7, stride=2, padding=1)), ("relu1", nn.ReLU()),
        ("pool1", nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True)), ("norm1", _lrn()),
        ("conv2", nn.Conv2d(96, 256, kernel_size=5, stride=2)), ("relu2", nn.ReLU()),
        ("pool2", nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True)), ("norm2", _lrn()),
        ("conv3", nn.Conv2d(256, 384, kernel_size=3, padding=1)), ("relu3", nn.ReLU()),
        ("conv4", nn.Conv2d(384, 384, kernel_size=3, padding=1)), ("relu4", nn.ReLU()),
        ("conv5", nn.Conv2d(384, 256, kernel_size=3, padding=1)), ("relu5", nn.ReLU()),
        ("pool5", nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True)),
    ]))


class AlexNet(nn.Module):
    """torchvision's AlexNet: the one-tower variant (Krizhevsky 2014), same parameter names.

    x (N, 3, 224, 224) -> logits (N, num_classes); any input of at least 63x63
    works, the adaptive pool brings the maps to 6x6.
    """

    def __init__(self, num_classes=1000, dropout=0.5):
        super().__init__()
        self.features = torchvision_features()
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(),
            nn.Dropout(dropout), nn.Linear(4096, 4096), nn.ReLU(),
            nn.Linear(4096, num_classes))

    def forward(self, x):
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


class PaperAlexNet(nn.Module):
    """AlexNet or ZFNet as their papers draw them: ``features`` ending in 256 maps of 6x6, then
    fc6 and fc7 (4096, ReLU, dropout) and fc8.

    x (N, 3, 227, 227) for AlexNet, (N, 3, 224, 224) for ZFNet -> logits (N, num_classes).
    """

    def __init__(self, features, num_classes=1000, dropout=0.5):
        super().__init__()
        self.features = features
        self.classifier = nn.Sequential(OrderedDict([
            ("fc6", nn.Linear(256 * 6 * 6, 4096)), ("relu6", nn.ReLU()), ("drop6", nn.Dropout(dropout)),
            ("fc7", nn.Linear(4096, 4096)), ("relu7", nn.ReLU()), ("drop7", nn.Dropout(dropout)),
            ("fc8", nn.Linear(4096, num_classes)),
        ]))

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))


@register(input_size=(3, 224, 224))
def alexnet(num_classes=1000, dropout=0.5):
    """torchvision's AlexNet (one tower, 64-192-384-256-256); see :class:`AlexNet`."""
    return AlexNet(num_classes, dropout)


@register(input_size=(3, 227, 227))
def alexnet_original(num_classes=1000, dropout=0.5):
    """The 2012 AlexNet: two groups, LRN, 227x227 input; see :func:`original_features`."""
    return PaperAlexNet(original_features(), num_classes, dropout)


@register(input_size=(3, 224, 224))
def zfnet(num_classes=1000, dropout=0.5):
    """ZFNet (Zeiler & Fergus 2014); see :func:`zfnet_features`."""
    return PaperAlexNet(zfnet_features(), num_classes, dropout)
