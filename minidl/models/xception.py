"""Xception (Chollet, "Xception: deep learning with depthwise separable convolutions", CVPR 2017).

Inception taken to the limit: every 3x3 convolution is depthwise separable,
a per-channel 3x3 convolution (``groups`` = channels) followed by a 1x1
pointwise convolution, and the 36 convolutional layers form 14 modules with
residual connections.  Entry flow: two plain 3x3 convolutions and blocks 1-3
(stride 2); middle flow: blocks 4-11 (728 channels, 19x19 at 299x299); exit
flow: block 12, two separable convolutions (1536, 2048), global average pool.

The definition and parameter names are timm's ``legacy_xception`` (the Keras
port), which reproduces Table 3's 22,855,952 parameters exactly: batch norm
after every convolution, no convolution biases.
"""
from .. import nn
from .registry import register

__all__ = ["Xception", "SeparableConv2d", "Block", "xception"]


class SeparableConv2d(nn.Module):
    """Depthwise separable convolution: a depthwise kxk (groups = in_channels), then a pointwise 1x1.

    x (N, C, H, W) -> (N, out_channels, OH, OW); C*k*k + C*out_channels weights
    instead of C*out_channels*k*k.
    """

    def __init__(self, in_channels, out_channels, kernel_size=1, stride=1, padding=0):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, in_channels, kernel_size, stride=stride, padding=padding,
                               groups=in_channels, bias=False)
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, bias=False)

    def forward(self, x):
        return self.pointwise(self.conv1(x))


class Block(nn.Module):
    """A residual module of ``reps`` x (ReLU, separable 3x3, BN), then a 3x3/2 max-pool when ``stride`` is 2.

    The shortcut is a strided 1x1 convolution with BN when the shape changes,
    the identity otherwise.  ``grow_first`` puts the change of width on the
    first separable convolution (on the last one for block 12);
    ``start_with_relu=False`` drops the leading ReLU (block 1, which follows a ReLU).
    x (N, in_channels, H, W) -> (N, out_channels, H/stride, W/stride) (rounded up).
    """

    def __init__(self, in_channels, out_channels, reps, stride=1, start_with_relu=True, grow_first=True):
        super().__init__()
        if out_channels != in_channels or stride != 1:
            self.skip = nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)
            self.skipbn = nn.BatchNorm2d(out_channels)
        else:
            self.skip = None
        widths = [in_channels] + [out_channels if grow_first else in_channels] * (reps - 1) + [out_channels]
        layers = []
        for i in range(reps):
            if i > 0 or start_with_relu:
                layers.append(nn.ReLU())
            layers += [SeparableConv2d(widths[i], widths[i + 1], 3, padding=1), nn.BatchNorm2d(widths[i + 1])]
        if stride != 1:
            layers.append(nn.MaxPool2d(3, stride=stride, padding=1))
        self.rep = nn.Sequential(*layers)

    def forward(self, x):
        shortcut = x if self.skip is None else self.skipbn(self.skip(x))
        return self.rep(x) + shortcut


class Xception(nn.Module):
    """Xception with timm's module names (``legacy_xception``).

    x (N, 3, 299, 299) -> logits (N, num_classes).
    """

    def __init__(self, num_classes=1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 3, stride=2, bias=False)
        self.bn1 = nn.BatchNorm2d(32)
        self.act1 = nn.ReLU()
        self.conv2 = nn.Conv2d(32, 64, 3, bias=False)
        self.bn2 = nn.BatchNorm2d(64)
        self.act2 = nn.ReLU()

        self.block1 = Block(64, 128, 2, stride=2, start_with_relu=False)
        self.block2 = Block(128, 256, 2, stride=2)
        self.block3 = Block(256, 728, 2, stride=2)
        for i in range(4, 12):
            setattr(self, f"block{i}", Block(728, 728, 3))
        self.block12 = Block(728, 1024, 2, stride=2, grow_first=False)

        self.conv3 = SeparableConv2d(1024, 1536, 3, padding=1)
        self.bn3 = nn.BatchNorm2d(1536)
        self.act3 = nn.ReLU()
        self.conv4 = SeparableConv2d(1536, 2048, 3, padding=1)
        self.bn4 = nn.BatchNorm2d(2048)
        self.act4 = nn.ReLU()
        self.global_pool = nn.Sequential(nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten())
        self.fc = nn.Linear(2048, num_classes)
        self.apply(_init)

    def forward(self, x):
        x = self.act1(self.bn1(self.conv1(x)))
        x = self.act2(self.bn2(self.conv2(x)))
        for i in range(1, 13):
            x = getattr(self, f"block{i}")(x)
        x = self.act3(self.bn3(self.conv3(x)))
        x = self.act4(self.bn4(self.conv4(x)))
        return self.fc(self.global_pool(x))


def _init(module):
    """timm's init: Kaiming normal (fan-out, ReLU) convolutions, batch norm weight 1, bias 0."""
    if isinstance(module, nn.Conv2d):
        nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


@register(input_size=(3, 299, 299))
def xception(num_classes=1000):
    """Xception (Chollet 2017, timm's legacy_xception layout, 299x299 input); see :class:`Xception`."""
    return Xception(num_classes)
