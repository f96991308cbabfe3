"""Numba kernels for convolution: im2col / col2im in a GEMM-friendly layout.

Layout: ``cols[(c * kh + i) * kw + j, n * L + y * ow + x]`` with ``L = oh * ow`` holds
``data[n, c, y * sh - ph + i * dh, x * sw - pw + j * dw]`` (0 outside the image), so that a
convolution is one GEMM ``weight(F, C*kh*kw) @ cols(C*kh*kw, N*L)`` per group.  1-D
convolutions use the same kernels with ``H = kh = oh = 1``.

Each kernel is a per-channel body plus a serial and a ``parallel=True`` driver (``prange`` over
channels: a channel owns its rows of ``cols`` and its image plane, so col2im's accumulation has
no races); :func:`im2col` / :func:`col2im` pick the parallel driver for arrays of at least
:data:`mxlite.kernels.PARALLEL_THRESHOLD` elements.
"""

from __future__ import annotations

import numba
import numpy as np

from ...kernels import PARALLEL_THRESHOLD

_BODY = {"cache": True, "nogil": True, "inline": "always"}
_SER = {"cache": True, "nogil": True}
_PAR = {"cache": True, "nogil": True, "parallel": True}


@numba.njit(**_BODY)
def _im2col_channel(x, c, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, cols):  # pragma: no cover
    n_img, _, height, width = x.shape
    plane = oh * ow
    for i in range(kh):
        for j in range(kw):
            row = (c * kh + i) * kw + j
            for n in range(n_img):
                base = n * plane
                for y in range(oh):
                    iy = y * sh - ph + i * dh
                    dst = base + y * ow
                    if iy < 0 or iy >= height:
                        for xx in range(ow):
                            cols[row, dst + xx] = 0
                    else:
                        for xx in range(ow):
                            ix = xx * sw - pw + j * dw
                            if ix >= 0 and ix < width:
                                cols[row, dst + xx] = x[n, c, iy, ix]
                            else:
                                cols[row, dst + xx] = 0


@numba.njit(**_BODY)
def _col2im_channel(cols, c, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, out):  # pragma: no cover
    n_img, _, height, width = out.shape
    plane = oh * ow
    for n in range(n_img):
        for a in range(height):
            for b in range(width):
                out[n, c, a, b] = 0
    for i in range(kh):
        for j in range(kw):
            row = (c * kh + i) * kw + j
            for n in range(n_img):
                base = n * plane
                for y in range(oh):
                    iy = y * sh - ph + i * dh
                    if iy < 0 or iy >= height:
                        continue
                    src = base + y * ow
                    for xx in range(ow):
                        ix = xx * sw - pw + j * dw
                        if ix >= 0 and ix < width:
                            out[n, c, iy, ix] += cols[row, src + xx]


@numba.njit(**_SER)
def _im2col_ser(x, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, cols):  # pragma: no cover
    for c in range(x.shape[1]):
        _im2col_channel(x, c, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, cols)


@numba.njit(**_PAR)
def _im2col_par(x, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, cols):  # pragma: no cover
    for c in numba.prange(x.shape[1]):
        _im2col_channel(x, c, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, cols)


@numba.njit(**_SER)
def _col2im_ser(cols, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, out):  # pragma: no cover
    for c in range(out.shape[1]):
        _col2im_channel(cols, c, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, out)


@numba.njit(**_PAR)
def _col2im_par(cols, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, out):  # pragma: no cover
    for c in numba.prange(out.shape[1]):
        _col2im_channel(cols, c, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, out)


def im2col(x, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, cols):
    """Fill ``cols`` (C*kh*kw, N*oh*ow) from the C-contiguous image ``x`` (N, C, H, W)."""
    kernel = _im2col_par if cols.size >= PARALLEL_THRESHOLD and x.shape[1] > 1 else _im2col_ser
    kernel(x, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, cols)


def col2im(cols, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, out):
    """Overwrite ``out`` (N, C, H, W) with the scatter-add of ``cols`` (adjoint of im2col)."""
    kernel = _col2im_par if cols.size >= PARALLEL_THRESHOLD and out.shape[1] > 1 else _col2im_ser
    kernel(cols, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, out)


def im2col_ref(x, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow):
    """Plain NumPy reference of :func:`im2col` (used by tests)."""
    n_img, n_ch, _, _ = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph + kh * dh), (pw, pw + kw * dw)))
    cols = np.empty((n_ch, kh, kw, n_img, oh, ow), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            ys = slice(i * dh, i * dh + sh * (oh - 1) + 1, sh)
            xs = slice(j * dw, j * dw + sw * (ow - 1) + 1, sw)
            cols[:, i, j] = xp[:, :, ys, xs].transpose(1, 0, 2, 3)
    return cols.reshape(n_ch * kh * kw, n_img * oh * ow)
