"""Key-value stores for parameter synchronization (``mx.kv`` / ``mx.kvstore``).

* ``'local'`` / ``'device'`` (and MXNet's ``local_*`` names): one process, see
  :mod:`mxlite.kvstore.local`;
* ``'dist_sync'``, ``'dist_async'``, ``'dist_device_sync'`` (``'dist_sync_device'``),
  ``'dist'``: parameter servers on Ray for a job started with ``mxlite launch``, see
  :mod:`mxlite.kvstore.dist` and :mod:`mxlite.kvstore.launch` (Ray is the ``mxlite[dist]``
  extra and is imported only by these types).

>>> import mxlite as mx
>>> kv = mx.kv.create('local')
>>> kv.type, kv.rank, kv.num_workers
('local', 0, 1)
"""

from __future__ import annotations

from . import local
from .local import KVStore

__all__ = ["DIST_TYPES", "KVStore", "create"]

DIST_TYPES = (
    "dist", "dist_sync", "dist_async", "dist_device_sync", "dist_sync_device",
    "dist_device_async", "dist_async_device",
)


def create(name: str = "local") -> KVStore:
    """A KVStore of type ``name``: ``'local'``, ``'device'`` (and MXNet's ``local_*``
    variants), or a distributed type of :data:`DIST_TYPES` inside a job started by
    ``mxlite launch`` (ValueError outside one).  ``horovod``, ``byteps`` and ``nccl`` raise."""
    if isinstance(name, str) and name in DIST_TYPES:
        from . import dist

        return dist.connect_from_env(name)
    return local.create(name)
