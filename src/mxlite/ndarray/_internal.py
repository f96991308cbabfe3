"""``mx.nd._internal``: every registered operator by its raw name (``_crop_assign``,
``_plus_scalar``, ...), as MXNet exposes its internal operators there."""

from __future__ import annotations

from . import op as _op


def __getattr__(name: str):
    if name.startswith("__"):
        raise AttributeError(name)
    if name == "_square_sum":  # sparse-aware: row_sparse in, row_sparse out (axis=1)
        from .sparse import square_sum

        return square_sum
    try:
        return getattr(_op, name)
    except AttributeError:
        raise AttributeError(f"module 'mxlite.ndarray._internal' has no attribute {name!r}") \
            from None
