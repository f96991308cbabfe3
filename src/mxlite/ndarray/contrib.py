"""``mx.nd.contrib``: MXNet's contrib NDArray functions ``isinf``, ``isfinite``, ``isnan``
(1 where true, 0 elsewhere, in the input's dtype), ``allclose``, ``getnnz`` and ``quadratic`` (both
sparse-aware), and every operator registered as ``_contrib_<name>`` by ``<name>``.

>>> import numpy as np, mxlite as mx
>>> mx.nd.contrib.isnan(mx.nd.array([1.0, np.nan])).asnumpy()
array([0., 1.], dtype=float32)
"""

from __future__ import annotations

import numpy as np

from .ndarray import NDArray

__all__ = ["allclose", "getnnz", "isfinite", "isinf", "isnan", "quadratic"]


def _test(fn, name):
    def op(data, out=None, name=None):
        if not isinstance(data, NDArray):
            raise TypeError(f"{fn.__name__}: data must be an NDArray, got {type(data).__name__}")
        result = fn(data._data).astype(data._data.dtype)
        if out is not None:
            out._data[...] = result
            return out
        return NDArray(result, data.context)

    op.__name__ = name
    op.__doc__ = f"1 where ``np.{fn.__name__}(data)``, else 0 (in ``data``'s dtype)."
    return op


isinf = _test(np.isinf, "isinf")
isfinite = _test(np.isfinite, "isfinite")
isnan = _test(np.isnan, "isnan")


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=True, out=None, name=None):
    """1 (a 0-d uint8 array, as MXNet's ``_contrib_allclose``) when
    ``|a - b| <= atol + rtol * |b|`` everywhere, else 0; NaNs compare equal when
    ``equal_nan``."""
    for arg, what in ((a, "a"), (b, "b")):
        if not isinstance(arg, NDArray):
            raise TypeError(f"allclose: {what} must be an NDArray, got {type(arg).__name__}")
    ok = np.allclose(a.asnumpy(), b.asnumpy(), rtol=float(rtol), atol=float(atol),
                     equal_nan=bool(equal_nan))
    result = np.array(1 if ok else 0, dtype=np.uint8)
    if out is not None:
        out._data[...] = result
        return out
    return NDArray(result, a.context)


def getnnz(data, axis=None, out=None, name=None):
    """Stored entries of a CSRNDArray (MXNet's ``_contrib_getnnz``): ``axis=None`` gives their
    total as a 1-element int64 array, ``axis=1`` the count per row.  As in MXNet 1.9.1 only
    CSR input and ``axis`` None or 1 are supported (``MXNetError`` otherwise)."""
    from ..base import MXNetError
    from .sparse import CSRNDArray

    if not isinstance(data, CSRNDArray):
        raise MXNetError(f"getnnz: data must be a CSRNDArray, got "
                         f"{getattr(data, 'stype', type(data).__name__)!r}")
    if axis is None:
        result = np.array([data._values.shape[0]], dtype=np.int64)
    elif int(axis) == 1:
        result = np.diff(np.asarray(data._indptr, dtype=np.int64))
    else:
        raise MXNetError(f"getnnz: axis = {axis!r} is not supported; expected None or 1")
    if out is not None:
        out._data[...] = result
        return out
    return NDArray(result, data.context)


def quadratic(data, a=0.0, b=0.0, c=0.0, out=None, name=None):
    """``a * data**2 + b * data + c`` elementwise (MXNet's ``_contrib_quadratic``).  A CSR
    input with ``c == 0`` gives a CSR result with the same sparsity pattern; any other
    sparse input is densified first (MXNet's storage fallback) and the result is dense."""
    from .sparse import BaseSparseNDArray, CSRNDArray

    if not isinstance(data, NDArray):
        raise TypeError(f"quadratic: data must be an NDArray, got {type(data).__name__}")
    a, b, c = float(a), float(b), float(c)

    def f(x):
        return (a * x * x + b * x + c).astype(x.dtype, copy=False)

    if isinstance(data, CSRNDArray) and c == 0.0 and out is None:
        return data._like(f(data._values))
    dense = data.asnumpy() if isinstance(data, BaseSparseNDArray) else data._data
    result = f(dense)
    if out is not None:
        out[:] = result
        return out
    return NDArray(result, data.context)


def __getattr__(name: str):
    if name.startswith("__"):
        raise AttributeError(name)
    from . import op as _op

    try:
        return getattr(_op, "_contrib_" + name)
    except AttributeError:
        raise AttributeError(f"module 'mxlite.ndarray.contrib' has no attribute {name!r}") \
            from None
