"""The four benchmark models written in PyTorch, for same-run comparisons with minidl and for the
parity tests of ``tests/models`` (one set of twins serves both).

Each is built from ``torch.nn`` only, with the module names of its minidl
counterpart in ``minidl.models`` (``conv1``, ``features.conv1_1``,
``layer2.0.downsample.0`` ...), so ``minidl.models.from_torch`` copies the
weights across by ``state_dict`` name and both sides start from the same
numbers.  The layer lists are those of ``configs.json``.
"""
from collections import OrderedDict

import torch.nn as nn

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
    """Four blocks of two 3x3 convolutions (64, 128, 256, 512) and a max-pool; 2048->4096->4096->10."""

    def __init__(self, num_classes=10):
        super().__init__()
        widths, layers = [3, 64, 128, 256, 512], []
        for i in range(1, 5):
            c_in, c_out = widths[i - 1], widths[i]
            layers += [(f"conv{i}_1", nn.Conv2d(c_in, c_out, 3, padding=1)), (f"relu{i}_1", nn.ReLU()),
                       (f"conv{i}_2", nn.Conv2d(c_out, c_out, 3, padding=1)), (f"relu{i}_2", nn.ReLU()),
                       (f"pool{i}", nn.MaxPool2d(2))]
        self.features = nn.Sequential(OrderedDict(layers))
        self.classifier = nn.Sequential(nn.Linear(2048, 4096), nn.ReLU(), nn.Linear(4096, 4096), nn.ReLU(),
                                        nn.Linear(4096, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))


class BasicBlock(nn.Module):
    """relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)); a 1x1 conv + BN shortcut where shapes change."""

    def __init__(self, c_in, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or c_in != planes:
            self.downsample = nn.Sequential(nn.Conv2d(c_in, planes, 1, stride=stride, bias=False),
                                            nn.BatchNorm2d(planes))

    def forward(self, x):
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class ResNet18Cifar(nn.Module):
    """3x3 stride-1 stem of 64 channels, no max-pool, basic blocks [2, 2, 2, 2], global average pool, fc."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        c_in = 64
        for i, (planes, stride) in enumerate([(64, 1), (128, 2), (256, 2), (512, 2)], start=1):
            setattr(self, f"layer{i}", nn.Sequential(BasicBlock(c_in, planes, stride),
                                                     BasicBlock(planes, planes, 1)))
            c_in = planes
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512, num_classes)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.avgpool(x).flatten(1))


MODELS = {"lenet5": lenet5, "mnist_convnet": mnist_convnet, "vgg_cifar": VGGCifar,
          "resnet18_cifar": ResNet18Cifar}


def build(name, num_classes=10):
    """The PyTorch twin of ``minidl.models.get(name)``."""
    if name not in MODELS:
        raise KeyError(f"no PyTorch twin for model {name!r}; available: {', '.join(MODELS)}")
    return MODELS[name](num_classes)
