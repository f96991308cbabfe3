"""Numba kernels for Pooling over 5-D ``(N, C, D, H, W)`` arrays (2-D pooling uses ``D = 1``,
1-D pooling ``D = H = 1``).  Geometry arguments are 3-tuples ``k`` kernel, ``s`` stride,
``p`` pad (depth, height, width).

Along each axis, output position ``o`` covers ``[o*s - p, o*s - p + k)`` clipped to ``size + p``
(the padded extent) and then to the image.  ``kind``: 0 max (padding never wins; ``argmax``
keeps the flat index ``(iz * H + iy) * W + ix`` of the first maximum; an empty window, possible
with the ``full`` convention, gives ``lowest`` (the dtype's lowest finite value, as MXNet) and
argmax -1), 1 avg, 2 sum, 3 Lp (``(sum x**p) ** (1/p)`` with a signed root; gradient
``(x / out) ** (p - 1)``).  Average divides by the window size clipped to the padded extent
(``count_pad``) or by the number of image elements in the window.

Each kernel is a per-plane body with a serial and a ``parallel=True`` driver (``prange`` over
the ``N * C`` planes); arrays of at least :data:`mxlite.kernels.PARALLEL_THRESHOLD` elements use
the parallel one.
"""

from __future__ import annotations

import numba
import numpy as np

from ...kernels import PARALLEL_THRESHOLD, serial_parallel

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
def _forward_plane(x, nc, kind, k, s, p, count_pad, p_value, lowest, out,
                   argmax):  # pragma: no cover - numba
    _, n_ch, depth, height, width = x.shape
    od, oh, ow = out.shape[2], out.shape[3], out.shape[4]
    n = nc // n_ch
    c = nc - n * n_ch
    for z in range(od):
        d0, d1, dpad = _window(z, s[0], p[0], k[0], depth)
        for y in range(oh):
            h0, h1, hpad = _window(y, s[1], p[1], k[1], height)
            for xx in range(ow):
                w0, w1, wpad = _window(xx, s[2], p[2], k[2], width)
                if kind == 0:
                    best = -np.inf
                    arg = -1
                    for iz in range(d0, d1):
                        for iy in range(h0, h1):
                            for ix in range(w0, w1):
                                v = x[n, c, iz, iy, ix]
                                if v > best or arg < 0:
                                    best = v
                                    arg = (iz * height + iy) * width + ix
                    out[n, c, z, y, xx] = best if arg >= 0 else lowest
                    argmax[n, c, z, y, xx] = arg
                    continue
                acc = 0.0
                for iz in range(d0, d1):
                    for iy in range(h0, h1):
                        for ix in range(w0, w1):
                            if kind == 3:
                                acc += x[n, c, iz, iy, ix] ** p_value
                            else:
                                acc += x[n, c, iz, iy, ix]
                if kind == 3:
                    if p_value == 1.0:
                        pass
                    elif p_value == 2.0:
                        acc = np.sqrt(acc)
                    elif acc < 0:
                        acc = -((-acc) ** (1.0 / p_value))
                    else:
                        acc = acc ** (1.0 / p_value)
                elif kind == 1:
                    if count_pad:
                        cnt = dpad * hpad * wpad
                    else:
                        cnt = (d1 - d0) * (h1 - h0) * (w1 - w0)
                    acc = acc / cnt if cnt > 0 else 0.0
                out[n, c, z, y, xx] = acc


@numba.njit(**_BODY)
def _backward_plane(x, dy, nc, kind, k, s, p, count_pad, p_value, out, argmax,
                    dx):  # pragma: no cover - numba
    _, n_ch, depth, height, width = dx.shape
    od, oh, ow = dy.shape[2], dy.shape[3], dy.shape[4]
    n = nc // n_ch
    c = nc - n * n_ch
    for e in range(depth):
        for f in range(height):
            for g in range(width):
                dx[n, c, e, f, g] = 0
    for z in range(od):
        d0, d1, dpad = _window(z, s[0], p[0], k[0], depth)
        for y in range(oh):
            h0, h1, hpad = _window(y, s[1], p[1], k[1], height)
            for xx in range(ow):
                grad = dy[n, c, z, y, xx]
                if kind == 0:
                    arg = argmax[n, c, z, y, xx]
                    if arg >= 0:
                        iz = arg // (height * width)
                        rest = arg - iz * height * width
                        dx[n, c, iz, rest // width, rest % width] += grad
                    continue
                w0, w1, wpad = _window(xx, s[2], p[2], k[2], width)
                if kind == 3:
                    o = out[n, c, z, y, xx]
                    if o == 0:
                        continue
                    for iz in range(d0, d1):
                        for iy in range(h0, h1):
                            for ix in range(w0, w1):
                                ratio = x[n, c, iz, iy, ix] / o
                                dx[n, c, iz, iy, ix] += grad * ratio ** (p_value - 1.0)
                    continue
                if kind == 1:
                    if count_pad:
                        cnt = dpad * hpad * wpad
                    else:
                        cnt = (d1 - d0) * (h1 - h0) * (w1 - w0)
                    if cnt <= 0:
                        continue
                    grad = grad / cnt
                for iz in range(d0, d1):
                    for iy in range(h0, h1):
                        for ix in range(w0, w1):
                            dx[n, c, iz, iy, ix] += grad


def _forward_loop(x, kind, k, s, p, count_pad, p_value, lowest, out,
                  argmax):  # pragma: no cover - numba
    for nc in numba.prange(x.shape[0] * x.shape[1]):
        _forward_plane(x, nc, kind, k, s, p, count_pad, p_value, lowest, out, argmax)


_forward_ser, _forward_par = serial_parallel(_forward_loop, _SER, _PAR)


def _backward_loop(x, dy, kind, k, s, p, count_pad, p_value, out, argmax,
                   dx):  # pragma: no cover - numba
    for nc in numba.prange(dx.shape[0] * dx.shape[1]):
        _backward_plane(x, dy, nc, kind, k, s, p, count_pad, p_value, out, argmax, dx)


_backward_ser, _backward_par = serial_parallel(_backward_loop, _SER, _PAR)


# ---- max pooling of planes whose windows all lie inside the image (no padding): the common
# 2x2 / 3x3 stride-2 case, with no clipping or per-window bounds, on (planes, H, W) arrays
@numba.njit(**_BODY)
def _max_inside_plane(x, nc, kh, kw, sh, sw, out, argmax):  # pragma: no cover - numba
    width = x.shape[2]
    for y in range(out.shape[1]):
        h0 = y * sh
        for xx in range(out.shape[2]):
            w0 = xx * sw
            best = x[nc, h0, w0]
            arg = h0 * width + w0
            for iy in range(h0, h0 + kh):
                for ix in range(w0, w0 + kw):
                    v = x[nc, iy, ix]
                    if v > best:
                        best = v
                        arg = iy * width + ix
            out[nc, y, xx] = best
            argmax[nc, y, xx] = arg


def _max_inside_loop(x, kh, kw, sh, sw, out, argmax):  # pragma: no cover - numba
    for nc in numba.prange(x.shape[0]):
        _max_inside_plane(x, nc, kh, kw, sh, sw, out, argmax)


_max_inside_ser, _max_inside_par = serial_parallel(_max_inside_loop, _SER, _PAR)


def _max_scatter_loop(dy, argmax, dx):  # pragma: no cover - numba
    for nc in numba.prange(dx.shape[0]):
        for i in range(dx.shape[1]):
            dx[nc, i] = 0
        for j in range(dy.shape[1]):
            dx[nc, argmax[nc, j]] += dy[nc, j]


_max_scatter_ser, _max_scatter_par = serial_parallel(_max_scatter_loop, _SER, _PAR)


# ---- 2x2 stride-2 max pooling without padding (VGG, LeNet): one pass over each pair of rows
# through row views, 3.5x faster than the windowed loop above (VGG's first pooling, one
# thread: 13.8 -> 3.7 ms).  Its gradient is the scatter above: a kernel writing each dx
# element once through four selects measured 1.2-2x slower than zeroing dx and scattering.
@numba.njit(**_BODY)
def _max2_plane(x, nc, out, argmax):  # pragma: no cover - numba
    width = x.shape[2]
    ow = out.shape[2]
    for y in range(out.shape[1]):
        r0 = x[nc, 2 * y, :2 * ow]
        r1 = x[nc, 2 * y + 1, :2 * ow]
        o = out[nc, y]
        am = argmax[nc, y]
        base = 2 * y * width
        for xx in range(ow):
            a, b = r0[2 * xx], r0[2 * xx + 1]
            c, d = r1[2 * xx], r1[2 * xx + 1]
            # the first maximum in row-major order wins, as in the general kernel
            best, arg = a, 0
            if b > best:
                best, arg = b, 1
            if c > best:
                best, arg = c, width
            if d > best:
                best, arg = d, width + 1
            o[xx] = best
            am[xx] = base + 2 * xx + arg


def _max2_loop(x, out, argmax):  # pragma: no cover - numba
    for nc in numba.prange(x.shape[0]):
        _max2_plane(x, nc, out, argmax)


_max2_ser, _max2_par = serial_parallel(_max2_loop, _SER, _PAR)


def _two_by_two(x5, k, s, p) -> bool:
    return x5.shape[2] == 1 and tuple(k) == (1, 2, 2) and tuple(s)[1:] == (2, 2) and not any(p)


def _inside(x5, k, s, p, out5) -> bool:
    """Whether max pooling of ``x5`` into ``out5`` has no padding, one depth plane and every
    window inside the image (then the fast kernels apply)."""
    return (x5.shape[2] == 1 and k[0] == 1 and not any(p)
            and (out5.shape[3] - 1) * s[1] + k[1] <= x5.shape[3]
            and (out5.shape[4] - 1) * s[2] + k[2] <= x5.shape[4])


# ---- avg / sum pooling of whole planes (global pooling, or one unpadded window per plane):
# one sum per plane over its contiguous run, in float64 as the general loop, but in 8 partial
# sums (8 chains of adds, not one: that chain's add latency was the whole cost)
@numba.njit(**_BODY)
def _plane_sum(x, nc):  # pragma: no cover - numba
    size = x.shape[1]
    parts = np.zeros(8, np.float64)
    body = size - size % 8
    for i in range(0, body, 8):
        for j in range(8):
            parts[j] += x[nc, i + j]
    acc = 0.0
    for i in range(body, size):
        acc += x[nc, i]
    for j in range(8):
        acc += parts[j]
    return acc


def _whole_forward_loop(x, count, out):  # pragma: no cover - numba
    for nc in numba.prange(x.shape[0]):
        out[nc] = _plane_sum(x, nc) / count


_whole_forward_ser, _whole_forward_par = serial_parallel(_whole_forward_loop, _SER, _PAR)


def _whole_backward_loop(dy, count, dx):  # pragma: no cover - numba
    for nc in numba.prange(dx.shape[0]):
        g = dy[nc] / count
        for i in range(dx.shape[1]):
            dx[nc, i] = g


_whole_backward_ser, _whole_backward_par = serial_parallel(_whole_backward_loop, _SER, _PAR)


def _whole_plane(x5, kind, k, s, p, out5) -> bool:
    """Avg or sum pooling with one window covering each whole, unpadded plane."""
    return (kind in (1, 2) and tuple(out5.shape[2:]) == (1, 1, 1) and not any(p)
            and tuple(int(v) for v in k) == tuple(x5.shape[2:]))


def _int3(values) -> tuple[int, int, int]:
    a, b, c = values
    return int(a), int(b), int(c)


def pool_forward(x, kind, k, s, p, count_pad, p_value, out, argmax):
    """Pool the C-contiguous ``x`` (N, C, D, H, W) into ``out``; max pooling fills ``argmax``."""
    if kind == 0 and _inside(x, k, s, p, out) and _two_by_two(x, k, s, p):
        n, c, _, h, w = x.shape
        oh, ow = out.shape[3], out.shape[4]
        run = _max2_par if x.size >= PARALLEL_THRESHOLD else _max2_ser
        run(x.reshape(n * c, h, w), out.reshape(n * c, oh, ow), argmax.reshape(n * c, oh, ow))
        return
    if kind == 0 and _inside(x, k, s, p, out):
        n, c, _, h, w = x.shape
        run = _max_inside_par if x.size >= PARALLEL_THRESHOLD else _max_inside_ser
        run(x.reshape(n * c, h, w), int(k[1]), int(k[2]), int(s[1]), int(s[2]),
            out.reshape(n * c, out.shape[3], out.shape[4]),
            argmax.reshape(n * c, out.shape[3], out.shape[4]))
        return
    if _whole_plane(x, kind, k, s, p, out) and x.flags.c_contiguous:
        nc = x.shape[0] * x.shape[1]
        run = _whole_forward_par if x.size >= PARALLEL_THRESHOLD else _whole_forward_ser
        count = float(x.size // max(nc, 1)) if kind == 1 else 1.0
        run(x.reshape(nc, -1), count, out.reshape(nc))
        return
    kernel = _forward_par if x.size >= PARALLEL_THRESHOLD else _forward_ser
    lowest = float(np.finfo(out.dtype).min)
    kernel(x, int(kind), _int3(k), _int3(s), _int3(p), bool(count_pad), float(p_value), lowest,
           out, argmax)


def pool_backward(x, dy, kind, k, s, p, count_pad, p_value, out, argmax, dx):
    """Overwrite ``dx`` with the gradient of the pooling for head gradient ``dy``."""
    if kind == 0 and _inside(x, k, s, p, dy) and argmax.flags.c_contiguous:
        nc = dx.shape[0] * dx.shape[1]
        run = _max_scatter_par if dx.size >= PARALLEL_THRESHOLD else _max_scatter_ser
        run(dy.reshape(nc, -1), argmax.reshape(nc, -1), dx.reshape(nc, -1))
        return
    if _whole_plane(dx, kind, k, s, p, dy) and dx.flags.c_contiguous:
        nc = dx.shape[0] * dx.shape[1]
        run = _whole_backward_par if dx.size >= PARALLEL_THRESHOLD else _whole_backward_ser
        count = float(dx.size // max(nc, 1)) if kind == 1 else 1.0
        run(np.ascontiguousarray(dy).reshape(nc), count, dx.reshape(nc, -1))
        return
    kernel = _backward_par if dx.size >= PARALLEL_THRESHOLD else _backward_ser
    kernel(x, dy, int(kind), _int3(k), _int3(s), _int3(p), bool(count_pad), float(p_value), out,
           argmax, dx)
