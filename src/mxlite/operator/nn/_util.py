"""Small helpers shared by the nn operators: shape checks and tuple parameters."""

from __future__ import annotations

import numpy as np

from ..registry import ShapeError


def fmt(shape) -> str:
    return "None" if shape is None else str(tuple(int(s) for s in shape))


def merge_shape(op: str, what: str, known, inferred):
    """``known`` (possibly None) must agree with ``inferred``; return the merged shape."""
    inferred = tuple(int(s) for s in inferred)
    if known is None:
        return inferred
    known = tuple(int(s) for s in known)
    if known != inferred:
        raise ShapeError(
            f"{op}: shape of {what} is {fmt(known)} but {fmt(inferred)} was expected "
            "from the other inputs"
        )
    return known


def spatial_tuple(op: str, name: str, value: tuple, nspatial: int, default: int) -> tuple:
    """Expand an empty tuple to ``(default,) * nspatial``; check the length otherwise."""
    if len(value) == 0:
        return (default,) * nspatial
    if len(value) != nspatial:
        raise ShapeError(
            f"{op}: {name}={value} has {len(value)} dimension(s) but the kernel has {nspatial}"
        )
    return tuple(int(v) for v in value)


def kernel_dtype(dtype) -> np.dtype:
    """The dtype a Numba kernel computes in: float32/float64 as given, float32 otherwise
    (Numba has no float16 arrays)."""
    dtype = np.dtype(dtype)
    return dtype if dtype in (np.float32, np.float64) else np.dtype(np.float32)


def planned_buffer(bufs, k, shape, dtype) -> np.ndarray:
    """``bufs[k]`` (the executor's array of the previous batch, ``bufs`` may be None or short)
    when it is a C-contiguous array of ``shape`` and ``dtype``, else a new array to write into."""
    b = bufs[k] if bufs is not None and k < len(bufs) else None
    if b is not None and b.shape == tuple(shape) and b.dtype == dtype and b.flags.c_contiguous:
        return b
    return np.empty(shape, dtype)
