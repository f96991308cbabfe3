"""mxlite: MXNet's optimization stack and the training API around it, on NumPy and Numba.

>>> import mxlite as mx
>>> mx.nd.ones((2, 3)).sum().asscalar()
6.0
"""

from . import base, context, ndarray, random
from .base import MXNetError
from .context import Context, cpu, cpu_pinned, current_context, gpu, num_gpus

nd = ndarray

__version__ = "0.1.0"

__all__ = [
    "Context", "MXNetError", "base", "context", "cpu", "cpu_pinned", "current_context", "gpu",
    "nd", "ndarray", "num_gpus", "random",
]
