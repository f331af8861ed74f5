"""PyTorch definitions of DenseNet, the independent side of the parity tests.

``DenseNet`` follows torchvision's ``densenet.py`` (Huang et al. 2017, the
ImageNet DenseNet-BC of Table 1) with its module names; ``CifarDenseNet`` is
Section 3's CIFAR network (3x3 stem of 16 channels or 2k for BC, three dense
blocks, BN-ReLU-1x1 conv-avgpool transitions with compression theta), written
from the paper.  Import only after ``pytest.importorskip("torch")``.
"""
import math
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F


class _DenseLayer(nn.Module):
    def __init__(self, num_input_features, growth_rate, bn_size):
        super().__init__()
        self.norm1 = nn.BatchNorm2d(num_input_features)
        self.relu1 = nn.ReLU()
        if bn_size is None:
            self.conv1 = nn.Conv2d(num_input_features, growth_rate, 3, padding=1, bias=False)
            return
        self.conv1 = nn.Conv2d(num_input_features, bn_size * growth_rate, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth_rate)
        self.relu2 = nn.ReLU()
        self.conv2 = nn.Conv2d(bn_size * growth_rate, growth_rate, 3, padding=1, bias=False)

    def forward(self, inputs):
        out = self.conv1(self.relu1(self.norm1(torch.cat(inputs, 1))))
        if hasattr(self, "conv2"):
            out = self.conv2(self.relu2(self.norm2(out)))
        return out


class _DenseBlock(nn.ModuleDict):
    def __init__(self, num_layers, num_input_features, bn_size, growth_rate):
        super().__init__()
        for i in range(num_layers):
            self.add_module(f"denselayer{i + 1}",
                            _DenseLayer(num_input_features + i * growth_rate, growth_rate, bn_size))

    def forward(self, init_features):
        features = [init_features]
        for layer in self.values():
            features.append(layer(features))
        return torch.cat(features, 1)


class _Transition(nn.Sequential):
    def __init__(self, num_input_features, num_output_features):
        super().__init__()
        self.add_module("norm", nn.BatchNorm2d(num_input_features))
        self.add_module("relu", nn.ReLU())
        self.add_module("conv", nn.Conv2d(num_input_features, num_output_features, 1, bias=False))
        self.add_module("pool", nn.AvgPool2d(kernel_size=2, stride=2))


class DenseNet(nn.Module):
    def __init__(self, growth_rate=32, block_config=(6, 12, 24, 16), num_init_features=64, bn_size=4,
                 num_classes=1000):
        super().__init__()
        self.features = nn.Sequential(OrderedDict([
            ("conv0", nn.Conv2d(3, num_init_features, kernel_size=7, stride=2, padding=3, bias=False)),
            ("norm0", nn.BatchNorm2d(num_init_features)),
            ("relu0", nn.ReLU()),
            ("pool0", nn.MaxPool2d(kernel_size=3, stride=2, padding=1))]))
        num_features = num_init_features
        for i, num_layers in enumerate(block_config):
            self.features.add_module(f"denseblock{i + 1}",
                                     _DenseBlock(num_layers, num_features, bn_size, growth_rate))
            num_features += num_layers * growth_rate
            if i != len(block_config) - 1:
                self.features.add_module(f"transition{i + 1}", _Transition(num_features, num_features // 2))
                num_features //= 2
        self.features.add_module("norm5", nn.BatchNorm2d(num_features))
        self.classifier = nn.Linear(num_features, num_classes)

    def forward(self, x):
        out = F.adaptive_avg_pool2d(F.relu(self.features(x)), (1, 1))
        return self.classifier(torch.flatten(out, 1))


class CifarDenseNet(nn.Module):
    def __init__(self, depth, growth_rate, bottleneck, num_classes=10):
        super().__init__()
        n = (depth - 4) // (6 if bottleneck else 3)
        theta = 0.5 if bottleneck else 1.0
        bn_size = 4 if bottleneck else None
        channels = 2 * growth_rate if bottleneck else 16
        self.conv1 = nn.Conv2d(3, channels, 3, padding=1, bias=False)
        for i in range(3):
            self.add_module(f"block{i + 1}", _DenseBlock(n, channels, bn_size, growth_rate))
            channels += n * growth_rate
            if i < 2:
                self.add_module(f"trans{i + 1}", _Transition(channels, math.floor(theta * channels)))
                channels = math.floor(theta * channels)
        self.bn = nn.BatchNorm2d(channels)
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x):
        x = self.trans1(self.block1(self.conv1(x)))
        x = self.block3(self.trans2(self.block2(x)))
        x = F.adaptive_avg_pool2d(F.relu(self.bn(x)), 1)
        return self.fc(torch.flatten(x, 1))
