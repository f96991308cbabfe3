"""Direct 3x3 stride-1 pad-1 float32 convolution, register-tiled, for thin layers (ResNet-20).

``out[n, f, y, x] = sum_{c, ky, kx} w[f, c, ky, kx] * xp[n, c, y + ky, x + kx]`` over the image
``xp`` zero-padded by one pixel (:func:`~mxlite.kernels.conv_winograd.pad_images`, per image).
One tile is ``OCB = 8`` output channels times ``RW = 16`` output pixels of one row (one AVX-512
register of float32 per channel), accumulated over all input channels in a 256-float stack
buffer (:func:`_tile_buffer`).  Weights are packed per block of 8 output channels
(:func:`pack_weight`, ``(F / 8, C, 3, 3, 8)``).  The compiled hot loop (``inspect_asm``): per
input channel the 9 shifted input rows are loaded into zmm0-zmm8 once; then per output channel
9 ``vfmadd231ps`` on zmm with the weights broadcast from memory (``{1to16}``), the accumulator
read once from the stack buffer (fused into the first FMA) and stored once: one load and one
store per 9 FMAs, no register spills in the loop.  (Accumulators as 128 scalar variables were
not vectorized by LLVM and spilled: 16 GFLOP/s; the buffer with a loop over the 9 taps kept
the loop scalar over taps: 5 GFLOP/s.)

Numba's target asks LLVM for 256-bit vectors on AVX-512 CPUs (``prefer-vector-width``);
:func:`_tile_buffer` sets the attribute to 512 on the kernel that calls it: 51 -> 106 GFLOP/s
on 16 channels at 32x32, one thread.  Only output widths of a multiple of 16 are taken
(:func:`tile_width`): ``OCB = 16, RW = 8`` for 8-pixel rows ran at 55 GFLOP/s, slower than
im2col + GEMM on ResNet-20's 64-channel 8x8 layer, and is not kept.  The data gradient of
such a convolution is the same kernel applied to ``dy`` with the flipped, transposed weights
(:func:`flipped`); the weight gradient is :func:`weight_grad` (output channels in the lanes,
any width, ``F`` a multiple of 16).
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

_SER = {"cache": True, "nogil": True, "fastmath": True}

#: output channels x pixels of a tile, per kernel
TILES = {16: (8, 16)}


@intrinsic
def _tile_buffer(typingctx):
    """A 256-float32 stack buffer for the accumulators of one tile; marks the calling kernel
    ``prefer-vector-width=512`` so LLVM vectorizes it with AVX-512 registers where it can."""
    sig = types.CPointer(types.float32)()

    def codegen(context, builder, signature, args):
        # a string attribute; llvmlite's AttributeSet.add only accepts the enum attributes.
        # Should a future llvmlite store attributes differently, the kernel still compiles
        # (with Numba's default vector width; tests/operator/test_conv_paths.py then fails).
        try:
            set.add(builder.function.attributes, '"prefer-vector-width"="512"')
        except TypeError:
            pass
        ptr = cgutils.alloca_once(builder, ir.ArrayType(ir.FloatType(), 256))
        return builder.bitcast(ptr, ir.PointerType(ir.FloatType()))

    return sig, codegen


def pack_weight(w: np.ndarray, ocb: int) -> np.ndarray:
    """``(F, C, 3, 3)`` -> ``(F / ocb, C, 3, 3, ocb)`` float32, C-contiguous."""
    f, c = w.shape[:2]
    return np.ascontiguousarray(
        w.reshape(f // ocb, ocb, c, 3, 3).transpose(0, 2, 3, 4, 1), dtype=np.float32)


def flipped(w: np.ndarray) -> np.ndarray:
    """``(F, C, 3, 3)`` -> ``(C, F, 3, 3)`` rotated by 180 degrees: the data gradient's weight."""
    return np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))


def tile_width(out_w: int, f: int) -> int:
    """The tile width of the kernel for ``f`` output channels of width ``out_w`` (0: none)."""
    for rw, (ocb, _) in TILES.items():
        if out_w % rw == 0 and f % ocb == 0:
            return rw
    return 0


@numba.njit(**_SER)
def forward16(x, wpk, xp, out):  # pragma: no cover - numba
    """``out`` (N, F, H, W) = the 3x3 pad-1 convolution of ``x`` (N, C, H, W), W % 16 == 0,
    for ``wpk`` = :func:`pack_weight` (w, 8); ``xp`` (1, C, H + 2, W + 2) is scratch."""
    nch = x.shape[1]
    nob = wpk.shape[0]
    oh, ow = out.shape[2], out.shape[3]
    acc = numba.carray(_tile_buffer(), (256,))
    for n in range(x.shape[0]):
        pad_images(x[n:n + 1], 1, 1, xp)
        img = xp[0]
        for ob in range(nob):
            for y in range(oh):
                for x0 in range(0, ow, 16):
                    for i in range(128):
                        acc[i] = 0.0
                    for c in range(nch):
                        wc = wpk[ob, c]
                        r0 = img[c, y, x0:]
                        r1 = img[c, y + 1, x0:]
                        r2 = img[c, y + 2, x0:]
                        for o in range(8):
                            w0, w1, w2 = wc[0, 0, o], wc[0, 1, o], wc[0, 2, o]
                            w3, w4, w5 = wc[1, 0, o], wc[1, 1, o], wc[1, 2, o]
                            w6, w7, w8 = wc[2, 0, o], wc[2, 1, o], wc[2, 2, o]
                            for r in range(16):
                                acc[o * 16 + r] += (
                                    w0 * r0[r] + w1 * r0[r + 1] + w2 * r0[r + 2]
                                    + w3 * r1[r] + w4 * r1[r + 1] + w5 * r1[r + 2]
                                    + w6 * r2[r] + w7 * r2[r + 1] + w8 * r2[r + 2])
                    for o in range(8):
                        orow = out[n, ob * 8 + o, y, x0:]
                        for r in range(16):
                            orow[r] = acc[o * 16 + r]


KERNELS = {16: forward16}


@numba.njit(**_SER)
def weight_grad(x, dy, xp, dyt, dw):  # pragma: no cover - numba
    """``dw`` (F / 16, C, 9, 16) += the weight gradient of the 3x3 pad-1 convolution of ``x``
    (N, C, H, W) for the head gradient ``dy`` (N, F, H, W), F % 16 == 0: ``dw[fb, c, 3 ky +
    kx, l]`` is output channel ``16 fb + l``.  ``xp`` (1, C, H + 2, W + 2) and ``dyt``
    (H * W, F) are scratch.

    Output channels run in the vector lanes: per image ``dy`` is transposed pixel-major into
    ``dyt``; then per block of 16 output channels and input channel, 9 accumulators (one a
    tap, in the stack buffer at fixed offsets, which LLVM holds in zmm registers across the
    pixel loops) take per pixel one 16-lane load of ``dyt`` and 9 scalar input values."""
    nch = x.shape[1]
    nf = dy.shape[1]
    oh, ow = dy.shape[2], dy.shape[3]
    acc = numba.carray(_tile_buffer(), (256,))
    for n in range(x.shape[0]):
        pad_images(x[n:n + 1], 1, 1, xp)
        img = xp[0]
        for f in range(nf):
            plane = dy[n, f]
            for y in range(oh):
                src = plane[y]
                for q in range(ow):
                    dyt[y * ow + q, f] = src[q]
        for fb in range(nf // 16):
            for c in range(nch):
                for i in range(144):
                    acc[i] = 0.0
                for y in range(oh):
                    r0 = img[c, y]
                    r1 = img[c, y + 1]
                    r2 = img[c, y + 2]
                    for q in range(ow):
                        d = dyt[y * ow + q, fb * 16:]
                        a0, a1, a2 = r0[q], r0[q + 1], r0[q + 2]
                        a3, a4, a5 = r1[q], r1[q + 1], r1[q + 2]
                        a6, a7, a8 = r2[q], r2[q + 1], r2[q + 2]
                        for lane in range(16):
                            dv = d[lane]
                            acc[lane] += dv * a0
                            acc[16 + lane] += dv * a1
                            acc[32 + lane] += dv * a2
                            acc[48 + lane] += dv * a3
                            acc[64 + lane] += dv * a4
                            acc[80 + lane] += dv * a5
                            acc[96 + lane] += dv * a6
                            acc[112 + lane] += dv * a7
                            acc[128 + lane] += dv * a8
                out = dw[fb, c]
                for t in range(9):
                    for lane in range(16):
                        out[t, lane] += acc[t * 16 + lane]


def unpack_weight_grad(dw: np.ndarray) -> np.ndarray:
    """:func:`weight_grad`'s ``(F / 16, C, 9, 16)`` -> ``(F, C, 3, 3)``."""
    nb, c = dw.shape[:2]
    return dw.transpose(0, 3, 1, 2).reshape(nb * 16, c, 3, 3)
