"""Old import path of :mod:`mxlite.serialization.safe_pickle` (kept for existing imports)."""

from .serialization.safe_pickle import safe_loads

__all__ = ["safe_loads"]
