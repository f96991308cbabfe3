"""One-pass kernel of the accuracy metric: argmax of each prediction row, label check and count.

:func:`argmax_hits` reads a ``(rows, classes)`` float32/float64 prediction array and one label per
row (any real or integer dtype) and returns the number of rows whose argmax equals the label, with
no temporaries (NumPy's path is an argmax, two casts and five label checks, each an array and a
call).  The argmax is NumPy's: the first maximum, or the first NaN.  A label that is not a class
index (not finite, not an integer, outside ``[0, classes)``) makes it return ``-1 - row`` of the
first such row, so that the caller can raise its usual error.

This module imports Numba, so import it lazily (``import mxlite`` must stay Numba-free).
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["DTYPES", "argmax_hits"]

#: prediction dtypes the kernel takes
DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


@numba.njit(cache=True, nogil=True)
def argmax_hits(pred, label):  # pragma: no cover - compiled
    """Rows of ``pred`` (C-contiguous ``(n, k)``) whose argmax is ``label[row]``; ``-1 - row``
    for the first row whose label is not a class index."""
    n, k = pred.shape
    hits = 0
    for r in range(n):
        v = label[r]
        if not (v >= 0 and v < k and v == math.floor(v)):  # NaN fails the first test
            return -1 - r
        best = pred[r, 0]
        at = 0
        if best == best:
            for j in range(1, k):
                x = pred[r, j]
                if x != x:  # NaN: NumPy's argmax takes the first one
                    at = j
                    break
                if x > best:
                    best = x
                    at = j
        if at == int(v):
            hits += 1
    return hits
