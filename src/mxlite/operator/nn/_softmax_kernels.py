"""Numba kernels for SoftmaxOutput on C-contiguous ``(rows, classes)`` arrays (float32/float64).

- :func:`forward`: per row, ``y = exp(x - max(x)) / sum(exp(x - max(x)))`` in one kernel (the
  row stays in cache between its three sweeps), for arrays of at least
  :data:`FORWARD_MIN_SIZE` elements.
- :func:`backward`: per row, ``dx = (y - target) * scale * keep`` in one pass, where ``target``
  is ``1 - alpha`` at the label and ``alpha / (classes - 1)`` elsewhere (``alpha``:
  ``smooth_alpha``; a label outside ``[0, classes)`` has no label entry) and ``keep`` is 0 for
  rows whose label equals ``ignore`` when ``use_ignore``.  Returns the number of kept rows.

Rows are spread over threads (``prange``) when the array has at least
:data:`mxlite.kernels.PARALLEL_THRESHOLD` elements.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ...kernels import PARALLEL_THRESHOLD, serial_parallel

_SER = {"cache": True, "nogil": True}
_PAR = {"cache": True, "nogil": True, "parallel": True}


def _forward_loop(x, y):  # pragma: no cover - numba
    n, k = x.shape
    for r in numba.prange(n):
        mx = x[r, 0]
        for j in range(1, k):
            if x[r, j] > mx:
                mx = x[r, j]
        s = 0.0
        for j in range(k):
            e = math.exp(x[r, j] - mx)
            y[r, j] = e
            s += e
        inv = 1.0 / s
        for j in range(k):
            y[r, j] = y[r, j] * inv


def _backward_loop(y, label, alpha, scale, use_ignore, ignore, dx):  # pragma: no cover
    n, k = y.shape
    other = alpha / (k - 1) if k > 1 else 0.0
    for r in numba.prange(n):
        lab = label[r]
        sc = scale
        if use_ignore and lab == ignore:
            sc = 0.0
        for j in range(k):
            dx[r, j] = (y[r, j] - other) * sc
        if 0 <= lab < k:
            dx[r, lab] = (y[r, lab] - (1.0 - alpha)) * sc


_forward_ser, _forward_par = serial_parallel(_forward_loop, _SER, _PAR)
_backward_ser, _backward_par = serial_parallel(_backward_loop, _SER, _PAR)


def forward(x, y):
    """Row softmax of ``x`` (rows, classes) into ``y``."""
    (_forward_par if x.size >= PARALLEL_THRESHOLD else _forward_ser)(x, y)


def backward(y, label, alpha, scale, use_ignore, ignore, dx):
    """SoftmaxOutput's data gradient into ``dx`` from probabilities ``y`` and int64 ``label``
    (one per row); see the module doc."""
    (_backward_par if y.size >= PARALLEL_THRESHOLD else _backward_ser)(
        y, label, float(alpha), float(scale), bool(use_ignore), int(ignore), dx)


KERNEL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
#: smaller arrays take NumPy's four passes straight into the output (as fast there, and the
#: same bits as before: NumPy's and Numba's ``exp`` may differ in the last place)
FORWARD_MIN_SIZE = 1 << 16
