"""VGG (Simonyan & Zisserman, "Very deep convolutional networks for large-scale
image recognition", ICLR 2015), configurations A to E of Table 1.

Only 3x3 convolutions (stride 1, pad 1) with ReLU, five 2x2 max-pools, and
the 4096-4096-1000 head.  The layout, parameter names, optional batch norm
and initialisation are torchvision's (``features.<i>``, ``avgpool``,
``classifier.<i>``; Kaiming normal fan-out convolutions, N(0, 0.01) linear
layers, zero biases), so torchvision's VGG weights load by name.  The
adaptive 7x7 average pool is the identity at 224x224 and lets smaller inputs
through (a 32x32 image reaches it as 512x1x1 and is repeated to 7x7).

Table 2's parameter counts: A 133M (``vgg11``), A-LRN 133M (``vgg11_lrn``:
LRN after the first convolution), B 133M (``vgg13``), C 134M (``vgg16_c``:
D with the last convolution of stages 3, 4 and 5 a 1x1), D 138M (``vgg16``),
E 144M (``vgg19``).  The ``_bn`` models add batch norm after every convolution.

``vgg_cifar`` is the CS5242 lab 04 VGG-style ConvNet for 32x32 CIFAR-10
images: four blocks of two 3x3 convolutions, named as the lab's slides.
"""
from collections import OrderedDict

from .. import nn
from .registry import register

__all__ = ["VGG", "CONFIGS", "make_features", "vgg11", "vgg11_lrn", "vgg13", "vgg16_c", "vgg16",
           "vgg19", "vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn", "VGGCifar", "vgg_cifar"]

# Table 1: an int is a 3x3 convolution with that many filters, (filters, 1) a 1x1
# convolution, "M" a 2x2 max-pool and "LRN" local response normalisation.
CONFIGS = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "A-LRN": [64, "LRN", "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "C": [64, 64, "M", 128, 128, "M", 256, 256, (256, 1), "M", 512, 512, (512, 1), "M",
          512, 512, (512, 1), "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
          512, 512, 512, 512, "M"],
}


def make_features(config, batch_norm=False):
    """The convolutional part of a VGG configuration, as one Sequential numbered like torchvision's.

    x (N, 3, H, W) -> (N, 512, H/32, W/32).
    """
    layers, in_channels = [], 3
    for item in config:
        if item == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        elif item == "LRN":
            # The paper takes AlexNet's LRN (k=2, n=5, alpha=1e-4, beta=0.75); PyTorch's
            # LocalResponseNorm divides alpha by n, hence n * 1e-4.
            layers.append(nn.LocalResponseNorm(5, alpha=5 * 1e-4, beta=0.75, k=2.0))
        else:
            out_channels, kernel_size = item if isinstance(item, tuple) else (item, 3)
            layers.append(nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2))
            if batch_norm:
                layers.append(nn.BatchNorm2d(out_channels))
            layers.append(nn.ReLU())
            in_channels = out_channels
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """A VGG network: ``features`` (a configuration of CONFIGS), a 7x7 adaptive pool, the classifier.

    x (N, 3, 224, 224) -> logits (N, num_classes); inputs down to 32x32 work.
    """

    def __init__(self, config, num_classes=1000, batch_norm=False, dropout=0.5):
        super().__init__()
        if config not in CONFIGS:
            raise ValueError(f"VGG: config must be one of {sorted(CONFIGS)}, got {config!r}")
        self.features = make_features(CONFIGS[config], batch_norm)
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(4096, num_classes))
        self.apply(_init)

    def forward(self, x):
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


def _init(module):
    """torchvision's VGG initialisation (the lecture's code does the same)."""
    if isinstance(module, nn.Conv2d):
        nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Linear):
        nn.init.normal_(module.weight, 0.0, 0.01)
        nn.init.zeros_(module.bias)


def _builder(name, config, batch_norm):
    def build(num_classes=1000, batch_norm=batch_norm, dropout=0.5):
        return VGG(config, num_classes, batch_norm, dropout)
    norm = " with batch norm" if batch_norm else ""
    build.__name__ = build.__qualname__ = name
    build.__doc__ = f"VGG configuration {config}{norm} (Simonyan & Zisserman 2015, Table 1)."
    return register(build, input_size=(3, 224, 224))


vgg11 = _builder("vgg11", "A", False)
vgg11_lrn = _builder("vgg11_lrn", "A-LRN", False)
vgg13 = _builder("vgg13", "B", False)
vgg16_c = _builder("vgg16_c", "C", False)
vgg16 = _builder("vgg16", "D", False)
vgg19 = _builder("vgg19", "E", False)
vgg11_bn = _builder("vgg11_bn", "A", True)
vgg13_bn = _builder("vgg13_bn", "B", True)
vgg16_bn = _builder("vgg16_bn", "D", True)
vgg19_bn = _builder("vgg19_bn", "E", True)


def _vgg_block(index, in_channels, out_channels):
    """conv 3x3 pad 1 + ReLU, twice, then a 2x2 max-pool, named as the lab's slide numbers them."""
    return [(f"conv{index}_1", nn.Conv2d(in_channels, out_channels, 3, padding=1)),
            (f"relu{index}_1", nn.ReLU()),
            (f"conv{index}_2", nn.Conv2d(out_channels, out_channels, 3, padding=1)),
            (f"relu{index}_2", nn.ReLU()),
            (f"pool{index}", nn.MaxPool2d(2))]


class VGGCifar(nn.Module):
    """The CS5242 lab 04 VGG-style ConvNet for CIFAR-10 (29,900,362 parameters).

    Four blocks of two 3x3 convolutions (3->64->64, 64->128->128,
    128->256->256, 256->512->512), each followed by a 2x2 max-pool, which takes
    32x32 to 2x2; then linear 2,048->4,096->4,096->10 with ReLUs.
    x (N, 3, 32, 32) -> logits (N, num_classes).

    ``width`` (default 64) is the first block's channel count; the blocks
    have ``width``, 2, 4 and 8 ``width`` channels and the first linear layer
    takes the ``8 width * 2 * 2`` features (the 4,096-wide layers stay).
    """

    def __init__(self, num_classes=10, width=64):
        super().__init__()
        widths = [3, width, 2 * width, 4 * width, 8 * width]
        layers = []
        for i in range(1, 5):
            layers += _vgg_block(i, widths[i - 1], widths[i])
        self.features = nn.Sequential(OrderedDict(layers))
        self.classifier = nn.Sequential(
            nn.Linear(widths[-1] * 2 * 2, 4096), nn.ReLU(),
            nn.Linear(4096, 4096), nn.ReLU(),
            nn.Linear(4096, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))


@register(input_size=(3, 32, 32))
def vgg_cifar(num_classes=10, width=64):
    """The CS5242 lab 04 VGG-style CIFAR-10 ConvNet (29,900,362 parameters at the default ``width``).

    ``width``: the first block's channel count; the others have 2, 4 and 8 times as many.
    """
    return VGGCifar(num_classes, width)
