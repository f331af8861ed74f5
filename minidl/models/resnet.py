"""ResNet for ImageNet, as torchvision builds it.

He, Zhang, Ren and Sun, "Deep Residual Learning for Image Recognition" (2015).

The residual block learns ``F(x)`` and outputs ``relu(F(x) + x)``: the
shortcut carries ``x`` unchanged, or through a 1x1 convolution and batch norm
(``downsample``) where the shape changes (the paper's option B).

Variants, chosen by options of one class:

- **v1.5** (default, torchvision): a bottleneck puts its stride on the 3x3
  convolution; ``variant='v1'`` puts it on the first 1x1 as the paper does
  (same parameters, about 5% fewer MACs, slightly lower accuracy).
- **ResNeXt** (Xie et al. 2017): ``groups`` parallel paths in the 3x3 conv,
  each ``width_per_group`` wide (``resnext50_32x4d``).
- **Wide ResNet-50-2** (Zagoruyko & Komodakis 2016, ImageNet form): the
  bottleneck's 3x3 twice as wide (``width_per_group=128``).
- **Stochastic depth** (Huang et al. 2016): ``drop_path_rate`` drops whole
  residual branches during training, with the probability growing linearly
  from the first block to ``drop_path_rate`` at the last.

Names follow torchvision (``conv1``, ``bn1``, ``layer1.0.downsample.0``,
``fc``), so its state_dict loads as is.
"""
from .. import nn
from .registry import register

__all__ = ["BasicBlock", "Bottleneck", "ResNet", "conv3x3", "conv1x1", "drop_path_rates",
           "residual_branch_dropper", "init_conv_weights"]


def conv3x3(in_channels, out_channels, stride=1, groups=1):
    """3x3 convolution with padding 1 and no bias (a batch norm follows)."""
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, groups=groups, bias=False)


def conv1x1(in_channels, out_channels, stride=1):
    """1x1 convolution without bias."""
    return nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)


def drop_path_rates(drop_path_rate, num_blocks):
    """Stochastic depth's linear rule: block ``l`` of ``L`` is dropped with probability ``l / L * rate``."""
    return [drop_path_rate * (i + 1) / num_blocks for i in range(num_blocks)]


def residual_branch_dropper(p):
    """``nn.DropPath(p)`` for stochastic depth, or an identity when ``p`` is 0."""
    return nn.DropPath(p) if p > 0 else nn.Identity()


def init_conv_weights(model):
    """He initialization for every convolution (fan_out, ReLU gain), as torchvision's ResNet does."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")


class BasicBlock(nn.Module):
    """Two 3x3 convolutions: ``relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))``.

    x: (N, C, H, W) -> (N, planes, H / stride, W / stride).  ``residual=False``
    drops the shortcut, which turns the network into its plain counterpart.
    ``variant`` is accepted for a uniform signature: without a 1x1 it changes nothing.
    """
    expansion = 1

    def __init__(self, in_channels, planes, stride=1, downsample=None, groups=1, width_per_group=64,
                 variant="v1.5", drop_path=0.0, residual=True):
        super().__init__()
        if groups != 1 or width_per_group != 64:
            raise ValueError(f"BasicBlock: groups={groups} and width_per_group={width_per_group} "
                             "need Bottleneck blocks (only groups=1, width_per_group=64 are basic)")
        self.conv1 = conv3x3(in_channels, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.drop_path = residual_branch_dropper(drop_path)
        self.residual = residual

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.drop_path(self.bn2(self.conv2(out)))
        if self.residual:
            out = out + (x if self.downsample is None else self.downsample(x))
        return self.relu(out)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (grouped for ResNeXt), 1x1 expand to ``planes * 4``, plus the shortcut.

    x: (N, C, H, W) -> (N, 4 planes, H / stride, W / stride).  The 3x3 is
    ``planes * width_per_group / 64 * groups`` wide.
    """
    expansion = 4

    def __init__(self, in_channels, planes, stride=1, downsample=None, groups=1, width_per_group=64,
                 variant="v1.5", drop_path=0.0, residual=True):
        super().__init__()
        width = int(planes * (width_per_group / 64.0)) * groups
        stride_1x1, stride_3x3 = (stride, 1) if variant == "v1" else (1, stride)
        self.conv1 = conv1x1(in_channels, width, stride_1x1)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = conv3x3(width, width, stride_3x3, groups)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU()
        self.downsample = downsample
        self.drop_path = residual_branch_dropper(drop_path)
        self.residual = residual

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.drop_path(self.bn3(self.conv3(out)))
        if self.residual:
            out = out + (x if self.downsample is None else self.downsample(x))
        return self.relu(out)


class ResNet(nn.Module):
    """Stem, four stages of residual blocks (64, 128, 256, 512 planes), global average pool, fc.

    x: (N, 3, H, W) -> (N, num_classes).  ``stem='imagenet'`` is the 7x7/2
    convolution and 3x3/2 max-pool (224 -> 56); ``stem='cifar'`` a 3x3/1
    convolution without pooling, for 32x32 images.  ``width`` (default 64)
    scales the network: the stem has ``width`` channels and the stages
    ``width``, 2, 4 and 8 ``width`` planes, which the fc reads.
    """

    def __init__(self, block, layers, num_classes=1000, groups=1, width_per_group=64, variant="v1.5",
                 stem="imagenet", drop_path_rate=0.0, zero_init_residual=False, in_channels=3, width=64):
        super().__init__()
        if variant not in ("v1", "v1.5"):
            raise ValueError(f"ResNet: variant must be 'v1' or 'v1.5', got {variant!r}")
        if stem not in ("imagenet", "cifar"):
            raise ValueError(f"ResNet: stem must be 'imagenet' or 'cifar', got {stem!r}")
        self.block_options = dict(groups=groups, width_per_group=width_per_group, variant=variant)
        self.in_channels = width
        if stem == "imagenet":
            conv = nn.Conv2d(in_channels, width, 7, stride=2, padding=3, bias=False)
            pool = nn.MaxPool2d(3, 2, 1)
        else:
            conv, pool = conv3x3(in_channels, width), nn.Identity()
        self.conv1 = conv
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU()
        self.maxpool = pool
        rates = iter(drop_path_rates(drop_path_rate, sum(layers)))
        self.layer1 = self._make_layer(block, width, layers[0], 1, rates)
        self.layer2 = self._make_layer(block, 2 * width, layers[1], 2, rates)
        self.layer3 = self._make_layer(block, 4 * width, layers[2], 2, rates)
        self.layer4 = self._make_layer(block, 8 * width, layers[3], 2, rates)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(8 * width * block.expansion, num_classes)
        init_conv_weights(self)
        if zero_init_residual:
            # Each block then starts as the identity (Goyal et al. 2017), which helps large-batch training.
            for m in self.modules():
                if isinstance(m, (BasicBlock, Bottleneck)):
                    nn.init.zeros_((m.bn3 if isinstance(m, Bottleneck) else m.bn2).weight)

    def _make_layer(self, block, planes, num_blocks, stride, rates):
        downsample = None
        if stride != 1 or self.in_channels != planes * block.expansion:
            downsample = nn.Sequential(conv1x1(self.in_channels, planes * block.expansion, stride),
                                       nn.BatchNorm2d(planes * block.expansion))
        blocks = [block(self.in_channels, planes, stride, downsample, drop_path=next(rates),
                        **self.block_options)]
        self.in_channels = planes * block.expansion
        blocks += [block(self.in_channels, planes, drop_path=next(rates), **self.block_options)
                   for _ in range(1, num_blocks)]
        return nn.Sequential(*blocks)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.avgpool(x).flatten(1))


@register(input_size=(3, 224, 224))
def resnet18(num_classes=1000, **options):
    """ResNet-18: basic blocks [2, 2, 2, 2]."""
    return ResNet(BasicBlock, [2, 2, 2, 2], num_classes=num_classes, **options)


@register(input_size=(3, 224, 224))
def resnet34(num_classes=1000, **options):
    """ResNet-34: basic blocks [3, 4, 6, 3]."""
    return ResNet(BasicBlock, [3, 4, 6, 3], num_classes=num_classes, **options)


@register(input_size=(3, 224, 224))
def resnet50(num_classes=1000, **options):
    """ResNet-50: bottlenecks [3, 4, 6, 3]."""
    return ResNet(Bottleneck, [3, 4, 6, 3], num_classes=num_classes, **options)


@register(input_size=(3, 224, 224))
def resnet101(num_classes=1000, **options):
    """ResNet-101: bottlenecks [3, 4, 23, 3]."""
    return ResNet(Bottleneck, [3, 4, 23, 3], num_classes=num_classes, **options)


@register(input_size=(3, 224, 224))
def resnet152(num_classes=1000, **options):
    """ResNet-152: bottlenecks [3, 8, 36, 3]."""
    return ResNet(Bottleneck, [3, 8, 36, 3], num_classes=num_classes, **options)


@register(input_size=(3, 224, 224))
def resnext50_32x4d(num_classes=1000, **options):
    """ResNeXt-50 (32x4d): 32 paths of width 4 in the first stage's 3x3, doubling per stage."""
    return ResNet(Bottleneck, [3, 4, 6, 3], num_classes=num_classes, groups=32, width_per_group=4, **options)


@register(input_size=(3, 224, 224))
def resnext101_32x8d(num_classes=1000, **options):
    """ResNeXt-101 (32x8d): 32 paths of width 8 in the first stage's 3x3."""
    return ResNet(Bottleneck, [3, 4, 23, 3], num_classes=num_classes, groups=32, width_per_group=8, **options)


@register(input_size=(3, 224, 224))
def wide_resnet50_2(num_classes=1000, **options):
    """Wide ResNet-50-2: ResNet-50 with every bottleneck's 3x3 twice as wide."""
    return ResNet(Bottleneck, [3, 4, 6, 3], num_classes=num_classes, width_per_group=128, **options)


@register(input_size=(3, 32, 32))
def resnet18_cifar(num_classes=10, width=64, **options):
    """ResNet-18 for 32x32 images: 3x3 stride-1 stem of 64 channels, no max-pool (the benchmark model).

    ``width``: the stem's and first stage's channel count; the later stages have 2, 4 and 8 times as many.
    """
    return ResNet(BasicBlock, [2, 2, 2, 2], num_classes=num_classes, stem="cifar", width=width, **options)
