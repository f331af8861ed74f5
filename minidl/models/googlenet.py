"""GoogLeNet / Inception v1 (Szegedy et al., "Going deeper with convolutions", CVPR 2015).

Nine inception modules (1x1, 3x3 and 5x5 convolutions and a 3x3 max-pool in
parallel, with 1x1 reductions in front of the large convolutions), global
average pooling instead of a fully connected head, and two auxiliary
classifiers on inception4a and inception4d that only run in training mode.

* ``variant='torchvision'`` (6,624,904 parameters; 13,004,888 with the aux
  heads): torchvision's GoogLeNet, whose weights load by name.  Every
  convolution is bias-free and followed by batch norm (eps 1e-3), and the
  "5x5" branch is really a 3x3 convolution, a quirk torchvision keeps for its
  pretrained weights (pytorch/vision#906).
* ``variant='paper'`` (6,998,552; 13,378,280 with aux): the network of Table 1:
  convolutions with bias and ReLU, true 5x5 branches, LRN after the first
  pool and after conv3 (as in the authors' Caffe model), dropout 0.4, aux
  heads with a 5x5/3 average pool.

``transform_input=True`` re-scales an input normalized with ImageNet's mean and
standard deviation to the (x - 0.5) / 0.5 scaling that Google's weights were
trained on, as torchvision does for its pretrained GoogLeNet and Inception v3.

In training mode with ``aux_logits`` the model returns ``(logits, aux2,
aux1)``: the main logits, then the head on inception4d, then the one on
inception4a, torchvision's GoogLeNetOutputs order.  The paper adds the aux
losses with weight 0.3.  In eval mode, or without aux heads, it returns the logits.
"""
from .. import nn
from ..autograd import Tensor, concat
from ..data.presets import IMAGENET_MEAN, IMAGENET_STD
from .registry import register

__all__ = ["GoogLeNet", "Inception", "InceptionAux", "BasicConv2d", "ConvReLU", "googlenet",
           "imagenet_to_half_range"]


def imagenet_to_half_range(x):
    """torchvision's ``transform_input``: ImageNet-normalized x re-scaled to (x - 0.5) / 0.5 units.

    x (N, 3, H, W) -> (N, 3, H, W): channel c becomes
    ``x[:, c] * (std[c] / 0.5) + (mean[c] - 0.5) / 0.5``.
    """
    def per_channel(values):
        return Tensor([values], dtype=x.dtype, device=x.device).reshape(1, 3, 1, 1)
    scale = per_channel([s / 0.5 for s in IMAGENET_STD])
    shift = per_channel([(m - 0.5) / 0.5 for m in IMAGENET_MEAN])
    return x * scale + shift


class BasicConv2d(nn.Module):
    """Bias-free convolution, batch norm (eps 1e-3), ReLU: torchvision's Inception building block."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding,
                              bias=False)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.bn(self.conv(x)))


class ConvReLU(nn.Module):
    """Convolution with bias, then ReLU: the paper's building block (no batch norm in 2014)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.conv(x))


class Inception(nn.Module):
    """An inception module: four parallel branches joined along the channels.

    branch1: 1x1 (ch1x1); branch2: 1x1 (ch3x3red), 3x3 (ch3x3); branch3: 1x1
    (ch5x5red), then a ``kernel5`` x ``kernel5`` convolution (ch5x5); branch4:
    3x3/1 max-pool, 1x1 (pool_proj).
    x (N, in_channels, H, W) -> (N, ch1x1 + ch3x3 + ch5x5 + pool_proj, H, W).
    """

    def __init__(self, in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj,
                 conv_block=BasicConv2d, kernel5=3):
        super().__init__()
        self.branch1 = conv_block(in_channels, ch1x1, 1)
        self.branch2 = nn.Sequential(conv_block(in_channels, ch3x3red, 1),
                                     conv_block(ch3x3red, ch3x3, 3, padding=1))
        self.branch3 = nn.Sequential(conv_block(in_channels, ch5x5red, 1),
                                     conv_block(ch5x5red, ch5x5, kernel5, padding=kernel5 // 2))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True),
                                     conv_block(in_channels, pool_proj, 1))

    def forward(self, x):
        return concat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], axis=1)


class InceptionAux(nn.Module):
    """An auxiliary classifier: average pool to 4x4, 1x1 conv 128, fc 1024 + ReLU, dropout, fc.

    x (N, in_channels, 14, 14) -> logits (N, num_classes).
    """

    def __init__(self, in_channels, num_classes, conv_block=BasicConv2d, pool=None, dropout=0.7):
        super().__init__()
        self.pool = pool or nn.AdaptiveAvgPool2d((4, 4))
        self.conv = conv_block(in_channels, 128, 1)
        self.fc1 = nn.Linear(128 * 4 * 4, 1024)
        self.relu = nn.ReLU()
        self.dropout = nn.Dropout(dropout)
        self.fc2 = nn.Linear(1024, num_classes)

    def forward(self, x):
        x = self.conv(self.pool(x)).flatten(1)
        return self.fc2(self.dropout(self.relu(self.fc1(x))))


# Table 1: (in, #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj) of each module.
_MODULES = {
    "inception3a": (192, 64, 96, 128, 16, 32, 32),
    "inception3b": (256, 128, 128, 192, 32, 96, 64),
    "inception4a": (480, 192, 96, 208, 16, 48, 64),
    "inception4b": (512, 160, 112, 224, 24, 64, 64),
    "inception4c": (512, 128, 128, 256, 24, 64, 64),
    "inception4d": (512, 112, 144, 288, 32, 64, 64),
    "inception4e": (528, 256, 160, 320, 32, 128, 128),
    "inception5a": (832, 256, 160, 320, 32, 128, 128),
    "inception5b": (832, 384, 192, 384, 48, 128, 128),
}


class GoogLeNet(nn.Module):
    """GoogLeNet with torchvision's module names; ``variant`` 'torchvision' or 'paper' (see the module doc).

    x (N, 3, 224, 224) -> logits (N, num_classes), or (logits, aux2, aux1) when
    training with ``aux_logits``.
    """

    aux_heads = ("aux1", "aux2")

    def __init__(self, num_classes=1000, aux_logits=True, variant="torchvision", dropout=None,
                 dropout_aux=0.7, transform_input=False):
        super().__init__()
        self.transform_input = transform_input
        if variant not in ("torchvision", "paper"):
            raise ValueError(f"googlenet: variant must be 'torchvision' or 'paper', got {variant!r}")
        paper = variant == "paper"
        block = ConvReLU if paper else BasicConv2d
        self.aux_logits = aux_logits
        self.conv1 = block(3, 64, 7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.norm1 = nn.LocalResponseNorm(5) if paper else nn.Identity()
        self.conv2 = block(64, 64, 1)
        self.conv3 = block(64, 192, 3, padding=1)
        self.norm2 = nn.LocalResponseNorm(5) if paper else nn.Identity()
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)

        def inception(name):
            return Inception(*_MODULES[name], conv_block=block, kernel5=5 if paper else 3)
        self.inception3a = inception("inception3a")
        self.inception3b = inception("inception3b")
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception4a = inception("inception4a")
        self.inception4b = inception("inception4b")
        self.inception4c = inception("inception4c")
        self.inception4d = inception("inception4d")
        self.inception4e = inception("inception4e")
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.inception5a = inception("inception5a")
        self.inception5b = inception("inception5b")
        if aux_logits:
            self.aux1 = InceptionAux(512, num_classes, block, _aux_pool(paper), dropout_aux)
            self.aux2 = InceptionAux(528, num_classes, block, _aux_pool(paper), dropout_aux)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(dropout if dropout is not None else (0.4 if paper else 0.2))
        self.fc = nn.Linear(1024, num_classes)
        self.apply(_init_paper if paper else _init_torchvision)

    def forward(self, x):
        if self.transform_input:
            x = imagenet_to_half_range(x)
        x = self.norm1(self.maxpool1(self.conv1(x)))
        x = self.maxpool2(self.norm2(self.conv3(self.conv2(x))))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.inception4a(x)
        aux_heads = self.aux_logits and self.training
        aux1 = self.aux1(x) if aux_heads else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        aux2 = self.aux2(x) if aux_heads else None
        x = self.maxpool4(self.inception4e(x))
        x = self.inception5b(self.inception5a(x))
        logits = self.fc(self.dropout(self.avgpool(x).flatten(1)))
        return (logits, aux2, aux1) if aux_heads else logits


def _aux_pool(paper):
    # The paper's 5x5/3 average pool gives 4x4 on inception4's 14x14 maps, as torchvision's adaptive pool.
    return nn.AvgPool2d(5, stride=3) if paper else nn.AdaptiveAvgPool2d((4, 4))


def _init_torchvision(module):
    """torchvision's init: N(0, 0.01) weights (its truncation at +-2 never bites); BN weight 1, bias 0."""
    if isinstance(module, (nn.Conv2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.01)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


def _init_paper(module):
    """The authors' Caffe fillers: "xavier" weights (uniform in +-sqrt(3 / fan_in)),
    biases 0.2 on the convolutions and 0 on the classifiers."""
    if isinstance(module, (nn.Conv2d, nn.Linear)):
        nn.init.kaiming_uniform_(module.weight, nonlinearity="linear")
        nn.init.constant_(module.bias, 0.2 if isinstance(module, nn.Conv2d) else 0.0)


@register(input_size=(3, 224, 224))
def googlenet(num_classes=1000, aux_logits=True, variant="torchvision", dropout=None, dropout_aux=0.7,
              transform_input=False):
    """GoogLeNet (Inception v1); ``variant`` 'torchvision' (BN) or 'paper'; see :class:`GoogLeNet`."""
    return GoogLeNet(num_classes, aux_logits, variant, dropout, dropout_aux, transform_input)
