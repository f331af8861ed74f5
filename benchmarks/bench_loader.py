"""How fast the DataLoader delivers images, with and without augmentation.

Each case iterates a loader for a few epochs (the first untimed) and reports
the median images per second.  For scale, the script also times LeNet-5
training steps on the CPU (forward, backward, SGD update), on a fixed batch
and fed by an augmenting loader with and without prefetching: the loader
must deliver well above that rate so that it never holds training back.

    python benchmarks/bench_loader.py [--out results/loader.json] [--epochs 5]

Cases:
  mnist-subset          4,000 28x28 digits, ToFloat + Normalize: the batched path (one gather per batch)
  mnist-subset itemwise the same through a collate_fn, one Python call per image, for comparison
  mnist-subset shift    + RandomShift(2), the MNIST augmentation
  mnist-subset prefetch + RandomShift(2) with prefetch=2 (a background thread)
  cifar-style           3x32x32 images, RandomCrop(32, padding=4) + RandomHorizontalFlip + Normalize
  dogs-vs-cats          3x256x256 images, RandomResizedCrop(224) + RandomRotation(90) + Normalize
"""
import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

import minidl
from minidl.data import DataLoader, TensorDataset
from minidl.data import transforms as T
from minidl.data.datasets import MNISTSubset

MNIST_NORM = T.Normalize([0.1307], [0.3081])
CIFAR_NORM = T.Normalize([0.4914, 0.4822, 0.4465], [0.2470, 0.2435, 0.2616])
IMAGENET_NORM = T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])


def stacked(samples):
    return tuple(np.stack(field) for field in zip(*samples))


def random_images(n, channels, size, seed=0):
    rng = np.random.default_rng(seed)
    return TensorDataset(rng.integers(0, 256, (n, channels, size, size), dtype=np.uint8),
                         rng.integers(0, 10, n))


def cases():
    shift = T.Compose([T.ToFloat(), T.RandomShift(2), MNIST_NORM])
    cifar = random_images(4000, 3, 32)
    cifar.transform = T.Compose([T.ToFloat(), T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(),
                                 CIFAR_NORM])
    dogs = random_images(256, 3, 256)
    dogs.transform = T.Compose([T.RandomResizedCrop(224), T.RandomRotation(90), T.ToFloat(),
                                IMAGENET_NORM])
    plain = MNISTSubset(transform=T.Compose([T.ToFloat(), MNIST_NORM]))
    return {
        "mnist-subset": dict(dataset=plain, batch_size=64),
        "mnist-subset itemwise": dict(dataset=plain, batch_size=64, collate_fn=stacked),
        "mnist-subset shift": dict(dataset=MNISTSubset(transform=shift), batch_size=64),
        "mnist-subset prefetch": dict(dataset=MNISTSubset(transform=shift), batch_size=64, prefetch=2),
        "cifar-style": dict(dataset=cifar, batch_size=128),
        "dogs-vs-cats": dict(dataset=dogs, batch_size=32),
    }


def images_per_second(loader, epochs):
    """Median images/s over ``epochs`` timed epochs, after one untimed."""
    rates = []
    for epoch in range(epochs + 1):
        start = time.perf_counter()
        n = sum(len(y) for _, y in loader)
        if epoch:
            rates.append(n / (time.perf_counter() - start))
    return float(np.median(rates)), [float(r) for r in rates]


def lenet5_rates(steps, batch_size=64):
    """Images/s of LeNet-5 training on the CPU: steps on one fixed batch (the rate the loader has to
    beat), then fed by an augmenting loader without and with prefetching."""
    from minidl import models, nn, optim
    model = models.get("lenet5", num_classes=10)
    optimizer = optim.SGD(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()

    def step(x, y):
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()

    def rate(batches):
        times, last = [], time.perf_counter()
        for k, (x, y) in enumerate(batches):
            step(x, y)
            now = time.perf_counter()
            times.append(now - last)
            last = now
            if k == steps:
                break
        return batch_size / float(np.median(times[1:]))

    x, y = next(iter(DataLoader(MNISTSubset(transform=T.ToFloat()), batch_size=batch_size)))
    rates = {"fixed batch": rate((x, y) for _ in range(steps + 1))}
    augment = T.Compose([T.ToFloat(), T.RandomShift(2), MNIST_NORM])
    for prefetch in (0, 2):
        loader = DataLoader(MNISTSubset(transform=augment), batch_size=batch_size, shuffle=True,
                            prefetch=prefetch)
        rates[f"loader, prefetch={prefetch}"] = rate(loader)
    return rates


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=5, help="timed epochs per case (median reported)")
    parser.add_argument("--lenet-steps", type=int, default=20, help="timed LeNet-5 steps (0: skip)")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args(argv)
    minidl.manual_seed(0)
    results = {"machine": platform.processor() or platform.machine(), "numpy": np.__version__,
               "epochs": args.epochs, "cases": {}}
    print(f"{'case':24s} {'images/s (median)':>18s}")
    for name, kwargs in cases().items():
        dataset = kwargs.pop("dataset")
        loader = DataLoader(dataset, shuffle=True, **kwargs)
        median, rates = images_per_second(loader, args.epochs)
        results["cases"][name] = {"images_per_second": median, "epochs": rates, "images": len(dataset),
                                  "batch_size": loader.batch_size, "prefetch": loader.prefetch}
        print(f"{name:24s} {median:18,.0f}")
    if args.lenet_steps:
        try:
            results["lenet5_train_images_per_second"] = lenet5_rates(args.lenet_steps)
        except Exception as error:  # noqa: BLE001 - the loader figures stand without this comparison
            results["lenet5_train_images_per_second"] = {"error": f"{type(error).__name__}: {error}"}
        for name, rate in results["lenet5_train_images_per_second"].items():
            print(f"LeNet-5 training, {name}: " + (f"{rate:,.0f} images/s" if name != "error" else rate))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n")
        print(f"wrote {args.out}")
    return results


if __name__ == "__main__":
    main()
