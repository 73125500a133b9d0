import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def mnist():
    """The real, verified MNIST (fetched into the cache on first use)."""
    import mnist_data
    return mnist_data.load("mnist")
