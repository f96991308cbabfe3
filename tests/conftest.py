import os

import pytest

import mxlite as mx
from mxlite.kvstore.dist import loopback_environment

# before any test module imports Ray: the Ray instances of the distributed tests listen on the
# loopback address only
loopback_environment()


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
