"""Each optimizer trains the CS5242 MNIST ConvNet on separable synthetic data down to a loss near zero."""
import numpy as np
import pytest

import minidl
from minidl import optim
from minidl import functional as F

from tests.test_summary import mnist_convnet


def _separable_digits(n_per_class=4, classes=10, seed=0):
    """Noisy copies of ten fixed random binary 28x28 templates, pixels in [0, 1] like MNIST's:
    linearly separable by construction."""
    rng = np.random.default_rng(seed)
    templates = (rng.uniform(size=(classes, 1, 28, 28)) < 0.25).astype(np.float64)
    y = np.tile(np.arange(classes), n_per_class)     # every run of ten holds each class once
    x = np.clip(templates[y] + 0.2 * rng.standard_normal((len(y), 1, 28, 28)), 0, 1)
    return minidl.tensor(x.astype(np.float32)), minidl.tensor(y)


OPTIMIZERS = {
    "SGD-lab": lambda p: optim.SGD(p, lr=0.25),      # the lab's setting
    "SGD-nesterov": lambda p: optim.SGD(p, lr=0.02, momentum=0.9, nesterov=True),
    "Adam": lambda p: optim.Adam(p, lr=1e-3),
    "AdamW": lambda p: optim.AdamW(p, lr=1e-3),
    "RMSprop": lambda p: optim.RMSprop(p, lr=1e-3),
    "Adagrad": lambda p: optim.Adagrad(p, lr=0.02),
}
# about 5 s each on one core: the lab's SGD runs by default, the others with -m slow
CASES = [name if name == "SGD-lab" else pytest.param(name, marks=pytest.mark.slow) for name in OPTIMIZERS]


@pytest.mark.parametrize("name", CASES)
def test_loss_goes_near_zero(name):
    minidl.manual_seed(0)
    model = mnist_convnet()
    opt = OPTIMIZERS[name](model.parameters())
    x, y = _separable_digits()
    batch = 10
    for step in range(80):
        i = (step * batch) % len(y)
        opt.zero_grad()
        F.cross_entropy(model(x[i:i + batch]), y[i:i + batch]).backward()
        opt.step()
    with minidl.no_grad():
        logits = model(x)
        final = F.cross_entropy(logits, y).item()
    assert final < 0.05, f"{name}: final training loss {final:.4f}"
    assert (logits.numpy().argmax(axis=1) == y.numpy()).all()
