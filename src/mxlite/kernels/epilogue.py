"""Convolution epilogues applied while the output is copied out (issue 13).

A fused convolution (:mod:`mxlite._fusion`) finishes its output with a few elementwise
operations: the bias, a residual addend, BatchNorm's inference affine, a relu.  Run as passes
of their own they read and write the whole output again; here they happen in the copy-out
itself, row by row, while the row is in L1.  :func:`store_image` is that copy-out: one image's
rows from a kernel's flat scratch (rows of ``pitch``, channels ``lp`` apart) into the output,
all its channels in one call of :func:`store_channels`, in the order the unfused graph
computes them (a call per channel passes the epilogue's six arrays each time, with their
atomic reference counts: one thread, batch 128, 16 channels of 32 x 32, BatchNorm + relu
0.53 -> 0.47 ms, the residual sum and BatchNorm + relu into a second output 1.63 -> 1.30;
:func:`store_channels` is inlined into its callers, as a call more per channel made the
thin Winograd kernel's store about 4% of an inference step slower)::

    s  = y + bias[f]                        (float32; Convolution's bias)
    s  = s + addend                         (float32; ``elemwise_add``)
    v  = float64(s) * scale[f] + shift[f]   (BatchNorm inference, rounded to float32)
    v  = max(v, 0)                          (relu; applied to ``s`` without BatchNorm)

Every step is optional; each is the same IEEE operation the unfused operator does (no fused
multiply-add: the function is compiled with ``fastmath=False``, so ``s * scale + shift`` rounds
twice, as BatchNorm's own kernel), so the results equal the unfused graph's bit for bit.  With
a second output ``out2`` the sum ``s`` goes to ``out`` and BatchNorm's (+ relu) result to
``out2``: a residual sum that the next unit reads again (pre-activation ResNets).

The epilogue's arrays travel as one tuple, :meth:`Epilogue.args` (:data:`NONE` for a plain
copy), so that another kernel's copy-out can take them unchanged.  Sigmoid and tanh are not
here: they cost a transcendental call per element whichever pass runs them, and stay an
after-the-chunk hook.
"""

from __future__ import annotations

import numba
import numpy as np

from . import PARALLEL_THRESHOLD  # noqa: F401  (imported first: sets up threads and the cache)

__all__ = ["NONE", "Epilogue", "apply", "is_plain", "plain", "store_channel", "store_channels",
           "store_image"]

# no fastmath: ``x * scale + shift`` must round twice (BatchNorm's kernel does), never fuse.
# Said explicitly: a function jitted without the option inherits its caller's (the direct
# kernel's ``fastmath=True``), and LLVM then contracts the two into one FMA
_STORE = {"cache": True, "nogil": True, "fastmath": False}
# (Numba's on-disk cache keys a kernel by its own file: after an edit here, the cached callers
# in conv_direct.py keep the old copy-out until their file changes or their cache is removed)

_EMPTY: dict = {}


def _empty(dtype, ndim):
    """A shared empty array (a step of the epilogue that is skipped)."""
    key = (np.dtype(dtype).str, ndim)
    if key not in _EMPTY:
        _EMPTY[key] = np.empty((0,) * ndim, dtype)
    return _EMPTY[key]


def plain(dtype=np.float32) -> tuple:
    """The arguments of :func:`store_image` for a plain copy into an output of ``dtype``."""
    return (_empty(dtype, 1), _empty(np.float64, 1), _empty(np.float64, 1), False,
            _empty(dtype, 4), _empty(dtype, 4))


#: the arguments of :func:`store_image` for a plain copy (float32)
NONE = plain()


@numba.njit(inline="always", **_STORE)
def store_channels(src, at0, lp, pitch, out, n, f0, f1, epi):  # pragma: no cover - numba
    """Channels ``f0 .. f1`` of ``out[n]`` (OH, OW) from the flat ``src`` (row ``y`` of
    channel ``f`` from ``at0 + (f - f0) lp + y pitch``), finished by the epilogue ``epi``
    (:func:`store_image`); ``src`` may alias the rows it writes.  The one place the
    epilogue's arithmetic is written: the direct kernel's copy-out (:func:`store_image`)
    and the thin Winograd kernel's store (:func:`store_channel`; in place, ``src`` the flat
    output) call it; jitted here with ``fastmath=False`` whatever the caller's flags.  All
    the channels in one call: a call per channel passes the epilogue's arrays each time,
    with their reference counts."""
    bias, scale, shift, relu, addend, out2 = epi
    oh, ow = out.shape[2], out.shape[3]
    has_bias = bias.size > 0
    has_add = addend.shape[0] > 0
    has_bn = scale.size > 0
    two = out2.shape[0] > 0
    # indices, no views: a view per row costs atomic reference counts Numba does not prune
    # (3x the copy's time); ``src`` by an unsigned index, which Numba does not wrap around
    # (a wrapped index makes the loop a gather)
    for f in range(f0, f1):
        for y in range(oh):
            at = np.uint64(at0 + (f - f0) * lp + y * pitch)
            if has_bn and not (has_bias or has_add or two):  # one pass from the scratch
                sc = scale[f]
                sh = shift[f]
                if relu:
                    for q in range(ow):
                        v = src[at + np.uint64(q)] * sc + sh
                        out[n, f, y, q] = v if v > 0 else 0.0
                else:
                    for q in range(ow):
                        out[n, f, y, q] = src[at + np.uint64(q)] * sc + sh
                continue
            if relu and not (has_bias or has_add or has_bn):
                for q in range(ow):
                    v = src[at + np.uint64(q)]
                    out[n, f, y, q] = v if v > 0 else 0
                continue
            if has_bias:
                b = bias[f]
                for q in range(ow):
                    out[n, f, y, q] = src[at + np.uint64(q)] + b
            else:
                for q in range(ow):
                    out[n, f, y, q] = src[at + np.uint64(q)]
            if has_add:
                for q in range(ow):
                    out[n, f, y, q] = out[n, f, y, q] + addend[n, f, y, q]
            if has_bn:
                sc = scale[f]
                sh = shift[f]
                if two and relu:
                    for q in range(ow):
                        v = out[n, f, y, q] * sc + sh
                        out2[n, f, y, q] = v if v > 0 else 0.0
                elif two:
                    for q in range(ow):
                        out2[n, f, y, q] = out[n, f, y, q] * sc + sh
                elif relu:
                    for q in range(ow):
                        v = out[n, f, y, q] * sc + sh
                        out[n, f, y, q] = v if v > 0 else 0.0
                else:
                    for q in range(ow):
                        out[n, f, y, q] = out[n, f, y, q] * sc + sh
            elif relu:
                for q in range(ow):
                    v = out[n, f, y, q]
                    out[n, f, y, q] = v if v > 0 else 0


@numba.njit(**_STORE)
def store_channel(src, at0, pitch, out, n, f, epi):  # pragma: no cover - numba
    """Channel ``f`` of ``out[n]`` (OH, OW) from the flat ``src`` (row ``y`` from ``at0 +
    y pitch``), finished by the epilogue ``epi`` (:func:`store_channels`)."""
    store_channels(src, at0, 0, pitch, out, n, f, f + 1, epi)


@numba.njit(**_STORE)
def is_plain(epi) -> bool:  # pragma: no cover - numba
    """Whether the epilogue ``epi`` (:meth:`Epilogue.args`) leaves values as they are (no
    bias, addend, affine or relu): an in-place copy-out then has nothing to do."""
    bias, scale, _, relu, addend, _ = epi
    return not (relu or bias.size > 0 or scale.size > 0 or addend.shape[0] > 0)


@numba.njit(**_STORE)
def store_image(src, lp, pitch, col, out, n, epi):  # pragma: no cover - numba
    """``out[n]`` (F, OH, OW) from the flat ``src``: row ``y`` of channel ``f`` starts at ``f
    lp + y pitch + col``, finished by the epilogue ``epi = (bias, scale, shift, relu, addend,
    out2)`` (:meth:`Epilogue.args`; an empty array: that step is skipped;
    :func:`store_channels`).  ``addend`` and ``out2`` are shaped as ``out``; ``src`` may be
    ``out[n]`` itself (in place: ``lp = OH OW``, ``pitch = OW``)."""
    store_channels(src, col, lp, pitch, out, n, 0, out.shape[1], epi)


@numba.njit(**_STORE)
def _apply(out, a, b, epi):  # pragma: no cover - numba
    nf, oh, ow = out.shape[1], out.shape[2], out.shape[3]
    for n in range(a, b):
        store_image(out[n].reshape(nf * oh * ow), oh * ow, ow, 0, out, n, epi)


def apply(out: np.ndarray, a: int, b: int, epi: tuple) -> None:
    """The epilogue ``epi`` (:meth:`Epilogue.args` of the whole batch) in place on images
    ``[a, b)`` of ``out`` (N, F, *spatial), for the kernels that write their output first (the
    bias is theirs: ``epi`` has none)."""
    n, f = out.shape[:2]
    _apply(out.reshape(n, f, 1, -1), a, b, _as4(epi))


def _as4(epi):
    """``epi`` with ``addend`` / ``out2`` viewed as (N, F, 1, L) (any number of spatial axes)."""
    bias, scale, shift, relu, addend, out2 = epi
    return (bias, scale, shift, relu, *(x.reshape(x.shape[0], x.shape[1], 1, -1) if x.size
                                        else _empty(x.dtype, 4) for x in (addend, out2)))


class Epilogue:
    """What a fused convolution applies to its output (:mod:`mxlite._fusion`): the
    residual ``addend`` (N, F, *spatial), BatchNorm's inference affine ``scale`` / ``shift``
    (float64, per output channel), a ``relu``, and ``out2``: with it, ``out`` keeps the sum
    (conv + bias + addend) and ``out2`` gets the affine (+ relu) of it.

    Called as ``epilogue(out, a, b)`` it runs in place on images ``[a, b)`` of a finished
    output (the convolution paths that write first: Winograd, the small-image kernel,
    im2col + GEMM); the direct kernel and the thin Winograd kernel take :meth:`args` and
    apply it in their copy-out (:func:`store_channel`)."""

    __slots__ = ("addend", "out2", "relu", "scale", "shift")

    def __init__(self, *, scale=None, shift=None, relu=False, addend=None, out2=None):
        if (scale is None) != (shift is None):
            raise ValueError("Epilogue: scale and shift go together, got "
                             f"scale={scale is not None}, shift={shift is not None}")
        if out2 is not None and scale is None:
            raise ValueError("Epilogue: out2 holds BatchNorm's result: scale and shift needed")
        self.scale = None if scale is None else np.ascontiguousarray(scale)
        self.shift = None if shift is None else np.ascontiguousarray(shift, self.scale.dtype)
        self.relu = bool(relu)
        self.addend = None if addend is None else np.ascontiguousarray(addend)
        self.out2 = out2

    def args(self, bias=None, a=0, b=None, dtype=np.float32):
        """The tuple :func:`store_image` takes for an output of ``dtype``, for images ``[a,
        b)`` (``addend`` and ``out2`` sliced to them) and ``bias`` (F,) or None."""
        none = plain(dtype)
        return (none[0] if bias is None else np.ascontiguousarray(bias, dtype).ravel(),
                none[1] if self.scale is None else self.scale,
                none[2] if self.shift is None else self.shift,
                self.relu,
                none[4] if self.addend is None else self.addend[a:b],
                none[5] if self.out2 is None else self.out2[a:b])

    def check(self, out) -> None:
        """Raise ``ValueError`` unless the arrays fit the output ``out`` (N, F, *spatial):
        the kernels index them unchecked."""
        f = out.shape[1] if out.ndim > 1 else -1
        for name, x in (("scale", self.scale), ("shift", self.shift)):
            if x is not None and x.shape != (f,):
                raise ValueError(f"Epilogue: {name} of shape {x.shape} for an output of "
                                 f"{f} channels {out.shape}")
        for name, x in (("addend", self.addend), ("out2", self.out2)):
            if x is not None and (x.shape != out.shape or x.dtype != out.dtype
                                  or not x.flags.c_contiguous):
                raise ValueError(f"Epilogue: {name} {x.dtype} {x.shape} does not match the "
                                 f"output {out.dtype} {out.shape} (C-contiguous expected)")

    def __call__(self, out, a, b):
        self.check(out)
        apply(out, a, b, self.args(dtype=out.dtype))
