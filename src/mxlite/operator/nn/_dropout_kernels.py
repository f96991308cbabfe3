"""Numba kernel for Dropout: mask and output in one pass over flat, C-contiguous arrays.

``mask`` holds uniforms in ``[0, 1)`` on entry; each becomes ``scale`` (kept, ``u < keep``) or 0
and ``y = x * mask``.  The parallel driver runs for arrays of at least
:data:`mxlite.kernels.PARALLEL_THRESHOLD` elements.
"""

from __future__ import annotations

import numba

from ...kernels import PARALLEL_THRESHOLD, serial_parallel

_SER = {"cache": True, "nogil": True}
_PAR = {"cache": True, "nogil": True, "parallel": True}


def _loop(x, mask, keep, scale, y):  # pragma: no cover - numba
    for i in numba.prange(x.size):
        m = scale if mask[i] < keep else 0.0
        mask[i] = m
        y[i] = x[i] * mask[i]


_ser, _par = serial_parallel(_loop, _SER, _PAR)


def mask_and_apply(x, mask, keep, scale, y):
    (_par if x.size >= PARALLEL_THRESHOLD else _ser)(x, mask, float(keep), float(scale), y)
