"""``mx.nd``: NDArray and the functions over it.

Besides the core functions of :mod:`.ndarray`, ``mx.nd`` exposes (loaded on first use):
the optimizer update operators (:mod:`.update_ops`: ``sgd_update``, ``adam_update``, ...), the
neural-network operators shared with ``mx.sym`` (:mod:`.op`: ``FullyConnected``, ...), and
MXNet's file format (:mod:`.utils`: ``save``, ``load``, ``load_frombuffer``) and the sparse
arrays (:mod:`.sparse`: ``mx.nd.sparse.row_sparse_array``, ``csr_matrix``, ...).
"""

from __future__ import annotations

import importlib
import threading

from . import random
from .ndarray import *  # noqa: F403
from .ndarray import NDArray, infer_reshape  # noqa: F401

# legacy flat names for random draws
random_uniform = random.uniform
random_normal = random.normal
random_randint = random.randint
random_gamma = random.gamma
random_exponential = random.exponential
random_poisson = random.poisson
# MXNet 1.9.1's oldest names for the same draws (``mx.nd.uniform(shape=...)`` in old tests)
uniform = random.uniform
normal = random.normal
shuffle = random.shuffle

_PROVIDERS = ("utils", "update_ops", "op", "interop", "legacy", "contrib", "_internal")

# first uses from several threads at once resolve one at a time (a provider that is still
# registering its operators in one thread must not look empty to another)
_LAZY_LOCK = threading.RLock()


def __getattr__(name: str):
    if name.startswith("__"):
        raise AttributeError(name)
    with _LAZY_LOCK:
        if name in globals():  # resolved by another thread meanwhile
            return globals()[name]
        return _resolve(name)


def _resolve(name: str):
    if name == "sparse":  # mx.nd.sparse: row_sparse and CSR arrays
        return importlib.import_module(f".{name}", __name__)
    if name == "cast_storage":  # MXNet's mx.nd.cast_storage
        return importlib.import_module(".sparse", __name__).cast_storage
    for provider in _PROVIDERS:
        try:
            module = importlib.import_module(f".{provider}", __name__)
        except ModuleNotFoundError as err:
            if err.name == f"{__name__}.{provider}":
                continue
            raise
        if provider == name:
            return module
        if hasattr(module, name):
            value = getattr(module, name)
            globals()[name] = value
            return value
    raise AttributeError(f"module 'mxlite.ndarray' has no attribute {name!r}")
