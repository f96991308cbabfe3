"""Numba kernels for Pooling over (N, C, H, W) arrays (1-D pooling uses H = 1).

Window ``(y, x)`` covers rows ``[y*sh - ph, y*sh - ph + kh)`` clipped to ``H + ph`` (the padded
extent) and then to the image.  ``kind``: 0 max (padding never wins; ``argmax`` keeps the flat
index ``iy * W + ix`` of the first maximum; an empty window, possible with the ``full``
convention, gives the dtype's lowest finite value as in MXNet and argmax -1), 1 avg, 2 sum, 3 Lp
(``(sum x**p) ** (1/p)`` with a signed root; gradient ``(x / out) ** (p - 1)``).  Average
divides by the window size clipped to the padded extent (``count_pad``) or by the number of
image elements in the window.

Each kernel is a per-plane body with a serial and a ``parallel=True`` driver (``prange`` over
the ``N * C`` planes); arrays of at least :data:`mxlite.kernels.PARALLEL_THRESHOLD` elements use
the parallel one.
"""

from __future__ import annotations

import numba
import numpy as np

from ...kernels import PARALLEL_THRESHOLD

_BODY = {"cache": True, "nogil": True, "inline": "always"}
_SER = {"cache": True, "nogil": True}
_PAR = {"cache": True, "nogil": True, "parallel": True}


@numba.njit(**_BODY)
def _window(o, s, p, k, size):  # pragma: no cover - numba
    start = o * s - p
    end = min(start + k, size + p)
    padded = end - start
    return max(start, 0), min(end, size), padded


@numba.njit(**_BODY)
def _forward_plane(x, nc, kind, kh, kw, sh, sw, ph, pw, count_pad, p_value, lowest,
                   out, argmax):  # pragma: no cover - numba
    _, n_ch, height, width = x.shape
    oh, ow = out.shape[2], out.shape[3]
    n = nc // n_ch
    c = nc - n * n_ch
    for y in range(oh):
        h0, h1, hpad = _window(y, sh, ph, kh, height)
        for xx in range(ow):
            w0, w1, wpad = _window(xx, sw, pw, kw, width)
            if kind == 0:
                best = -np.inf
                arg = -1
                for iy in range(h0, h1):
                    for ix in range(w0, w1):
                        v = x[n, c, iy, ix]
                        if v > best or arg < 0:
                            best = v
                            arg = iy * width + ix
                out[n, c, y, xx] = best if arg >= 0 else lowest
                argmax[n, c, y, xx] = arg
            elif kind == 3:
                acc = 0.0
                for iy in range(h0, h1):
                    for ix in range(w0, w1):
                        acc += x[n, c, iy, ix] ** p_value
                if p_value == 1.0:
                    out[n, c, y, xx] = acc
                elif p_value == 2.0:
                    out[n, c, y, xx] = np.sqrt(acc)
                elif acc < 0:
                    out[n, c, y, xx] = -((-acc) ** (1.0 / p_value))
                else:
                    out[n, c, y, xx] = acc ** (1.0 / p_value)
            else:
                acc = 0.0
                for iy in range(h0, h1):
                    for ix in range(w0, w1):
                        acc += x[n, c, iy, ix]
                if kind == 1:
                    cnt = hpad * wpad if count_pad else (h1 - h0) * (w1 - w0)
                    acc = acc / cnt if cnt > 0 else 0.0
                out[n, c, y, xx] = acc


@numba.njit(**_BODY)
def _backward_plane(x, dy, nc, kind, kh, kw, sh, sw, ph, pw, count_pad, p_value, out, argmax,
                    dx):  # pragma: no cover - numba
    _, n_ch, height, width = dx.shape
    oh, ow = dy.shape[2], dy.shape[3]
    n = nc // n_ch
    c = nc - n * n_ch
    for a in range(height):
        for b in range(width):
            dx[n, c, a, b] = 0
    for y in range(oh):
        h0, h1, hpad = _window(y, sh, ph, kh, height)
        for xx in range(ow):
            g = dy[n, c, y, xx]
            if kind == 0:
                arg = argmax[n, c, y, xx]
                if arg >= 0:
                    dx[n, c, arg // width, arg % width] += g
                continue
            w0, w1, wpad = _window(xx, sw, pw, kw, width)
            if kind == 3:
                o = out[n, c, y, xx]
                if o == 0:
                    continue
                for iy in range(h0, h1):
                    for ix in range(w0, w1):
                        dx[n, c, iy, ix] += g * (x[n, c, iy, ix] / o) ** (p_value - 1.0)
                continue
            if kind == 1:
                cnt = hpad * wpad if count_pad else (h1 - h0) * (w1 - w0)
                if cnt <= 0:
                    continue
                g = g / cnt
            for iy in range(h0, h1):
                for ix in range(w0, w1):
                    dx[n, c, iy, ix] += g


@numba.njit(**_SER)
def _forward_ser(x, kind, kh, kw, sh, sw, ph, pw, count_pad, p_value, lowest, out,
                 argmax):  # pragma: no cover - numba
    for nc in range(x.shape[0] * x.shape[1]):
        _forward_plane(x, nc, kind, kh, kw, sh, sw, ph, pw, count_pad, p_value, lowest, out,
                       argmax)


@numba.njit(**_PAR)
def _forward_par(x, kind, kh, kw, sh, sw, ph, pw, count_pad, p_value, lowest, out,
                 argmax):  # pragma: no cover - numba
    for nc in numba.prange(x.shape[0] * x.shape[1]):
        _forward_plane(x, nc, kind, kh, kw, sh, sw, ph, pw, count_pad, p_value, lowest, out,
                       argmax)


@numba.njit(**_SER)
def _backward_ser(x, dy, kind, kh, kw, sh, sw, ph, pw, count_pad, p_value, out, argmax,
                  dx):  # pragma: no cover - numba
    for nc in range(dx.shape[0] * dx.shape[1]):
        _backward_plane(x, dy, nc, kind, kh, kw, sh, sw, ph, pw, count_pad, p_value, out,
                        argmax, dx)


@numba.njit(**_PAR)
def _backward_par(x, dy, kind, kh, kw, sh, sw, ph, pw, count_pad, p_value, out, argmax,
                  dx):  # pragma: no cover - numba
    for nc in numba.prange(dx.shape[0] * dx.shape[1]):
        _backward_plane(x, dy, nc, kind, kh, kw, sh, sw, ph, pw, count_pad, p_value, out,
                        argmax, dx)


def pool_forward(x, kind, kh, kw, sh, sw, ph, pw, count_pad, p_value, out, argmax):
    """Pool the C-contiguous ``x`` (N, C, H, W) into ``out``; max pooling fills ``argmax``."""
    kernel = _forward_par if x.size >= PARALLEL_THRESHOLD else _forward_ser
    lowest = float(np.finfo(out.dtype).min)
    kernel(x, kind, kh, kw, sh, sw, ph, pw, count_pad, p_value, lowest, out, argmax)


def pool_backward(x, dy, kind, kh, kw, sh, sw, ph, pw, count_pad, p_value, out, argmax, dx):
    """Overwrite ``dx`` with the gradient of the pooling for head gradient ``dy``."""
    kernel = _backward_par if dx.size >= PARALLEL_THRESHOLD else _backward_ser
    kernel(x, dy, kind, kh, kw, sh, sw, ph, pw, count_pad, p_value, out, argmax, dx)
