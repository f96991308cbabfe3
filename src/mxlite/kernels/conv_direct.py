"""Direct 3x3 pad-1 float32 convolutions of stride 1 and 2 for thin layers (ResNet-20), their
data and weight gradients: register tiles written in LLVM IR.

The tiles (:func:`_vector_tile`, :func:`_gradient_tile`, :func:`_lane_gradient_tile`) are
Numba intrinsics that emit their loops on ``<16 x float>`` values with ``llvm.fma.v16f32``;
the accumulators are SSA values, so LLVM keeps them in zmm registers across the whole
reduction loop (``inspect_asm``: no zmm register moves to or from the stack among the FMAs).
Each marks its calling kernel ``prefer-vector-width=512`` (:func:`_mark`): Numba's target
prefers 256-bit vectors on AVX-512 CPUs and would split every vector in two.

**Flat planes.**  The output is computed over a *flattened* input plane: output pixel ``(y,
x)`` at flat position ``p = y pitch + x`` reads tap ``(ky, kx)`` at ``p + toff[3 ky + kx]``
(:func:`forward_offsets`), so 16 consecutive flat positions are one vector load per tap
whatever the width (a vector may span rows).  One image of stride 1 is laid out as its rows
one after the other, ``pitch = W``, between a zero row above and below (:func:`fill_flat`):
every lane is an output pixel, and the taps of kernel column 0 (2), which at a row's first
(last) pixel would read the row before's last (the next row's first) pixel, are merge-masked
FMAs there (``vfmadd231ps zmm{k}``, one 16-bit mask a vector from :func:`forward_masks`,
loaded into mask registers once per tile).  That plane is the image's own rows, so the
tiles whose taps stay inside a C-contiguous image read ``x`` in place (:func:`direct_tiles`).
Stride 2 splits the image into its 4 row/column
phases ``x[a::2, b::2]`` of rows of ``OW`` (:func:`fill_phases`; each row split into even
and odd columns by one shuffle per 16 pairs, :func:`_split_row`), in which every tap is again
a contiguous shift and only kernel column 0 needs a mask.  Tiny images can still be laid 2
or 4 side by side with a zero column between rows (:func:`fill_side_by_side`, all masks
set).  A tile is ``ocb`` output channels x 3 vectors (:data:`VARIANTS`: 8 x 3 or 4 x 3; per
input channel and tap 3 loads, ``ocb`` broadcast weights, ``3 ocb`` FMAs), the last tile of
a plane 1 or 2 vectors where its length is not a whole number of tiles; :func:`variant`
chooses by the tiles' measured rates (:data:`RATES`).

**Gradients.**  The stride-1 data gradient is :func:`forward` on ``dy`` with the flipped,
transposed weights (:func:`flipped`); the stride-2 one is 4 stride-1 correlations of ``dy``,
one per phase of the padded data gradient, with 4, 2, 2 and 1 taps (:func:`data_grad_s2`).
The weight gradient has the output channels in the lanes (:func:`weight_grad_lanes`: 2 x 16
channels x 9 taps accumulators, per pixel 2 vector loads of the pixel-major ``dy`` and 9
broadcast inputs) or, for 16 output channels, the pixels (:func:`weight_grad_planes`: 3
channels x 9 taps of per-lane partial sums over the planes with zero columns of :func:`fill`,
``dy`` zero in the discarded lanes).

Measured on the development machine (one thread, batch 128, forward, process CPU time, the
variants interleaved in one process, medians of 9-11; before -> now): 16ch 32x32 4.9 -> 4.8
ms with flat planes (and 5.4 -> 4.9 in another run when reading ``x`` in place was added),
32ch 16x16 4.4 -> 3.9 (155 GFLOP/s of useful work), 64ch 8x8 4.2 -> 3.8 (160), 16 -> 32ch
stride 2 3.5 -> 2.5, 32 -> 64ch stride 2 3.6 -> 2.2, 3 -> 16ch 32x32 1.33 -> 1.19 (in place
1.26 -> 1.16).  Of the 16-channel layer's time the tiles take 3.4 ms (180 GFLOP/s; 200 with
the planes in L1, 232 the FMA peak of one core), the copy to ``out`` 0.3-0.45.
``bench/results/conv-variants.md`` has the variants tried.

**Cold data.**  In the graph a layer's input, output and residual addend come from memory
(batch 128 of 16 x 32 x 32 is 8 MB each), not from cache: :func:`forward` prefetches into
L2 (``prefetcht1``, :func:`_prefetch`) the next image's input while it computes this one,
spread evenly over the image's tiles (:func:`prefetch_spans`, :func:`prefetch_lines`; the
addresses clamped into the arrays, :func:`line_address`), and for layers of few input
channels (:data:`PREFETCH_OUTPUT_RATIO`: conv0) this image's output lines too.  Measured
(one thread, batch 128, process CPU ms, interleaved, medians of 21, each call on buffers
not touched for over 1 GiB, ``bench/conv.py direct --cold 1024``, a loaded machine; before
-> now, with the one-call copy-out of :func:`mxlite.kernels.epilogue.store_channels`),
BatchNorm + relu copy-out: 16ch 32x32 6.07 -> 5.35, 32ch 16x16 5.38 -> 4.65, 64ch 8x8 4.87
-> 4.55, 16 -> 32ch /2 4.19 -> 3.73, 32 -> 64ch /2 3.50 -> 3.03, 3 -> 16ch 2.26 -> 1.65;
the residual sum and BatchNorm + relu into a second output: 16ch 6.99 -> 6.47.  Tried and
measured slower: prefetching the residual addend and the outputs of the other layers
during the tiles, copying the image before out between this one's tiles, non-temporal
stores of the outputs (through a staging copy), a prefetch distance of two images.
"""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from . import PARALLEL_THRESHOLD  # noqa: F401  (imported first: sets up threads and the cache)
from .conv_winograd import pad_images
from .epilogue import store_image

_SER = {"cache": True, "nogil": True, "fastmath": True}

class _IR:
    """What the tile intrinsics' code generators share: the arguments as pointers and int64
    values, ``<16 x float>`` loads, stores and broadcasts, the FMA, and accumulators (allocas
    of whole vectors, loaded and stored whole, which mem2reg turns into SSA values: registers).
    Marks the calling kernel ``prefer-vector-width=512``."""

    def __init__(self, context, builder, signature, args):
        self.context, self.b, self.tys, self.args = context, builder, signature.args, args
        _mark(builder.function, '"prefer-vector-width"="512"')
        self.vec = ir.VectorType(ir.FloatType(), 16)
        self.i64, self.i32 = ir.IntType(64), ir.IntType(32)
        self._fma = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(self.vec, [self.vec] * 3), "llvm.fma.v16f32")

    def data(self, i):
        """Argument ``i`` (an array, or already a data pointer): its data pointer."""
        if isinstance(self.tys[i], types.CPointer):
            return self.args[i]
        return self.context.make_array(self.tys[i])(self.context, self.b, self.args[i]).data

    def integer(self, i):
        """Argument ``i`` (an integer) as int64."""
        return self.context.cast(self.b, self.args[i], self.tys[i], types.int64)

    def const(self, v):
        return ir.Constant(self.i64, v)

    def vptr(self, ptr, at):
        """A ``<16 x float>*`` at element ``at`` of ``ptr``."""
        return self.b.bitcast(self.b.gep(ptr, [at]), self.vec.as_pointer())

    def vload(self, ptr, at):
        return self.b.load(self.vptr(ptr, at), align=4)

    def vstore(self, value, ptr, at):
        self.b.store(value, self.vptr(ptr, at), align=4)

    def splat(self, ptr, at):
        """The float at element ``at`` of ``ptr`` in all 16 lanes."""
        undef = ir.Constant(self.vec, ir.Undefined)
        value = self.b.load(self.b.gep(ptr, [at]))
        return self.b.shuffle_vector(self.b.insert_element(undef, value, ir.Constant(self.i32, 0)),
                                     undef, ir.Constant(ir.VectorType(self.i32, 16), [0] * 16))

    def accumulators(self, rows, cols):
        """``rows x cols`` zero vector accumulators."""
        return [[cgutils.alloca_once_value(self.b, ir.Constant(self.vec, None))
                 for _ in range(cols)] for _ in range(rows)]

    def fma_into(self, acc, a, b):
        """``acc += a * b`` (vectors; ``acc`` an accumulator)."""
        self.b.store(self.b.call(self._fma, [a, b, self.b.load(acc)]), acc)

    def fma_masked(self, acc, a, b, mask):
        """``acc += a * b`` in the lanes where ``mask`` (``<16 x i1>``) is set; a select of
        the FMA and the old value, which the X86 back end emits as one merge-masked FMA."""
        old = self.b.load(acc)
        self.b.store(self.b.select(mask, self.b.call(self._fma, [a, b, old]), old), acc)

    def add_to(self, acc, ptr, at):
        """``ptr[at:at + 16] += acc``."""
        p = self.vptr(ptr, at)
        self.b.store(self.b.fadd(self.b.load(p, align=4), self.b.load(acc)), p, align=4)

    def taps(self, tp, base, n):
        """``base + toff[t]`` for ``t < n`` (``tp`` the int64 tap offsets)."""
        return [self.b.add(base, self.b.load(self.b.gep(tp, [self.const(t)]))) for t in range(n)]


def _vector_tile(ocb: int, nv: int, nt: int, masked: bool = False):
    """An intrinsic computing one tile of ``ocb`` output channels times ``nv`` vectors of 16
    output pixels, summed over ``nt`` taps and all input channels, in LLVM IR on
    ``<16 x float>`` values (the accumulators are SSA values: registers, never the stack):

    ``tile(inp, ibase, cstride, nch, toff, vstride, wgt, wbase, out, obase, ostride, ovstride)``
    sets ``out[obase + o ostride + v ovstride + l]`` (``o < ocb``, ``v < nv``, ``l < 16``) to
    ``sum_{c < nch, t < nt} wgt[wbase + (c nt + t) ocb + o] * inp[ibase + c cstride + toff[t]
    + v vstride + l]``; the arrays are flat float32 (``toff`` int64), offsets in elements.
    Per input channel and tap: ``nv`` unaligned vector loads, ``ocb`` broadcast weights and
    ``ocb nv`` FMAs.  The calling kernel is marked ``prefer-vector-width=512`` (Numba's target
    prefers 256-bit vectors on AVX-512 CPUs, which would split each ``<16 x float>`` in two).

    ``masked`` (``nt = 9``, ``vstride = 16``, ``ibase`` a multiple of 16): two more arguments
    ``msk, mlen`` (uint16: one mask a vector of 16 lanes, bit ``l`` lane ``l``), and the taps
    of kernel column 0 (2) add only in the lanes of vector ``v`` whose bit is set in
    ``msk[ibase / 16 + v]`` (``msk[mlen + ibase / 16 + v]``): merge-masked FMAs
    (``vfmadd231ps zmm{k}``; the masks go from memory to mask registers, never through zmm
    ones), so a plane needs no zero column between its rows (:func:`fill_flat`)."""

    def codegen(context, builder, signature, args):
        k = _IR(context, builder, signature, args)
        add, mul, c = builder.add, builder.mul, k.const
        ip, tp, wp, op = k.data(0), k.data(4), k.data(6), k.data(8)
        ibase, cstride, nch, vstride, wbase, obase, ostride, ovstride = (
            k.integer(i) for i in (1, 2, 3, 5, 7, 9, 10, 11))
        accs = k.accumulators(ocb, nv)
        taps = k.taps(tp, ibase, nt)
        voffs = [mul(vstride, c(v)) for v in range(nv)]
        masks = {}
        if masked:
            # one 16-bit mask a vector, bit l for lane l: loaded straight into a mask register
            mp, mlen = k.data(12), k.integer(13)
            first = builder.lshr(ibase, c(4))
            for col, at in ((0, first), (2, add(first, mlen))):
                masks[col] = [builder.bitcast(builder.load(builder.gep(mp, [add(at, c(v))])),
                                              ir.VectorType(ir.IntType(1), 16))
                              for v in range(nv)]
        with cgutils.for_range(builder, nch) as loop:
            cbase = mul(loop.index, cstride)
            wc = add(wbase, mul(loop.index, c(nt * ocb)))
            for t in range(nt):
                base = add(cbase, taps[t])
                xs = [k.vload(ip, add(base, vo)) for vo in voffs]
                for o in range(ocb):
                    wv = k.splat(wp, add(wc, c(t * ocb + o)))
                    for v in range(nv):
                        if t % 3 in masks:
                            k.fma_masked(accs[o][v], wv, xs[v], masks[t % 3][v])
                        else:
                            k.fma_into(accs[o][v], wv, xs[v])
        for o in range(ocb):
            ob = add(obase, mul(ostride, c(o)))
            for v in range(nv):
                k.vstore(builder.load(accs[o][v]), op, add(ob, mul(ovstride, c(v))))
        return context.get_dummy_value()

    if masked:
        def two_inputs(context, builder, signature, args):
            # tile(first, other, use_other, ...): the planes of ``first`` or ``other``
            use = builder.icmp_unsigned("!=", args[2], ir.Constant(args[2].type, 0))
            data = [context.make_array(signature.args[i])(context, builder, args[i]).data
                    for i in (0, 1)]
            ptr = builder.select(use, builder.bitcast(data[1], data[0].type), data[0])
            inner = types.void(types.CPointer(types.float32), *signature.args[3:])
            return codegen(context, builder, inner, [ptr, *args[3:]])

        @intrinsic
        def tile(typingctx, first, other, use_other, ibase, cstride, nch, toff, vstride, wgt,
                 wbase, out, obase, ostride, ovstride, msk, mlen):
            return types.void(first, other, use_other, ibase, cstride, nch, toff, vstride, wgt,
                              wbase, out, obase, ostride, ovstride, msk, mlen), two_inputs
    else:
        @intrinsic
        def tile(typingctx, inp, ibase, cstride, nch, toff, vstride, wgt, wbase, out, obase,
                 ostride, ovstride):
            return types.void(inp, ibase, cstride, nch, toff, vstride, wgt, wbase, out, obase,
                              ostride, ovstride), codegen
    return tile


def _mark(function, attr):
    """Add the string attribute ``attr`` to an LLVM function (llvmlite's ``AttributeSet.add``
    accepts only enum attributes).  Should a future llvmlite store attributes differently,
    the kernel still compiles, with Numba's default vector width
    (tests/operator/test_conv_paths.py then fails)."""
    try:
        set.add(function.attributes, attr)
    except TypeError:
        pass


#: the tiles (output channels, 16-pixel vectors) of :func:`forward`, by variant number; the
#: last tile of a plane has fewer vectors where its flat length is not a whole number of tiles
VARIANTS = ((8, 3), (4, 3))
#: GFLOP/s of each variant's tiles of 1, 2 and 3 vectors (one thread, 16 input channels, data
#: in L1, every lane counted; 4 x 5, the second variant before, ran at 159): the rates
#: :func:`variant` weighs lanes by
RATES = ((171.0, 189.0, 202.0), (128.0, 155.0, 177.0))
_tile_8x3, _tile_8x2, _tile_8x1 = (_vector_tile(8, nv, 9, True) for nv in (3, 2, 1))
_tile_4x3, _tile_4x2, _tile_4x1 = (_vector_tile(4, nv, 9, True) for nv in (3, 2, 1))


@numba.njit(cache=True)
def geometry(h, w, stride, nv, k):  # pragma: no cover - numba
    """``(pitch, plane, oh, ow, length, lp)`` of the planes with zero columns (:func:`fill`,
    which :func:`weight_grad_planes` reads, and :func:`fill_side_by_side`, :func:`forward`'s
    for tiny images; :func:`forward_geometry` has the flat ones): the row pitch of the padded
    input (stride 1: ``k`` images side by side, each row ``W + 1``: one
    zero column before each image's row, which is also the pad after the one before) or of
    its 4 row/column phases (stride 2, ``k = 1``), the elements of one channel's planes, the
    output size, the flat output length ``(oh - 1) pitch + (k - 1) (W + 1) + ow`` and that
    rounded up to whole tiles of ``16 nv`` lanes."""
    oh, ow = (h - 1) // stride + 1, (w - 1) // stride + 1
    if stride == 1:
        pitch = k * (w + 1)
        plane = (h + 2) * pitch
    else:
        pitch = (w + 3) // 2
        plane = 4 * ((h + 3) // 2) * pitch
    length = (oh - 1) * pitch + (k - 1) * (w + 1) + ow
    span = 16 * nv
    return pitch, plane, oh, ow, length, (length + span - 1) // span * span


@numba.njit(cache=True)
def tap_offsets(h, w, stride, k, toff):  # pragma: no cover - numba
    """``toff[3 ky + kx]``: where tap ``(ky, kx)`` reads, relative to the output pixel's flat
    position, in one channel's planes (:func:`fill`, :func:`fill_side_by_side`); returns the
    largest."""
    pitch = k * (w + 1) if stride == 1 else (w + 3) // 2
    phase = ((h + 3) // 2) * pitch
    top = 0
    for ky in range(3):
        for kx in range(3):
            if stride == 1:
                off = ky * pitch + kx
            else:
                off = ((ky % 2) * 2 + kx % 2) * phase + (ky // 2) * pitch + kx // 2
            toff[ky * 3 + kx] = off
            top = max(top, off)
    return top


@numba.njit(cache=True)
def forward_geometry(h, w, stride, k):  # pragma: no cover - numba
    """:func:`geometry` of :func:`forward`'s planes, ``lp`` in whole vectors of 16 lanes:
    one image of stride 1 (``k = 1``) in a *flat* plane (:func:`fill_flat`: rows of ``pitch =
    W``, no zero column, the taps of kernel columns 0 and 2 masked at the row ends); stride 2
    in 4 flat phases of rows of ``pitch = OW`` (:func:`fill_phases`, ``plane`` the 4 of one
    channel); else ``k`` images side by side (:func:`fill_side_by_side`)."""
    if stride == 1 and k == 1:
        length = h * w
        return w, (h + 2) * w + 2, h, w, length, (length + 15) // 16 * 16
    if stride == 2:
        oh, ow = (h + 1) // 2, (w + 1) // 2
        length = oh * ow
        return ow, 4 * ((oh + 1) * ow + 2), oh, ow, length, (length + 15) // 16 * 16
    return geometry(h, w, stride, 1, k)


@numba.njit(cache=True)
def forward_offsets(h, w, stride, k, toff):  # pragma: no cover - numba
    """:func:`tap_offsets` of :func:`forward`'s planes (:func:`forward_geometry`)."""
    if stride == 1 and k == 1:
        for t in range(9):
            toff[t] = (t // 3) * w + t % 3
        return 2 * w + 2
    if stride == 2:
        # tap (ky, kx) of output (i, j) reads input (2 i + ky - 1, 2 j + kx - 1): row phase 1
        # (odd rows) at row i - 1 for ky = 0, phase 0 at i for ky = 1, phase 1 at i for ky =
        # 2; columns likewise (kernel column 0 reads the odd column j - 1: masked at j = 0)
        oh, ow = (h + 1) // 2, (w + 1) // 2
        size = (oh + 1) * ow + 2
        top = 0
        for t in range(9):
            ky, kx = t // 3, t % 3
            phase = 2 * (ky != 1) + (kx != 1)
            toff[t] = phase * size + 1 + ow - (ky == 0) * ow - (kx == 0)
            top = max(top, toff[t])
        return top
    return tap_offsets(h, w, stride, k, toff)


@numba.njit(cache=True)
def forward_masks(h, w, stride, k, lp, msk):  # pragma: no cover - numba
    """``msk`` (uint16, ``lp / 8``): where the taps of kernel column 0 (``msk[:lp // 16]``)
    and 2 (``msk[lp // 16:]``) add, one 16-bit mask per vector of 16 flat output positions of
    :func:`forward`'s planes (bit ``l``: lane ``l``): in a flat plane not at a row's first
    (last) pixel, whose neighbour there is the row before (after); in the flat phases
    (stride 2) column 0 not at a row's first pixel, column 2 everywhere (its odd column
    ``j`` is in the row, or a zero past an odd width); everywhere in the planes with zero
    columns."""
    nvec = lp // 16
    for v in range(nvec):
        m0 = m2 = 0xFFFF
        if stride == 2 or k == 1:
            pitch = (w + 1) // 2 if stride == 2 else w
            for lane in range(16):
                p = 16 * v + lane
                if p % pitch == 0:
                    m0 &= ~(1 << lane)
                if stride == 1 and p % pitch == pitch - 1:
                    m2 &= ~(1 << lane)
        msk[v] = m0
        msk[nvec + v] = m2


def scratch_sizes(c: int, h: int, w: int, f: int, stride: int, var: int, k: int = 1
                  ) -> tuple[int, int]:
    """Elements of the ``xp`` and ``yp`` scratch arrays :func:`forward` needs for images of
    ``c`` x ``h`` x ``w`` and ``f`` output channels (``xp`` covers the last tile's reads;
    the tiles of every variant end at the same ``lp``)."""
    _, plane, _, _, _, lp = forward_geometry(h, w, stride, k)
    top = forward_offsets(h, w, stride, k, np.empty(9, np.int64))
    return max(c * plane, (c - 1) * plane + lp + top), f * lp


@intrinsic
def _split_row(typingctx, src, at, dst, even, odd, pairs):
    """``split(src, at, dst, even, odd, pairs)`` sets ``dst[even + j] = src[at + 2 j]`` and
    ``dst[odd + j] = src[at + 2 j + 1]`` for ``j < pairs`` (flat float32 arrays, offsets in
    elements), in LLVM IR: per 16 pairs one ``<32 x float>`` load, two shuffles (``vpermt2ps``)
    and two stores, then 8 pairs likewise, then one pair at a time."""

    def codegen(context, builder, signature, args):
        k = _IR(context, builder, signature, args)
        add, mul, c = builder.add, builder.mul, k.const
        sp = builder.gep(k.data(0), [k.integer(1)])
        dp = k.data(2)
        even, odd, pairs = k.integer(3), k.integer(4), k.integer(5)

        def split(j, m):
            wide = ir.VectorType(ir.FloatType(), 2 * m)
            half = ir.VectorType(ir.FloatType(), m)
            value = builder.load(builder.bitcast(builder.gep(sp, [mul(j, c(2))]),
                                                 wide.as_pointer()), align=4)
            for start, to in ((0, even), (1, odd)):
                part = builder.shuffle_vector(
                    value, ir.Constant(wide, ir.Undefined),
                    ir.Constant(ir.VectorType(k.i32, m), list(range(start, 2 * m, 2))))
                builder.store(part, builder.bitcast(builder.gep(dp, [add(to, j)]),
                                                    half.as_pointer()), align=4)

        n16 = builder.udiv(pairs, c(16))
        with cgutils.for_range(builder, n16) as loop:
            split(mul(loop.index, c(16)), 16)
        j = mul(n16, c(16))
        with builder.if_then(builder.icmp_signed(">=", builder.sub(pairs, j), c(8))):
            split(j, 8)
        j = add(j, mul(builder.udiv(builder.sub(pairs, j), c(8)), c(8)))
        with cgutils.for_range(builder, builder.sub(pairs, j)) as loop:
            q = add(j, loop.index)
            for start, to in ((0, even), (1, odd)):
                value = builder.load(builder.gep(sp, [add(mul(q, c(2)), c(start))]))
                builder.store(value, builder.gep(dp, [add(to, q)]))
        return context.get_dummy_value()

    return types.void(src, at, dst, even, odd, pairs), codegen


@numba.njit(**_SER)
def fill_phases(img, plane, xp):  # pragma: no cover - numba
    """The 4 flat phases of one image ``img`` (C, H, W) for the stride-2 :func:`forward`, in
    ``xp``, channel ``c`` from ``c plane``: phase ``2 a + b`` (at ``c plane + (2 a + b)
    size``, ``size = (OH + 1) OW + 2``) holds ``img[c, 2 i + a, 2 j + b]`` at ``1 + (i + 1)
    OW + j`` (``i < OH``, ``j < OW``; zero past the image), after one zero and a zero row,
    before one zero.  Each image row is split into its even and odd columns by
    :func:`_split_row` (rows of unit stride; others one element at a time)."""
    nch, h, w = img.shape
    oh, ow = (h + 1) // 2, (w + 1) // 2
    size = (oh + 1) * ow + 2
    pairs = w // 2
    # rows of unit stride by their offset in img's data (a row view per row would cost a
    # reference count call each: 1.1 against 0.4 ms a batch of 16-channel 32x32 images)
    unit = img.strides[2] == 4
    cs, rs = img.strides[0] // 4, img.strides[1] // 4
    for c in range(nch):
        base = c * plane
        for ph in range(4):
            at = base + ph * size
            xp[at:at + ow + 1] = 0
            xp[at + size - 1] = 0
        for r in range(h):
            even = base + 2 * (r % 2) * size + 1 + (r // 2 + 1) * ow
            if unit:
                _split_row(img, c * cs + r * rs, xp, even, even + size, pairs)
            else:
                for j in range(pairs):
                    xp[even + j] = img[c, r, 2 * j]
                    xp[even + size + j] = img[c, r, 2 * j + 1]
            if w % 2:
                xp[even + pairs] = img[c, r, w - 1]
                xp[even + size + pairs] = 0
        if h % 2:
            # the odd rows' phases end in a zero row
            at = base + 2 * size + 1 + oh * ow
            xp[at:at + ow] = 0
            xp[at + size:at + size + ow] = 0


@intrinsic
def _copy_row(typingctx, src, at, dst, to, n):
    """``copy(src, at, dst, to, n)`` sets ``dst[to + j] = src[at + j]`` for ``j < n`` (flat
    float32 data of any arrays, offsets in elements) in LLVM IR: vectors of 16, then one
    element at a time."""

    def codegen(context, builder, signature, args):
        k = _IR(context, builder, signature, args)
        add, mul, c = builder.add, builder.mul, k.const
        sp = builder.gep(k.data(0), [k.integer(1)])
        dp = builder.gep(k.data(2), [k.integer(3)])
        n = k.integer(4)
        n16 = builder.udiv(n, c(16))
        with cgutils.for_range(builder, n16) as loop:
            j = mul(loop.index, c(16))
            k.vstore(k.vload(sp, j), dp, j)
        j0 = mul(n16, c(16))
        with cgutils.for_range(builder, builder.sub(n, j0)) as loop:
            j = add(j0, loop.index)
            builder.store(builder.load(builder.gep(sp, [j])), builder.gep(dp, [j]))
        return context.get_dummy_value()

    return types.void(src, at, dst, to, n), codegen


@numba.njit(**_SER)
def fill_flat(img, plane, xp, top, bottom):  # pragma: no cover - numba
    """The flat planes of one image ``img`` (C, H, W) in ``xp``, channel ``c`` from ``c
    plane``: one zero, a zero row, the image's rows one after the other (no zero between
    them), a zero row and one zero; pixel ``(y, x)`` at ``1 + (y + 1) W + x``.  Only the rows
    ``y < top`` and ``y >= bottom`` are copied (all: ``top = H``); rows of unit stride by
    :func:`_copy_row` at their offset in ``img``'s data (no row views: their reference counts
    cost more than the copy)."""
    nch, h, w = img.shape
    unit = img.strides[2] == 4
    cs, rs = img.strides[0] // 4, img.strides[1] // 4
    for c in range(nch):
        base = c * plane
        xp[base:base + w + 1] = 0
        for part in range(2):
            y0, y1 = (0, top) if part == 0 else (max(top, bottom), h)
            for y in range(y0, y1):
                at = base + 1 + (y + 1) * w
                if unit:
                    _copy_row(img, c * cs + y * rs, xp, at, w)
                else:
                    for q in range(w):
                        xp[at + q] = img[c, y, q]
        xp[base + 1 + (h + 1) * w:base + plane] = 0


@numba.njit(**_SER)
def fill(img, stride, pitch, plane, cstride, xp):  # pragma: no cover - numba
    """The planes of one image ``img`` (C, H, W) in ``xp``, channel ``c`` from ``c cstride``
    (``plane`` elements each): stride 1, the image zero-padded by one pixel, rows of
    ``pitch`` (``W + 1``: the zero before each row is also the pad after the one before; or
    ``W + 2``); stride 2, the 4 phases ``padded[a::2, b::2]`` (``2 a + b``) of that padded
    image, rows of ``pitch``."""
    nch, h, w = img.shape
    if stride == 1:
        for c in range(nch):
            base = c * cstride
            for q in range(pitch + 1):
                xp[base + q] = 0
            for y in range(h):
                row = xp[base + (y + 1) * pitch + 1:base + (y + 1) * pitch + 1 + w]
                src = img[c, y]
                for q in range(w):
                    row[q] = src[q]
                xp[base + (y + 1) * pitch + w + 1] = 0
                xp[base + (y + 2) * pitch] = 0
            for q in range((h + 1) * pitch + 1, plane):
                xp[base + q] = 0
        return
    rows = plane // (4 * pitch)
    for c in range(nch):
        for a in range(2):
            for b in range(2):
                base = c * cstride + (2 * a + b) * rows * pitch
                for i in range(rows):
                    r = 2 * i + a - 1
                    dst = xp[base + i * pitch:base + (i + 1) * pitch]
                    if r < 0 or r >= h:
                        for j in range(pitch):
                            dst[j] = 0
                        continue
                    src = img[c, r]
                    # dst[j] = padded[r + 1, 2 j + b] = img[c, r, 2 j + b - 1] where in range
                    lo = 1 - b
                    hi = min(pitch, (w - b) // 2 + 1)
                    for j in range(lo):
                        dst[j] = 0
                    for j in range(lo, hi):
                        dst[j] = src[2 * j + b - 1]
                    for j in range(hi, pitch):
                        dst[j] = 0


@numba.njit(**_SER)
def fill_side_by_side(x, n0, k, pitch, plane, xp):  # pragma: no cover - numba
    """Images ``x[n0:n0 + k]`` (fewer at the batch's end: zeros) side by side in planes of
    rows of ``pitch = k (W + 1)``, each row of each image after one zero, the rows between
    two rows of zeros (stride 1)."""
    nch, h, w = x.shape[1], x.shape[2], x.shape[3]
    xp[:nch * plane] = 0
    for j in range(min(k, x.shape[0] - n0)):
        for c in range(nch):
            for y in range(h):
                at = c * plane + (y + 1) * pitch + j * (w + 1) + 1
                row = xp[at:at + w]
                src = x[n0 + j, c, y]
                for q in range(w):
                    row[q] = src[q]


@numba.njit(cache=True)
def direct_tiles(x, lp):  # pragma: no cover - numba
    """``(t0, t1)``: the whole tiles of 48 lanes of a flat plane (stride 1, one image) that
    :func:`forward` runs on ``x`` in place, every tap of every lane inside the image (``t0
    48 >= W + 1``, ``t1 48 + W <= H W - 1``); ``(0, 0)`` where ``x``'s images are not
    C-contiguous."""
    h, w = x.shape[2], x.shape[3]
    if x.strides[3] != 4 or x.strides[2] != 4 * w or x.strides[1] != 4 * h * w:
        return 0, 0
    t0 = min(lp // 48, (w + 48) // 48)
    last = h * w - 1 - w - 48  # the largest first lane of an interior tile
    t1 = min(lp // 48, last // 48 + 1) if last >= 0 else 0
    return t0, max(t0, t1)


@intrinsic
def _prefetch(typingctx, address):
    """``prefetch(address)``: the cache line of the byte ``address`` (an integer) fetched
    into L2 ahead of its use (``llvm.prefetch``, read, locality 2: ``prefetcht1``).  A
    prefetch never faults, but the callers keep ``address`` inside an array
    (:func:`prefetch_lines`)."""

    def codegen(context, builder, signature, args):
        i8p, i32 = ir.IntType(8).as_pointer(), ir.IntType(32)
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]),
            "llvm.prefetch.p0")
        ptr = builder.inttoptr(context.cast(builder, args[0], signature.args[0], types.uint64),
                               i8p)
        builder.call(fn, [ptr, *(ir.Constant(i32, v) for v in (0, 2, 1))])
        return context.get_dummy_value()

    return types.void(address), codegen


@numba.njit(cache=True)
def image_span(a, n, k):  # pragma: no cover - numba
    """``(address, bytes)``: the data of images ``n .. n + k`` of the float32 ``a`` (4-d),
    clipped to the batch; ``(0, 0)`` where there are none or its images are not
    C-contiguous (then nothing of ``a`` is prefetched)."""
    nb, c, h, w = a.shape
    img = c * h * w
    n1 = min(n + k, nb)
    if n < 0 or n >= n1 or img == 0 or a.strides[3] != 4 or a.strides[2] != 4 * w \
            or a.strides[1] != 4 * h * w or (n1 - n > 1 and a.strides[0] != 4 * img):
        return 0, 0
    return a.ctypes.data + n * a.strides[0], 4 * (n1 - n) * img


@numba.njit(cache=True)
def prefetch_spans(x, out, n, k, output, spans):  # pragma: no cover - numba
    """``spans`` (2, 2) int64 := the :func:`image_span` of what :func:`forward` prefetches
    while it computes images ``n .. n + k``: the next images' input, and with ``output``
    these images' output, which their copy-out writes; returns the number of cache lines
    of both (:func:`span_lines`)."""
    spans[0] = image_span(x, n + k, k)
    spans[1] = image_span(out, n, k) if output else (0, 0)
    return span_lines(spans[0, 0], spans[0, 1]) + span_lines(spans[1, 0], spans[1, 1])


@numba.njit(cache=True)
def span_lines(address, size):  # pragma: no cover - numba
    """The number of 64-byte cache lines that the ``size`` bytes from ``address`` touch."""
    return (address + size - 1) // 64 - address // 64 + 1 if size > 0 else 0


@numba.njit(cache=True)
def line_address(address, size, line):  # pragma: no cover - numba
    """Where :func:`prefetch_lines` prefetches line ``line < span_lines(address, size)`` of
    the ``size`` bytes of float32 data from ``address``: in the ``line``-th cache line,
    clamped into the data (its first byte to the last element's), so always inside it."""
    return min(max(address, address // 64 * 64 + 64 * line), address + size - 4)


@numba.njit(**_SER)
def prefetch_lines(spans, done, count):  # pragma: no cover - numba
    """Prefetch lines ``done .. done + count`` of the spans of :func:`prefetch_spans`, one
    after another, each at its :func:`line_address` (inside the arrays); returns ``done``
    plus those issued (no more than there are)."""
    base = 0
    for i in range(spans.shape[0]):
        address, size = spans[i, 0], spans[i, 1]
        lines = span_lines(address, size)
        if count > 0 and done < base + lines:
            m = min(count, base + lines - done)
            for line in range(done - base, done - base + m):
                _prefetch(line_address(address, size, line))
            done += m
            count -= m
        base += lines
    return done


#: :func:`forward` prefetches the output lines of its copy-out too (with the next image's
#: input) where an output image has at least this many times the elements of an input one
#: (conv0 of ResNet-20: 3 -> 16 channels).  Measured (one thread, batch 128, cold data, ms,
#: no prefetch -> the input -> and the output): BatchNorm + relu copy-out, 3 -> 16ch 32x32
#: 2.07 -> 2.06 -> 1.70; 16ch 32x32 4.91 -> 4.66 -> 4.61, 32ch 16x16 4.49 -> 4.29 -> 4.24,
#: 16 -> 32ch /2 3.64 -> 3.20 -> 3.22 (no better than the measuring noise); the residual
#: addend and second output prefetched too, worse than the input alone: 16ch 32x32 5.55 ->
#: 6.38, 3 -> 16ch 3.21 -> 3.27
PREFETCH_OUTPUT_RATIO = 2


@numba.njit(**_SER)
def forward(x, wpk, var, stride, k, xp, yp, out, epi):  # pragma: no cover - numba
    """``out`` (N, F, OH, OW) = the 3x3 pad-1 convolution of stride 1 or 2 of ``x`` (N, C, H,
    W) for ``wpk`` = :func:`pack_weight` (w, ocb) of variant ``var`` (:data:`VARIANTS`),
    ``k`` images side by side (stride 1; else 1); ``xp`` and ``yp`` flat scratch of
    :func:`scratch_sizes`.

    Per image (or ``k``): :func:`fill_flat` (stride 1, one image), :func:`fill_phases`
    (stride 2) or :func:`fill_side_by_side` lays out the input planes
    (:func:`forward_geometry`); the output is computed over the flat planes (``16 nv``
    consecutive flat positions per tile, whatever the image width: each vector may span rows;
    the last tile of ``lp // 16 % nv`` vectors), into ``yp`` (F, lp) of rows of ``pitch``,
    whose columns past each image's row are discarded when ``out`` is written by
    :func:`mxlite.kernels.epilogue.store_image`, which applies the epilogue ``epi``
    (:meth:`~mxlite.kernels.epilogue.Epilogue.args`: bias, residual addend, BatchNorm's affine,
    relu, a second output, each shaped as ``out``; :data:`~mxlite.kernels.epilogue.NONE`: a
    plain copy) on the way, each row in cache.  In flat
    planes a vector spans rows without a zero column between them: the taps of kernel
    columns 0 and 2 are masked at the row ends (:func:`forward_masks`).  A flat plane *is*
    the image's rows one after the other, so with C-contiguous images the tiles whose taps
    all fall inside the image (:func:`direct_tiles`) read ``x`` in place, first, and then
    only the rows the others read are copied (``fill_flat``'s ``top`` and ``bottom``), from
    cache.  One thread, batch 128, 16ch 32x32: 5.31 -> 4.93 ms against the full copy; 32ch
    16x16 4.21 -> 4.09; the copy first, before the tiles read ``x``, measured no faster
    than the full copy (its rows missed cache one by one).  While an image's tiles run, the
    next image's input (and for few input channels this image's output) is prefetched
    into L2, a few lines after each tile (:func:`prefetch_spans`)."""
    n_img, nch, h, w = x.shape
    nf = out.shape[1]
    ocb = 8 if var == 0 else 4
    pitch, plane, _, _, _, lp = forward_geometry(h, w, stride, k)
    toff = np.empty(9, np.int64)
    top = forward_offsets(h, w, stride, k, toff)
    msk = np.empty(lp // 8, np.uint16)
    forward_masks(h, w, stride, k, lp, msk)
    used = max(nch * plane, (nch - 1) * plane + lp + top)
    xp[nch * plane:used] = 0
    full = lp // 48
    t0, t1 = direct_tiles(x, lp) if stride == 1 and k == 1 else (0, 0)
    # the rows the tiles before t0 and from t1 on read (all: no tile reads x in place)
    top_rows = min(h, (t0 * 48 + w) // w + 1) if t1 > t0 else h
    bottom_rows = max(0, (t1 * 48 - w - 1) // w) if t1 > t0 else h
    xtoff = np.empty(9, np.int64)
    mv, rest = lp // 16, lp // 16 % 3
    tiles = nf // ocb * (full + (rest > 0))
    output = nf * out.shape[2] * out.shape[3] >= PREFETCH_OUTPUT_RATIO * nch * h * w
    spans = np.zeros((2, 2), np.int64)
    for n in range(0, n_img, k):
        # prefetches spread evenly over this image's tiles (:func:`prefetch_lines`)
        ahead = prefetch_spans(x, out, n, k, output, spans)
        per, done = (ahead + tiles - 1) // tiles, 0
        if t1 > t0:
            for t in range(9):
                # x's flat index of tap t of lane p of image n: p + (ky - 1) W + kx - 1
                xtoff[t] = n * (x.strides[0] // 4) + toff[t] - 1 - w
        elif k > 1:
            fill_side_by_side(x, n, k, pitch, plane, xp)
        elif stride == 1:
            fill_flat(x[n], plane, xp, h, h)
        else:
            fill_phases(x[n], plane, xp)
        # with tiles inside the image: those first, from x (which brings its rows into
        # cache), then the rows the others read copied from cache, then those tiles
        for part in range(3 if t1 > t0 else 1):
            if part == 1:
                fill_flat(x[n], plane, xp, top_rows, bottom_rows)
            inside = t1 > t0 and part == 0
            begin, end = (t0, t1) if inside else (0, t0) if part == 1 else (t1, full)
            if t1 <= t0:
                begin, end = 0, full
            cstride = h * w if inside else plane
            taps = xtoff if inside else toff
            for ob in range(nf // ocb):
                wb, yb = ob * nch * 9 * ocb, ob * ocb * lp
                for t in range(begin, end):
                    at = t * 48
                    if var == 0:
                        _tile_8x3(xp, x, inside, at, cstride, nch, taps, 16, wpk, wb, yp,
                                  yb + at, lp, 16, msk, mv)
                    else:
                        _tile_4x3(xp, x, inside, at, cstride, nch, taps, 16, wpk, wb, yp,
                                  yb + at, lp, 16, msk, mv)
                    if done < ahead:
                        done = prefetch_lines(spans, done, per)
                if part != (2 if t1 > t0 else 0):
                    continue
                at = full * 48
                if rest == 2 and var == 0:
                    _tile_8x2(xp, x, False, at, plane, nch, toff, 16, wpk, wb, yp, yb + at,
                              lp, 16, msk, mv)
                elif rest == 1 and var == 0:
                    _tile_8x1(xp, x, False, at, plane, nch, toff, 16, wpk, wb, yp, yb + at,
                              lp, 16, msk, mv)
                elif rest == 2:
                    _tile_4x2(xp, x, False, at, plane, nch, toff, 16, wpk, wb, yp, yb + at,
                              lp, 16, msk, mv)
                elif rest == 1:
                    _tile_4x1(xp, x, False, at, plane, nch, toff, 16, wpk, wb, yp, yb + at,
                              lp, 16, msk, mv)
                if done < ahead:
                    done = prefetch_lines(spans, done, per)
        for j in range(min(k, n_img - n)):
            store_image(yp, lp, pitch, j * (w + 1), out, n + j, epi)


#: the taps ``(ky, kx)`` of each phase ``2 (ky % 2) + kx % 2`` of a stride-2 data gradient
PHASE_TAPS = (((0, 0), (0, 2), (2, 0), (2, 2)), ((0, 1), (2, 1)), ((1, 0), (1, 2)), ((1, 1),))
_phase_tiles_8x3 = tuple(_vector_tile(8, 3, nt) for nt in (4, 2, 1))
_phase_tiles_4x3 = tuple(_vector_tile(4, 3, nt) for nt in (4, 2, 1))
_t8x3_4, _t8x3_2, _t8x3_1 = _phase_tiles_8x3
_t4x3_4, _t4x3_2, _t4x3_1 = _phase_tiles_4x3


@numba.njit(cache=True)
def phase_geometry(h, w, oh, ow, nv):  # pragma: no cover - numba
    """``(pitch, plane, length, lp)`` of :func:`data_grad_s2` for images ``h`` x ``w`` and
    head gradients ``oh`` x ``ow``: the pitch and plane of ``dy`` padded by one, the flat
    length of one phase of the padded data gradient, and that in whole tiles of ``16 nv``."""
    pitch = ow + 2
    length = ((h + 3) // 2 - 1) * pitch + (w + 3) // 2
    span = 16 * nv
    return pitch, (oh + 2) * pitch, length, (length + span - 1) // span * span


def phase_variant(h: int, w: int, oh: int, ow: int, c: int) -> int:
    """The :data:`VARIANTS` tile of :func:`data_grad_s2` (as :func:`variant` weighs them)."""
    best, cost = -1, 0.0
    for var, (ocb, nv) in enumerate(VARIANTS):
        if c % ocb:
            continue
        lanes = phase_geometry(h, w, oh, ow, nv)[3]
        if best < 0 or lanes / RATES[var][-1] < cost:
            best, cost = var, lanes / RATES[var][-1]
    return best


def phase_scratch_sizes(c: int, h: int, w: int, f: int, oh: int, ow: int, var: int
                        ) -> tuple[int, int]:
    """Elements of the ``dyp`` and ``yp`` scratch of :func:`data_grad_s2`."""
    pitch, plane, _, lp = phase_geometry(h, w, oh, ow, VARIANTS[var][1])
    return max(f * plane, (f - 1) * plane + lp + pitch + 1), 4 * c * lp


def phase_offsets(ow: int) -> np.ndarray:
    """``(4, 4)`` int64: where tap ``t`` of phase ``ph`` (:data:`PHASE_TAPS`) reads in ``dy``
    padded by one (rows of ``ow + 2``), relative to the phase's flat output position."""
    toff = np.zeros((4, 4), np.int64)
    for ph, taps in enumerate(PHASE_TAPS):
        for t, (ky, kx) in enumerate(taps):
            toff[ph, t] = (1 - ky // 2) * (ow + 2) + (1 - kx // 2)
    return toff


def pack_phase_weights(w: np.ndarray, ocb: int) -> tuple[np.ndarray, ...]:
    """``(F, C, 3, 3)`` -> per phase of :data:`PHASE_TAPS`, flat ``(C / ocb, F, taps, ocb)``."""
    f, c = w.shape[:2]
    out = []
    for taps in PHASE_TAPS:
        sel = np.stack([w[:, :, ky, kx] for ky, kx in taps], axis=-1)  # (F, C, taps)
        out.append(np.ascontiguousarray(
            sel.reshape(f, c // ocb, ocb, len(taps)).transpose(1, 0, 3, 2),
            dtype=np.float32).ravel())
    return tuple(out)


@numba.njit(**_SER)
def data_grad_s2(dy, w0, w1, w2, w3, var, toff, dyp, yp, dx):  # pragma: no cover - numba
    """``dx`` (N, C, H, W) = the data gradient of the 3x3 stride-2 pad-1 convolution for the
    head gradient ``dy`` (N, F, OH, OW) and the weights of :func:`pack_phase_weights` (w,
    ocb) of variant ``var``; ``toff`` of :func:`phase_offsets`, ``dyp`` and ``yp`` flat
    scratch of :func:`phase_scratch_sizes`.

    Each of the 4 row/column phases ``(a, b)`` of the padded data gradient, ``dxp[2 i + a,
    2 j + b]``, is a stride-1 correlation of ``dy`` (padded by one) with the taps ``ky % 2 ==
    a``, ``kx % 2 == b`` (4, 2, 2 and 1 taps): per phase, the tiles of :func:`forward` over
    the flat plane of ``dy``; then the phases are interleaved into ``dx``."""
    n_img, nf, oh, ow = dy.shape
    nch, h, w = dx.shape[1], dx.shape[2], dx.shape[3]
    ocb = 8 if var == 0 else 4
    nv = 3
    pitch, plane, _, lp = phase_geometry(h, w, oh, ow, nv)
    dyp[nf * plane:(nf - 1) * plane + lp + pitch + 1] = 0
    span = 16 * nv
    for n in range(n_img):
        fill(dy[n], 1, pitch, plane, plane, dyp)
        for cb in range(nch // ocb):
            for t in range(lp // span):
                at = t * span
                o0 = cb * ocb * lp + at
                if var == 0:
                    _t8x3_4(dyp, at, plane, nf, toff[0], 16, w0, cb * nf * 4 * ocb, yp, o0,
                            lp, 16)
                    _t8x3_2(dyp, at, plane, nf, toff[1], 16, w1, cb * nf * 2 * ocb, yp,
                            nch * lp + o0, lp, 16)
                    _t8x3_2(dyp, at, plane, nf, toff[2], 16, w2, cb * nf * 2 * ocb, yp,
                            2 * nch * lp + o0, lp, 16)
                    _t8x3_1(dyp, at, plane, nf, toff[3], 16, w3, cb * nf * ocb, yp,
                            3 * nch * lp + o0, lp, 16)
                else:
                    _t4x3_4(dyp, at, plane, nf, toff[0], 16, w0, cb * nf * 4 * ocb, yp, o0,
                            lp, 16)
                    _t4x3_2(dyp, at, plane, nf, toff[1], 16, w1, cb * nf * 2 * ocb, yp,
                            nch * lp + o0, lp, 16)
                    _t4x3_2(dyp, at, plane, nf, toff[2], 16, w2, cb * nf * 2 * ocb, yp,
                            2 * nch * lp + o0, lp, 16)
                    _t4x3_1(dyp, at, plane, nf, toff[3], 16, w3, cb * nf * ocb, yp,
                            3 * nch * lp + o0, lp, 16)
        # dx[r, q] = dxp[r + 1, q + 1]: phase ((r + 1) % 2, (q + 1) % 2) at ((r + 1) // 2,
        # (q + 1) // 2); even q from phase column 1, odd q from phase column 0
        for c in range(nch):
            for r in range(h):
                a, i = (r + 1) % 2, (r + 1) // 2
                odd = yp[((2 * a) * nch + c) * lp + i * pitch:]
                even = yp[((2 * a + 1) * nch + c) * lp + i * pitch:]
                row = dx[n, c, r]
                for j in range((w + 1) // 2):
                    row[2 * j] = even[j]
                for j in range(w // 2):
                    row[2 * j + 1] = odd[j + 1]


def _gradient_tile(of: int):
    """An intrinsic summing the weight gradient of ``of`` output channels and one input
    channel over a chunk of images, pixels in the lanes, in LLVM IR on ``<16 x float>``:

    ``tile(xp, xbase, nimg, ximg, toff, dyp, dbase, dimg, nvec, frow, acc, abase, astride)``
    adds to ``acc[abase + o astride + 16 t + l]`` (``o < of``, tap ``t < 9``, lane ``l``)
    ``sum_{n < nimg, v < nvec} dyp[dbase + o frow + n dimg + 16 v + l] * xp[xbase + n ximg +
    toff[t] + 16 v + l]``.  Per vector of 16 output positions: ``of`` loads of ``dy``, then
    per tap one unaligned load of the input and ``of`` FMAs; ``9 of`` accumulators in
    registers (31 zmm for ``of = 3``)."""

    @intrinsic
    def tile(typingctx, xp, xbase, nimg, ximg, toff, dyp, dbase, dimg, nvec, lp, acc, abase,
             astride):
        sig = types.void(xp, xbase, nimg, ximg, toff, dyp, dbase, dimg, nvec, lp, acc, abase,
                         astride)

        def codegen(context, builder, signature, args):
            k = _IR(context, builder, signature, args)
            add, mul, c = builder.add, builder.mul, k.const
            xptr, tp, dptr, aptr = k.data(0), k.data(4), k.data(5), k.data(10)
            xbase, nimg, ximg, dbase, dimg, nvec, lp, abase, astride = (
                k.integer(i) for i in (1, 2, 3, 6, 7, 8, 9, 11, 12))
            accs = k.accumulators(of, 9)
            taps = k.taps(tp, xbase, 9)
            drows = [add(dbase, mul(lp, c(o))) for o in range(of)]
            with cgutils.for_range(builder, nimg) as images:
                xn = mul(images.index, ximg)
                dn = mul(images.index, dimg)
                with cgutils.for_range(builder, nvec) as vectors:
                    at = mul(vectors.index, c(16))
                    ds = [k.vload(dptr, add(add(r, dn), at)) for r in drows]
                    for t in range(9):
                        xv = k.vload(xptr, add(add(taps[t], xn), at))
                        for o in range(of):
                            k.fma_into(accs[o][t], ds[o], xv)
            for o in range(of):
                for t in range(9):
                    k.add_to(accs[o][t], aptr, add(abase, add(mul(astride, c(o)), c(16 * t))))
            return context.get_dummy_value()

        return sig, codegen

    return tile


_grad_tile_3 = _gradient_tile(3)
_grad_tile_2 = _gradient_tile(2)
_grad_tile_1 = _gradient_tile(1)
#: bytes of input and head-gradient planes per chunk of images of :func:`weight_grad_planes`
GRAD_CHUNK_BYTES = 768 << 10


def grad_chunk(c: int, h: int, w: int, f: int, stride: int) -> int:
    """Images per chunk of :func:`weight_grad_planes` (at least one)."""
    _, plane, _, _, _, lp = geometry(h, w, stride, 1, 1)
    return max(1, GRAD_CHUNK_BYTES // (4 * (c * plane + f * lp)))


def grad_scratch_sizes(c: int, h: int, w: int, f: int, stride: int, chunk: int
                       ) -> tuple[int, int]:
    """Elements of the ``xp`` and ``dyp`` scratch of :func:`weight_grad_planes`."""
    _, plane, _, _, _, lp = geometry(h, w, stride, 1, 1)
    top = tap_offsets(h, w, stride, 1, np.empty(9, np.int64))
    return chunk * c * plane + lp + top, chunk * f * lp


@numba.njit(**_SER)
def weight_grad_planes(x, dy, stride, chunk, xp, dyp, acc):  # pragma: no cover - numba
    """``acc`` (F, C, 9, 16) += per-lane partial sums of the weight gradient of the 3x3 pad-1
    convolution of stride 1 or 2 of ``x`` (N, C, H, W) for ``dy`` (N, F, OH, OW): summed
    over the lanes, ``dW[f, c, ky, kx] = acc[f, c, 3 ky + kx].sum()``.  ``xp`` and ``dyp``
    are flat scratch of :func:`grad_scratch_sizes` for ``chunk`` images.

    The images of a chunk are laid out as :func:`forward` reads them, channel by channel:
    the input planes by :func:`fill`, ``dy`` in the flat output layout (rows of ``pitch``)
    with zeros in the lanes past each row and past the plane, so the FMAs of those lanes add
    nothing."""
    n_img, nch, h, w = x.shape
    nf = dy.shape[1]
    pitch, plane, oh, ow, _, lp = geometry(h, w, stride, 1, 1)
    toff = np.empty(9, np.int64)
    top = tap_offsets(h, w, stride, 1, toff)
    for n0 in range(0, n_img, chunk):
        nb = min(chunk, n_img - n0)
        xp[nb * nch * plane:nb * nch * plane + lp + top] = 0
        # channel-major over the chunk (image planes of one channel side by side): image
        # strides of F lp or C plane elements are often multiples of 4 KiB, whose lines
        # share L1 sets and evict each other between the tiles of one output block
        for i in range(nb):
            fill(x[n0 + i], stride, pitch, plane, nb * plane, xp[i * plane:])
            for f in range(nf):
                base = (f * nb + i) * lp
                for y in range(oh):
                    src = dy[n0 + i, f, y]
                    # the last row's zeros stop at lp: the next plane starts there
                    dst = dyp[base + y * pitch:base + min((y + 1) * pitch, lp)]
                    for q in range(ow):
                        dst[q] = src[q]
                    for q in range(ow, dst.size):
                        dst[q] = 0
                for q in range(oh * pitch, lp):
                    dyp[base + q] = 0
        f0 = 0
        while f0 < nf:
            # blocks of 3 output channels; 2 + 2 rather than 3 + 1 at the end
            of = 2 if nf - f0 in (2, 4) else min(3, nf - f0)
            for c in range(nch):
                abase = (f0 * nch + c) * 144
                xb, db, frow = c * nb * plane, f0 * nb * lp, nb * lp
                if of == 3:
                    _grad_tile_3(xp, xb, nb, plane, toff, dyp, db, lp, lp // 16, frow,
                                 acc.reshape(-1), abase, nch * 144)
                elif of == 2:
                    _grad_tile_2(xp, xb, nb, plane, toff, dyp, db, lp, lp // 16, frow,
                                 acc.reshape(-1), abase, nch * 144)
                else:
                    _grad_tile_1(xp, xb, nb, plane, toff, dyp, db, lp, lp // 16, frow,
                                 acc.reshape(-1), abase, nch * 144)
            f0 += of


def variant(h: int, w: int, stride: int, f: int) -> tuple[int, int]:
    """The :data:`VARIANTS` tile and the images side by side (:data:`SIDE_BY_SIDE`; 1 for
    stride 2) :func:`forward` runs for ``f`` output channels of ``h`` x ``w`` input images:
    of the tiles whose channel block divides ``f``, the least time per image for its lanes
    (:func:`forward_geometry`: whole tiles and a last one of fewer vectors) at the tiles'
    measured rates (:data:`RATES`); ``(-1, 0)``: none fits."""
    best, cost = (-1, 0), 0.0
    for k in SIDE_BY_SIDE if stride == 1 else (1,):
        for var, (ocb, nv) in enumerate(VARIANTS):
            if f % ocb:
                continue
            vectors = forward_geometry(h, w, stride, k)[5] // 16
            secs = vectors // nv * nv / RATES[var][nv - 1]
            if vectors % nv:
                secs += vectors % nv / RATES[var][vectors % nv - 1]
            secs *= (SIDE_BY_SIDE_COST if k > 1 else 1) / k
            if best[0] < 0 or secs < cost * 0.999:
                best, cost = (var, k), secs
    return best


#: the numbers of images :func:`forward` may lay side by side in one plane (stride 1; one
#: image a plane is flat, :func:`fill_flat`, several have a zero column between rows)
SIDE_BY_SIDE = (1, 2, 4)
#: the weight of a lane of side-by-side images against one of a single image in
#: :func:`variant` (one thread, batch 128, forward ms, one image -> side by side, when one
#: image had the zero columns too: 64ch 8x8 5.5 (4 x 80 tiles) -> 4.5 (2 images, 8 x 48: 10%
#: fewer lanes); 32ch 16x16 5.2 -> 5.2 (4 images, 4% fewer lanes); 16ch 32x32 5.7 -> 5.7 (4
#: images, equal lanes))
SIDE_BY_SIDE_COST = 1.1


def pack_weight(w: np.ndarray, ocb: int) -> np.ndarray:
    """``(F, C, 3, 3)`` -> flat ``(F / ocb, C, 9, ocb)`` float32, the weights of :func:`forward`."""
    f, c = w.shape[:2]
    return np.ascontiguousarray(
        w.reshape(f // ocb, ocb, c, 9).transpose(0, 2, 3, 1), dtype=np.float32).ravel()


def flipped(w: np.ndarray) -> np.ndarray:
    """``(F, C, 3, 3)`` -> ``(C, F, 3, 3)`` rotated by 180 degrees: the data gradient's weight."""
    return np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))


def _lane_gradient_tile(nfb: int):
    """An intrinsic summing the weight gradient of ``16 nfb`` output channels (in the lanes)
    and one input channel over one image, in LLVM IR on ``<16 x float>``:

    ``tile(xp, xbase, pitch, stride, oh, ow, toff, dyt, dbase, nf, acc, abase, bstride)``
    adds to ``acc[abase + b bstride + 16 t + l]`` (block ``b < nfb``, tap ``t < 9``, lane
    ``l``) ``sum_{y < oh, q < ow} dyt[(y ow + q) nf + dbase + 16 b + l] * xp[xbase + stride
    (y pitch + q) + toff[t]]``.  Per output pixel: ``nfb`` vector loads of ``dyt``, then per
    tap one broadcast input value and ``nfb`` FMAs; ``9 nfb`` accumulators in registers."""

    @intrinsic
    def tile(typingctx, xp, xbase, pitch, stride, oh, ow, toff, dyt, dbase, nf, acc, abase,
             bstride):
        sig = types.void(xp, xbase, pitch, stride, oh, ow, toff, dyt, dbase, nf, acc, abase,
                         bstride)

        def codegen(context, builder, signature, args):
            k = _IR(context, builder, signature, args)
            add, mul, c = builder.add, builder.mul, k.const
            xptr, tp, dptr, aptr = k.data(0), k.data(6), k.data(7), k.data(10)
            xbase, pitch, stride, oh, ow, dbase, nf, abase, bstride = (
                k.integer(i) for i in (1, 2, 3, 4, 5, 8, 9, 11, 12))
            accs = k.accumulators(nfb, 9)
            taps = k.taps(tp, xbase, 9)
            with cgutils.for_range(builder, oh) as rows:
                xrow = mul(mul(rows.index, pitch), stride)
                drow = add(mul(mul(rows.index, ow), nf), dbase)
                with cgutils.for_range(builder, ow) as cols:
                    xat = add(xrow, mul(cols.index, stride))
                    dat = add(drow, mul(cols.index, nf))
                    ds = [k.vload(dptr, add(dat, c(16 * b))) for b in range(nfb)]
                    for t in range(9):
                        sv = k.splat(xptr, add(taps[t], xat))
                        for b in range(nfb):
                            k.fma_into(accs[b][t], ds[b], sv)
            for b in range(nfb):
                for t in range(9):
                    k.add_to(accs[b][t], aptr, add(abase, add(mul(bstride, c(b)), c(16 * t))))
            return context.get_dummy_value()

        return sig, codegen

    return tile


_lane_tile_2 = _lane_gradient_tile(2)
_lane_tile_1 = _lane_gradient_tile(1)


@numba.njit(**_SER)
def weight_grad_lanes(x, dy, stride, xp, dyt, dw):  # pragma: no cover - numba
    """``dw`` (F / 16, C, 9, 16) += the weight gradient of the 3x3 pad-1 convolution of stride
    ``stride`` (1 or 2) of ``x`` (N, C, H, W) for the head gradient ``dy`` (N, F, OH, OW), F %
    16 == 0: ``dw[fb, c, 3 ky + kx, l]`` is output channel ``16 fb + l``.  ``xp`` (1, C, H +
    2, W + 2) and ``dyt`` (OH * OW, F) are scratch.

    Output channels run in the lanes: per image ``dy`` is transposed pixel-major into
    ``dyt``; then per two blocks of 16 output channels and input channel one
    :func:`_lane_gradient_tile` (18 accumulators in registers; per pixel 2 vector loads of
    ``dyt`` and 9 broadcast inputs for 18 FMAs)."""
    nch, h, w = x.shape[1], x.shape[2], x.shape[3]
    nf, oh, ow = dy.shape[1], dy.shape[2], dy.shape[3]
    pitch = w + 2
    toff = np.empty(9, np.int64)
    for ky in range(3):
        for kx in range(3):
            toff[3 * ky + kx] = ky * pitch + kx
    flat = dyt.reshape(-1)
    acc = dw.reshape(-1)
    nfb = nf // 16
    for n in range(x.shape[0]):
        pad_images(x[n:n + 1], 1, 1, xp)
        for f in range(nf):
            plane = dy[n, f]
            for y in range(oh):
                src = plane[y]
                for q in range(ow):
                    dyt[y * ow + q, f] = src[q]
        xflat = xp.reshape(-1)
        for fb in range(0, nfb, 2):
            for c in range(nch):
                abase = (fb * nch + c) * 144
                if fb + 1 < nfb:
                    _lane_tile_2(xflat, c * (h + 2) * pitch, pitch, stride, oh, ow, toff, flat,
                                 fb * 16, nf, acc, abase, nch * 144)
                else:
                    _lane_tile_1(xflat, c * (h + 2) * pitch, pitch, stride, oh, ow, toff, flat,
                                 fb * 16, nf, acc, abase, nch * 144)


def unpack_weight_grad(dw: np.ndarray) -> np.ndarray:
    """:func:`weight_grad_lanes`'s ``(F / 16, C, 9, 16)`` -> ``(F, C, 3, 3)``."""
    nb, c = dw.shape[:2]
    return dw.transpose(0, 3, 1, 2).reshape(nb * 16, c, 3, 3)
