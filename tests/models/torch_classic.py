"""PyTorch definitions of the classic small and mid-sized nets, the independent side of the parity tests.

Written from the papers (and torchvision's ``alexnet.py`` / ``vgg.py`` for the
torchvision layouts, with their module names; torchvision is not installed):

- ``LeNet5Original``: LeCun et al. 1998 Sec. II-B, with the subsampling
  written as a depthwise convolution of ones and the RBF layer with ``torch.cdist``;
- ``cifar_convnet``: the tflearn course net as an ``nn.Sequential`` of named
  layers (the other course nets, ``lenet5``, ``mnist_convnet`` and
  ``VGGCifar``, are the benchmarks' twins in ``benchmarks/torch_models.py``);
- ``AlexNet`` (torchvision), ``alexnet_original`` (Krizhevsky 2012, 2 groups,
  LRN), ``zfnet`` (Zeiler & Fergus 2014 Fig. 3);
- ``nin`` (Lin et al. 2013, the authors' Caffe configurations);
- ``VGG`` / ``make_layers`` (torchvision's, with Table 1's A-LRN and C added);
- ``KimCNN`` (Kim 2014), multichannel as two convolutions sharing weights.

Import only after ``pytest.importorskip("torch")``.
"""
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F

C3_TABLE = [[0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5], [4, 5, 0], [5, 0, 1],
            [0, 1, 2, 3], [1, 2, 3, 4], [2, 3, 4, 5], [3, 4, 5, 0], [4, 5, 0, 1], [5, 0, 1, 2],
            [0, 1, 3, 4], [1, 2, 4, 5], [0, 2, 3, 5], [0, 1, 2, 3, 4, 5]]


class ScaledTanh(nn.Module):
    def forward(self, x):
        return 1.7159 * torch.tanh(x * 2 / 3)


class Subsampling(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.weight = nn.Parameter(torch.rand(channels))
        self.bias = nn.Parameter(torch.rand(channels) - 0.5)

    def forward(self, x):
        ones = torch.ones(x.shape[1], 1, 2, 2, dtype=x.dtype)
        summed = F.conv2d(x, ones, stride=2, groups=x.shape[1])
        return summed * self.weight[:, None, None] + self.bias[:, None, None]


class SparseConv(nn.Module):
    def __init__(self):
        super().__init__()
        self.convs = nn.ModuleList([nn.Conv2d(len(maps), 1, 5) for maps in C3_TABLE])

    def forward(self, x):
        return torch.cat([conv(x[:, maps]) for maps, conv in zip(C3_TABLE, self.convs)], dim=1)


class RBF(nn.Module):
    def __init__(self, in_features, num_classes):
        super().__init__()
        self.weight = nn.Parameter(torch.randint(0, 2, (num_classes, in_features)).float() * 2 - 1,
                                   requires_grad=False)

    def forward(self, x):
        distance = torch.cdist(x, self.weight, compute_mode="donot_use_mm_for_euclid_dist")
        return -distance ** 2


def LeNet5Original(num_classes=10):
    return nn.Sequential(OrderedDict([
        ("c1", nn.Conv2d(1, 6, 5)), ("a1", ScaledTanh()), ("s2", Subsampling(6)), ("a2", ScaledTanh()),
        ("c3", SparseConv()), ("a3", ScaledTanh()), ("s4", Subsampling(16)), ("a4", ScaledTanh()),
        ("c5", nn.Conv2d(16, 120, 5)), ("a5", ScaledTanh()), ("flat", nn.Flatten()),
        ("f6", nn.Linear(120, 84)), ("a6", ScaledTanh()), ("rbf", RBF(84, num_classes)),
    ]))


def cifar_convnet():
    return nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(3, 32, 3, padding=1)), ("r1", nn.ReLU()), ("p1", nn.MaxPool2d(2)),
        ("conv2", nn.Conv2d(32, 64, 3, padding=1)), ("r2", nn.ReLU()),
        ("conv3", nn.Conv2d(64, 64, 3, padding=1)), ("r3", nn.ReLU()), ("p2", nn.MaxPool2d(2)),
        ("flat", nn.Flatten()), ("fc1", nn.Linear(4096, 512)), ("r4", nn.ReLU()), ("d", nn.Dropout(0.5)),
        ("fc2", nn.Linear(512, 10)),
    ]))


def torchvision_features():
    return nn.Sequential(
        nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2), nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(64, 192, kernel_size=5, padding=2), nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(192, 384, kernel_size=3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(256, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=3, stride=2))


class AlexNet(nn.Module):
    def __init__(self, num_classes=1000, dropout=0.5):
        super().__init__()
        self.features = torchvision_features()
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(inplace=True),
            nn.Dropout(p=dropout), nn.Linear(4096, 4096), nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


class _Stages(nn.Module):
    def __init__(self, features, num_classes):
        super().__init__()
        self.features = features
        self.classifier = nn.Sequential(OrderedDict([
            ("fc6", nn.Linear(9216, 4096)), ("relu6", nn.ReLU()), ("drop6", nn.Dropout()),
            ("fc7", nn.Linear(4096, 4096)), ("relu7", nn.ReLU()), ("drop7", nn.Dropout()),
            ("fc8", nn.Linear(4096, num_classes))]))

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


class PaperLRN(nn.Module):
    """Krizhevsky's b = a / (2 + 1e-4 * sum a^2)^0.75 over 5 neighbouring maps, written out."""

    def forward(self, a):
        squares = F.pad(a * a, (0, 0, 0, 0, 2, 2))
        window = sum(squares[:, i:i + a.shape[1]] for i in range(5))
        return a / (2 + 1e-4 * window) ** 0.75


def original_features():
    return nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(3, 96, 11, 4)), ("relu1", nn.ReLU()), ("norm1", PaperLRN()),
        ("pool1", nn.MaxPool2d(3, 2)),
        ("conv2", nn.Conv2d(96, 256, 5, padding=2, groups=2)), ("relu2", nn.ReLU()), ("norm2", PaperLRN()),
        ("pool2", nn.MaxPool2d(3, 2)),
        ("conv3", nn.Conv2d(256, 384, 3, padding=1)), ("relu3", nn.ReLU()),
        ("conv4", nn.Conv2d(384, 384, 3, padding=1, groups=2)), ("relu4", nn.ReLU()),
        ("conv5", nn.Conv2d(384, 256, 3, padding=1, groups=2)), ("relu5", nn.ReLU()),
        ("pool5", nn.MaxPool2d(3, 2))]))


def zfnet_features():
    return nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(3, 96, 7, 2, padding=1)), ("relu1", nn.ReLU()),
        ("pool1", nn.MaxPool2d(3, 2, ceil_mode=True)), ("norm1", PaperLRN()),
        ("conv2", nn.Conv2d(96, 256, 5, 2)), ("relu2", nn.ReLU()),
        ("pool2", nn.MaxPool2d(3, 2, ceil_mode=True)), ("norm2", PaperLRN()),
        ("conv3", nn.Conv2d(256, 384, 3, padding=1)), ("relu3", nn.ReLU()),
        ("conv4", nn.Conv2d(384, 384, 3, padding=1)), ("relu4", nn.ReLU()),
        ("conv5", nn.Conv2d(384, 256, 3, padding=1)), ("relu5", nn.ReLU()),
        ("pool5", nn.MaxPool2d(3, 2, ceil_mode=True))]))


def alexnet_original(num_classes=1000):
    return _Stages(original_features(), num_classes)


def zfnet(num_classes=1000):
    return _Stages(zfnet_features(), num_classes)


def _mlpconv(c_in, c1, c2, c3, k, stride=1, pad=0):
    return nn.Sequential(nn.Conv2d(c_in, c1, k, stride, pad), nn.ReLU(), nn.Conv2d(c1, c2, 1), nn.ReLU(),
                         nn.Conv2d(c2, c3, 1), nn.ReLU())


def _caffe_max_pool():
    return nn.MaxPool2d(3, 2, ceil_mode=True)


def nin(variant="cifar", num_classes=10):
    if variant == "cifar":
        stages = [("block1", _mlpconv(3, 192, 160, 96, 5, pad=2)),
                  ("pool1", _caffe_max_pool()), ("drop1", nn.Dropout()),
                  ("block2", _mlpconv(96, 192, 192, 192, 5, pad=2)),
                  ("pool2", nn.AvgPool2d(3, 2, ceil_mode=True)), ("drop2", nn.Dropout()),
                  ("block3", _mlpconv(192, 192, 192, num_classes, 3, pad=1))]
    else:
        stages = [("block1", _mlpconv(3, 96, 96, 96, 11, stride=4)), ("pool1", _caffe_max_pool()),
                  ("block2", _mlpconv(96, 256, 256, 256, 5, pad=2)), ("pool2", _caffe_max_pool()),
                  ("block3", _mlpconv(256, 384, 384, 384, 3, pad=1)), ("pool3", _caffe_max_pool()),
                  ("drop3", nn.Dropout()), ("block4", _mlpconv(384, 1024, 1024, num_classes, 3, pad=1))]
    return nn.Sequential(OrderedDict(stages + [("gap", nn.AdaptiveAvgPool2d(1)), ("flat", nn.Flatten())]))


# torchvision's cfgs, plus Table 1's A-LRN ("L") and C (1x1 convolutions written "1x<width>").
cfgs = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "A-LRN": [64, "L", "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "C": [64, 64, "M", 128, 128, "M", 256, 256, "1x256", "M", 512, 512, "1x512", "M",
          512, 512, "1x512", "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
          512, 512, 512, 512, "M"],
}


def make_layers(cfg, batch_norm=False):
    layers, in_channels = [], 3
    for v in cfg:
        if v == "M":
            layers += [nn.MaxPool2d(kernel_size=2, stride=2)]
        elif v == "L":
            layers += [PaperLRN()]
        else:
            k = 1 if isinstance(v, str) else 3
            v = int(v[2:]) if isinstance(v, str) else v
            conv2d = nn.Conv2d(in_channels, v, kernel_size=k, padding=k // 2)
            if batch_norm:
                layers += [conv2d, nn.BatchNorm2d(v), nn.ReLU(inplace=True)]
            else:
                layers += [conv2d, nn.ReLU(inplace=True)]
            in_channels = v
    return nn.Sequential(*layers)


class VGG(nn.Module):
    def __init__(self, features, num_classes=1000, dropout=0.5):
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


class KimCNN(nn.Module):
    def __init__(self, vocab_size, embed_dim=300, num_classes=2, mode="non-static"):
        super().__init__()
        self.mode = mode
        self.embed = nn.Embedding(vocab_size, embed_dim)
        if mode == "multichannel":
            self.embed_static = nn.Embedding(vocab_size, embed_dim)
            self.embed_static.weight.requires_grad_(False)
        if mode == "static":
            self.embed.weight.requires_grad_(False)
        self.convs = nn.ModuleList([nn.Conv1d(embed_dim, 100, h) for h in (3, 4, 5)])
        self.dropout = nn.Dropout(0.5)
        self.fc = nn.Linear(300, num_classes)

    def forward(self, tokens):
        channels = [self.embed(tokens).transpose(1, 2)]
        if self.mode == "multichannel":
            channels.append(self.embed_static(tokens).transpose(1, 2))
        features = []
        for conv in self.convs:
            # Each filter runs over every channel and the results are added (Kim 2014, Sec. 2), bias once.
            maps = sum(F.conv1d(c, conv.weight) for c in channels) + conv.bias[:, None]
            features.append(F.relu(maps).amax(dim=2))
        return self.fc(self.dropout(torch.cat(features, dim=1)))
