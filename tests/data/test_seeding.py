"""The generator random transforms draw from: the backend's CPU one, or one installed per thread."""
import threading

from minidl import backend
from minidl.data import seeding


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
