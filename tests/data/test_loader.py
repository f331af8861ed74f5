"""DataLoader: batching, seeded shuffling, devices, dtypes, prefetching, samplers, errors."""
import threading

import numpy as np
import pytest

import minidl
from minidl import backend
from minidl.data import DataLoader, TensorDataset
from minidl.data import transforms as T
from minidl.distributed import DistributedSampler


def make_dataset(n=10, transform=None):
    x = np.arange(n * 4, dtype=np.uint8).reshape(n, 1, 2, 2)
    return TensorDataset(x, np.arange(n), transform=transform)


def labels(loader):
    return [backend.to_numpy(y.data).tolist() for _, y in loader]


def test_batches_in_order_with_len():
    loader = DataLoader(make_dataset(10), batch_size=4)
    assert len(loader) == 3
    assert labels(loader) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    loader = DataLoader(make_dataset(10), batch_size=4, drop_last=True)
    assert len(loader) == 2 and labels(loader) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert len(DataLoader(make_dataset(8), batch_size=4, drop_last=True)) == 2


def test_shuffle_is_a_permutation_fixed_by_the_seed():
    loader = DataLoader(make_dataset(50), batch_size=8, shuffle=True)
    minidl.manual_seed(3)
    first = sum(labels(loader), [])
    second = sum(labels(loader), [])          # the next epoch: a new order
    minidl.manual_seed(3)
    again = sum(labels(loader), [])
    assert sorted(first) == list(range(50))
    assert first == again and first != second and first != list(range(50))


def test_yields_float32_images_and_int64_labels(device):
    x, y = next(iter(DataLoader(make_dataset(), batch_size=3, device=device)))
    assert x.device == backend.device(device) and y.device == backend.device(device)
    assert x.dtype == np.float32 and y.dtype == np.int64
    # uint8 pixels arrive scaled to [0, 1], as ToFloat would give them
    np.testing.assert_allclose(backend.to_numpy(x.data), np.arange(12).reshape(3, 1, 2, 2) / 255, rtol=1e-6)


def test_float_inputs_take_the_loader_dtype():
    ds = TensorDataset(np.ones((4, 3), np.float64), np.zeros(4, np.int32))
    x, y = next(iter(DataLoader(ds, batch_size=4)))
    assert x.dtype == np.float32 and y.dtype == np.int64
    x, _ = next(iter(DataLoader(ds, batch_size=4, dtype=np.float64)))
    assert x.dtype == np.float64


def test_batched_and_itemwise_paths_agree():
    ds = make_dataset(9, transform=T.Compose([T.ToFloat(), T.Normalize([0.5], [0.25])]))
    batched = [backend.to_numpy(x.data) for x, _ in DataLoader(ds, batch_size=4)]
    itemwise = [backend.to_numpy(x.data) for x, _ in
                DataLoader(ds, batch_size=4, collate_fn=lambda s: tuple(np.stack(f) for f in zip(*s)))]
    for a, b in zip(batched, itemwise):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_collate_fn_receives_samples():
    seen = []

    def collate(samples):
        seen.append(len(samples))
        return np.stack([s[0] for s in samples]), np.array([s[1] for s in samples])
    list(DataLoader(make_dataset(7), batch_size=3, collate_fn=collate))
    assert seen == [3, 3, 1]


@pytest.mark.parametrize("prefetch", [0, 3])
def test_augmentation_is_reproducible_with_and_without_prefetch(prefetch):
    ds = TensorDataset(np.random.default_rng(0).integers(0, 255, (64, 1, 12, 12), dtype=np.uint8),
                       np.arange(64), transform=T.Compose([T.ToFloat(), T.RandomShift(3)]))

    def epoch(prefetch):
        minidl.manual_seed(9)
        return [backend.to_numpy(x.data) for x, _ in DataLoader(ds, batch_size=16, shuffle=True,
                                                                prefetch=prefetch)]
    reference = epoch(0)
    for a, b in zip(epoch(prefetch), reference):
        np.testing.assert_array_equal(a, b)
    # The model's own draws from the CPU generator, between batches, change nothing.
    minidl.manual_seed(9)
    interleaved = []
    for x, _ in DataLoader(ds, batch_size=16, shuffle=True, prefetch=prefetch):
        backend.generator("cpu").uniform(size=100)
        interleaved.append(backend.to_numpy(x.data))
    for a, b in zip(interleaved, reference):
        np.testing.assert_array_equal(a, b)


def test_prefetch_raises_errors_of_the_worker():
    class Broken:
        def __len__(self):
            return 8

        def __getitem__(self, i):
            if i == 5:
                raise KeyError("sample 5 is broken")
            return np.zeros(2), 0
    with pytest.raises(KeyError, match="sample 5"):
        list(DataLoader(Broken(), batch_size=2, prefetch=2))


def test_prefetch_thread_stops_when_the_loop_breaks():
    before = threading.active_count()
    for _ in DataLoader(make_dataset(100), batch_size=2, prefetch=2):
        break
    deadline = 50
    while threading.active_count() > before and deadline:
        threading.Event().wait(0.05)
        deadline -= 1
    assert threading.active_count() == before


def test_sampler_gives_the_order():
    ds = make_dataset(10)
    sampler = DistributedSampler(10, rank=1, world_size=2, shuffle=False)
    loader = DataLoader(ds, batch_size=2, sampler=sampler)
    assert len(loader) == 3 and sum(labels(loader), []) == [1, 3, 5, 7, 9]


def test_errors():
    ds = make_dataset()
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(ds, batch_size=0)
    with pytest.raises(ValueError, match="prefetch"):
        DataLoader(ds, prefetch=-1)
    with pytest.raises(ValueError, match="sampler"):
        DataLoader(ds, shuffle=True, sampler=range(10))
    with pytest.raises(ValueError, match="unknown device"):
        DataLoader(ds, device="tpu")
