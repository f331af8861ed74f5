"""The CIFAR-10 ResNets of He et al. 2015 (Section 4.2), and their plain counterparts.

He, Zhang, Ren and Sun, "Deep Residual Learning for Image Recognition".  A
3x3 convolution of 16 channels, three stages of ``n`` basic blocks (16, 32 and
64 channels on 32x32, 16x16 and 8x8 maps), global average pooling and a
10-way fc: ``6n + 2`` weighted layers (ResNet-20, 32, 44, 56, 110, 1202).

Where a stage halves the map and doubles the channels, the shortcut is the
paper's **option A**: the identity, subsampled by the stride and padded with
zero channels, so it adds no parameters and ResNet-20 has the 0.27M of Table 6.
``plain20`` and ``plain56`` are the same layers without shortcuts, the pair
whose training error shows the degradation problem (Fig. 1 of the paper).
"""
from .. import nn
from ..autograd import pad
from .registry import register
from .resnet import BasicBlock, conv3x3, drop_path_rates, init_conv_weights

__all__ = ["ZeroPadShortcut", "CifarResNet"]


class ZeroPadShortcut(nn.Module):
    """Option A shortcut: keep every ``stride``-th pixel, pad the new channels with zeros.

    x: (N, C, H, W) -> (N, F, H / stride, W / stride), the extra ``F - C``
    channels split evenly before and after the input's.
    """

    def __init__(self, in_channels, out_channels, stride):
        super().__init__()
        self.stride = stride
        self.before = (out_channels - in_channels) // 2
        self.after = out_channels - in_channels - self.before

    def forward(self, x):
        x = x[:, :, ::self.stride, ::self.stride]
        return pad(x, ((0, 0), (self.before, self.after), (0, 0), (0, 0)))


class CifarResNet(nn.Module):
    """ResNet-(6n+2) for 32x32 images: x (N, 3, H, W) -> (N, num_classes).

    ``residual=False`` removes every shortcut (the plain network);
    ``drop_path_rate`` sets stochastic depth, rising linearly to the last block;
    ``width`` (default 16) is the first stage's channel count: the stages have
    ``width``, 2 and 4 ``width`` channels, which the fc reads.
    """

    def __init__(self, depth, num_classes=10, residual=True, drop_path_rate=0.0, in_channels=3, width=16):
        super().__init__()
        if depth < 8 or (depth - 2) % 6:
            raise ValueError(f"CifarResNet: depth must be 6n + 2 with n >= 1 (20, 32, 44, 56, 110, 1202), "
                             f"got {depth}")
        n = (depth - 2) // 6
        self.conv1 = conv3x3(in_channels, width)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU()
        rates = iter(drop_path_rates(drop_path_rate, 3 * n))
        stages = []
        channels = width
        for planes, stride in [(width, 1), (2 * width, 2), (4 * width, 2)]:
            blocks = []
            for i in range(n):
                shortcut = None
                if i == 0 and (stride != 1 or channels != planes):
                    shortcut = ZeroPadShortcut(channels, planes, stride)
                blocks.append(BasicBlock(channels, planes, stride if i == 0 else 1, shortcut,
                                         drop_path=next(rates), residual=residual))
                channels = planes
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = stages
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(4 * width, num_classes)
        init_conv_weights(self)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(self.avgpool(x).flatten(1))


@register(input_size=(3, 32, 32))
def resnet20(num_classes=10, width=16, **options):
    """ResNet-20 for CIFAR-10: 3 basic blocks per stage, option A shortcuts (the benchmark model).

    ``width``: the first stage's channel count; the later stages have 2 and 4 times as many.
    """
    return CifarResNet(20, num_classes=num_classes, width=width, **options)


@register(input_size=(3, 32, 32))
def resnet32(num_classes=10, **options):
    """ResNet-32 for CIFAR-10: 5 basic blocks per stage, option A shortcuts."""
    return CifarResNet(32, num_classes=num_classes, **options)


@register(input_size=(3, 32, 32))
def resnet44(num_classes=10, **options):
    """ResNet-44 for CIFAR-10: 7 basic blocks per stage, option A shortcuts."""
    return CifarResNet(44, num_classes=num_classes, **options)


@register(input_size=(3, 32, 32))
def resnet56(num_classes=10, **options):
    """ResNet-56 for CIFAR-10: 9 basic blocks per stage, option A shortcuts."""
    return CifarResNet(56, num_classes=num_classes, **options)


@register(input_size=(3, 32, 32))
def resnet110(num_classes=10, **options):
    """ResNet-110 for CIFAR-10: 18 basic blocks per stage, option A shortcuts."""
    return CifarResNet(110, num_classes=num_classes, **options)


@register(input_size=(3, 32, 32))
def resnet1202(num_classes=10, **options):
    """ResNet-1202 for CIFAR-10: 200 basic blocks per stage, option A shortcuts."""
    return CifarResNet(1202, num_classes=num_classes, **options)


@register(input_size=(3, 32, 32))
def plain20(num_classes=10, **options):
    """Plain-20: ResNet-20's layers without shortcuts, for the degradation experiment."""
    return CifarResNet(20, num_classes=num_classes, residual=False, **options)


@register(input_size=(3, 32, 32))
def plain56(num_classes=10, **options):
    """Plain-56: ResNet-56's layers without shortcuts, for the degradation experiment."""
    return CifarResNet(56, num_classes=num_classes, residual=False, **options)
