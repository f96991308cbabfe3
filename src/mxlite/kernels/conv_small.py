"""Stride-1 float32 convolutions of small images (LeNet's 5x5 layers) without im2col.

im2col of a small image is made of short rows (8 floats for an 8x8 output), copied one by one:
for LeNet's second layer (20 -> 50 channels, 12x12 -> 8x8, 5x5) it took as long as the GEMM
that reads it.  These kernels use a ``k``-times smaller copy instead, the *shifted planes*: for
input channel ``c`` and kernel column ``kx``, ``S[c kw + kx, y ow + xo] = xpad[c, y, xo + kx]``
(:func:`shifted_planes`; ``xpad`` the zero-padded image, ``ow`` the output width, ``y`` over
all padded rows).  The input of output pixel ``s = yo ow + xo`` (flat) under tap ``(ky, kx)`` is
then ``S[c kw + kx, s + ky ow]``: 16 consecutive output pixels read 16 consecutive floats, one
vector load, whatever the row width.  So the convolution is a sum over ``j = c kw + kx`` and
``t = ky`` of ``w[f, j, t] * S[j, s + t ow]``, and

* the forward (:func:`taps_forward`) is a register-tiled GEMM whose operand is read through
  those shifted loads: a tile is ``OCB = 4`` output rows (channels) times ``PV = 4`` vectors of
  16 pixels, 16 accumulators that LLVM keeps in zmm registers over the whole reduction; per
  tap 4 vector loads, 4 weights broadcast and 16 FMAs, and the tile is stored straight into
  the ``(N, F, OH * OW)`` output;
* the data gradient of the planes, ``dS[c kw + kx, s + ky ow] += sum_f w[f, c, ky, kx]
  dy[f, s]``, is :func:`taps_scatter`: the same tiles, reduced over ``f`` and added into
  ``dS`` at each tap's offset; :func:`unshift_planes` then adds the ``kw`` planes of each
  channel back into ``dx``.  (The gather form, :func:`taps_forward` on ``dy`` padded by
  ``kh - 1`` rows, computes ``(OH + kh - 1) / OH`` times the FLOPs, the rows of the planes
  that only padding reaches: 2.9 against 2.1 ms on LeNet's second layer.)
* the weight gradient (:func:`taps_weight_grad`) is ``dw[f, j, t] = sum_{n, s} dy[n, f, s]
  S[n, j, s + t ow]``: pixels in the vector lanes, a tile of 4 output channels times 4
  ``(j, t)`` pairs, reduced over the lanes once per tile and chunk of images.  For wider
  layers the caller copies im2col's columns from the planes instead (:func:`tap_columns`,
  runs of a whole image's pixels; :func:`image_columns` lays ``dy`` out beside them) and runs
  one GEMM.

Weights are packed per block of ``OCB`` rows (:func:`pack_forward`, :func:`pack_scatter`),
zero-padded to whole blocks.  Numba's target asks LLVM for 256-bit vectors on AVX-512 CPUs;
:func:`_acc_buffer` marks each kernel ``prefer-vector-width=512`` (as
:mod:`mxlite.kernels.conv_direct` does).
"""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from . import PARALLEL_THRESHOLD  # noqa: F401  (imported first: sets up threads and the cache)

_SER = {"cache": True, "nogil": True, "fastmath": True}

#: output rows (channels) per tile of :func:`taps_forward` and :func:`taps_weight_grad`
OCB = 4
#: vectors of 16 pixels per tile of :func:`taps_forward`
PV = 4
#: ``(j, t)`` pairs per tile of :func:`taps_weight_grad`
JB = 4
#: floats of the accumulator buffer (16 vectors of 16 lanes)
_ACC = OCB * PV * 16


@intrinsic
def _acc_buffer(typingctx):
    """A stack buffer of :data:`_ACC` float32 accumulators; marks the calling kernel
    ``prefer-vector-width=512`` so that LLVM vectorizes it with AVX-512 registers."""
    sig = types.CPointer(types.float32)()

    def codegen(context, builder, signature, args):
        # a string attribute (llvmlite's AttributeSet.add takes only enum attributes); should
        # a future llvmlite refuse it the kernel still compiles, with 256-bit vectors
        try:
            set.add(builder.function.attributes, '"prefer-vector-width"="512"')
        except TypeError:
            pass
        ptr = cgutils.alloca_once(builder, ir.ArrayType(ir.FloatType(), _ACC))
        return builder.bitcast(ptr, ir.PointerType(ir.FloatType()))

    return sig, codegen


def padded_length(length: int) -> int:
    """``length`` rounded up to whole vectors of 16."""
    return -(-length // 16) * 16


def pack_forward(w: np.ndarray) -> np.ndarray:
    """``w`` (F, C, kh, kw) -> ``(ceil(F / OCB), C * kw, kh, OCB)`` float32, zero-padded rows:
    ``[fb, c kw + kx, ky, o] = w[OCB fb + o, c, ky, kx]``."""
    f, c, kh, kw = w.shape
    nb = -(-f // OCB)
    out = np.zeros((nb * OCB, c, kw, kh), dtype=np.float32)
    out[:f] = w.transpose(0, 1, 3, 2)
    return np.ascontiguousarray(out.reshape(nb, OCB, c * kw, kh).transpose(0, 2, 3, 1))


@numba.njit(**_SER)
def shifted_planes(x, pad_h, pad_w, kw, ow, s):  # pragma: no cover - numba
    """``s`` (N, C * kw, len) = the shifted planes of ``x`` (N, C, H, W):
    ``s[n, c kw + kx, y ow + xo] = x[n, c, y - pad_h, xo + kx - pad_w]`` (zero outside ``x``)
    for ``y`` in ``[0, H + 2 pad_h)``, ``xo`` in ``[0, ow)``; zeros after the last row.

    Indexed with unsigned integers and no array slices in the loops: a slice a row made
    reference-count calls (0.53 ms for LeNet's second layer, batch 64), a signed index with a
    shift a check for negative indices that keeps LLVM from vectorizing."""
    n_img, n_ch, height, width = x.shape
    hp = height + 2 * pad_h
    length = s.shape[2]
    xf = x.reshape(-1)
    sf = s.reshape(-1)
    u = np.uint64
    for n in range(n_img):
        for c in range(n_ch):
            src0 = (n * n_ch + c) * height * width
            for kx in range(kw):
                dst0 = (n * n_ch * kw + c * kw + kx) * length
                # the columns of x that output column xo reads under kx: xo + kx - pad_w
                # (padding may be wider than the image: both within [0, ow])
                x0 = min(ow, max(0, pad_w - kx))
                x1 = max(x0, min(ow, width + pad_w - kx))
                for y in range(hp):
                    d = dst0 + y * ow
                    src_y = y - pad_h
                    if src_y < 0 or src_y >= height:
                        for q in range(ow):
                            sf[u(d + q)] = 0.0
                        continue
                    for q in range(x0):
                        sf[u(d + q)] = 0.0
                    d1 = d + x0
                    s1 = src0 + src_y * width + x0 + kx - pad_w
                    for q in range(x1 - x0):
                        sf[u(d1 + q)] = xf[u(s1 + q)]
                    for q in range(x1, ow):
                        sf[u(d + q)] = 0.0
                for q in range(hp * ow, length):
                    sf[u(dst0 + q)] = 0.0


@numba.njit(**_SER)
def unshift_planes(ds, pad_h, pad_w, kw, ow, dx):  # pragma: no cover - numba
    """``dx`` (N, C, H, W) = the adjoint of :func:`shifted_planes` applied to ``ds``
    (N, C * kw, >= (H + 2 pad_h) ow): ``dx[n, c, y, x] = sum_kx ds[n, c kw + kx,
    (y + pad_h) ow + x + pad_w - kx]`` over the ``kx`` with ``0 <= x + pad_w - kx < ow``
    (indexed as :func:`shifted_planes`)."""
    n_img, n_ch, height, width = dx.shape
    length = ds.shape[2]
    dsf = ds.reshape(-1)
    dxf = dx.reshape(-1)
    u = np.uint64
    for n in range(n_img):
        for c in range(n_ch):
            for y in range(height):
                d = ((n * n_ch + c) * height + y) * width
                for q in range(width):
                    dxf[u(d + q)] = 0.0
                base = (y + pad_h) * ow
                for kx in range(kw):
                    # x + pad_w - kx = xo in [0, ow)
                    off = pad_w - kx
                    x0 = max(0, -off)
                    x1 = max(x0, min(width, ow - off))
                    s1 = (n * n_ch * kw + c * kw + kx) * length + base + x0 + off
                    d1 = d + x0
                    m = x1 - x0
                    q0 = 0
                    while q0 + 8 <= m:  # blocks of 8: LeNet's rows are 8 floats
                        for q in range(8):
                            dxf[u(d1 + q0 + q)] += dsf[u(s1 + q0 + q)]
                        q0 += 8
                    for q in range(q0, m):
                        dxf[u(d1 + q)] += dsf[u(s1 + q)]


@numba.njit(**_SER)
def taps_forward(inp, wpk, tap, bias, out):  # pragma: no cover - numba
    """``out[n, r, s] = bias[r] + sum_{j, t} wpk[r // OCB, j, t, r % OCB] * inp[n, j, s + t tap]``
    for ``out`` (N, R, L), ``inp`` (N, J, >= padded_length(L) + (T - 1) tap), ``wpk``
    (ceil(R / OCB), J, T, OCB) (:func:`pack_forward`), ``bias``
    (>= ceil(R / OCB) OCB,) (zero past R)."""
    n_img, n_rows, length = out.shape
    n_in, n_taps = wpk.shape[1], wpk.shape[2]
    full = length // (PV * 16) * (PV * 16)
    acc = numba.carray(_acc_buffer(), (_ACC,))
    for n in range(n_img):
        src = inp[n]
        for rb in range(wpk.shape[0]):
            wb = wpk[rb]
            r0 = rb * OCB
            nr = min(OCB, n_rows - r0)
            # tiles of PV vectors of 16 pixels
            for s0 in range(0, full, PV * 16):
                for o in range(OCB):
                    b = bias[r0 + o]
                    for q in range(PV * 16):
                        acc[o * PV * 16 + q] = b
                for j in range(n_in):
                    for t in range(n_taps):
                        v = src[j, s0 + t * tap:]
                        wt = wb[j, t]
                        for o in range(OCB):
                            wo = wt[o]
                            for q in range(PV * 16):
                                acc[o * PV * 16 + q] += wo * v[q]
                for o in range(nr):
                    dst = out[n, r0 + o, s0:]
                    for q in range(PV * 16):
                        dst[q] = acc[o * PV * 16 + q]
            # the rest: one vector of 16 a tile, the last one cut to the length.  The four
            # channels are written out inside the lane loop: a loop of 16 lanes with a small
            # body is unrolled by LLVM before it is vectorized, and the accumulators then go
            # through memory (8 GFLOP/s)
            for s0 in range(full, length, 16):
                for o in range(OCB):
                    b = bias[r0 + o]
                    for q in range(16):
                        acc[o * 16 + q] = b
                for j in range(n_in):
                    for t in range(n_taps):
                        v = src[j, s0 + t * tap:]
                        wt = wb[j, t]
                        w0, w1, w2, w3 = wt[0], wt[1], wt[2], wt[3]
                        for q in range(16):
                            vq = v[q]
                            acc[q] += w0 * vq
                            acc[16 + q] += w1 * vq
                            acc[32 + q] += w2 * vq
                            acc[48 + q] += w3 * vq
                m = min(16, length - s0)
                for o in range(nr):
                    dst = out[n, r0 + o, s0:]
                    for q in range(m):
                        dst[q] = acc[o * 16 + q]


def pack_scatter(w: np.ndarray, rows_in: int) -> np.ndarray:
    """``w`` (F, C, kh, kw) -> the weight of :func:`taps_scatter` computing ``dS`` from ``dy``
    (``rows_in >= F`` rows, zero past F): ``(kh, ceil(C kw / OCB), rows_in, OCB)``,
    ``[t, jb, f, o] = w[f, c, t, kx]`` for ``OCB jb + o = c kw + kx``."""
    f, c, kh, kw = w.shape
    rows = c * kw
    nb = -(-rows // OCB)
    flat = np.zeros((kh, nb * OCB, rows_in), dtype=np.float32)
    # (kh, C, kw, F) -> rows c kw + kx
    flat[:, :rows, :f] = w.transpose(2, 1, 3, 0).reshape(kh, rows, f)
    return np.ascontiguousarray(flat.reshape(kh, nb, OCB, rows_in).transpose(0, 1, 3, 2))


@numba.njit(**_SER)
def taps_scatter(src, wpk, tap, length, out):  # pragma: no cover - numba
    """``out[n, r, s + t tap] += sum_j wpk[t, r // OCB, j, r % OCB] * src[n, j, s]`` for ``s``
    in ``[0, length)``: the data gradient ``dS`` of the shifted planes from ``src`` = dy
    (N, J, >= padded_length(length)) (zero past ``length``), ``wpk`` :func:`pack_scatter`,
    ``out`` (N, R, >= length + (T - 1) tap).  Tiles as :func:`taps_forward`'s, the reduction
    over ``j`` only (exact FLOPs, where the gather form on padded ``dy`` computes the rows of
    the planes that only padding reaches too); each tile is added into ``out`` at its tap's
    offset."""
    n_img, n_rows = out.shape[0], out.shape[1]
    n_taps, n_blocks, n_in = wpk.shape[0], wpk.shape[1], wpk.shape[2]
    full = length // (PV * 16) * (PV * 16)
    acc = numba.carray(_acc_buffer(), (_ACC,))
    for n in range(n_img):
        img = src[n]
        for t in range(n_taps):
            for rb in range(n_blocks):
                wb = wpk[t, rb]
                r0 = rb * OCB
                nr = min(OCB, n_rows - r0)
                for s0 in range(0, full, PV * 16):
                    for i in range(_ACC):
                        acc[i] = 0.0
                    for j in range(n_in):
                        v = img[j, s0:]
                        wt = wb[j]
                        for o in range(OCB):
                            wo = wt[o]
                            for q in range(PV * 16):
                                acc[o * PV * 16 + q] += wo * v[q]
                    for o in range(nr):
                        dst = out[n, r0 + o, s0 + t * tap:]
                        for q in range(PV * 16):
                            dst[q] += acc[o * PV * 16 + q]
                # the rest, one vector a tile (written out as in taps_forward)
                for s0 in range(full, length, 16):
                    for i in range(OCB * 16):
                        acc[i] = 0.0
                    for j in range(n_in):
                        v = img[j, s0:]
                        wt = wb[j]
                        w0, w1, w2, w3 = wt[0], wt[1], wt[2], wt[3]
                        for q in range(16):
                            vq = v[q]
                            acc[q] += w0 * vq
                            acc[16 + q] += w1 * vq
                            acc[32 + q] += w2 * vq
                            acc[48 + q] += w3 * vq
                    m = min(16, length - s0)
                    for o in range(nr):
                        dst = out[n, r0 + o, s0 + t * tap:]
                        for q in range(m):
                            dst[q] += acc[o * 16 + q]


@numba.njit(**_SER)
def tap_columns(planes, n_rows, kh, tap, length, cols):  # pragma: no cover - numba
    """``cols[j kh + t, i length + s] = planes[i, j, s + t tap]`` for ``j < n_rows``, ``s <
    length``: im2col's columns (rows ``(c, kx, ky)``) from the shifted planes, every copy a
    run of ``length`` floats (im2col copies runs of one output row, 8 floats on LeNet's
    second layer)."""
    for i in range(planes.shape[0]):
        for j in range(n_rows):
            src = planes[i, j]
            for t in range(kh):
                run = src[t * tap:]
                dst = cols[j * kh + t, i * length:]
                for q in range(length):
                    dst[q] = run[q]


@numba.njit(**_SER)
def image_columns(dy, length, out):  # pragma: no cover - numba
    """``out[r, i length + s] = dy[i, r, s]`` for ``dy`` (nb, R, >= length): the images side
    by side, (R, nb * length)."""
    for i in range(dy.shape[0]):
        for r in range(dy.shape[1]):
            src = dy[i, r]
            dst = out[r, i * length:]
            for q in range(length):
                dst[q] = src[q]


@numba.njit(**_SER)
def taps_weight_grad(dy, inp, tap, chunk, dw):  # pragma: no cover - numba
    """``dw[r, j, t] += sum_{n, s} dy[n, r, s] * inp[n, j, s + t tap]`` for ``dw`` (R, J, T),
    ``dy`` (N, R, Lp) zero beyond the output length, ``inp`` (N, J, >= Lp + (T - 1) tap);
    ``R`` a multiple of ``OCB``, ``Lp`` of 16.  A tile is ``OCB`` rows ``r`` times ``JB``
    consecutive pairs ``(j, t)`` (so ``J T`` pairs need not fill whole tiles: LeNet's first
    layer has 5 x 5).  The batch runs in chunks of ``chunk`` images (whose ``dy`` and ``inp``
    stay in the L2 cache while every tile walks them), the lanes summed once per tile and
    chunk."""
    n_img, n_rows, lp = dy.shape
    n_in, n_taps = dw.shape[1], dw.shape[2]
    n_pairs = n_in * n_taps
    acc = numba.carray(_acc_buffer(), (_ACC,))
    for c0 in range(0, n_img, chunk):
        c1 = min(n_img, c0 + chunk)
        # the rows of a block of pairs stay in the L1 cache over the tiles that read them
        for p0 in range(0, n_pairs, JB):
            # past the last pair the tile repeats it; those sums are not stored
            ja, ta = divmod(min(p0, n_pairs - 1), n_taps)
            jb, tb = divmod(min(p0 + 1, n_pairs - 1), n_taps)
            jc, tc = divmod(min(p0 + 2, n_pairs - 1), n_taps)
            jd, td = divmod(min(p0 + 3, n_pairs - 1), n_taps)
            for r0 in range(0, n_rows, OCB):
                for i in range(OCB * JB * 16):
                    acc[i] = 0.0
                # the 16 products written out inside the lane loop (see taps_forward);
                # unsigned indices: a signed s0 + q keeps the check for negative indices,
                # and LLVM then gathers
                for n in range(c0, c1):
                    d0 = dy[n, r0]
                    d1 = dy[n, r0 + 1]
                    d2 = dy[n, r0 + 2]
                    d3 = dy[n, r0 + 3]
                    v0 = inp[n, ja, ta * tap:]
                    v1 = inp[n, jb, tb * tap:]
                    v2 = inp[n, jc, tc * tap:]
                    v3 = inp[n, jd, td * tap:]
                    for s0 in range(0, lp, 16):
                        u0 = np.uint64(s0)
                        for q in range(16):
                            i = u0 + np.uint64(q)
                            a0, a1, a2, a3 = v0[i], v1[i], v2[i], v3[i]
                            b = d0[i]
                            acc[q] += b * a0
                            acc[16 + q] += b * a1
                            acc[32 + q] += b * a2
                            acc[48 + q] += b * a3
                            b = d1[i]
                            acc[64 + q] += b * a0
                            acc[80 + q] += b * a1
                            acc[96 + q] += b * a2
                            acc[112 + q] += b * a3
                            b = d2[i]
                            acc[128 + q] += b * a0
                            acc[144 + q] += b * a1
                            acc[160 + q] += b * a2
                            acc[176 + q] += b * a3
                            b = d3[i]
                            acc[192 + q] += b * a0
                            acc[208 + q] += b * a1
                            acc[224 + q] += b * a2
                            acc[240 + q] += b * a3
                for jj in range(min(JB, n_pairs - p0)):
                    j, t = divmod(p0 + jj, n_taps)
                    for o in range(OCB):
                        total = 0.0
                        for q in range(16):
                            total += acc[(o * JB + jj) * 16 + q]
                        dw[r0 + o, j, t] += total
