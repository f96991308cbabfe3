import os

import pytest

import mxlite as mx


@pytest.fixture(autouse=True)
def _seeded():
    """Every test starts from the same random state."""
    mx.random.seed(0)
    yield


def pytest_collection_modifyitems(config, items):
    if os.environ.get("MXLITE_SLOW_TESTS") == "1":
        return
    skip = pytest.mark.skip(reason="slow; set MXLITE_SLOW_TESTS=1")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
