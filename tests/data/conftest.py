"""Data tests never touch the network or the user's cache.

``MINIDL_OFFLINE`` forbids downloads (the download tests lift it and use
file:// mirrors), the cache and ``MINIDL_DATA`` point into the test's own
temporary directory, and the system dataset directories are hidden unless a
test asks for them (the real Fashion-MNIST test does).
"""
import pytest

from minidl.data.datasets import download


@pytest.fixture(autouse=True)
def _isolated_data_dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("MINIDL_OFFLINE", "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("MINIDL_DATA", raising=False)
    monkeypatch.setattr(download, "SYSTEM_DIRS", ())
