"""DenseNet: each layer sees the feature maps of every layer before it in its block.

Huang, Liu, van der Maaten and Weinberger, "Densely Connected Convolutional
Networks" (CVPR 2017).  Inside a dense block the ``l``-th layer takes the
concatenation of the block input and the ``l - 1`` earlier outputs and adds
``growth_rate`` (k) new channels; transitions between blocks (BN-ReLU-1x1
conv-2x2 average pool) halve the resolution and, in the compressed ("C")
variants, the channels.  Layers of the bottleneck ("B") variants are
BN-ReLU-1x1 conv (``bn_size * k`` channels)-BN-ReLU-3x3 conv (k channels).

- ``densenet121/169/201/161``: DenseNet-BC for ImageNet (Table 1), with
  torchvision's layout and names (``features.denseblock1.denselayer1.norm1``).
- ``densenet_cifar(depth, growth_rate, bottleneck)``: the CIFAR networks of
  Section 3 -- a 3x3 stem of 16 channels (2k for BC), three dense blocks on
  32x32, 16x16 and 8x8 maps, compression 0.5 for BC; the paper's
  configurations are registered as ``densenet_L40_k12_cifar`` etc.
"""
from collections import OrderedDict

from .. import nn
from ..autograd import concat
from .registry import register

__all__ = ["DenseLayer", "DenseBlock", "Transition", "DenseNet", "CifarDenseNet", "densenet_cifar"]


class DenseLayer(nn.Sequential):
    """One layer of a dense block: ``k`` new channels from the concatenation of all earlier ones.

    Called with the list of earlier feature maps, each (N, C_i, H, W), sum C_i
    = ``in_channels``; returns (N, growth_rate, H, W).  With ``bn_size`` it is
    BN-ReLU-1x1 conv to ``bn_size * growth_rate``-BN-ReLU-3x3 conv (DenseNet-B);
    with ``bn_size=None`` a single BN-ReLU-3x3 conv.
    """

    def __init__(self, in_channels, growth_rate, bn_size=4, drop_rate=0.0):
        if bn_size is None:
            layers = [("norm1", nn.BatchNorm2d(in_channels)), ("relu1", nn.ReLU()),
                      ("conv1", nn.Conv2d(in_channels, growth_rate, 3, padding=1, bias=False))]
        else:
            width = bn_size * growth_rate
            layers = [("norm1", nn.BatchNorm2d(in_channels)), ("relu1", nn.ReLU()),
                      ("conv1", nn.Conv2d(in_channels, width, 1, bias=False)),
                      ("norm2", nn.BatchNorm2d(width)), ("relu2", nn.ReLU()),
                      ("conv2", nn.Conv2d(width, growth_rate, 3, padding=1, bias=False))]
        if drop_rate > 0:
            layers.append(("dropout", nn.Dropout(drop_rate)))
        super().__init__(OrderedDict(layers))

    def forward(self, features):
        return super().forward(concat(features, axis=1))


class DenseBlock(nn.ModuleDict):
    """``num_layers`` dense layers: x (N, C, H, W) -> (N, C + num_layers * growth_rate, H, W)."""

    def __init__(self, num_layers, in_channels, growth_rate, bn_size=4, drop_rate=0.0):
        super().__init__(OrderedDict(
            (f"denselayer{i + 1}", DenseLayer(in_channels + i * growth_rate, growth_rate, bn_size, drop_rate))
            for i in range(num_layers)))

    def forward(self, x):
        features = [x]
        for layer in self.values():
            features.append(layer(features))
        return concat(features, axis=1)


class Transition(nn.Sequential):
    """BN-ReLU-1x1 conv-2x2 average pool: (N, C, H, W) -> (N, out_channels, H / 2, W / 2)."""

    def __init__(self, in_channels, out_channels):
        super().__init__(OrderedDict([
            ("norm", nn.BatchNorm2d(in_channels)), ("relu", nn.ReLU()),
            ("conv", nn.Conv2d(in_channels, out_channels, 1, bias=False)),
            ("pool", nn.AvgPool2d(2, stride=2))]))


def _init_weights(model):
    # torchvision's choice: He-normal convolutions (fan_in), zero biases for the classifier.
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight)
        elif isinstance(m, nn.Linear):
            nn.init.zeros_(m.bias)


class DenseNet(nn.Module):
    """DenseNet-BC for ImageNet, as torchvision: x (N, 3, H, W) -> (N, num_classes).

    ``features`` holds the 7x7/2 stem (``conv0``, ``norm0``, ``relu0``,
    ``pool0``), the dense blocks with transitions halving the channels between
    them, and the final ``norm5``.
    """

    def __init__(self, growth_rate=32, block_config=(6, 12, 24, 16), num_init_features=64, bn_size=4,
                 drop_rate=0.0, num_classes=1000, in_channels=3):
        super().__init__()
        stages = [("conv0", nn.Conv2d(in_channels, num_init_features, 7, stride=2, padding=3, bias=False)),
                  ("norm0", nn.BatchNorm2d(num_init_features)), ("relu0", nn.ReLU()),
                  ("pool0", nn.MaxPool2d(3, stride=2, padding=1))]
        channels = num_init_features
        for i, num_layers in enumerate(block_config):
            stages.append((f"denseblock{i + 1}",
                           DenseBlock(num_layers, channels, growth_rate, bn_size, drop_rate)))
            channels += num_layers * growth_rate
            if i != len(block_config) - 1:
                stages.append((f"transition{i + 1}", Transition(channels, channels // 2)))
                channels //= 2
        stages.append(("norm5", nn.BatchNorm2d(channels)))
        self.features = nn.Sequential(OrderedDict(stages))
        self.relu = nn.ReLU()
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.classifier = nn.Linear(channels, num_classes)
        _init_weights(self)

    def forward(self, x):
        x = self.avgpool(self.relu(self.features(x)))
        return self.classifier(x.flatten(1))


class CifarDenseNet(nn.Module):
    """DenseNet(-BC) for 32x32 images (Huang et al. 2017, Section 3): x (N, 3, H, W) -> (N, num_classes).

    ``depth`` counts the weighted layers: ``3 n + 4`` with ``n`` layers per
    block, or ``6 n + 4`` with bottlenecks (two convolutions per layer).
    ``compression`` (theta) scales the channels at each transition; it
    defaults to 0.5 with bottlenecks (DenseNet-BC) and 1 without.
    """

    def __init__(self, depth=40, growth_rate=12, bottleneck=False, compression=None, drop_rate=0.0,
                 num_classes=10, in_channels=3):
        super().__init__()
        convs_per_layer = 2 if bottleneck else 1
        if depth < 4 + 3 * convs_per_layer or (depth - 4) % (3 * convs_per_layer):
            raise ValueError(f"CifarDenseNet: depth must be {3 * convs_per_layer} n + 4 "
                             f"(bottleneck={bottleneck}), got {depth}")
        if compression is None:
            compression = 0.5 if bottleneck else 1.0
        if not 0 < compression <= 1:
            raise ValueError(f"CifarDenseNet: compression must be in (0, 1], got {compression}")
        num_layers = (depth - 4) // (3 * convs_per_layer)
        bn_size = 4 if bottleneck else None
        channels = 2 * growth_rate if bottleneck else 16
        self.conv1 = nn.Conv2d(in_channels, channels, 3, padding=1, bias=False)
        self.block1 = DenseBlock(num_layers, channels, growth_rate, bn_size, drop_rate)
        channels += num_layers * growth_rate
        self.trans1 = Transition(channels, int(channels * compression))
        channels = int(channels * compression)
        self.block2 = DenseBlock(num_layers, channels, growth_rate, bn_size, drop_rate)
        channels += num_layers * growth_rate
        self.trans2 = Transition(channels, int(channels * compression))
        channels = int(channels * compression)
        self.block3 = DenseBlock(num_layers, channels, growth_rate, bn_size, drop_rate)
        channels += num_layers * growth_rate
        self.bn = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU()
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(channels, num_classes)
        _init_weights(self)

    def forward(self, x):
        x = self.trans1(self.block1(self.conv1(x)))
        x = self.block3(self.trans2(self.block2(x)))
        return self.fc(self.avgpool(self.relu(self.bn(x))).flatten(1))


@register(input_size=(3, 224, 224))
def densenet121(num_classes=1000, **options):
    """DenseNet-121 (BC, k = 32, blocks [6, 12, 24, 16], 64 stem channels)."""
    return DenseNet(32, (6, 12, 24, 16), 64, num_classes=num_classes, **options)


@register(input_size=(3, 224, 224))
def densenet169(num_classes=1000, **options):
    """DenseNet-169 (BC, k = 32, blocks [6, 12, 32, 32], 64 stem channels)."""
    return DenseNet(32, (6, 12, 32, 32), 64, num_classes=num_classes, **options)


@register(input_size=(3, 224, 224))
def densenet201(num_classes=1000, **options):
    """DenseNet-201 (BC, k = 32, blocks [6, 12, 48, 32], 64 stem channels)."""
    return DenseNet(32, (6, 12, 48, 32), 64, num_classes=num_classes, **options)


@register(input_size=(3, 224, 224))
def densenet161(num_classes=1000, **options):
    """DenseNet-161 (BC, k = 48, blocks [6, 12, 36, 24], 96 stem channels)."""
    return DenseNet(48, (6, 12, 36, 24), 96, num_classes=num_classes, **options)


@register(input_size=(3, 32, 32))
def densenet_cifar(depth=40, growth_rate=12, bottleneck=False, num_classes=10, **options):
    """DenseNet (``bottleneck=False``) or DenseNet-BC of ``depth`` layers and growth rate k for CIFAR."""
    return CifarDenseNet(depth, growth_rate, bottleneck, num_classes=num_classes, **options)


@register(name="densenet_L40_k12_cifar", input_size=(3, 32, 32))
def densenet_l40_k12_cifar(num_classes=10, **options):
    """DenseNet (L = 40, k = 12) for CIFAR: 12 layers per block."""
    return CifarDenseNet(40, 12, num_classes=num_classes, **options)


@register(name="densenet_L100_k12_cifar", input_size=(3, 32, 32))
def densenet_l100_k12_cifar(num_classes=10, **options):
    """DenseNet (L = 100, k = 12) for CIFAR: 32 layers per block."""
    return CifarDenseNet(100, 12, num_classes=num_classes, **options)


@register(name="densenet_L100_k24_cifar", input_size=(3, 32, 32))
def densenet_l100_k24_cifar(num_classes=10, **options):
    """DenseNet (L = 100, k = 24) for CIFAR: 32 layers per block."""
    return CifarDenseNet(100, 24, num_classes=num_classes, **options)


@register(name="densenet_bc_L100_k12_cifar", input_size=(3, 32, 32))
def densenet_bc_l100_k12_cifar(num_classes=10, **options):
    """DenseNet-BC (L = 100, k = 12) for CIFAR: 16 bottleneck layers per block."""
    return CifarDenseNet(100, 12, bottleneck=True, num_classes=num_classes, **options)


@register(name="densenet_bc_L250_k24_cifar", input_size=(3, 32, 32))
def densenet_bc_l250_k24_cifar(num_classes=10, **options):
    """DenseNet-BC (L = 250, k = 24) for CIFAR: 41 bottleneck layers per block."""
    return CifarDenseNet(250, 24, bottleneck=True, num_classes=num_classes, **options)


@register(name="densenet_bc_L190_k40_cifar", input_size=(3, 32, 32))
def densenet_bc_l190_k40_cifar(num_classes=10, **options):
    """DenseNet-BC (L = 190, k = 40) for CIFAR: 31 bottleneck layers per block."""
    return CifarDenseNet(190, 40, bottleneck=True, num_classes=num_classes, **options)
