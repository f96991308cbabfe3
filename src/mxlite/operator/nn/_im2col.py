"""Numba kernels for convolution: im2col / col2im in a GEMM-friendly layout.

Images are 5-D ``(N, C, D, H, W)``; 2-D convolutions use ``D = 1`` and 1-D ones ``D = H = 1``
(the caller reshapes, which costs nothing).  Geometry arguments are 3-tuples ``(d, h, w)``:
``k`` kernel, ``s`` stride, ``p`` pad, ``dl`` dilation, ``o`` number of sliding positions.

Layout: ``cols[((c * kd + a) * kh + i) * kw + j, n * L + (z * oh + y) * ow + x]`` with
``L = od * oh * ow`` holds ``data[n, c, z*sd - pd + a*dd, y*sh - ph + i*dh, x*sw - pw + j*dw]``
(0 outside the image), so a convolution is one GEMM ``weight(F, C*K) @ cols(C*K, N*L)`` per
group.

Each kernel is a per-channel body plus a serial and a ``parallel=True`` driver (``prange`` over
channels: a channel owns its rows of ``cols`` and its image volume, so col2im's accumulation
has no races); :func:`im2col` / :func:`col2im` pick the parallel driver for arrays of at least
:data:`mxlite.kernels.PARALLEL_THRESHOLD` elements.
"""

from __future__ import annotations

import numba
import numpy as np

from ...kernels import PARALLEL_THRESHOLD, serial_parallel

_BODY = {"cache": True, "nogil": True, "inline": "always"}
_SER = {"cache": True, "nogil": True}
_PAR = {"cache": True, "nogil": True, "parallel": True}


@numba.njit(**_BODY)
def _im2col_channel(x, c, k, s, p, dl, o, cols):  # pragma: no cover - numba
    n_img, _, depth, height, width = x.shape
    kd, kh, kw = k
    sd, sh, sw = s
    pd, ph, pw = p
    dd, dh, dw = dl
    od, oh, ow = o
    volume = od * oh * ow
    flat = depth == 1 and od == 1 and sh == 1 and sw == 1 and oh == height and ow == width
    xf = x.reshape(n_img, x.shape[1], depth * height * width)
    for a in range(kd):
        for i in range(kh):
            for j in range(kw):
                row = ((c * kd + a) * kh + i) * kw + j
                # the output columns xx whose input column ix = xx*sw - pw + j*dw is inside
                # the image: [x0, x1); outside it the loops below write zeros, inside they copy
                # without a branch per element (contiguous when sw == 1)
                off = j * dw - pw
                x0 = min(ow, max(0, (-off + sw - 1) // sw))
                x1 = max(x0, min(ow, (width - 1 - off) // sw + 1)) if width - 1 - off >= 0 \
                    else x0
                if flat:
                    # the whole (oh, ow) plane is the image shifted by one offset: one
                    # contiguous copy, then zeros where the shift left the image or wrapped
                    shift = (i * dh - ph) * width + off
                    q0, q1 = max(0, -shift), min(volume, volume - shift)
                    q1 = max(q0, q1)
                    for n in range(n_img):
                        base = n * volume
                        for q in range(q0):
                            cols[row, base + q] = 0
                        for q in range(q0, q1):
                            cols[row, base + q] = xf[n, c, q + shift]
                        for q in range(q1, volume):
                            cols[row, base + q] = 0
                        for y in range(oh):
                            for xx in range(x0):
                                cols[row, base + y * ow + xx] = 0
                            for xx in range(x1, ow):
                                cols[row, base + y * ow + xx] = 0
                    continue
                for n in range(n_img):
                    for z in range(od):
                        iz = z * sd - pd + a * dd
                        for y in range(oh):
                            iy = y * sh - ph + i * dh
                            dst = n * volume + (z * oh + y) * ow
                            if iz < 0 or iz >= depth or iy < 0 or iy >= height:
                                for xx in range(ow):
                                    cols[row, dst + xx] = 0
                            else:
                                for xx in range(x0):
                                    cols[row, dst + xx] = 0
                                if sw == 1:  # contiguous: vectorizes
                                    for xx in range(x0, x1):
                                        cols[row, dst + xx] = x[n, c, iz, iy, xx + off]
                                else:
                                    for xx in range(x0, x1):
                                        cols[row, dst + xx] = x[n, c, iz, iy, xx * sw + off]
                                for xx in range(x1, ow):
                                    cols[row, dst + xx] = 0


@numba.njit(**_BODY)
def _col2im_channel(cols, c, k, s, p, dl, o, out):  # pragma: no cover - numba
    n_img, _, depth, height, width = out.shape
    kd, kh, kw = k
    sd, sh, sw = s
    pd, ph, pw = p
    dd, dh, dw = dl
    od, oh, ow = o
    volume = od * oh * ow
    flat = depth == 1 and od == 1 and sh == 1 and sw == 1 and oh == height and ow == width
    of = out.reshape(n_img, out.shape[1], depth * height * width)
    for n in range(n_img):
        for e in range(depth):
            for f in range(height):
                for g in range(width):
                    out[n, c, e, f, g] = 0
    for a in range(kd):
        for i in range(kh):
            for j in range(kw):
                row = ((c * kd + a) * kh + i) * kw + j
                off = j * dw - pw
                x0 = min(ow, max(0, (-off + sw - 1) // sw))
                x1 = max(x0, min(ow, (width - 1 - off) // sw + 1)) if width - 1 - off >= 0 \
                    else x0
                if flat:
                    shift = (i * dh - ph) * width + off
                    q0, q1 = max(0, -shift), min(volume, volume - shift)
                    for n in range(n_img):
                        base = n * volume
                        for y in range(oh):  # wrapped columns add nothing: zero them first
                            for xx in range(x0):
                                cols[row, base + y * ow + xx] = 0
                            for xx in range(x1, ow):
                                cols[row, base + y * ow + xx] = 0
                        for q in range(q0, q1):
                            of[n, c, q + shift] += cols[row, base + q]
                    continue
                for n in range(n_img):
                    for z in range(od):
                        iz = z * sd - pd + a * dd
                        if iz < 0 or iz >= depth:
                            continue
                        for y in range(oh):
                            iy = y * sh - ph + i * dh
                            if iy < 0 or iy >= height:
                                continue
                            src = n * volume + (z * oh + y) * ow
                            if sw == 1:
                                for xx in range(x0, x1):
                                    out[n, c, iz, iy, xx + off] += cols[row, src + xx]
                            else:
                                for xx in range(x0, x1):
                                    out[n, c, iz, iy, xx * sw + off] += cols[row, src + xx]


def _im2col_loop(x, k, s, p, dl, o, cols):  # pragma: no cover - numba
    for c in numba.prange(x.shape[1]):
        _im2col_channel(x, c, k, s, p, dl, o, cols)


_im2col_ser, _im2col_par = serial_parallel(_im2col_loop, _SER, _PAR)


def _col2im_loop(cols, k, s, p, dl, o, out):  # pragma: no cover - numba
    for c in numba.prange(out.shape[1]):
        _col2im_channel(cols, c, k, s, p, dl, o, out)


_col2im_ser, _col2im_par = serial_parallel(_col2im_loop, _SER, _PAR)


def _int3(values) -> tuple[int, int, int]:
    a, b, c = values
    return int(a), int(b), int(c)


def im2col(x, k, s, p, dl, o, cols):
    """Fill ``cols`` (C*K, N*L) from the C-contiguous image ``x`` (N, C, D, H, W)."""
    kernel = _im2col_par if cols.size >= PARALLEL_THRESHOLD and x.shape[1] > 1 else _im2col_ser
    kernel(x, _int3(k), _int3(s), _int3(p), _int3(dl), _int3(o), cols)


def col2im(cols, k, s, p, dl, o, out):
    """Overwrite ``out`` (N, C, D, H, W) with the scatter-add of ``cols`` (adjoint of im2col).

    ``cols`` is scratch: the entries im2col would have zeroed (padding) may be overwritten."""
    kernel = _col2im_par if cols.size >= PARALLEL_THRESHOLD and out.shape[1] > 1 else _col2im_ser
    kernel(cols, _int3(k), _int3(s), _int3(p), _int3(dl), _int3(o), out)


def im2col_ref(x, k, s, p, dl, o):
    """Plain NumPy reference of :func:`im2col` for a 5-D image (used by tests)."""
    n_img, n_ch = x.shape[:2]
    pads = [(0, 0), (0, 0)] + [(pi, pi + ki * di) for pi, ki, di in zip(p, k, dl, strict=True)]
    xp = np.pad(x, pads)
    cols = np.empty((n_ch, *k, n_img, *o), dtype=x.dtype)
    for a in range(k[0]):
        for i in range(k[1]):
            for j in range(k[2]):
                sl = tuple(slice(off * d, off * d + st * (out - 1) + 1, st)
                           for off, d, st, out in zip((a, i, j), dl, s, o, strict=True))
                cols[:, a, i, j] = xp[(slice(None), slice(None), *sl)].transpose(1, 0, 2, 3, 4)
    return cols.reshape(n_ch * int(np.prod(k)), n_img * int(np.prod(o)))
