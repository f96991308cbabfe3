"""Numba kernels for convolution: im2col / col2im in a GEMM-friendly layout.

Layout: ``cols[(c * kh + i) * kw + j, n * L + y * ow + x]`` with ``L = oh * ow`` holds
``data[n, c, y * sh - ph + i * dh, x * sw - pw + j * dw]`` (0 outside the image), so that a
convolution is one GEMM ``weight(F, C*kh*kw) @ cols(C*kh*kw, N*L)`` per group.  1-D
convolutions use the same kernels with ``H = kh = oh = 1``.  Both kernels run in parallel over
channels: each channel owns its rows of ``cols`` and its plane of the image, so col2im's
accumulation has no races.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, parallel=True, nogil=True)
def im2col(x, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, cols):  # pragma: no cover - numba
    n_img, n_ch, height, width = x.shape
    plane = oh * ow
    for c in numba.prange(n_ch):
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


@numba.njit(cache=True, parallel=True, nogil=True)
def col2im(cols, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, out):  # pragma: no cover - numba
    """Scatter-add ``cols`` back into ``out`` (N, C, H, W), which is overwritten."""
    n_img, n_ch, height, width = out.shape
    plane = oh * ow
    for c in numba.prange(n_ch):
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
