"""The generator random transforms draw from: the backend's CPU one, or one installed per thread."""
import threading

import numpy as np

from minidl import backend
from minidl.data import DataLoader, TensorDataset, seeding


def test_default_is_the_backend_cpu_generator():
    assert seeding.current() is backend.generator("cpu")


def test_using_installs_a_generator_for_this_thread_only():
    mine = backend.Generator("cpu", 1)
    seen = []
    with seeding.using(mine):
        assert seeding.current() is mine
        thread = threading.Thread(target=lambda: seen.append(seeding.current()))
        thread.start()
        thread.join()
    assert seen == [backend.generator("cpu")]
    assert seeding.current() is backend.generator("cpu")


def test_loaders_iterated_side_by_side_leave_the_threads_generator_alone():
    """A loader's epoch generator is installed only while it makes a batch: interleaving two
    loaders (zip) must not leave one of them installed for the code that runs afterwards."""
    data = TensorDataset(np.arange(20, dtype=np.float32)[:, None], np.arange(20))
    first, second = DataLoader(data, 6, shuffle=True), DataLoader(data, 6, shuffle=True)
    for _ in zip(first, second):
        assert seeding.current() is backend.generator("cpu")
    assert seeding.current() is backend.generator("cpu")
