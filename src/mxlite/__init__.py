"""mxlite: MXNet's optimization stack and the training API around it, on NumPy and Numba.

>>> import mxlite as mx
>>> mx.nd.ones((2, 3)).sum().asscalar()
6.0

Subpackages load on first use (``mx.optimizer``, ``mx.sym``, ``mx.mod``, ...), so ``import mxlite``
stays fast and Numba is imported only when a kernel is needed.
"""

from __future__ import annotations

import importlib

from . import _threading

_threading.prepare_blas()  # before NumPy starts OpenBLAS's threads

from . import base, context, ndarray, random  # noqa: E402
from .base import MXNetError  # noqa: E402
from .context import Context, cpu, cpu_pinned, current_context, gpu, num_gpus  # noqa: E402

__version__ = "0.1.0"  # the one version source: pyproject.toml reads it (tool.setuptools.dynamic)

base.quiet_loggers()  # Numba's compiler logger at WARNING unless asked

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
    "name": "symbol.name",
    "attribute": "symbol.attribute",
    "autograd": "autograd",
    "gluon": "gluon",
    "test_utils": "test_utils",
    "util": "util",
    "runtime": "runtime",
    "mon": "monitor",
    "monitor": "monitor",
    "recordio": "recordio",
    "viz": "visualization",
    "profiler": "profiler",
    "visualization": "visualization",
    "image": "image",
    "img": "image",
    "rnn": "rnn",
    "contrib": "contrib",
}

# public name -> (submodule, attribute), imported lazily
_LAZY_ATTRS = {
    "AttrScope": ("symbol.attribute", "AttrScope"),
    "np_shape": ("util", "np_shape"),
    "is_np_shape": ("util", "is_np_shape"),
    "use_np_shape": ("util", "use_np_shape"),
}

__all__ = [
    "Context", "MXNetError", "base", "context", "cpu", "cpu_pinned", "current_context", "gpu",
    "nd", "ndarray", "num_gpus", "random", *_LAZY, *_LAZY_ATTRS,
]


def __getattr__(name: str):
    if name in _LAZY_ATTRS:
        modname, attr = _LAZY_ATTRS[name]
        value = getattr(importlib.import_module(f".{modname}", __name__), attr)
    elif name in _LAZY:
        value = importlib.import_module(f".{_LAZY[name]}", __name__)
    else:
        raise AttributeError(f"module 'mxlite' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY) | set(_LAZY_ATTRS))
