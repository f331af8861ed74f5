"""Inception v3 (Szegedy et al., "Rethinking the Inception architecture for computer vision",
CVPR 2016), as torchvision defines it: same modules, same names, so its weights load by name.

Every convolution is a :class:`~minidl.models.googlenet.BasicConv2d` (bias-free
conv, batch norm eps 1e-3, ReLU).  The modules factorise large filters: a 5x5
becomes two 3x3 (InceptionA), a 7x7 becomes 1x7 then 7x1 (InceptionC), and the
last modules split a 3x3 into parallel 1x3 and 3x1 (InceptionE); InceptionB
and InceptionD halve the grid with stride-2 branches beside a max-pool.
23,834,568 parameters without the auxiliary head, 27,161,264 with it, at 299x299.

``transform_input=True`` re-scales ImageNet-normalized input as torchvision's
pretrained weights expect (see :func:`~minidl.models.googlenet.imagenet_to_half_range`).

With ``aux_logits`` the auxiliary classifier on Mixed_6e runs in training
mode only, and the model then returns ``(logits, aux)`` (torchvision's
InceptionOutputs order); otherwise it returns the logits.
"""
from .. import nn
from ..autograd import concat
from .googlenet import BasicConv2d, imagenet_to_half_range
from .registry import register

__all__ = ["Inception3", "InceptionA", "InceptionB", "InceptionC", "InceptionD", "InceptionE",
           "InceptionV3Aux", "inception_v3"]


def _avg_pool_3x3():
    # The pool branches average over a 3x3 window that may overhang the border,
    # counting the zero padding, as torchvision's F.avg_pool2d does by default.
    return nn.AvgPool2d(3, stride=1, padding=1)


class InceptionA(nn.Module):
    """35x35 module: 1x1 | 1x1, 5x5 | 1x1, 3x3, 3x3 | avg-pool, 1x1.

    x (N, in_channels, H, W) -> (N, 224 + pool_features, H, W).
    """

    def __init__(self, in_channels, pool_features):
        super().__init__()
        self.branch1x1 = BasicConv2d(in_channels, 64, 1)
        self.branch5x5_1 = BasicConv2d(in_channels, 48, 1)
        self.branch5x5_2 = BasicConv2d(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, padding=1)
        self.pool = _avg_pool_3x3()
        self.branch_pool = BasicConv2d(in_channels, pool_features, 1)

    def forward(self, x):
        branch5x5 = self.branch5x5_2(self.branch5x5_1(x))
        branch3x3dbl = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return concat([self.branch1x1(x), branch5x5, branch3x3dbl, self.branch_pool(self.pool(x))],
                      axis=1)


class InceptionB(nn.Module):
    """Grid reduction 35 -> 17: 3x3/2 | 1x1, 3x3, 3x3/2 | max-pool 3x3/2.

    x (N, in_channels, H, W) -> (N, 480 + in_channels, (H-3)/2+1, (W-3)/2+1).
    """

    def __init__(self, in_channels):
        super().__init__()
        self.branch3x3 = BasicConv2d(in_channels, 384, 3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, stride=2)
        self.pool = nn.MaxPool2d(3, stride=2)

    def forward(self, x):
        branch3x3dbl = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return concat([self.branch3x3(x), branch3x3dbl, self.pool(x)], axis=1)


class InceptionC(nn.Module):
    """17x17 module with 7x7 filters factorised into 1x7 and 7x1 (c7 channels inside).

    1x1 | 1x1, 1x7, 7x1 | 1x1, 7x1, 1x7, 7x1, 1x7 | avg-pool, 1x1.
    x (N, in_channels, H, W) -> (N, 768, H, W).
    """

    def __init__(self, in_channels, channels_7x7):
        super().__init__()
        c7 = channels_7x7
        self.branch1x1 = BasicConv2d(in_channels, 192, 1)
        self.branch7x7_1 = BasicConv2d(in_channels, c7, 1)
        self.branch7x7_2 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, (7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(in_channels, c7, 1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, (1, 7), padding=(0, 3))
        self.pool = _avg_pool_3x3()
        self.branch_pool = BasicConv2d(in_channels, 192, 1)

    def forward(self, x):
        branch7x7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        branch7x7dbl = x
        for conv in (self.branch7x7dbl_1, self.branch7x7dbl_2, self.branch7x7dbl_3,
                     self.branch7x7dbl_4, self.branch7x7dbl_5):
            branch7x7dbl = conv(branch7x7dbl)
        return concat([self.branch1x1(x), branch7x7, branch7x7dbl, self.branch_pool(self.pool(x))],
                      axis=1)


class InceptionD(nn.Module):
    """Grid reduction 17 -> 8: 1x1, 3x3/2 | 1x1, 1x7, 7x1, 3x3/2 | max-pool 3x3/2.

    x (N, in_channels, H, W) -> (N, 512 + in_channels, (H-3)/2+1, (W-3)/2+1).
    """

    def __init__(self, in_channels):
        super().__init__()
        self.branch3x3_1 = BasicConv2d(in_channels, 192, 1)
        self.branch3x3_2 = BasicConv2d(192, 320, 3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(in_channels, 192, 1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, 3, stride=2)
        self.pool = nn.MaxPool2d(3, stride=2)

    def forward(self, x):
        branch3x3 = self.branch3x3_2(self.branch3x3_1(x))
        branch7x7x3 = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        return concat([branch3x3, branch7x7x3, self.pool(x)], axis=1)


class InceptionE(nn.Module):
    """8x8 module whose 3x3 filters split into parallel 1x3 and 3x1 (expanded filter bank).

    1x1 | 1x1, (1x3 and 3x1) | 1x1, 3x3, (1x3 and 3x1) | avg-pool, 1x1.
    x (N, in_channels, H, W) -> (N, 2048, H, W).
    """

    def __init__(self, in_channels):
        super().__init__()
        self.branch1x1 = BasicConv2d(in_channels, 320, 1)
        self.branch3x3_1 = BasicConv2d(in_channels, 384, 1)
        self.branch3x3_2a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 448, 1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.pool = _avg_pool_3x3()
        self.branch_pool = BasicConv2d(in_channels, 192, 1)

    def forward(self, x):
        b3 = self.branch3x3_1(x)
        branch3x3 = concat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], axis=1)
        b3dbl = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        branch3x3dbl = concat([self.branch3x3dbl_3a(b3dbl), self.branch3x3dbl_3b(b3dbl)], axis=1)
        return concat([self.branch1x1(x), branch3x3, branch3x3dbl, self.branch_pool(self.pool(x))],
                      axis=1)


class InceptionV3Aux(nn.Module):
    """The auxiliary classifier on Mixed_6e: avg-pool 5x5/3, 1x1 conv 128, 5x5 conv 768, global pool, fc.

    x (N, 768, 17, 17) -> logits (N, num_classes).
    """

    def __init__(self, in_channels, num_classes):
        super().__init__()
        self.pool = nn.AvgPool2d(5, stride=3)
        self.conv0 = BasicConv2d(in_channels, 128, 1)
        self.conv1 = BasicConv2d(128, 768, 5)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(768, num_classes)

    def forward(self, x):
        return self.fc(self.avgpool(self.conv1(self.conv0(self.pool(x)))).flatten(1))


class Inception3(nn.Module):
    """Inception v3 with torchvision's module names.

    x (N, 3, 299, 299) -> logits (N, num_classes), or (logits, aux) when training with ``aux_logits``.
    """

    aux_heads = ("AuxLogits",)

    def __init__(self, num_classes=1000, aux_logits=True, dropout=0.5, transform_input=False):
        super().__init__()
        self.aux_logits, self.transform_input = aux_logits, transform_input
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, 3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, 3, padding=1)
        self.maxpool1 = nn.MaxPool2d(3, stride=2)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, 1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, 3)
        self.maxpool2 = nn.MaxPool2d(3, stride=2)
        self.Mixed_5b = InceptionA(192, pool_features=32)
        self.Mixed_5c = InceptionA(256, pool_features=64)
        self.Mixed_5d = InceptionA(288, pool_features=64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = InceptionC(768, channels_7x7=128)
        self.Mixed_6c = InceptionC(768, channels_7x7=160)
        self.Mixed_6d = InceptionC(768, channels_7x7=160)
        self.Mixed_6e = InceptionC(768, channels_7x7=192)
        if aux_logits:
            self.AuxLogits = InceptionV3Aux(768, num_classes)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = InceptionE(1280)
        self.Mixed_7c = InceptionE(2048)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(2048, num_classes)
        self._init_weights()

    def _init_weights(self):
        """torchvision's init: N(0, 0.1) weights (0.01 for the aux 5x5 conv, 0.001 for the aux fc;
        its truncation at +-2 never bites), batch norm weight 1, bias 0."""
        special = {}
        if self.aux_logits:
            special = {id(self.AuxLogits.conv1.conv): 0.01, id(self.AuxLogits.fc): 0.001}
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.normal_(module.weight, 0.0, special.get(id(module), 0.1))
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, x):
        if self.transform_input:
            x = imagenet_to_half_range(x)
        for stem in (self.Conv2d_1a_3x3, self.Conv2d_2a_3x3, self.Conv2d_2b_3x3, self.maxpool1,
                     self.Conv2d_3b_1x1, self.Conv2d_4a_3x3, self.maxpool2):
            x = stem(x)
        for mixed in (self.Mixed_5b, self.Mixed_5c, self.Mixed_5d, self.Mixed_6a, self.Mixed_6b,
                      self.Mixed_6c, self.Mixed_6d, self.Mixed_6e):
            x = mixed(x)
        aux_head = self.aux_logits and self.training
        aux = self.AuxLogits(x) if aux_head else None
        x = self.Mixed_7c(self.Mixed_7b(self.Mixed_7a(x)))
        logits = self.fc(self.dropout(self.avgpool(x)).flatten(1))
        return (logits, aux) if aux_head else logits


@register(input_size=(3, 299, 299))
def inception_v3(num_classes=1000, aux_logits=True, dropout=0.5, transform_input=False):
    """Inception v3 (torchvision's definition, 299x299 input); see :class:`Inception3`."""
    return Inception3(num_classes, aux_logits, dropout, transform_input)
