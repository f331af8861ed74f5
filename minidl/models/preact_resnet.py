"""Pre-activation ResNets (ResNet v2) and Wide ResNets.

He, Zhang, Ren and Sun, "Identity Mappings in Deep Residual Networks" (2016):
each block computes ``x + F(relu(bn(x)))``, batch norm and ReLU *before* each
convolution, so the shortcut path is a pure identity from input to output and
a single BN-ReLU closes the network.  Where the shape changes, the shortcut is
a 1x1 convolution applied to the pre-activated input (as timm's ``resnetv2``).

- ``preact_resnet18`` ... ``preact_resnet152``: the ImageNet layout (7x7/2
  stem without BN, max-pool, four stages); equal to timm's ``resnetv2_*``.
- ``preact_resnet110`` (basic blocks), ``preact_resnet164`` and
  ``preact_resnet1001`` (bottlenecks): the paper's CIFAR networks.
- ``wide_resnet(depth, widen_factor)`` (Zagoruyko & Komodakis, "Wide Residual
  Networks", 2016): WRN-d-k, pre-activation basic blocks ``k`` times wider
  (16k, 32k, 64k channels), ``(d - 4) / 6`` blocks per stage, optional dropout
  between the two convolutions; ``wrn_28_10`` and friends are registered.
"""
from .. import nn
from .registry import register
from .resnet import conv1x1, conv3x3, drop_path_rates, init_conv_weights, residual_branch_dropper

__all__ = ["PreActBasicBlock", "PreActBottleneck", "PreActResNet", "wide_resnet"]


class PreActBasicBlock(nn.Module):
    """``x + conv2(relu(bn2(conv1(relu(bn1(x))))))``, 3x3 convolutions.

    x: (N, C, H, W) -> (N, planes, H / stride, W / stride).  ``dropout_rate``
    puts dropout between the convolutions (Wide ResNet).
    """
    expansion = 1

    def __init__(self, in_channels, planes, stride=1, drop_path=0.0, dropout_rate=0.0):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.relu = nn.ReLU()
        self.conv1 = conv3x3(in_channels, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.dropout = nn.Dropout(dropout_rate) if dropout_rate > 0 else nn.Identity()
        self.conv2 = conv3x3(planes, planes)
        self.shortcut = conv1x1(in_channels, planes, stride) if stride != 1 or in_channels != planes else None
        self.drop_path = residual_branch_dropper(drop_path)

    def forward(self, x):
        pre = self.relu(self.bn1(x))
        shortcut = x if self.shortcut is None else self.shortcut(pre)
        out = self.conv1(pre)
        out = self.conv2(self.dropout(self.relu(self.bn2(out))))
        return self.drop_path(out) + shortcut


class PreActBottleneck(nn.Module):
    """``x + conv3(relu(bn3(conv2(relu(bn2(conv1(relu(bn1(x)))))))))``: 1x1, 3x3 (strided), 1x1.

    x: (N, C, H, W) -> (N, 4 planes, H / stride, W / stride).
    """
    expansion = 4

    def __init__(self, in_channels, planes, stride=1, drop_path=0.0):
        super().__init__()
        out_channels = planes * self.expansion
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.relu = nn.ReLU()
        self.conv1 = conv1x1(in_channels, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn3 = nn.BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, out_channels)
        self.shortcut = (conv1x1(in_channels, out_channels, stride)
                         if stride != 1 or in_channels != out_channels else None)
        self.drop_path = residual_branch_dropper(drop_path)

    def forward(self, x):
        pre = self.relu(self.bn1(x))
        shortcut = x if self.shortcut is None else self.shortcut(pre)
        out = self.conv1(pre)
        out = self.conv2(self.relu(self.bn2(out)))
        out = self.conv3(self.relu(self.bn3(out)))
        return self.drop_path(out) + shortcut


class PreActResNet(nn.Module):
    """Stem, stages of pre-activation blocks, final BN-ReLU, global average pool, fc.

    x: (N, 3, H, W) -> (N, num_classes).  ``widths`` are the stages' planes;
    the first stage keeps the resolution, every later one halves it.
    ``stem='imagenet'``: 7x7/2 convolution (64 channels) and 3x3/2 max-pool;
    ``stem='cifar'``: one 3x3 convolution of 16 channels, no pooling.  Stages are named
    ``{stage_name}1``, ``{stage_name}2``, ... (``layer`` as in ResNet,
    ``block`` as in the Wide ResNet paper).
    """

    def __init__(self, block, layers, widths, num_classes=1000, stem="imagenet", stage_name="layer",
                 drop_path_rate=0.0, dropout_rate=0.0, in_channels=3):
        super().__init__()
        if stem not in ("imagenet", "cifar"):
            raise ValueError(f"PreActResNet: stem must be 'imagenet' or 'cifar', got {stem!r}")
        if len(layers) != len(widths):
            raise ValueError(f"PreActResNet: {len(layers)} stage depths {layers} but {len(widths)} widths")
        options = {}
        if dropout_rate > 0:
            if block is not PreActBasicBlock:
                raise ValueError("PreActResNet: dropout between the convolutions (Wide ResNet) "
                                 "needs PreActBasicBlock")
            options["dropout_rate"] = dropout_rate
        if stem == "imagenet":
            self.conv1 = nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False)
            self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
            channels = 64
        else:
            self.conv1 = conv3x3(in_channels, 16)
            self.maxpool = nn.Identity()
            channels = 16
        rates = iter(drop_path_rates(drop_path_rate, sum(layers)))
        self.stage_names = [f"{stage_name}{i + 1}" for i in range(len(layers))]
        for i, (name, num_blocks, planes) in enumerate(zip(self.stage_names, layers, widths)):
            blocks = []
            for j in range(num_blocks):
                stride = 2 if i > 0 and j == 0 else 1
                blocks.append(block(channels, planes, stride, drop_path=next(rates), **options))
                channels = planes * block.expansion
            setattr(self, name, nn.Sequential(*blocks))
        self.bn = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU()
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(channels, num_classes)
        init_conv_weights(self)

    def forward(self, x):
        x = self.maxpool(self.conv1(x))
        for name in self.stage_names:
            x = getattr(self, name)(x)
        x = self.relu(self.bn(x))
        return self.fc(self.avgpool(x).flatten(1))


_IMAGENET_WIDTHS = (64, 128, 256, 512)


@register(input_size=(3, 224, 224))
def preact_resnet18(num_classes=1000, **options):
    """Pre-activation ResNet-18 (v2), ImageNet layout: basic blocks [2, 2, 2, 2]."""
    return PreActResNet(PreActBasicBlock, [2, 2, 2, 2], _IMAGENET_WIDTHS, num_classes, **options)


@register(input_size=(3, 224, 224))
def preact_resnet34(num_classes=1000, **options):
    """Pre-activation ResNet-34 (v2), ImageNet layout: basic blocks [3, 4, 6, 3]."""
    return PreActResNet(PreActBasicBlock, [3, 4, 6, 3], _IMAGENET_WIDTHS, num_classes, **options)


@register(input_size=(3, 224, 224))
def preact_resnet50(num_classes=1000, **options):
    """Pre-activation ResNet-50 (v2), ImageNet layout: bottlenecks [3, 4, 6, 3]."""
    return PreActResNet(PreActBottleneck, [3, 4, 6, 3], _IMAGENET_WIDTHS, num_classes, **options)


@register(input_size=(3, 224, 224))
def preact_resnet101(num_classes=1000, **options):
    """Pre-activation ResNet-101 (v2), ImageNet layout: bottlenecks [3, 4, 23, 3]."""
    return PreActResNet(PreActBottleneck, [3, 4, 23, 3], _IMAGENET_WIDTHS, num_classes, **options)


@register(input_size=(3, 224, 224))
def preact_resnet152(num_classes=1000, **options):
    """Pre-activation ResNet-152 (v2), ImageNet layout: bottlenecks [3, 8, 36, 3]."""
    return PreActResNet(PreActBottleneck, [3, 8, 36, 3], _IMAGENET_WIDTHS, num_classes, **options)


_CIFAR_WIDTHS = (16, 32, 64)


@register(input_size=(3, 32, 32))
def preact_resnet110(num_classes=10, **options):
    """Pre-activation ResNet-110 for CIFAR: 18 basic blocks per stage (6n + 2 = 110)."""
    return PreActResNet(PreActBasicBlock, [18] * 3, _CIFAR_WIDTHS, num_classes, stem="cifar", **options)


@register(input_size=(3, 32, 32))
def preact_resnet164(num_classes=10, **options):
    """Pre-activation ResNet-164 for CIFAR: 18 bottlenecks per stage (9n + 2 = 164)."""
    return PreActResNet(PreActBottleneck, [18] * 3, _CIFAR_WIDTHS, num_classes, stem="cifar", **options)


@register(input_size=(3, 32, 32))
def preact_resnet1001(num_classes=10, **options):
    """Pre-activation ResNet-1001 for CIFAR: 111 bottlenecks per stage (9n + 2 = 1001)."""
    return PreActResNet(PreActBottleneck, [111] * 3, _CIFAR_WIDTHS, num_classes, stem="cifar", **options)


@register(input_size=(3, 32, 32))
def wide_resnet(depth=28, widen_factor=10, num_classes=10, dropout_rate=0.0, **options):
    """WRN-``depth``-``widen_factor`` for CIFAR (Zagoruyko & Komodakis 2016, Table 1)."""
    if depth < 10 or (depth - 4) % 6:
        raise ValueError(f"wide_resnet: depth must be 6n + 4 with n >= 1 (16, 22, 28, 40, ...), got {depth}")
    widths = tuple(w * widen_factor for w in _CIFAR_WIDTHS)
    return PreActResNet(PreActBasicBlock, [(depth - 4) // 6] * 3, widths, num_classes, stem="cifar",
                        stage_name="block", dropout_rate=dropout_rate, **options)


@register(input_size=(3, 32, 32))
def wrn_16_4(num_classes=10, **options):
    """WRN-16-4."""
    return wide_resnet(16, 4, num_classes, **options)


@register(input_size=(3, 32, 32))
def wrn_16_8(num_classes=10, **options):
    """WRN-16-8."""
    return wide_resnet(16, 8, num_classes, **options)


@register(input_size=(3, 32, 32))
def wrn_16_10(num_classes=10, **options):
    """WRN-16-10."""
    return wide_resnet(16, 10, num_classes, **options)


@register(input_size=(3, 32, 32))
def wrn_22_8(num_classes=10, **options):
    """WRN-22-8."""
    return wide_resnet(22, 8, num_classes, **options)


@register(input_size=(3, 32, 32))
def wrn_28_10(num_classes=10, **options):
    """WRN-28-10, the paper's best CIFAR model (with dropout 0.3)."""
    return wide_resnet(28, 10, num_classes, **options)


@register(input_size=(3, 32, 32))
def wrn_40_1(num_classes=10, **options):
    """WRN-40-1."""
    return wide_resnet(40, 1, num_classes, **options)


@register(input_size=(3, 32, 32))
def wrn_40_2(num_classes=10, **options):
    """WRN-40-2."""
    return wide_resnet(40, 2, num_classes, **options)


@register(input_size=(3, 32, 32))
def wrn_40_4(num_classes=10, **options):
    """WRN-40-4."""
    return wide_resnet(40, 4, num_classes, **options)


@register(input_size=(3, 32, 32))
def wrn_40_10(num_classes=10, **options):
    """WRN-40-10."""
    return wide_resnet(40, 10, num_classes, **options)
