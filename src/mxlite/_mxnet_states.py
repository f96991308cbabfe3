"""Write optimizer states in MXNet 1.9.1's pickled ``.states`` format.

MXNet's ``Updater.set_states`` unpickles ``{index: state}`` where a state is an ``mxnet`` NDArray,
``None`` or nested tuples of them, and each NDArray unpickles from ``NDArray(None)`` plus the
state ``{'handle': bytearray(<one raw NDArray record>)}``.  :func:`dumps` writes exactly that
(pickle protocol 2) without MXNet installed: the NDArray class is named by reference
(``mxnet.ndarray.ndarray.NDArray``), the records come from :func:`mxlite.nd.array_to_raw_bytes`.

The optimizer itself is not written (MXNet would need its own optimizer classes' pickles);
MXNet then keeps the optimizer it was given at ``init_optimizer`` and takes only the states,
which is what ``Module.load(..., load_optimizer_states=True)`` does with such a file.

mxlite's safe ``.npz`` states stay the default; this format is chosen explicitly
(``Module.save_optimizer_states(fname, mxnet_format=True)``, ``mxlite convert``).
"""

from __future__ import annotations

import io
import pickle
from _codecs import encode as _codecs_encode

import numpy as np

from .base import MXNetError
from .ndarray import NDArray

__all__ = ["dumps"]


class _MXNetNDArray:
    """Stand-in pickled by reference as ``mxnet.ndarray.ndarray.NDArray``."""


class _Pickler(pickle._Pickler):  # the Python pickler: save_global can be overridden
    def save_global(self, obj, name=None):
        if obj is _MXNetNDArray:
            self.write(pickle.GLOBAL + b"mxnet.ndarray.ndarray\nNDArray\n")
            self.memoize(obj)
            return
        if obj in (bytearray, _codecs_encode):  # how protocol 2 writes a bytearray
            super().save_global(obj, name)
            return
        raise MXNetError(f"MXNet states: cannot write a reference to {obj!r}")

    def reducer_override(self, obj):
        if isinstance(obj, _Record):
            return (_MXNetNDArray, (None,), {"handle": bytearray(obj.raw)})
        return NotImplemented


class _Record:
    __slots__ = ("raw",)

    def __init__(self, raw: bytes):
        self.raw = raw


def _convert(state, where: str):
    from .ndarray.utils import array_to_raw_bytes

    if state is None:
        return None
    if isinstance(state, NDArray):
        return _Record(array_to_raw_bytes(state))
    if isinstance(state, np.ndarray):
        return _Record(array_to_raw_bytes(NDArray(np.ascontiguousarray(state))))
    if isinstance(state, (tuple, list)):  # NamedTuple states become MXNet's plain tuples
        return tuple(_convert(s, f"{where}[{i}]") for i, s in enumerate(state))
    if isinstance(state, (bool, int, float)):
        return state
    raise MXNetError(
        f"MXNet states: state {where} is a {type(state).__name__}; MXNet's format holds "
        "NDArrays, None and tuples of them"
    )


def dumps(states: dict) -> bytes:
    """``{index: state}`` as MXNet 1.9.1's ``Updater.get_states()`` bytes."""
    if not isinstance(states, dict):
        raise TypeError(f"states must be a dict, got {type(states).__name__}")
    converted = {}
    for key, value in states.items():
        # an updater's keys are parameter indices; a kvstore's are the parameter names
        if isinstance(key, str):
            converted[key] = _convert(value, f"[{key!r}]")
            continue
        if not isinstance(key, (int, np.integer)) or isinstance(key, bool):
            raise MXNetError(f"MXNet states: keys must be ints or names, got {key!r}")
        converted[int(key)] = _convert(value, f"[{key}]")
    buf = io.BytesIO()
    _Pickler(buf, protocol=2).dump(converted)
    return buf.getvalue()
