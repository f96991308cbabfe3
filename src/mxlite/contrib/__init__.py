"""``mx.contrib``: MXNet 1.9.1's experimental namespaces that old programs still import
(:mod:`mxlite.contrib.autograd`, the first autograd API)."""

from . import autograd

__all__ = ["autograd"]
