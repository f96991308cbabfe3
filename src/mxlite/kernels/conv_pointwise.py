"""Direct float32 1x1 convolutions (pad 0, one group) of stride 1 and 2 for thin layers
(ResNet-20's projection shortcuts), their data and weight gradients: register tiles written
in LLVM IR with the helpers of :mod:`mxlite.kernels.conv_direct`.

A 1x1 convolution is, per image, the matrix product ``out[f, p] = sum_c w[f, c] x[c, p]`` of
the ``(F, C)`` weight and the ``(C, L)`` image planes, ``L = OH OW`` pixels.  With stride 1
the planes of ``x[n]`` are already flat and contiguous, and so are those of ``out[n]``: the
tiles of :func:`conv_direct._vector_tile <mxlite.kernels.conv_direct._vector_tile>` with one
tap run straight over ``x`` and write straight into ``out`` (no copy; the im2col path runs
one BLAS GEMM per image with K = C = 16, too short for BLAS to run at speed).  Stride 2 first
copies the image's (even, even) phase ``x[n, :, ::2, ::2]`` into a small flat scratch, 8
pixels per vector shuffle (:func:`_evens`).

**Tiles and tails.**  A forward tile is ``ocb`` output channels x 3 vectors of 16 pixels
(:data:`OCB`: 8 or 4; per input channel 3 loads, ``ocb`` broadcast weights, ``3 ocb`` FMAs);
the pixels past the last whole tile run as tiles of one vector, the last one ending at pixel
``L`` (it overlaps the one before: those pixels are computed twice, written with the same
value).  Output channels past the last whole block likewise: the last block starts at ``F -
ocb`` (:func:`blocks`).  So any ``L >= 16`` and ``F >= ocb`` runs without a copy; images of
fewer than 16 pixels go through a 16-lane scratch.

**Gradients.**  The stride-1 data gradient is :func:`forward` of ``dy`` with the transposed
weight; the stride-2 one computes the even pixels into scratch and writes ``dx`` in one pass,
zeros in between (:func:`data_grad`).  The weight gradient (:func:`weight_grad`) keeps per-lane
partial sums ``acc[f, c, l] = sum dy[f, p] x[c, p]`` over the pixels ``p`` of lane ``l`` for
blocks of 4 x 4 channels (:func:`_gradient_tile`: per vector of pixels 8 loads and 16 FMAs, 16
accumulators in registers), block by block of pixels (whole images, several when small) that
stay in cache over the channel blocks (:func:`grad_block`); the pixels before the first and
past the last whole vector (at most 16 per row) are copied into one zero-padded vector per
row and summed by the same tile.

**Alignment.**  NumPy's large arrays often start 16 bytes past a 64-byte boundary, so every
16-pixel vector of a plane would span two cache lines; where the planes of the arrays a kernel
reads and writes share that offset, its whole vectors start at the first aligned pixel
(:func:`lead`, :func:`align_to` for the scratch; in cache, 16ch 32x32 forward 108 -> 137
GFLOP/s, weight gradient 77 -> 104).

Measured: see :data:`mxlite.operator.nn.convolution.POINTWISE_CHANNELS`.
"""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from . import PARALLEL_THRESHOLD  # noqa: F401  (imported first: sets up threads and the cache)
from .conv_direct import _IR, _SER, _vector_tile

#: the output-channel blocks of the forward tiles, by variant number (:func:`variant`)
OCB = (8, 4)
#: pixel vectors of 16 per whole forward tile
NV = 3
_f8x3 = _vector_tile(8, NV, 1)
_f8x1 = _vector_tile(8, 1, 1)
_f4x3 = _vector_tile(4, NV, 1)
_f4x1 = _vector_tile(4, 1, 1)
#: the channel block (output and input channels) of the weight-gradient tile
GB = 4
#: bytes of input and head-gradient values per block of :func:`weight_grad` (one thread,
#: batch 128, ms at 16 / 32 / 64 / 256 KiB: 16ch 32x32 1.18 / 1.08 / 1.08 / 1.11, 16 -> 32ch /2
#: 0.86 / 0.86 / 0.72 / 0.75, 32 -> 64ch /2 0.96 / 0.73 / 0.74 / 0.76, 64ch 8x8 1.52 / 1.09 /
#: 1.02 / 1.01)
GRAD_BLOCK_BYTES = 64 << 10
#: the kernels' vectors start at the first aligned pixel (:func:`lead`) on images of at
#: least this many output pixels; on smaller ones the extra vector costs more than the split
#: loads save (one thread, batch 128, ms, lead 0 -> aligned: 16ch 32x32 forward 0.92 ->
#: 0.75; 16 -> 32ch /2 (256 pixels) weight gradient 0.87 -> 0.76; but 32 -> 64ch /2 (64
#: pixels) forward 0.49 -> 0.55, weight gradient 0.81 -> 1.03)
ALIGN_PIXELS = 256


def variant(f: int) -> int:
    """The forward tile (:data:`OCB` index) for ``f`` output channels: the one computing the
    fewest channels (whole blocks, the last one overlapping), 8 on a tie; -1: ``f < 4``."""
    if f < OCB[1]:
        return -1
    if f < OCB[0]:
        return 1
    wide, narrow = -(-f // 8) * 8, -(-f // 4) * 4
    return 0 if wide <= narrow else 1


def blocks(f: int, ocb: int) -> np.ndarray:
    """The first channel of each block of ``ocb`` of ``f >= ocb`` channels: whole blocks,
    then (when ``ocb`` does not divide ``f``) one ending at channel ``f``."""
    starts = list(range(0, f - ocb + 1, ocb))
    if f % ocb:
        starts.append(f - ocb)
    return np.asarray(starts, np.int64)


def pack_weight(w2: np.ndarray, ocb: int) -> tuple[np.ndarray, np.ndarray]:
    """``(F, C)`` -> ``(flat (blocks, C, ocb) float32, block starts)``, the weights of
    :func:`forward`."""
    starts = blocks(w2.shape[0], ocb)
    idx = starts[:, None] + np.arange(ocb)[None, :]  # (blocks, ocb)
    return np.ascontiguousarray(w2[idx].transpose(0, 2, 1), dtype=np.float32).ravel(), starts


def scratch_size(c: int, f: int, oh: int, ow: int, stride: int) -> int:
    """Elements of the ``scratch`` of :func:`forward` and :func:`data_grad` (16 more than
    they use: room to align it)."""
    length = oh * ow
    lanes = max(length, 16)
    if stride == 1 and length >= 16:
        return 16
    return (c + f) * lanes + 16


@numba.njit(inline="always", **_SER)
def _column(src, at, cstride, nch, toff, wpk, starts, var, wide, dst, dbase, dstride, p
            ):  # pragma: no cover - numba
    """One tile of ``wide`` (3) or 1 vector of pixels from ``p`` (read from ``src[at:]``)
    for every block of output channels (:func:`_tiles`)."""
    for b in range(starts.size):
        ob = dbase + starts[b] * dstride + p
        if var == 0 and wide:
            _f8x3(src, at, cstride, nch, toff, 16, wpk, b * nch * 8, dst, ob, dstride, 16)
        elif var == 0:
            _f8x1(src, at, cstride, nch, toff, 16, wpk, b * nch * 8, dst, ob, dstride, 16)
        elif wide:
            _f4x3(src, at, cstride, nch, toff, 16, wpk, b * nch * 4, dst, ob, dstride, 16)
        else:
            _f4x1(src, at, cstride, nch, toff, 16, wpk, b * nch * 4, dst, ob, dstride, 16)


@numba.njit(**_SER)
def _tiles(src, sbase, nch, cstride, length, wpk, starts, var, dst, dbase, dstride, lead
           ):  # pragma: no cover - numba
    """``dst[dbase + (starts[b] + o) dstride + p] = sum_c wpk[(b C + c) ocb + o] src[sbase +
    c cstride + p]`` for ``p < length`` (``length >= 16``): whole tiles of 3 vectors from
    pixel ``lead`` (where the loads and stores are 64-byte aligned, :func:`lead`; the pixels
    before it by one vector at 0), then tiles of one, the last ending at ``length``; pixel
    tiles outer, so that a tile's inputs stay in L1 over the blocks of output channels."""
    toff = np.zeros(1, np.int64)
    span = 16 * NV
    start = lead if 0 < lead < 16 and lead + 16 <= length else 0
    if start:
        _column(src, sbase, cstride, nch, toff, wpk, starts, var, False, dst, dbase, dstride, 0)
    whole = (length - start) // span
    for t in range(whole):
        p = start + t * span
        _column(src, sbase + p, cstride, nch, toff, wpk, starts, var, True, dst, dbase,
                dstride, p)
    p = start + whole * span
    while p < length:
        q = min(p, length - 16)
        _column(src, sbase + q, cstride, nch, toff, wpk, starts, var, False, dst, dbase,
                dstride, q)
        p += 16


def lead(length: int, *arrays: np.ndarray) -> int:
    """The pixels before the first 64-byte boundary of each plane of ``length`` pixels (at
    least :data:`ALIGN_PIXELS`) of the float32 ``arrays`` when they all sit at the same
    offset from one (NumPy's large arrays are often 16 bytes past one), else 0: from there
    the kernels' vector loads and stores are aligned (split cache-line accesses cost the
    in-cache forward a fifth of its speed)."""
    offs = {a.ctypes.data % 64 for a in arrays}
    if length % 16 or length < ALIGN_PIXELS or len(offs) != 1:
        return 0
    off = offs.pop()
    return 0 if off % 4 else (64 - off) % 64 // 4


def align_to(scratch: np.ndarray, at: int, like: np.ndarray) -> int:
    """``soff`` in ``[0, 16)`` so that ``scratch[soff + at]`` sits at ``like``'s offset from
    a 64-byte boundary (0 where no such element exists)."""
    diff = (like.ctypes.data - scratch.ctypes.data) % 64
    return 0 if diff % 4 else (diff // 4 - at) % 16


@intrinsic
def _evens(typingctx, src, sbase, dst, dbase, nvec):
    """``dst[dbase + j] = src[sbase + 2 j]`` for ``j < 8 nvec`` (flat float32 arrays): per 8
    values one ``<16 x float>`` load, one shuffle and one ``<8 x float>`` store."""
    sig = types.void(src, sbase, dst, dbase, nvec)

    def codegen(context, builder, signature, args):
        k = _IR(context, builder, signature, args)
        sp, dp = k.data(0), k.data(2)
        sbase, dbase, nvec = (k.integer(i) for i in (1, 3, 4))
        half = ir.VectorType(ir.FloatType(), 8)
        mask = ir.Constant(ir.VectorType(k.i32, 8), [2 * j for j in range(8)])
        undef = ir.Constant(k.vec, ir.Undefined)
        with cgutils.for_range(builder, nvec) as loop:
            at = builder.mul(loop.index, k.const(8))
            v = k.vload(sp, builder.add(sbase, builder.add(at, at)))
            ptr = builder.bitcast(builder.gep(dp, [builder.add(dbase, at)]), half.as_pointer())
            builder.store(builder.shuffle_vector(v, undef, mask), ptr, align=4)
        return context.get_dummy_value()

    return sig, codegen


@numba.njit(**_SER)
def _even_phase(x, n, dst, pitch):  # pragma: no cover - numba
    """``dst[c pitch + y OW + q] = x[n, c, 2 y, 2 q]`` (the stride-2 pixels), zeros from
    ``OH OW`` to ``pitch`` in each channel (:func:`_evens` for the pairs of columns)."""
    nch, h, w = x.shape[1], x.shape[2], x.shape[3]
    oh, ow = (h + 1) // 2, (w + 1) // 2
    nvec = (w // 2) // 8
    xf = x.reshape(-1)
    for c in range(nch):
        base = c * pitch
        for y in range(oh):
            at = ((n * nch + c) * h + 2 * y) * w
            if nvec:
                _evens(xf, at, dst, base + y * ow, nvec)
            for q in range(8 * nvec, ow):
                dst[base + y * ow + q] = xf[at + 2 * q]
        for q in range(oh * ow, pitch):
            dst[base + q] = 0


@numba.njit(**_SER)
def forward(x, wpk, starts, var, stride, lead, soff, scratch, out):  # pragma: no cover
    """``out`` (N, F, OH, OW) = the 1x1 pad-0 convolution of stride 1 or 2 of ``x`` (N, C,
    H, W), both C-contiguous, for ``wpk, starts`` = :func:`pack_weight` (w, ``OCB[var]``);
    ``scratch`` flat, of :func:`scratch_size`, used from ``soff``; ``lead``: :func:`lead` of
    the planes of ``x`` (stride 1) and ``out``."""
    n_img, nch = x.shape[0], x.shape[1]
    nf, oh, ow = out.shape[1], out.shape[2], out.shape[3]
    length = oh * ow
    if stride == 1 and length >= 16:
        for n in range(n_img):
            _tiles(x, n * nch * length, nch, length, length, wpk, starts, var, out,
                   n * nf * length, length, lead)
        return
    lanes = max(length, 16)
    xs = scratch[soff:soff + nch * lanes]
    ys = scratch[soff + nch * lanes:soff + (nch + nf) * lanes]
    for n in range(n_img):
        if stride == 2:
            _even_phase(x, n, xs, lanes)
        else:
            for c in range(nch):
                src = x[n, c].reshape(-1)
                for q in range(length):
                    xs[c * lanes + q] = src[q]
                for q in range(length, lanes):
                    xs[c * lanes + q] = 0
        if length >= 16:
            _tiles(xs, 0, nch, lanes, length, wpk, starts, var, out, n * nf * length, length,
                   lead)
            continue
        _tiles(xs, 0, nch, lanes, 16, wpk, starts, var, ys, 0, lanes, 0)
        for f in range(nf):
            dst = out[n, f].reshape(-1)
            for q in range(length):
                dst[q] = ys[f * lanes + q]


@intrinsic
def _spread(typingctx, src, sbase, dst, dbase, nvec):
    """``dst[dbase + 2 j] = src[sbase + j]`` and ``dst[dbase + 2 j + 1] = 0`` for ``j < 8
    nvec`` (flat float32 arrays): per 8 values one ``<8 x float>`` load, one shuffle with
    zeros and one ``<16 x float>`` store."""
    sig = types.void(src, sbase, dst, dbase, nvec)

    def codegen(context, builder, signature, args):
        k = _IR(context, builder, signature, args)
        sp, dp = k.data(0), k.data(2)
        sbase, dbase, nvec = (k.integer(i) for i in (1, 3, 4))
        half = ir.VectorType(ir.FloatType(), 8)
        zero = ir.Constant(half, None)
        mask = ir.Constant(ir.VectorType(k.i32, 16), [j // 2 + 8 * (j % 2) for j in range(16)])
        with cgutils.for_range(builder, nvec) as loop:
            at = builder.mul(loop.index, k.const(8))
            ptr = builder.bitcast(builder.gep(sp, [builder.add(sbase, at)]), half.as_pointer())
            v = builder.load(ptr, align=4)
            k.vstore(builder.shuffle_vector(v, zero, mask), dp,
                     builder.add(dbase, builder.add(at, at)))
        return context.get_dummy_value()

    return sig, codegen


@numba.njit(**_SER)
def data_grad(dy, wpk, starts, var, lead, soff, scratch, dx):  # pragma: no cover - numba
    """``dx`` (N, C, H, W) = the data gradient of the stride-2 1x1 convolution for the head
    gradient ``dy`` (N, F, OH, OW), ``wpk, starts`` = :func:`pack_weight` (w^T, ``OCB[var]``):
    per image the even pixels into ``scratch`` (:func:`scratch_size`, used from ``soff``),
    then ``dx`` row by row, zeros on the odd rows and columns (:func:`_spread`); ``lead``:
    :func:`lead` of the planes of ``dy`` and of the scratch's gradient."""
    n_img, nf, oh, ow = dy.shape
    nch, h, w = dx.shape[1], dx.shape[2], dx.shape[3]
    length = oh * ow
    lanes = max(length, 16)
    ds = scratch[soff:soff + nf * lanes]
    ys = scratch[soff + nf * lanes:soff + (nf + nch) * lanes]
    half = w // 2
    nvec = half // 8
    flat = dx.reshape(-1)
    for n in range(n_img):
        if length >= 16:
            _tiles(dy, n * nf * length, nf, length, length, wpk, starts, var, ys, 0, lanes,
                   lead)
        else:
            for f in range(nf):
                src = dy[n, f].reshape(-1)
                for q in range(length):
                    ds[f * lanes + q] = src[q]
                for q in range(length, lanes):
                    ds[f * lanes + q] = 0
            _tiles(ds, 0, nf, lanes, 16, wpk, starts, var, ys, 0, lanes, 0)
        for c in range(nch):
            base = (n * nch + c) * h * w
            for r in range(h):
                rb = base + r * w
                if r % 2:
                    for q in range(w):
                        flat[rb + q] = 0
                    continue
                sb = c * lanes + (r // 2) * ow
                if nvec:
                    _spread(ys, sb, flat, rb, nvec)
                for j in range(8 * nvec, half):
                    flat[rb + 2 * j] = ys[sb + j]
                    flat[rb + 2 * j + 1] = 0
                if w % 2:
                    flat[rb + w - 1] = ys[sb + half]


def _gradient_tile(nf: int, nc: int):
    """An intrinsic summing the weight gradient of ``nf`` output and ``nc`` input channels
    over a chunk of images, pixels in the lanes, in LLVM IR on ``<16 x float>``:

    ``tile(x, xbase, cstride, ximg, dy, dbase, fstride, dimg, nimg, nvec, acc, abase)`` adds
    to ``acc[abase + 16 (o nc + c) + l]`` (``o < nf``, ``c < nc``, lane ``l``) ``sum_{i <
    nimg, v < nvec} dy[dbase + i dimg + o fstride + 16 v + l] x[xbase + i ximg + c cstride +
    16 v + l]``.  Per vector of 16 pixels: ``nf + nc`` loads and ``nf nc`` FMAs; ``nf nc``
    accumulators in registers."""

    @intrinsic
    def tile(typingctx, x, xbase, cstride, ximg, dy, dbase, fstride, dimg, nimg, nvec, acc,
             abase):
        sig = types.void(x, xbase, cstride, ximg, dy, dbase, fstride, dimg, nimg, nvec, acc,
                         abase)

        def codegen(context, builder, signature, args):
            k = _IR(context, builder, signature, args)
            add, mul, c = builder.add, builder.mul, k.const
            xp, dp, ap = k.data(0), k.data(4), k.data(10)
            xbase, cstride, ximg, dbase, fstride, dimg, nimg, nvec, abase = (
                k.integer(i) for i in (1, 2, 3, 5, 6, 7, 8, 9, 11))
            accs = k.accumulators(nf, nc)
            xrows = [add(xbase, mul(cstride, c(j))) for j in range(nc)]
            drows = [add(dbase, mul(fstride, c(o))) for o in range(nf)]
            with cgutils.for_range(builder, nimg) as images:
                xi = mul(images.index, ximg)
                di = mul(images.index, dimg)
                with cgutils.for_range(builder, nvec) as vectors:
                    at = mul(vectors.index, c(16))
                    ds = [k.vload(dp, add(add(r, di), at)) for r in drows]
                    for j in range(nc):
                        xv = k.vload(xp, add(add(xrows[j], xi), at))
                        for o in range(nf):
                            k.fma_into(accs[o][j], ds[o], xv)
            for o in range(nf):
                for j in range(nc):
                    k.add_to(accs[o][j], ap, add(abase, c(16 * (o * nc + j))))
            return context.get_dummy_value()

        return sig, codegen

    return tile


_grad_tile = _gradient_tile(GB, GB)


def grad_block(c: int, f: int, oh: int, ow: int) -> tuple[int, int]:
    """``(pixels, images)`` per block of :func:`weight_grad`: the block's input and
    head-gradient values fill at most :data:`GRAD_BLOCK_BYTES`, pixels a multiple of 16;
    whole images (several when they are small) or runs of one image's pixels."""
    pixels = max(16, GRAD_BLOCK_BYTES // (4 * (c + f)) // 16 * 16)
    whole = oh * ow // 16 * 16
    if 0 < whole <= pixels:
        return whole, max(1, pixels // whole)
    return pixels, 1


def grad_scratch_size(c: int, f: int, oh: int, ow: int, stride: int, images: int) -> int:
    """Elements of the ``scratch`` of :func:`weight_grad` (16 more than it uses: room to
    align it)."""
    phases = images * c * oh * ow if stride == 2 else 0
    return phases + images * (c + f) * 16 + 16


@numba.njit(**_SER)
def weight_grad(x, dy, stride, block, images, lead, soff, fst, cst, scratch, acc
                ):  # pragma: no cover - numba
    """``acc`` (F blocks, C blocks, 4, 4, 16) += per-lane partial sums of the weight gradient
    of the 1x1 pad-0 convolution of stride 1 or 2 of ``x`` (N, C, H, W) for ``dy`` (N, F,
    OH, OW): ``dW[fst[a] + o, cst[b] + j] = acc[a, b, o, j].sum()`` (:func:`blocks` of 4 for
    ``fst`` and ``cst``; where blocks overlap, each holds the whole sum).

    Blocks of ``images`` images and ``block`` pixels (:func:`grad_block`) stay in cache over
    the channel blocks.  The vectors start at pixel ``lead`` (:func:`lead` of the planes of
    ``x``, or of the scratch, and ``dy``: aligned loads); the pixels before it and past the
    last whole vector (at most 16) are copied into one zero-padded vector per row and summed
    by the same tile.  ``scratch``: :func:`grad_scratch_size`, from ``soff``: at stride 2
    the even pixels of ``images`` images, then those edge vectors."""
    n_img, nch = x.shape[0], x.shape[1]
    nf, oh, ow = dy.shape[1], dy.shape[2], dy.shape[3]
    length = oh * ow
    if lead + 16 > length or length % 16 or lead >= 16:
        lead = 0
    vend = lead + (length - lead) // 16 * 16
    edge = lead + length - vend
    flat = acc.reshape(-1)
    xf = x.reshape(-1)
    df = dy.reshape(-1)
    ncb = cst.size
    ximg, dimg = nch * length, nf * length
    rows = (nch + nf) * 16
    pk = soff + (images * ximg if stride == 2 else 0)
    for n0 in range(0, n_img, images):
        nb = min(images, n_img - n0)
        if stride == 2:
            for i in range(nb):
                at = soff + i * ximg
                _even_phase(x, n0 + i, scratch[at:at + ximg], length)
            src, sb = scratch, soff
        else:
            src, sb = xf, n0 * ximg
        db = n0 * dimg
        for p0 in range(lead, vend, block):
            nvec = min(block, vend - p0) // 16
            for a in range(fst.size):
                for b in range(ncb):
                    _grad_tile(src, sb + cst[b] * length + p0, length, ximg, df,
                               db + fst[a] * length + p0, length, dimg, nb, nvec, flat,
                               (a * ncb + b) * GB * GB * 16)
        if edge == 0:
            continue
        for i in range(nb):
            for r in range(nch + nf):
                at = pk + i * rows + r * 16
                if r < nch:
                    base = sb + i * ximg + r * length
                    for q in range(lead):
                        scratch[at + q] = src[base + q]
                    for q in range(vend, length):
                        scratch[at + lead + q - vend] = src[base + q]
                else:
                    base = db + i * dimg + (r - nch) * length
                    for q in range(lead):
                        scratch[at + q] = df[base + q]
                    for q in range(vend, length):
                        scratch[at + lead + q - vend] = df[base + q]
                for q in range(edge, 16):
                    scratch[at + q] = 0
        for a in range(fst.size):
            for b in range(ncb):
                _grad_tile(scratch, pk + cst[b] * 16, 16, rows, scratch,
                           pk + (nch + fst[a]) * 16, 16, rows, nb, 1, flat,
                           (a * ncb + b) * GB * GB * 16)


def unpack_weight_grad(acc: np.ndarray, fst: np.ndarray, cst: np.ndarray) -> np.ndarray:
    """:func:`weight_grad`'s ``acc`` -> dW (F, C)."""
    sums = acc.sum(axis=-1).transpose(0, 2, 1, 3).reshape(fst.size * GB, cst.size * GB)
    rows = (fst[:, None] + np.arange(GB)).ravel()
    cols = (cst[:, None] + np.arange(GB)).ravel()
    full = np.empty((int(rows.max()) + 1, int(cols.max()) + 1), acc.dtype)
    full[np.ix_(rows, cols)] = sums  # overlapping blocks hold the same sums
    return full
