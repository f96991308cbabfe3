"""Channels-last layouts (``NWC``, ``NHWC``, ``NDHWC``) of Convolution, Deconvolution and Pooling.

An operator in a channels-last layout is the channels-first operator on transposed arrays: the
data ``(N, *spatial, C)`` is read as ``(N, C, *spatial)``, a weight ``(O, *kernel, I)`` (MXNet's
channels-last weight layout: Convolution ``(num_filter, *kernel, C / num_group)``, Deconvolution
``(C, *kernel, num_filter / num_group)``) as ``(O, I, *kernel)``, and the output and gradients go
back the same way.  The transposes are copies into channels-first buffers; the kernels run on
those.  Shapes convert with :func:`to_first` / :func:`to_last` (``0``, MXNet's unknown, moves with
its axis).
"""

from __future__ import annotations

import numpy as np

from ..registry import Params, ShapeError

#: layout name per number of spatial axes
FIRST = {1: "NCW", 2: "NCHW", 3: "NCDHW"}
LAST = {1: "NWC", 2: "NHWC", 3: "NDHWC"}


def is_last(layout) -> bool:
    """Whether ``layout`` is one of the channels-last layouts."""
    return layout in ("NWC", "NHWC", "NDHWC")


def check(op: str, layout, nsp: int) -> None:
    """``layout`` must be None or the channels-first / channels-last name for ``nsp`` axes."""
    if layout not in (None, FIRST[nsp], LAST[nsp]):
        raise ShapeError(f"{op}: layout {layout!r} is not supported for {nsp} spatial "
                         f"dimension(s) (use {FIRST[nsp]} or {LAST[nsp]})")


def first_params(p: Params) -> Params:
    """``p`` with the layout set to None (channels-first), for the wrapped operator."""
    q = Params(p)
    q["layout"] = None
    return q


def to_first(shape):
    """``(N, *spatial, C)`` -> ``(N, C, *spatial)`` (None stays None)."""
    if shape is None:
        return None
    shape = tuple(shape)
    return (shape[0], shape[-1], *shape[1:-1])


def to_last(shape):
    """``(N, C, *spatial)`` -> ``(N, *spatial, C)`` (None stays None)."""
    if shape is None:
        return None
    shape = tuple(shape)
    return (shape[0], *shape[2:], shape[1])


def array_first(a):
    """A C-contiguous channels-first copy of the channels-last array ``a``."""
    return None if a is None else np.ascontiguousarray(np.moveaxis(a, -1, 1))


def array_last(a, buf=None):
    """``a`` channels-first -> channels-last, written into ``buf`` when it fits."""
    moved = np.moveaxis(a, 1, -1)
    if buf is not None and buf.shape == moved.shape and buf.dtype == a.dtype \
            and buf.flags.c_contiguous:
        np.copyto(buf, moved)
        return buf
    return np.ascontiguousarray(moved)
