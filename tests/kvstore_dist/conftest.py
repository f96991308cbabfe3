"""Fixtures of the distributed-kvstore tests: one Ray instance for the session (loopback, no
dashboard, a small object store, its own temporary directory), shut down at the end."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid

import pytest

TIMEOUT_S = 60.0  # the store's time-out in these tests


@pytest.fixture(scope="session")
def ray_address():
    """The GCS address of the session's Ray instance."""
    from mxlite.kvstore import dist

    dist.loopback_environment()  # before Ray is imported: loopback only
    ray = pytest.importorskip("ray")
    temp = tempfile.mkdtemp(prefix="mxlt-", dir="/tmp")
    started = False
    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, object_store_memory=96 * 1024 * 1024,
                 _temp_dir=temp, logging_level="WARNING", log_to_driver=False)
        started = True
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        if started:
            ray.shutdown()
        shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture(scope="session")
def server_pool(ray_address):
    """Three servers for the session, reset by each test that borrows them (starting a
    server process costs seconds on a small machine)."""
    from mxlite.kvstore import dist

    return dist.start_servers(uuid.uuid4().hex[:10], 3, 1)


@pytest.fixture
def servers(server_pool):
    """``start(num_servers, num_workers, fresh=False)`` -> server handles for a new job:
    the session's servers reset, or (``fresh``) new ones, killed after the test."""
    import ray

    from mxlite.kvstore import dist

    made = []

    def start(num_servers=1, num_workers=1, fresh=False):
        if fresh:
            handles = dist.start_servers(uuid.uuid4().hex[:10], num_servers, num_workers)
            made.extend(handles)
            return handles
        handles = server_pool[:num_servers]
        ray.get([h.reset.remote(num_workers) for h in handles], timeout=TIMEOUT_S)
        return handles

    yield start
    for h in made:
        try:
            ray.kill(h)
        except Exception:
            pass


@pytest.fixture
def make_store(servers):
    """``make(kind, num_servers=1, num_workers=1, bound=...)`` -> the stores of all ranks."""
    from mxlite.kvstore import dist

    def make(kind="dist_sync", num_servers=1, num_workers=1, bound=None, timeout=TIMEOUT_S,
             fresh=False):
        handles = servers(num_servers, num_workers, fresh)
        kwargs = {} if bound is None else {"bigarray_bound": bound}
        stores = [dist.DistKVStore(kind, servers=handles, rank=r, num_workers=num_workers,
                                   timeout=timeout, **kwargs) for r in range(num_workers)]
        return stores if num_workers > 1 else stores[0]

    return make


@pytest.fixture
def no_launch_env(monkeypatch):
    for name in list(os.environ):
        if name.startswith(("MXLITE_KV_", "DMLC_")):
            monkeypatch.delenv(name)
