"""Shared fixtures. Full MNIST comes from the user's cache (filled by the offline route on a
fresh machine the first time), so the slow part happens once per machine."""

from __future__ import annotations

import pytest

from segdend_lite.data import load_mnist


@pytest.fixture(scope="session")
def mnist_full():
    return load_mnist("auto", verbose=False)


@pytest.fixture(scope="session")
def mnist_small():
    return load_mnist("small", verbose=False)
