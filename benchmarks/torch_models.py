"""The five benchmark models written in PyTorch, for same-run comparisons with minidl and for the
parity tests of ``tests/models`` (one set of twins serves both).

Each is built from ``torch.nn`` only, with the module names of its minidl
counterpart in ``minidl.models`` (``conv1``, ``features.conv1_1``,
``layer2.0.downsample.0`` ...), so ``minidl.models.from_torch`` copies the
weights across by ``state_dict`` name and both sides start from the same
numbers.  The layer lists are those of ``configs.json``.  ``vgg_cifar``,
``resnet18_cifar`` and ``resnet20`` take minidl's ``width`` option too.
"""
from collections import OrderedDict

import torch.nn as nn
import torch.nn.functional as F

__all__ = ["build", "MODELS"]


def lenet5(num_classes=10, act=nn.ReLU, pool=nn.MaxPool2d, padding=2):
    """conv 1->6 5x5 pad 2, ReLU, maxpool 2, conv 6->16 5x5, ReLU, maxpool 2, conv 16->120 5x5 (C5, on
    5x5 maps the same as a linear 400->120), ReLU, 120->84, ReLU, 84->10.  ``act``, ``pool`` and
    ``padding`` give the other readings of ``minidl.models.lenet5`` (tanh, average pooling, 32x32
    input without padding)."""
    return nn.Sequential(OrderedDict([
        ("c1", nn.Conv2d(1, 6, 5, padding=padding)), ("act1", act()), ("s2", pool(2)),
        ("c3", nn.Conv2d(6, 16, 5)), ("act3", act()), ("s4", pool(2)),
        ("c5", nn.Conv2d(16, 120, 5)), ("act5", act()),
        ("flatten", nn.Flatten()),
        ("f6", nn.Linear(120, 84)), ("act6", act()),
        ("out", nn.Linear(84, num_classes)),
    ]))


def mnist_convnet(num_classes=10):
    """conv 1->50 3x3 pad 1, ReLU, maxpool 2, conv 50->100 3x3 pad 1, ReLU, maxpool 2, 4900->100->10."""
    return nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(1, 50, 3, padding=1)), ("relu1", nn.ReLU()), ("pool1", nn.MaxPool2d(2)),
        ("conv2", nn.Conv2d(50, 100, 3, padding=1)), ("relu2", nn.ReLU()), ("pool2", nn.MaxPool2d(2)),
        ("flatten", nn.Flatten()),
        ("fc1", nn.Linear(4900, 100)), ("relu3", nn.ReLU()),
        ("fc2", nn.Linear(100, num_classes)),
    ]))


class VGGCifar(nn.Module):
    """Four blocks of two 3x3 convolutions (64, 128, 256, 512) and a max-pool; 2048->4096->4096->10.

    ``width``: the first block's channels (default 64), doubling per block; the first linear layer follows.
    """

    def __init__(self, num_classes=10, width=64):
        super().__init__()
        widths, layers = [3, width, 2 * width, 4 * width, 8 * width], []
        for i in range(1, 5):
            c_in, c_out = widths[i - 1], widths[i]
            layers += [(f"conv{i}_1", nn.Conv2d(c_in, c_out, 3, padding=1)), (f"relu{i}_1", nn.ReLU()),
                       (f"conv{i}_2", nn.Conv2d(c_out, c_out, 3, padding=1)), (f"relu{i}_2", nn.ReLU()),
                       (f"pool{i}", nn.MaxPool2d(2))]
        self.features = nn.Sequential(OrderedDict(layers))
        self.classifier = nn.Sequential(nn.Linear(widths[-1] * 2 * 2, 4096), nn.ReLU(),
                                        nn.Linear(4096, 4096), nn.ReLU(), nn.Linear(4096, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))


class BasicBlock(nn.Module):
    """relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)); ``downsample`` is the shortcut where shapes
    change (None: the identity)."""

    def __init__(self, c_in, planes, stride, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


def _projection(c_in, planes, stride):
    """ResNet-18's shortcut where shapes change (option B): a 1x1 conv + BN; None where they do not."""
    if stride == 1 and c_in == planes:
        return None
    return nn.Sequential(nn.Conv2d(c_in, planes, 1, stride=stride, bias=False), nn.BatchNorm2d(planes))


class ZeroPadShortcut(nn.Module):
    """Option A shortcut (no parameters): every ``stride``-th pixel, the new channels zeros split evenly
    before and after the input's, as minidl's ``ZeroPadShortcut``."""

    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.stride = stride
        self.before = (c_out - c_in) // 2
        self.after = c_out - c_in - self.before

    def forward(self, x):
        return F.pad(x[:, :, ::self.stride, ::self.stride], (0, 0, 0, 0, self.before, self.after))


def _zero_pad(c_in, planes, stride):
    """ResNet-20's shortcut where shapes change (option A); None where they do not."""
    return None if stride == 1 and c_in == planes else ZeroPadShortcut(c_in, planes, stride)


class CifarResNet(nn.Module):
    """A ResNet for 32x32 images: 3x3 stride-1 stem of ``width`` channels, no max-pool, stages of basic
    blocks (``width``, 2 ``width``, 4 ``width`` ... channels; every stage after the first halves the map),
    global average pool, fc.  x (N, 3, H, W) -> (N, num_classes).

    ``blocks``: basic blocks per stage; ``shortcut(c_in, planes, stride)``: a stage's first shortcut.
    """

    def __init__(self, blocks, width, shortcut, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU()
        self.stages, c_in = [], width
        for i, n in enumerate(blocks):
            planes, stride = width * 2 ** i, 1 if i == 0 else 2
            self.stages.append(f"layer{i + 1}")
            setattr(self, self.stages[-1], nn.Sequential(
                BasicBlock(c_in, planes, stride, shortcut(c_in, planes, stride)),
                *(BasicBlock(planes, planes, 1) for _ in range(n - 1))))
            c_in = planes
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c_in, num_classes)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        for stage in self.stages:
            x = getattr(self, stage)(x)
        return self.fc(self.avgpool(x).flatten(1))


def resnet18_cifar(num_classes=10, width=64):
    """ResNet-18 with a 3x3 stride-1 stem of 64 channels (``width``) and no max-pool: basic blocks
    [2, 2, 2, 2] of 64, 128, 256, 512 channels, 1x1 conv + BN shortcuts where shapes change."""
    return CifarResNet([2, 2, 2, 2], width, _projection, num_classes)


def resnet20(num_classes=10, width=16):
    """He et al.'s CIFAR ResNet-20: basic blocks [3, 3, 3] of 16, 32, 64 channels (``width`` = 16),
    option A shortcuts where a stage starts."""
    return CifarResNet([3, 3, 3], width, _zero_pad, num_classes)


MODELS = {"lenet5": lenet5, "mnist_convnet": mnist_convnet, "vgg_cifar": VGGCifar,
          "resnet18_cifar": resnet18_cifar, "resnet20": resnet20}


def build(name, num_classes=10, **options):
    """The PyTorch twin of ``minidl.models.get(name, **options)`` (options: ``width`` where it applies)."""
    if name not in MODELS:
        raise KeyError(f"no PyTorch twin for model {name!r}; available: {', '.join(MODELS)}")
    return MODELS[name](num_classes, **options)
