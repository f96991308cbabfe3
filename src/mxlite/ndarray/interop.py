"""Sharing memory with NumPy and other frameworks: ``nd.from_numpy`` and DLPack.

>>> import numpy as np, mxlite as mx
>>> x = np.arange(6, dtype=np.float32).reshape(2, 3)
>>> a = mx.nd.from_numpy(x)          # zero copy: x becomes read-only, a writes through
>>> a[0, 0] = 7
>>> float(x[0, 0])
7.0
>>> b = mx.nd.from_dlpack(a.to_dlpack_for_read())
>>> b.shape
(2, 3)
"""

from __future__ import annotations

import numpy as np

from .ndarray import NDArray, array

__all__ = ["from_dlpack", "from_numpy", "to_dlpack_for_read", "to_dlpack_for_write"]


def from_numpy(ndarray, zero_copy: bool = True) -> NDArray:
    """An NDArray over a NumPy array.

    ``zero_copy=True`` (MXNet's default) shares the memory: the NumPy array is made read-only
    (writes go through the NDArray) and must be C-contiguous (ValueError otherwise, as MXNet).
    ``zero_copy=False`` copies, keeping the NumPy dtype.
    """
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(ndarray).__name__}")
    if not zero_copy:
        return NDArray(np.array(ndarray, copy=True))
    if not ndarray.flags["C_CONTIGUOUS"]:
        raise ValueError("from_numpy: only C-contiguous arrays can be shared (zero_copy=True); "
                         "pass zero_copy=False or np.ascontiguousarray(...)")
    if not ndarray.flags.writeable:
        try:  # shared before (read-only since): an array owning its memory can lend it again
            ndarray.flags.writeable = True
        except ValueError:
            raise ValueError("from_numpy: the array is read-only and does not own its memory; "
                             "pass zero_copy=False") from None
    view = ndarray.view()
    ndarray.flags.writeable = False  # the view keeps its own (writable) flag
    return NDArray(view)


class _Capsule:
    """Presents a bare DLPack capsule through the protocol ``np.from_dlpack`` reads."""

    def __init__(self, capsule):
        self._capsule = capsule

    def __dlpack__(self, **kwargs):
        return self._capsule

    def __dlpack_device__(self):
        return (1, 0)  # kDLCPU


def from_dlpack(dlpack) -> NDArray:
    """An NDArray sharing the memory of a DLPack capsule or of any object with ``__dlpack__``
    (a PyTorch CPU tensor, a NumPy array, another NDArray)."""
    source = dlpack if hasattr(dlpack, "__dlpack__") else _Capsule(dlpack)
    try:
        data = np.from_dlpack(source)
    except (TypeError, ValueError, BufferError, RuntimeError) as err:
        raise ValueError(f"from_dlpack: cannot read {type(dlpack).__name__}: {err}") from None
    if not data.flags.writeable:
        data = data.view()
        try:
            data.flags.writeable = True
        except ValueError:
            data = np.array(data, copy=True)
    return NDArray(data)


def to_dlpack_for_read(data: NDArray):
    """A DLPack capsule over ``data`` (the consumer only reads)."""
    return array(data).to_dlpack_for_read() if not isinstance(data, NDArray) \
        else data.to_dlpack_for_read()


def to_dlpack_for_write(data: NDArray):
    """A DLPack capsule over ``data``; the consumer's writes are seen in ``data``."""
    if not isinstance(data, NDArray):
        raise TypeError(f"to_dlpack_for_write: expected an NDArray, got {type(data).__name__}")
    return data.to_dlpack_for_write()
