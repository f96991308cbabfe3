"""mxlite: MXNet's optimization stack and the training API around it, on NumPy and Numba.

>>> import mxlite as mx
>>> mx.nd.ones((2, 3)).sum().asscalar()
6.0

Subpackages load on first use (``mx.optimizer``, ``mx.sym``, ``mx.mod``, ...), so ``import mxlite``
stays fast and Numba is imported only when a kernel is needed.
"""

from __future__ import annotations

import importlib

from . import base, context, ndarray, random
from .base import MXNetError
from .context import Context, cpu, cpu_pinned, current_context, gpu, num_gpus

__version__ = "0.1.0"

nd = ndarray

# public name -> submodule, imported lazily on first attribute access
_LAZY = {
    "optimizer": "optimizer",
    "lr_scheduler": "lr_scheduler",
    "initializer": "initializer",
    "init": "initializer",
    "symbol": "symbol",
    "sym": "symbol",
    "executor": "executor",
    "operator": "operator",
    "module": "module",
    "mod": "module",
    "io": "io",
    "metric": "metric",
    "callback": "callback",
    "model": "model",
    "kvstore": "kvstore",
    "kv": "kvstore",
    "kernels": "kernels",
    "cli": "cli",
}

__all__ = [
    "Context", "MXNetError", "base", "context", "cpu", "cpu_pinned", "current_context", "gpu",
    "nd", "ndarray", "num_gpus", "random", *_LAZY,
]


def __getattr__(name: str):
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'mxlite' has no attribute {name!r}")
    module = importlib.import_module(f".{target}", __name__)
    globals()[name] = module
    return module


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
