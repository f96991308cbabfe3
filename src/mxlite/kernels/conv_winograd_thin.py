"""Winograd 3x3 stride-1 pad-1 float32 convolutions for thin layers (ResNet-20's 16-64
channels), fused per block of tiles in cache: input transform, element-wise stage and output
transform, all in LLVM IR on ``<16 x float>`` vectors of 16 tiles.

:mod:`.conv_winograd` runs the element-wise stage of Winograd as NumPy's batched GEMMs, one
``(F, C) @ (C, T)`` per transformed position ``xi``; for 16-64 channels those GEMMs are
packing-bound and lose to the direct kernel (:mod:`.conv_direct`).  Here, per ``k`` images
laid side by side (:data:`SIDE_BY_SIDE`, :func:`plan`):

1. **Phases.**  Each zero-padded channel is split into its ``t x t`` row / column phases
   ``padded[t i + a, t j + b]`` (``t`` the output tile: 2 or 4; :func:`_fill_channel`:
   masked loads, so the pad costs nothing, and a de-interleaving shuffle), and the phases
   ``b < 2`` once more shifted by one column (``padded[t i + a, t (j + 1) + b]``: the
   columns ``t .. t + 1`` of a tile are the next tile column's first two).  In the phases,
   element ``(i, j)`` of the input tiles of consecutive tiles (flat position ``ty pitch +
   tx``, ``pitch = k tw``: the images' tiles side by side, every lane a tile of the output;
   with one column past each image instead, 64ch 8x8 computed 6 tiles an image for 4) is
   one contiguous run: 16 tiles are one vector load per element.
2. **Per block of** ``16 nv`` **tiles**: the input transform ``B^T d B`` of every channel
   (:func:`_separable`; F(4x4, 3x3) with the shared terms of ``B^T`` once,
   :func:`_rows_b4`), the element-wise stage :func:`products` (the register tile of
   :func:`mxlite.kernels.conv_direct._vector_tile` with one tap: ``ocb`` output channels x
   ``nv`` vectors of tiles, :data:`VARIANTS`), and the output transform ``A^T m A + bias``
   into the ``t x t`` output phases.
3. **Store** (:func:`store`): each output row interleaved from its phases (shuffles, masked
   stores at the row's end), with the convolution's epilogue (residual addend, BatchNorm's
   affine, relu, a second output: :mod:`.epilogue`) on the way.
   This is the one place the output is written.

Output channels are padded up to the tile's channel block with zero transformed weights
(never stored): any channel counts.  The transformed input and products of a block (36
values a tile for F(4x4, 3x3)) live in the L2 cache; a chunk of at most
:data:`FUSED_BLOCKS` blocks runs fused (:func:`_fused_chunk`: one channel's phases at a time
and the output phases of a few channels at a time in L1).  Measured before that fusion (one
thread, batch 128, F(4x4, 3x3), warm caches, each stage alone, ms: phases / input transform /
products / output transform / store): 16ch 32x32 0.58 / 0.68 / 1.02 / 0.61 / 0.49; 32ch
16x16 0.37 / 0.32 / 0.91 / 0.30 / 0.21; 64ch 8x8 0.31 / 0.17 / 0.88 / 0.09 / 0.19.  The
products (151 MFLOP at each of the three: 150-175 GFLOP/s) are the same work at every layer
and near the FMA ports' peak; the transforms grow with ``C`` times the tiles (16ch 32x32: 4x
64ch 8x8's).  With cold inputs and outputs and the residual's epilogue the memory traffic
adds as much again; prefetching the output's lines ahead of the store pays (:data:`PREFETCH`),
prefetching the next images' input or the epilogue's addend and second output, and
``(xi, C, span)`` transformed inputs measured no faster.
"""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from . import PARALLEL_THRESHOLD  # noqa: F401  (imported first: sets up threads and the cache)
from . import conv_winograd as _wino
from .conv_direct import _IR, _vector_tile
from .epilogue import is_plain, store_channel

_SER = {"cache": True, "nogil": True, "fastmath": True}

#: the element-wise tiles (output channels, 16-tile vectors), by variant number
VARIANTS = ((8, 3), (4, 5), (8, 2))
#: their relative rate with every lane useful (the weights :func:`plan` divides lanes by);
#: measured (one thread, batch 128, cold inputs, ms, whole blocks): 32ch 16x16 8x2 2.47-2.53,
#: 4x5 2.76, 8x3 2.84; 64ch 8x8 8x2 2.54, 8x3 2.93 (the 8x3 tile's wider blocks and more
#: images side by side cost more cache than its fewer weight loads save)
RATES = (0.88, 0.9, 1.0)
_tile_8x3 = _vector_tile(8, 3, 1)
_tile_4x5 = _vector_tile(4, 5, 1)
_tile_8x2 = _vector_tile(8, 2, 1)


def positions(tile: int) -> int:
    """Transformed values per tile: 16 for F(2x2, 3x3), 36 for F(4x4, 3x3)."""
    return (tile + 2) ** 2


#: ``kron(G, G)`` per output tile (``(tile + 2)^2 x 9`` float32): the weight transform's matrix
_KRON = {t: np.kron(g, g).astype(np.float32) for t, g in ((2, _wino.G), (4, _wino.G4))}


def pack_weight(w: np.ndarray, tile: int, ocb: int) -> np.ndarray:
    """``(F, C, 3, 3)`` -> the transformed weights ``G w G^T`` of :func:`forward`: flat
    ``(xi, F' / ocb, C, ocb)`` float32, ``F'`` = F up to a multiple of ``ocb`` (zeros).  One
    small BLAS GEMM, ``kron(G, G)`` (cached) times the taps reordered to ``(9, F' / ocb, C,
    ocb)``, written in the packed layout (64ch: 0.29 -> 0.05 ms against the transform, pad and
    transpose before it; :func:`_pack_weight_reference`): callers between threaded kernels hold
    the BLAS at one thread (its threads, once woken, spin and take the cores from the kernels:
    2 threads, 64ch 8x8, 3.7 -> 21 ms)."""
    if tile not in _KRON:
        raise ValueError(f"pack_weight: tile must be 2 or 4, not {tile!r}")
    if w.ndim != 4 or w.shape[2:] != (3, 3) or ocb < 1:
        raise ValueError(f"pack_weight: weights (F, C, 3, 3) and ocb >= 1, not {w.shape}, {ocb}")
    f, c = w.shape[:2]
    fp = f + -f % ocb
    wp = np.zeros((fp, c, 9), np.float32)
    wp[:f] = w.reshape(f, c, 9)
    # taps[t, fb, c, o] = w[fb ocb + o, c, t]
    taps = np.ascontiguousarray(wp.reshape(fp // ocb, ocb, c, 9).transpose(3, 0, 2, 1))
    kron = _KRON[tile]
    out = np.empty(kron.shape[0] * fp * c, np.float32)
    np.matmul(kron, taps.reshape(9, -1), out=out.reshape(kron.shape[0], -1))
    return out


def _pack_weight_reference(w: np.ndarray, tile: int, ocb: int) -> np.ndarray:
    """:func:`pack_weight` the plain way, in float64: ``G w[f, c] G^T`` per filter and
    channel, padded with zero filters and laid out ``(xi, F' / ocb, C, ocb)``."""
    g = _wino.G if tile == 2 else _wino.G4
    f, c = w.shape[:2]
    fp = f + -f % ocb
    u = np.zeros((g.shape[0] ** 2, fp, c))
    for fi in range(f):
        for ci in range(c):
            u[:, fi, ci] = (g @ w[fi, ci].astype(np.float64) @ g.T).ravel()
    return u.reshape(-1, fp // ocb, ocb, c).transpose(0, 1, 3, 2).ravel()


@numba.njit(**_SER)
def products(v, upk, var, nch, nfp, mstride, m):  # pragma: no cover - numba
    """The element-wise stage of one block of ``span = 16 nv`` tiles: ``m[xi, f, t] = sum_c
    u[xi, f, c] v[c, xi, t]`` over flat ``v`` (C, xi, span; the input transform writes each
    channel's values in one run), ``upk`` of :func:`pack_weight` and ``m`` (xi, F', span;
    ``m[xi]`` from ``xi mstride``):
    per ``xi`` and block of ``ocb`` output channels one register tile."""
    ocb = VARIANTS[var][0]
    span = 16 * VARIANTS[var][1]
    xs = v.size // (nch * span)
    toff = np.zeros(1, np.int64)
    for xi in range(xs):
        for ob in range(nfp // ocb):
            wb = (xi * (nfp // ocb) + ob) * nch * ocb
            at = xi * mstride + ob * ocb * span
            if var == 0:
                _tile_8x3(v, xi * span, xs * span, nch, toff, 16, upk, wb, m, at, span, 16)
            elif var == 1:
                _tile_4x5(v, xi * span, xs * span, nch, toff, 16, upk, wb, m, at, span, 16)
            else:
                _tile_8x2(v, xi * span, xs * span, nch, toff, 16, upk, wb, m, at, span, 16)


def _combine(k, coefs, xs):
    """``sum_i coefs[i] xs[i]`` in IR on ``<16 x float>`` (zero terms skipped, +-1 as adds)."""
    b, acc = k.b, None
    for c, x in zip(coefs, xs, strict=True):
        c = float(c)
        if c == 0:
            continue
        if c in (1.0, -1.0):
            if acc is None:
                acc = x if c == 1.0 else b.fneg(x)
            else:
                acc = b.fadd(acc, x) if c == 1.0 else b.fsub(acc, x)
            continue
        cv = ir.Constant(k.vec, [c] * 16)
        acc = b.fmul(cv, x) if acc is None else b.call(k._fma, [cv, x, acc])
    return acc if acc is not None else ir.Constant(k.vec, None)


def _rows_b4(k, d):
    """``(B4^T d)_a`` for six vectors (13 operations: the shared terms once)."""
    b = k.b

    def fma(cst, x, y):
        return b.call(k._fma, [ir.Constant(k.vec, [float(cst)] * 16), x, y])

    t1, t2 = fma(-4, d[2], d[4]), fma(-4, d[1], d[3])
    t3 = b.fsub(d[4], d[2])
    t4 = b.fmul(ir.Constant(k.vec, [2.0] * 16), b.fsub(d[3], d[1]))
    return [fma(4, d[0], fma(-5, d[2], d[4])), b.fadd(t1, t2), b.fsub(t1, t2),
            b.fadd(t3, t4), b.fsub(t3, t4), fma(4, d[1], fma(-5, d[3], d[5]))]


def _rows_a4(k, m):
    """``(A4^T m)_r`` for six vectors (10 operations)."""
    b = k.b

    def fma(cst, x, y):
        return b.call(k._fma, [ir.Constant(k.vec, [float(cst)] * 16), x, y])

    p12, q12 = b.fadd(m[1], m[2]), b.fsub(m[1], m[2])
    p34, q34 = b.fadd(m[3], m[4]), b.fsub(m[3], m[4])
    return [b.fadd(b.fadd(m[0], p12), p34), fma(2, q34, q12), fma(4, p34, p12),
            b.fadd(fma(8, q34, q12), m[5])]


def _separable(mat: np.ndarray, rows=None):
    """An intrinsic applying ``Y = L X L^T`` (``L = mat``, p x e, exact small integers) to
    ``e x e`` grids of ``<16 x float>`` vectors, in LLVM IR:

    ``sep(src, sbase, soff, dst, dbase, dstride, nvec, bias, bidx)``: for ``it < nvec``,
    ``X[i][j] = src[sbase + soff[e i + j] + 16 it:+16]`` and ``dst[dbase + (p a + b) dstride
    + 16 it:+16] = Y[a][b] + bias[bidx]``; the input transform (``L = B^T``, bias zero) and
    the output transform (``L = A^T``) of Winograd over 16 tiles at a time."""
    p, e = mat.shape
    if rows is None:
        def rows(k, xs):
            return [_combine(k, mat[a], xs) for a in range(p)]

    @intrinsic
    def sep(typingctx, src, sbase, soff, dst, dbase, dstride, nvec, bias, bidx):
        sig = types.void(src, sbase, soff, dst, dbase, dstride, nvec, bias, bidx)

        def codegen(context, builder, signature, args):
            k = _IR(context, builder, signature, args)
            add, mul, c = builder.add, builder.mul, k.const
            sp, op, dp, bp = k.data(0), k.data(2), k.data(3), k.data(7)
            sbase, dbase, dstride, nvec, bidx = (k.integer(i) for i in (1, 4, 5, 6, 8))
            offs = [add(sbase, builder.load(builder.gep(op, [c(t)]))) for t in range(e * e)]
            bv = k.splat(bp, bidx)
            douts = [add(dbase, mul(dstride, c(t))) for t in range(p * p)]
            with cgutils.for_range(builder, nvec) as loop:
                at = mul(loop.index, c(16))
                x = [[k.vload(sp, add(offs[e * i + j], at)) for j in range(e)] for i in range(e)]
                # rows first: t[a][j] = sum_i L[a, i] x[i][j]; then columns
                cols = [rows(k, [x[i][j] for i in range(e)]) for j in range(e)]
                for a in range(p):
                    for bb, y in enumerate(rows(k, [cols[j][a] for j in range(e)])):
                        k.vstore(builder.fadd(y, bv), dp, add(douts[p * a + bb], at))
            return context.get_dummy_value()

        return sig, codegen

    return sep


def _masked(k, name):
    """``llvm.masked.load`` / ``llvm.masked.store`` of ``<16 x float>``."""
    mask = ir.VectorType(ir.IntType(1), 16)
    ptr = k.vec.as_pointer()
    if name == "load":
        fty = ir.FunctionType(k.vec, [ptr, k.i32, mask, k.vec])
    else:
        fty = ir.FunctionType(ir.VoidType(), [k.vec, ptr, k.i32, mask])
    return cgutils.get_or_insert_function(k.b.module, fty, f"llvm.masked.{name}.v16f32.p0")


def _lanes_in(k, first, lo, hi):
    """The mask of lanes ``l`` with ``lo <= first + l < hi`` (int64 scalars)."""
    b = k.b
    i64v = ir.VectorType(k.i64, 16)
    undef = ir.Constant(i64v, ir.Undefined)
    zeros = ir.Constant(ir.VectorType(k.i32, 16), [0] * 16)

    def splat(x):
        return b.shuffle_vector(b.insert_element(undef, x, ir.Constant(k.i32, 0)), undef, zeros)

    col = b.add(splat(first), ir.Constant(i64v, list(range(16))))
    return b.and_(b.icmp_signed(">=", col, splat(lo)), b.icmp_signed("<", col, splat(hi)))


def _fill_channel(s: int, narrow: bool = False):
    """An intrinsic writing the row / column phases of one zero-padded channel, in LLVM IR:
    ``fill(img, ibase, h, w, q, dbase, plane, pitch, nrow, width, lo, hi)``: phase ``(a, b)``
    from ``q[dbase + (s a + b) plane]``, rows of ``pitch``, ``[i, j] = img[ibase +
    (s i + a - 1) w + s j + b - 1]`` for ``j < width``, and the shifted phase ``(a, b)``, ``b <
    2``, from ``q[dbase + (s s + 2 a + b) plane]``, its ``[i, j]`` phase ``(a, b)``'s ``[i, j +
    1]`` (the next tile column's: tiles of one image side by side need no column past them)
    (``nrow`` vectors; zero outside the ``h`` x ``w`` channel: masked loads; masked stores
    past ``width``), for the padded rows ``s i + a`` in ``[lo, hi)`` (the rest kept: the zero
    rows of the pad are the same for every image).  ``narrow`` (``w <= 16``, ``nrow`` 1): one
    load a row and one shuffle a phase (against 4 loads and 3 shuffles; with the zero rows
    kept, one thread, batch 128, warm: 32ch 16x16 0.52 -> 0.33 ms, 64ch 8x8 0.58 -> 0.31)."""

    @intrinsic
    def fill(typingctx, img, ibase, h, w, q, dbase, plane, pitch, nrow, width, lo, hi):
        sig = types.void(img, ibase, h, w, q, dbase, plane, pitch, nrow, width, lo, hi)

        def codegen(context, builder, signature, args):
            k = _IR(context, builder, signature, args)
            add, mul, sub, c = builder.add, builder.mul, builder.sub, k.const
            ip, qp = k.data(0), k.data(4)
            ibase, h, w, qbase, plane, pitch, nrow, width, lo, hi = (
                k.integer(i) for i in (1, 2, 3, 5, 6, 7, 8, 9, 10, 11))
            load, store = _masked(k, "load"), _masked(k, "store")
            zero = ir.Constant(k.vec, None)
            i32 = k.i32
            mask1 = ir.VectorType(ir.IntType(1), 16)
            with cgutils.for_range(builder, nrow) as vecs:
                first = builder.sub(mul(vecs.index, c(16 * s)), c(1))
                cols = [add(first, c(16 * u)) for u in range(s)]
                masks = [_lanes_in(k, col, c(0), w) for col in cols]
                row_mask = _lanes_in(k, c(0), c(0), w)
                smask = _lanes_in(k, mul(vecs.index, c(16)), c(0), width)
                # the shifted phases: lanes 1..width, one element down
                shmask = _lanes_in(k, mul(vecs.index, c(16)), c(1), add(width, c(1)))
                with cgutils.for_range(builder, sub(hi, lo)) as big:
                    prow = add(lo, big.index)
                    a = builder.urem(prow, c(s))
                    i = builder.udiv(prow, c(s))
                    r = builder.sub(prow, c(1))
                    ok = builder.and_(builder.icmp_signed(">=", r, c(0)),
                                      builder.icmp_signed("<", r, h))
                    # rows outside the channel: an all-false mask (nothing read)
                    okv = builder.select(ok, ir.Constant(mask1, [1] * 16),
                                         ir.Constant(mask1, [0] * 16))
                    rbase = add(ibase, mul(r, w))
                    rowat = add(qbase, mul(i, pitch))
                    dbase = add(rowat, mul(mul(a, c(s)), plane))
                    shbase = add(rowat, mul(add(c(s * s), mul(a, c(2))), plane))
                    if narrow:  # the row from column 0; column -1 is the zero vector's
                        xs = [builder.call(load, [k.vptr(ip, rbase), ir.Constant(i32, 4),
                                                  builder.and_(row_mask, okv), zero])]
                    else:
                        xs = [builder.call(load, [k.vptr(ip, add(rbase, col)),
                                                  ir.Constant(i32, 4), builder.and_(mk, okv),
                                                  zero])
                              for col, mk in zip(cols, masks, strict=True)]
                    at = add(dbase, mul(vecs.index, c(16)))
                    for bb in range(s):
                        if narrow:
                            y = builder.shuffle_vector(xs[0], zero, ir.Constant(
                                ir.VectorType(i32, 16),
                                [s * l + bb - 1 if 0 <= s * l + bb - 1 < 16 else 16
                                 for l in range(16)]))
                        elif s == 2:
                            y = builder.shuffle_vector(xs[0], xs[1], ir.Constant(
                                ir.VectorType(i32, 16), [2 * l + bb for l in range(16)]))
                        else:
                            m8 = ir.Constant(ir.VectorType(i32, 8), [4 * l + bb for l in range(8)])
                            lo = builder.shuffle_vector(xs[0], xs[1], m8)
                            hi8 = builder.shuffle_vector(xs[2], xs[3], m8)
                            y = builder.shuffle_vector(lo, hi8, ir.Constant(
                                ir.VectorType(i32, 16), list(range(16))))
                        builder.call(store, [y, k.vptr(qp, add(at, mul(plane, c(bb)))),
                                             ir.Constant(i32, 4), smask])
                        if bb < 2:
                            sat = add(shbase, sub(mul(vecs.index, c(16)), c(1)))
                            builder.call(store, [y, k.vptr(qp, add(sat, mul(plane, c(bb)))),
                                                 ir.Constant(i32, 4), shmask])
            return context.get_dummy_value()

        return sig, codegen

    return fill


def _store_channel(s: int, outs: int = 0):
    """An intrinsic writing one output channel from its ``s * s`` output phases, in LLVM IR:
    ``put(q, qbase, ostride, pitch, oh, ow, nrow, out, obase)``: ``out[obase + y ow + x] =
    q[qbase + (s (y % s) + x % s) ostride + (y // s) pitch + x // s]`` for ``y < oh``, ``x < ow``
    (per row ``nrow`` groups of ``s`` vectors interleaved; masked stores at the row's end).
    ``outs`` 1 or 2 (``ow <= 16 outs``, ``nrow`` 1): a row is that many vectors, 3 or 4
    shuffles (``s`` 4; 1 for ``s`` 2, ``outs`` 1) and that many stores (against ``s`` stores
    and ``s log2 s`` shuffles; 16ch 32x32, one thread, batch 128, warm: 3.38 -> 3.30 ms)."""

    @intrinsic
    def put(typingctx, q, qbase, ostride, pitch, oh, ow, nrow, out, obase):
        sig = types.void(q, qbase, ostride, pitch, oh, ow, nrow, out, obase)

        def codegen(context, builder, signature, args):
            k = _IR(context, builder, signature, args)
            add, mul, c = builder.add, builder.mul, k.const
            qp, op = k.data(0), k.data(7)
            qbase, ostride, pitch, oh, ow, nrow, obase = (
                k.integer(i) for i in (1, 2, 3, 4, 5, 6, 8))
            store = _masked(k, "store")
            mt = ir.VectorType(k.i32, 16)
            lo_m = ir.Constant(mt, [l // 2 + 16 * (l % 2) for l in range(16)])
            hi_m = ir.Constant(mt, [8 + l // 2 + 16 * (l % 2) for l in range(16)])

            def zip2(a, b):
                return (builder.shuffle_vector(a, b, lo_m), builder.shuffle_vector(a, b, hi_m))

            with cgutils.for_range(builder, nrow) as vecs:
                starts = [add(mul(vecs.index, c(16 * s)), c(16 * t))
                          for t in range(outs or s)]
                masks = [_lanes_in(k, x0, c(0), ow) for x0 in starts]
                with cgutils.for_range(builder, oh) as rows:
                    y = rows.index
                    sbase = add(qbase, add(mul(mul(builder.urem(y, c(s)), c(s)), ostride),
                                           mul(builder.udiv(y, c(s)), pitch)))
                    rbase = add(obase, mul(y, ow))
                    at = add(sbase, mul(vecs.index, c(16)))
                    xs = [k.vload(qp, add(at, mul(ostride, c(u)))) for u in range(s)]
                    if outs == 2 and s == 4:  # the first half of the wide interleave
                        zs = zip2(zip2(xs[0], xs[2])[0], zip2(xs[1], xs[3])[0])
                    elif outs:
                        if s == 2:  # lane x: phase x % 2, element x // 2
                            z = builder.shuffle_vector(xs[0], xs[1], lo_m)
                        else:  # pairs of phases, then lane x from phase x % 4, element x // 4
                            a0 = builder.shuffle_vector(xs[0], xs[1], lo_m)
                            b0 = builder.shuffle_vector(xs[2], xs[3], lo_m)
                            z = builder.shuffle_vector(a0, b0, ir.Constant(mt, [
                                2 * (x // 4) + x % 4 + (14 if x % 4 >= 2 else 0)
                                for x in range(16)]))
                        zs = (z,)
                    elif s == 2:
                        zs = zip2(xs[0], xs[1])
                    else:
                        a0, a1 = zip2(xs[0], xs[2])
                        b0, b1 = zip2(xs[1], xs[3])
                        zs = (*zip2(a0, b0), *zip2(a1, b1))
                    for z, x0, mk in zip(zs, starts, masks, strict=True):
                        builder.call(store, [z, k.vptr(op, add(rbase, x0)),
                                             ir.Constant(k.i32, 4), mk])
            return context.get_dummy_value()

        return sig, codegen

    return put


_B2T = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], dtype=float)
_A2T = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], dtype=float)
_in2, _in4 = _separable(_B2T), _separable(_wino.B4T, _rows_b4)
_out2, _out4 = _separable(_A2T), _separable(_wino.A4T, _rows_a4)
_fill2, _fill4 = _fill_channel(2), _fill_channel(4)
_fill2n, _fill4n = _fill_channel(2, True), _fill_channel(4, True)
_put2, _put4 = _store_channel(2), _store_channel(4)
_put2n, _put4n = _store_channel(2, 1), _store_channel(4, 1)
_put4m = _store_channel(4, 2)


@numba.njit(cache=True)
def layout(tile, h, w, k, span):  # pragma: no cover - numba
    """``(th, tw, pitch, length, rows, plane, nrow, blocks, ostride)`` of :func:`forward` for
    ``k`` images side by side: tiles per column and row of one image, the pitch of the phase
    planes (``k tw``: the tiles of the images side by side, every one computed and kept), the
    tiles of the ``k`` images in that layout, the rows and elements of one phase plane, the
    16-tile vectors per phase row of one image (its tiles and one more column), the blocks of
    ``span`` tiles covering the tiles, and the elements per output phase plane."""
    th, tw = (h + tile - 1) // tile, (w + tile - 1) // tile
    pitch = k * tw
    length = th * pitch
    nrow = (tw + 16) // 16
    blocks = (length + span - 1) // span
    # the output phases an odd number of cache lines apart: the 16 vectors the output
    # transform stores together then fall in different L1 sets (one run, 16x32 F(4x4, 3x3),
    # 2 images side by side: 0.71 -> 0.35 ms for the transform, one thread, batch 128)
    ostride = blocks * span + 16 * nrow
    return th, tw, pitch, length, th + 1, (th + 1) * pitch, nrow, blocks, \
        ostride + 16 * (1 - ostride // 16 % 2)


@numba.njit(cache=True)
def _mstride(nfp, span):  # pragma: no cover - numba
    """The elements from one ``xi`` to the next in the products: an odd number of cache
    lines (the output transform loads 16 or 36 vectors at this stride; a multiple of 4 KiB
    apart they share L1 sets)."""
    return nfp * span + 16 * (1 - nfp * span // 16 % 2)


#: prefetch the output's lines a group of channels ahead of the store (one thread, batch 128,
#: cold, ms, off / on: BatchNorm + relu 32ch 16x16 3.44 / 3.01, 64ch 8x8 2.64 / 2.44; with the
#: residual addend and second output 3.94 / 3.54, 2.89 / 2.61)
PREFETCH = True

#: the most blocks of tiles a chunk of images may have for :func:`forward` to run it fused
#: (:func:`_fused_chunk`: its transformed inputs and products held for all its blocks)
FUSED_BLOCKS = 4

#: output channels :func:`forward` transforms and stores at a time where a chunk of images is
#: fused (their output phases stay in L1: 8 channels of 32-lane phases, 25 KB); one
#: thread, batch 128, cold, ms, all channels / 4 / 8 / 16: 32ch 16x16 2.81 / 2.69 / 2.44 /
#: 2.31, 64ch 8x8 2.06 / 1.89 / 2.32 / 1.80 (loaded machine: noisy); 1 and 2 slower
STORE_GROUP = 8

#: the numbers of images :func:`forward` may lay side by side in its phase planes
SIDE_BY_SIDE = (1, 2, 3, 4, 5, 6, 8, 12, 16)


def _lanes(h: int, w: int, tile: int, k: int, span: int, n: int) -> int:
    """Tile lanes :func:`forward` computes for ``n`` images, ``k`` side by side (the last
    chunk of fewer images laid out for those)."""
    whole, rest = divmod(n, k)
    lanes = whole * layout(tile, h, w, k, span)[7]
    if rest:
        lanes += layout(tile, h, w, rest, span)[7]
    return lanes * span


def plan(h: int, w: int, f: int, tile: int, n: int | None = None) -> tuple[int, int]:
    """``(variant, images side by side)`` of :func:`forward`: of the :data:`VARIANTS` and
    :data:`SIDE_BY_SIDE` (at most ``n``, the images of one call, when given: its last chunk
    counted), the fewest tile lanes per image at the variant's rate (:data:`RATES`), ties to
    the fewer images."""
    if n is not None and n < 1:
        raise ValueError(f"plan: n must be at least 1, not {n}")
    best, cost = None, 0.0
    for var, (ocb, nv) in enumerate(VARIANTS):
        fp = f + -f % ocb
        for k in SIDE_BY_SIDE:
            if n is not None and k > n:
                break
            count = k if n is None else n
            lanes = _lanes(h, w, tile, k, 16 * nv, count) * fp / count / RATES[var]
            if best is None or lanes < cost * 0.999:
                best, cost = (var, k), lanes
    return best


def scratch_sizes(c: int, h: int, w: int, f: int, tile: int, var: int, k: int
                  ) -> tuple[int, int, int, int]:
    """Elements of the ``q``, ``vb``, ``mb`` and ``oq`` scratch of :func:`forward`."""
    ocb, nv = VARIANTS[var]
    span = 16 * nv
    _, _, pitch, _, _, plane, _, blocks, ostride = layout(tile, h, w, k, span)
    fp = f + -f % ocb
    xs = positions(tile)
    # q: ``tile (tile + 2)`` phase planes a channel; the reads of the last block run up to
    # ``span + pitch + 1`` past the planes; vb and mb: every block of a fused chunk (the
    # batch's last chunk may be fused where whole ones are not)
    held = min(blocks, FUSED_BLOCKS)
    return (c * tile * (tile + 2) * plane + blocks * span + pitch + 16, held * xs * c * span,
            held * xs * _mstride(fp, span), f * tile * tile * ostride)


@numba.njit(inline="always", **_SER)
def _fill_images(xflat, tile, n0, nb, nch, c, h, w, q, base, plane, pitch, nrow, tw, lo, hi
                 ):  # pragma: no cover - numba
    """The phases of channel ``c`` of images ``[n0, n0 + nb)`` side by side from ``q[base]``
    (:func:`_fill_channel`: the narrow form for rows of at most 16)."""
    for j in range(nb):
        at = ((n0 + j) * nch + c) * h * w
        d0 = base + j * tw
        if tile == 2 and w <= 16:
            _fill2n(xflat, at, h, w, q, d0, plane, pitch, nrow, tw, lo, hi)
        elif tile == 2:
            _fill2(xflat, at, h, w, q, d0, plane, pitch, nrow, tw, lo, hi)
        elif w <= 16:
            _fill4n(xflat, at, h, w, q, d0, plane, pitch, nrow, tw, lo, hi)
        else:
            _fill4(xflat, at, h, w, q, d0, plane, pitch, nrow, tw, lo, hi)


@numba.njit(**_SER)
def forward(x, upk, bias, tile, var, k, q, vb, mb, oq, out, epi):  # pragma: no cover - numba
    """``out`` (N, F, H, W) = the 3x3 stride-1 pad-1 convolution of ``x`` (N, C, H, W) plus
    ``bias`` (F,) by Winograd F(tile x tile, 3x3), ``upk`` = :func:`pack_weight` (w, tile,
    ocb of ``var``), ``k`` images side by side (:func:`plan`; the batch's last chunk of fewer
    laid out for those); ``q``, ``vb``, ``mb`` and ``oq`` flat scratch of
    :func:`scratch_sizes`; finished by the epilogue ``epi``
    (:meth:`mxlite.kernels.epilogue.Epilogue.args` without bias, its addend and second output
    shaped as ``out``; :data:`mxlite.kernels.epilogue.NONE`: none) in :func:`store`.

    Per ``k`` images: the row / column phases of each channel into ``q`` (the images side by
    side); then per block of ``16 nv`` tiles (in the cache): the input transform of all
    channels into ``vb``, :func:`products` into ``mb``, the output transform into the
    output phases ``oq``; then :func:`store`.  Chunks of at most :data:`FUSED_BLOCKS` blocks
    (ResNet-20's layers: one block at 32ch 16x16 and 64ch 8x8, two at 16ch 32x32) run
    :func:`_fused_chunk` instead: each channel's phases through the input transform as soon as
    they are filled, in one channel's planes reused (in L1), and the output transform and
    store a few channels at a time (one thread, batch 128, warm, ms: 32ch 16x16 2.07 -> 1.84,
    64ch 8x8 1.78 -> 1.59 for the first; 16ch 32x32 3.90 -> 3.33 for two blocks)."""
    n_img, nch, h, w = x.shape
    nf = out.shape[1]
    ocb, nv = VARIANTS[var]
    span = 16 * nv
    nfp = nf + (ocb - nf % ocb) % ocb
    e = tile + 2
    soff = np.empty(e * e, np.int64)
    moff = np.empty(e * e, np.int64)
    mstride = _mstride(nfp, span)
    for xi in range(e * e):
        moff[xi] = xi * mstride
    zero = np.zeros(1, np.float32)
    xflat = x.reshape(-1)
    laid, lo, hi = 0, 0, 0
    for n0 in range(0, n_img, k):
        nb = min(k, n_img - n0)
        _, tw, pitch, _, rows, plane, nrow, blocks, ostride = layout(tile, h, w, nb, span)
        cstride = tile * e * plane
        fstride = tile * tile * ostride
        fused = blocks <= FUSED_BLOCKS
        if nb != laid:
            laid = nb
            # element (i, j) of a tile: phase (i % tile, j) for j < tile, else the shifted
            # phase (i % tile, j - tile); the tile row i // tile down
            for i in range(e):
                for j in range(e):
                    ph = (i % tile) * tile + j if j < tile else \
                        tile * tile + (i % tile) * 2 + j - tile
                    soff[e * i + j] = ph * plane + (i // tile) * pitch
            # the last block's lanes past the tiles read here: zeros, never NaN or denormal
            held = 1 if fused else nch
            q[held * cstride:held * cstride + blocks * span + pitch + 16] = 0
            lo, hi = 0, rows * tile
        if fused:
            _fused_chunk(xflat, upk, bias, tile, var, n0, nb, nch, h, w, q, vb, mb, oq, out, epi,
                         soff, moff, mstride, lo, hi)
            lo, hi = 1, h + 1  # the rows of the pad once per layout: the rest keep them
            continue
        for c in range(nch):
            _fill_images(xflat, tile, n0, nb, nch, c, h, w, q, c * cstride, plane, pitch,
                         nrow, tw, lo, hi)
        lo, hi = 1, h + 1
        for blk in range(blocks):
            t0 = blk * span
            for c in range(nch):
                if tile == 2:
                    _in2(q, c * cstride + t0, soff, vb, c * e * e * span, span, nv, zero, 0)
                else:
                    _in4(q, c * cstride + t0, soff, vb, c * e * e * span, span, nv, zero, 0)
            products(vb[:nch * e * e * span], upk, var, nch, nfp, mstride, mb)
            for f in range(nf):
                if tile == 2:
                    _out2(mb, f * span, moff, oq, f * fstride + t0, ostride, nv, bias, f)
                else:
                    _out4(mb, f * span, moff, oq, f * fstride + t0, ostride, nv, bias, f)
        store(oq, tile, h, w, nb, span, out, n0, nb, epi, 0, nf)


@numba.njit(**_SER)
def _fused_chunk(xflat, upk, bias, tile, var, n0, nb, nch, h, w, q, vb, mb, oq, out, epi,
                 soff, moff, mstride, lo, hi):  # pragma: no cover - numba
    """Images ``[n0, n0 + nb)`` of :func:`forward` in at most :data:`FUSED_BLOCKS` blocks:
    each channel's phases (one channel's planes, reused: in L1) through the input transform
    of every block as soon as they are filled (``vb``, ``mb``: the blocks one after the
    other); the products of each block; then per :data:`STORE_GROUP` output channels the
    output transform of every block and the store (their output phases in L1), the next
    group's output lines prefetched (:data:`PREFETCH`)."""
    nf = out.shape[1]
    ocb, nv = VARIANTS[var]
    span = 16 * nv
    nfp = nf + (ocb - nf % ocb) % ocb
    e = tile + 2
    _, tw, pitch, _, _, plane, nrow, blocks, ostride = layout(tile, h, w, nb, span)
    fstride = tile * tile * ostride
    vbs = nch * e * e * span
    mbs = e * e * mstride
    zero = np.zeros(1, np.float32)
    for c in range(nch):
        _fill_images(xflat, tile, n0, nb, nch, c, h, w, q, 0, plane, pitch, nrow, tw, lo, hi)
        lo, hi = 1, h + 1
        for blk in range(blocks):
            at = blk * vbs + c * e * e * span
            if tile == 2:
                _in2(q, blk * span, soff, vb, at, span, nv, zero, 0)
            else:
                _in4(q, blk * span, soff, vb, at, span, nv, zero, 0)
    if PREFETCH:
        _fetch_group(out, n0, nb, 0, min(nf, STORE_GROUP))
    for blk in range(blocks):
        products(vb[blk * vbs:(blk + 1) * vbs], upk, var, nch, nfp, mstride,
                 mb[blk * mbs:(blk + 1) * mbs])
    for f0 in range(0, nf, STORE_GROUP):
        f1 = min(nf, f0 + STORE_GROUP)
        if PREFETCH and f1 < nf:
            _fetch_group(out, n0, nb, f1, min(nf, f1 + STORE_GROUP))
        for f in range(f0, f1):
            for blk in range(blocks):
                at = (f - f0) * fstride + blk * span
                if tile == 2:
                    _out2(mb, blk * mbs + f * span, moff, oq, at, ostride, nv, bias, f)
                else:
                    _out4(mb, blk * mbs + f * span, moff, oq, at, ostride, nv, bias, f)
        store(oq, tile, h, w, nb, span, out, n0, nb, epi, f0, f1)


def _prefetcher():
    """An intrinsic ``fetch(arr, start, stop)``: ``llvm.prefetch`` (read, into L2) of the
    cache lines of the flat float32 ``arr[start:stop]``, one every 16 elements."""

    @intrinsic
    def fetch(typingctx, arr, start, stop):
        sig = types.void(arr, start, stop)

        def codegen(context, builder, signature, args):
            k = _IR(context, builder, signature, args)
            ptr = k.data(0)
            start, stop = k.integer(1), k.integer(2)
            i8p = ir.IntType(8).as_pointer()
            fty = ir.FunctionType(ir.VoidType(), [i8p, k.i32, k.i32, k.i32])
            pf = cgutils.get_or_insert_function(builder.module, fty, "llvm.prefetch.p0")
            lines = builder.sdiv(builder.add(builder.sub(stop, start), k.const(15)), k.const(16))
            with cgutils.for_range(builder, lines) as loop:
                at = builder.add(start, builder.mul(loop.index, k.const(16)))
                addr = builder.bitcast(builder.gep(ptr, [at]), i8p)
                builder.call(pf, [addr, ir.Constant(k.i32, 0), ir.Constant(k.i32, 2),
                                  ir.Constant(k.i32, 1)])
            return context.get_dummy_value()

        return sig, codegen

    return fetch


_fetch = _prefetcher()


@numba.njit(inline="always", **_SER)
def _fetch_group(out, n0, nb, f0, f1):  # pragma: no cover - numba
    """Prefetch channels ``[f0, f1)`` of images ``[n0, n0 + nb)`` of ``out`` (the store's
    writes then find their lines in L2; the epilogue's addend and second output as well
    measured slower: 3 arrays a group ahead crowd the caches)."""
    nf, hw = out.shape[1], out.shape[2] * out.shape[3]
    flat = out.reshape(-1)
    for j in range(nb):
        _fetch(flat, ((n0 + j) * nf + f0) * hw, ((n0 + j) * nf + f1) * hw)



@numba.njit(inline="always", **_SER)
def _one_row(a):  # pragma: no cover - numba
    """``a`` (N, F, H, W) as (N, F, 1, H W): a channel one row (an empty ``a`` stays empty)."""
    return a.reshape(a.shape[0], a.shape[1], 1, a.shape[2] * a.shape[3])


@numba.njit(**_SER)
def store(oq, tile, oh, ow, k, span, out, n0, nb, epi, f0, f1):  # pragma: no cover - numba
    """The store of :func:`forward`: channels ``[f0, f1)`` of images ``[n0, n0 + nb)`` of
    ``out`` (N, F, OH, OW) from the output phases ``oq`` (channel ``f0`` first) of ``k >= nb``
    images side by side (each row interleaved from
    its ``tile`` phases; the tiles' pixels past the output's edge dropped), finished by the
    epilogue ``epi`` (:meth:`mxlite.kernels.epilogue.Epilogue.args`, its bias empty: the
    output transform added it).  The one place the output is written.

    With an epilogue each channel is interleaved into a small scratch (in L1) and copied
    out by :func:`mxlite.kernels.epilogue.store_channel` (the direct kernel's copy-out
    arithmetic: the unfused graph's bits).  Not in place: with its source and destination
    the same memory, LLVM's run-time alias check sends every row to the scalar loop (one
    thread, batch 128, BatchNorm + relu, 16ch 32x32: +2.1 ms in place, +0.1 ms so; 32ch
    16x16 and 64ch 8x8: +0.3 ms).  The epilogue sees each channel as one row of ``oh ow``
    (the same arithmetic a pixel; one loop a channel, not ``oh`` short ones: with BatchNorm
    + relu, one thread, batch 128, warm, ms: 32ch 16x16 2.44 -> 2.24, 64ch 8x8 2.28 -> 2.04)."""
    nf = out.shape[1]
    _, tw, pitch, _, _, _, nrow, _, ostride = layout(tile, oh, ow, k, span)
    fstride = tile * tile * ostride
    flat = out.reshape(-1)
    finish = not is_plain(epi)
    # the channel's rows, for the epilogue (the interleave's masked stores end at ``ow``)
    chan = np.empty(oh * ow if finish else 0, np.float32)
    rows_out = _one_row(out)
    rows_epi = (epi[0], epi[1], epi[2], epi[3], _one_row(epi[4]), _one_row(epi[5]))
    for j in range(nb):
        n = n0 + j
        for f in range(f0, f1):
            src = (f - f0) * fstride + j * tw
            dst, at = (chan, 0) if finish else (flat, (n * nf + f) * oh * ow)
            if tile == 2 and ow <= 16:
                _put2n(oq, src, ostride, pitch, oh, ow, nrow, dst, at)
            elif tile == 2:
                _put2(oq, src, ostride, pitch, oh, ow, nrow, dst, at)
            elif ow <= 16:
                _put4n(oq, src, ostride, pitch, oh, ow, nrow, dst, at)
            elif ow <= 32:
                _put4m(oq, src, ostride, pitch, oh, ow, nrow, dst, at)
            else:
                _put4(oq, src, ostride, pitch, oh, ow, nrow, dst, at)
            if finish:
                store_channel(chan, 0, oh * ow, rows_out, n, f, rows_epi)
