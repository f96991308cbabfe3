"""``mx.nd.contrib``: MXNet's contrib NDArray functions ``isinf``, ``isfinite``, ``isnan``
(1 where true, 0 elsewhere, in the input's dtype).

>>> import numpy as np, mxlite as mx
>>> mx.nd.contrib.isnan(mx.nd.array([1.0, np.nan])).asnumpy()
array([0., 1.], dtype=float32)
"""

from __future__ import annotations

import numpy as np

from .ndarray import NDArray

__all__ = ["isfinite", "isinf", "isnan"]


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
