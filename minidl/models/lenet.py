"""LeNet-5 and the small ConvNets of the course labs.

* ``lenet5_original``: LeCun, Bottou, Bengio & Haffner, "Gradient-based
  learning applied to document recognition", Proc. IEEE 1998, Sec. II-B: the
  sparse C3 of Table I, trainable subsampling, 1.7159 tanh(2a/3) and the RBF
  output layer (60,000 trainable parameters, plus 840 fixed RBF centres).
* ``lenet5``: the modern reading used in courses and benchmarks: dense C3,
  plain pooling, ReLU (or tanh), a Linear(84, 10) output (61,706 parameters).
* ``mnist_convnet``: the CS5242 lab 03 MNIST ConvNet, 536,710 parameters.

The lab 04 CIFAR-10 ConvNet is VGG-style and lives with VGG
(``minidl.models.vgg.VGGCifar``), the tflearn CIFAR-10 example in
:mod:`minidl.models.cifar_convnet`.

Each is an ``nn.Sequential`` with named stages, so ``model.c1`` or
``model.features.pool2`` is the layer the lecture talks about.
"""
from collections import OrderedDict

from .. import backend, nn
from ..autograd import concat, empty, tensor
from .registry import register

__all__ = ["LeNet5", "LeNet5Original", "Subsampling", "SparseConv2d", "RBFOutput", "MNISTConvNet",
           "lenet5", "lenet5_original", "mnist_convnet"]

# LeCun 1998, Table I: the S2 maps each C3 map reads.  The first six see 3 neighbouring
# maps, the next six 4 neighbouring, three see 4 non-neighbouring, the last all 6.
C3_TABLE = ((0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (4, 5, 0), (5, 0, 1),
            (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (3, 4, 5, 0), (4, 5, 0, 1), (5, 0, 1, 2),
            (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
            (0, 1, 2, 3, 4, 5))


def _lecun_uniform_(layer, fan_in):
    """LeCun 1998, Appendix C: weights and bias uniform in [-2.4/F, 2.4/F], F the unit's fan-in."""
    bound = 2.4 / fan_in
    nn.init.uniform_(layer.weight, -bound, bound)
    nn.init.uniform_(layer.bias, -bound, bound)


class Subsampling(nn.Module):
    """LeNet's S2 and S4: the four inputs of each 2x2 block are added, multiplied by a
    trainable coefficient and shifted by a trainable bias, one pair per map.

    x (N, C, H, W) -> (N, C, H/2, W/2).
    """

    def __init__(self, channels):
        super().__init__()
        self.weight = nn.Parameter(empty(channels))
        self.bias = nn.Parameter(empty(channels))
        self.pool = nn.AvgPool2d(2)
        _lecun_uniform_(self, fan_in=4)

    def forward(self, x):
        # Four times the 2x2 average is the sum of the four inputs the paper speaks of.
        block_sum = self.pool(x) * 4
        return block_sum * self.weight.reshape(1, -1, 1, 1) + self.bias.reshape(1, -1, 1, 1)


class SparseConv2d(nn.Module):
    """A convolution whose output map ``i`` sees only the input maps ``table[i]`` (LeNet's C3).

    One ``Conv2d(len(table[i]), 1, kernel_size)`` per output map, which gives
    the paper's parameter count (1,516 for C3, against 2,416 for a dense C3).
    x (N, C, H, W) -> (N, len(table), OH, OW).
    """

    def __init__(self, table, kernel_size):
        super().__init__()
        self.table = [list(maps) for maps in table]
        self.convs = nn.ModuleList([nn.Conv2d(len(maps), 1, kernel_size) for maps in self.table])
        for maps, conv in zip(self.table, self.convs):
            _lecun_uniform_(conv, fan_in=len(maps) * kernel_size * kernel_size)

    def forward(self, x):
        return concat([conv(x[:, maps]) for maps, conv in zip(self.table, self.convs)], axis=1)


class RBFOutput(nn.Module):
    """LeNet's output layer of Euclidean radial basis units (LeCun 1998, eq. 7).

    Unit i computes the penalty y_i = sum_j (x_j - w_ij)^2 to a fixed centre
    w_i of +-1 values (the paper draws stylised 7x12 bitmaps of the
    characters; random +-1 codes here).  The centres are a parameter with
    ``requires_grad=False``: counted, never trained.  The layer returns -y, so
    that the most likely class has the largest score and ``cross_entropy`` on
    it is the paper's MAP criterion (eq. 9) without its constant "rubbish class".
    x (N, in_features) -> (N, num_classes).
    """

    def __init__(self, in_features, num_classes):
        super().__init__()
        codes = backend.generator("cpu").integers(0, 2, (num_classes, in_features)) * 2 - 1
        self.weight = nn.Parameter(tensor(codes.astype(backend.get_default_dtype())), requires_grad=False)

    def forward(self, x):
        diff = x.reshape(x.shape[0], 1, -1) - self.weight.reshape(1, *self.weight.shape)
        return -(diff * diff).sum(axis=2)


class LeNet5Original(nn.Sequential):
    """LeNet-5 as published (LeCun et al. 1998, Sec. II-B and Appendix A).

    32x32 input; C1 6@28x28 (5x5); S2 6@14x14 (trainable subsampling); C3
    16@10x10 through the 60 connections of Table I; S4 16@5x5; C5 120 (5x5);
    F6 84; every layer up to F6 squashed by 1.7159 tanh(2a/3); RBF output.
    Initialised as Appendix C (uniform, +-2.4 / fan-in).
    x (N, 1, 32, 32) -> scores (N, num_classes), the negated RBF penalties.
    """

    def __init__(self, num_classes=10):
        c1, c5, f6 = nn.Conv2d(1, 6, 5), nn.Conv2d(16, 120, 5), nn.Linear(120, 84)
        for layer in (c1, c5, f6):
            _lecun_uniform_(layer, fan_in=layer.weight.numel() // layer.weight.shape[0])
        super().__init__(OrderedDict([
            ("c1", c1), ("act1", nn.ScaledTanh()),
            ("s2", Subsampling(6)), ("act2", nn.ScaledTanh()),
            ("c3", SparseConv2d(C3_TABLE, 5)), ("act3", nn.ScaledTanh()),
            ("s4", Subsampling(16)), ("act4", nn.ScaledTanh()),
            ("c5", c5), ("act5", nn.ScaledTanh()),
            ("flatten", nn.Flatten()),
            ("f6", f6), ("act6", nn.ScaledTanh()),
            ("rbf", RBFOutput(84, num_classes)),
        ]))


_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh}
_POOLS = {"max": nn.MaxPool2d, "avg": nn.AvgPool2d}


def _choice(what, value, options):
    if value not in options:
        raise ValueError(f"lenet5: {what} must be one of {sorted(options)}, got {value!r}")
    return options[value]


class LeNet5(nn.Sequential):
    """The modern LeNet-5: LeCun 1998's layout with a dense C3, plain pooling and a linear output.

    conv 1->6 5x5 (pad 2 for 28x28 MNIST, 0 for 32x32), act, pool 2, conv
    6->16 5x5, act, pool 2, conv 16->120 5x5 (C5; on the 5x5 maps it is a
    linear layer 400->120), act, linear 120->84, act, linear 84->10.
    ``activation`` is 'relu' or 'tanh', ``pool`` 'max' or 'avg', ``input_size`` 28 or 32.
    x (N, 1, input_size, input_size) -> logits (N, num_classes).
    """

    def __init__(self, num_classes=10, activation="relu", pool="max", input_size=28):
        act = _choice("activation", activation, _ACTIVATIONS)
        pool_layer = _choice("pool", pool, _POOLS)
        padding = _choice("input_size", input_size, {28: 2, 32: 0})
        super().__init__(OrderedDict([
            ("c1", nn.Conv2d(1, 6, 5, padding=padding)), ("act1", act()), ("s2", pool_layer(2)),
            ("c3", nn.Conv2d(6, 16, 5)), ("act3", act()), ("s4", pool_layer(2)),
            ("c5", nn.Conv2d(16, 120, 5)), ("act5", act()),
            ("flatten", nn.Flatten()),
            ("f6", nn.Linear(120, 84)), ("act6", act()),
            ("out", nn.Linear(84, num_classes)),
        ]))


class MNISTConvNet(nn.Sequential):
    """The CS5242 lab 03 ConvNet for MNIST (536,710 parameters).

    conv 1->50 3x3 pad 1, ReLU, max-pool 2, conv 50->100 3x3 pad 1, ReLU,
    max-pool 2, linear 4,900->100, ReLU, linear 100->10.
    x (N, 1, 28, 28) -> logits (N, num_classes).
    """

    def __init__(self, num_classes=10):
        super().__init__(OrderedDict([
            ("conv1", nn.Conv2d(1, 50, 3, padding=1)), ("relu1", nn.ReLU()), ("pool1", nn.MaxPool2d(2)),
            ("conv2", nn.Conv2d(50, 100, 3, padding=1)), ("relu2", nn.ReLU()), ("pool2", nn.MaxPool2d(2)),
            ("flatten", nn.Flatten()),
            ("fc1", nn.Linear(100 * 7 * 7, 100)), ("relu3", nn.ReLU()),
            ("fc2", nn.Linear(100, num_classes)),
        ]))


@register(input_size=(1, 28, 28))
def lenet5(num_classes=10, activation="relu", pool="max", input_size=28):
    """The modern LeNet-5 (ReLU and max-pool on 28x28 MNIST by default); see :class:`LeNet5`."""
    return LeNet5(num_classes, activation, pool, input_size)


@register(input_size=(1, 32, 32))
def lenet5_original(num_classes=10):
    """LeNet-5 as in LeCun et al. 1998 (sparse C3, trainable subsampling, RBF output)."""
    return LeNet5Original(num_classes)


@register(input_size=(1, 28, 28))
def mnist_convnet(num_classes=10):
    """The CS5242 lab 03 MNIST ConvNet (536,710 parameters)."""
    return MNISTConvNet(num_classes)
