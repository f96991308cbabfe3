"""Optimizer-state bytes in either format: mxlite's ``.npz`` (:mod:`.state_npz`) or MXNet's
pickle (:mod:`.safe_pickle`, reached through the ``mxlite._safe_pickle`` import path)."""

from __future__ import annotations

from ..base import MXNetError
from . import state_npz

__all__ = ["decode"]


def decode(states, source: str = "<states>"):
    """``states`` or ``(states, optimizer)`` from either format; MXNetError naming ``source``."""
    if not isinstance(states, (bytes, bytearray, memoryview)):
        raise TypeError(f"states must be bytes, got {type(states).__name__}")
    data = bytes(states)
    # protocol >= 2 pickles start with PROTO (0x80); protocol 0/1 ones (MXNet under Python 2)
    # with MARK, EMPTY_DICT or EMPTY_LIST
    if data[:1] in (b"\x80", b"(", b"}", b"]"):
        return _load_mxnet_pickle(data, source)
    if data[:2] == b"PK":
        return state_npz.decode(data, source)
    raise MXNetError(
        f"{source}: unrecognized data (neither mxlite .npz states nor MXNet pickle); "
        f"starts with {data[:8]!r}"
    )


def _load_mxnet_pickle(data: bytes, source: str):
    try:
        from .._safe_pickle import safe_loads
    except ImportError:
        raise MXNetError(
            f"{source}: these bytes are an MXNet pickle, and reading them needs "
            "mxlite._safe_pickle, which is not available in this installation"
        ) from None
    return safe_loads(data, source)
