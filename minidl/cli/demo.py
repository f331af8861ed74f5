"""``python -m minidl demo``: a two-layer network learns XOR-like quadrants, printing its loss falling."""
import numpy as np

import minidl


def add_parser(sub):
    p = sub.add_parser("demo", help="train a two-layer network on synthetic data")
    p.add_argument("--steps", type=int, default=500, help="gradient steps (default 500)")
    p.add_argument("--lr", type=float, default=1.0, help="learning rate (default 1.0)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.set_defaults(run=run, parser=p)


def run(args):
    """Train a two-layer network on synthetic two-class data and print the loss falling."""
    minidl.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    n = 512
    x = rng.standard_normal((n, 2)).astype(np.float32)
    y = (x[:, 0] * x[:, 1] > 0).astype(np.float32)[:, None]     # XOR-like quadrants
    x, y = minidl.tensor(x), minidl.tensor(y)
    w1 = minidl.randn(2, 32, requires_grad=True)
    b1 = minidl.zeros(32, requires_grad=True)
    w2 = minidl.randn(32, 1, requires_grad=True)
    b2 = minidl.zeros(1, requires_grad=True)
    params = [w1, b1, w2, b2]
    for step in range(args.steps + 1):
        h = minidl.autograd.maximum(x @ w1 * 0.5 + b1, 0.0)
        p = 1 / (1 + (-(h @ w2 * 0.2 + b2)).exp())
        loss = ((p - y) ** 2).mean()
        for t in params:
            t.grad = None
        loss.backward()
        for t in params:
            t.data -= args.lr * t.grad.data
        if step % max(args.steps // 10, 1) == 0:
            acc = float(((p.numpy() > 0.5) == (y.numpy() > 0.5)).mean())
            print(f"step {step:4d}  loss {loss.item():.4f}  accuracy {acc:.3f}")
