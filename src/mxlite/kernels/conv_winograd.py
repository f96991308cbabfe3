"""Winograd F(2x2, 3x3) convolution kernels: 3x3 kernels, stride 1, no dilation, one group.

A 3x3 convolution of a 4x4 input tile ``d`` gives a 2x2 output tile ``A^T [(G g G^T) * (B^T d
B)] A`` (``*`` elementwise over the 16 positions), with

    B^T = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]
    G   = [[1, 0, 0], [1/2, 1/2, 1/2], [1/2, -1/2, 1/2], [0, 0, 1]]
    A^T = [[1, 1, 1, 0], [0, 1, -1, -1]]

so a convolution is: the input transform ``V[xi, c, tile]`` (:func:`input_transform`), the
weight transform ``U[xi, f, c]`` (:func:`weight_transform`), 16 GEMMs ``M[xi] = U[xi] @ V[xi]``
(BLAS) and the output transform (:func:`output_transform`).  That is 16 multiplications per
2x2 outputs and input channel instead of 36: 2.25x fewer than im2col + GEMM, for two passes
over the tiles.  Tiles start every 2 pixels of the zero-padded image; :func:`pad_images` writes
that padded copy (so the transforms have no bounds checks), padded up to whole tiles.  The
transforms take a block of tile rows ``[ty0, ty0 + nty)``, so that a caller can keep the
transformed tiles of one block in the L2 cache between the transform and the GEMMs.
"""

from __future__ import annotations

import numba
import numpy as np

from . import PARALLEL_THRESHOLD  # noqa: F401  (imported first: sets up threads and the cache)

_SER = {"cache": True, "nogil": True, "fastmath": True}

#: G, the weight transform of F(2x2, 3x3)
G = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])


def tiles(out_h: int, out_w: int) -> tuple[int, int]:
    """Tiles per column and row for an ``out_h x out_w`` output."""
    return (out_h + 1) // 2, (out_w + 1) // 2


def weight_transform(w: np.ndarray) -> np.ndarray:
    """``U[xi, f, c] = (G w[f, c] G^T)[xi]`` (16, F, C), C-contiguous, in ``w``'s dtype."""
    g = G.astype(w.dtype)
    u = np.einsum("ai,fcij,bj->abfc", g, w, g, optimize=True)
    return np.ascontiguousarray(u.reshape(16, w.shape[0], w.shape[1]))


@numba.njit(**_SER)
def pad_images(x, pad_h, pad_w, xp):  # pragma: no cover - numba
    """``xp`` (N, C, Hp, Wp) = ``x`` (N, C, H, W) at offset ``(pad_h, pad_w)``, zeros around
    (the input of the tiles; Hp and Wp cover whole tiles, so some rows may be cut off)."""
    n_img, n_ch, height, width = x.shape
    hp, wp = xp.shape[2], xp.shape[3]
    h1 = min(height, hp - pad_h)
    w1 = min(width, wp - pad_w)
    for n in range(n_img):
        for c in range(n_ch):
            for r in range(hp):
                dst = xp[n, c, r]
                src_row = r - pad_h
                if src_row < 0 or src_row >= h1:
                    for q in range(wp):
                        dst[q] = 0
                    continue
                for q in range(pad_w):
                    dst[q] = 0
                src = x[n, c, src_row, :w1]
                body = dst[pad_w:pad_w + w1]
                for q in range(w1):
                    body[q] = src[q]
                for q in range(pad_w + w1, wp):
                    dst[q] = 0


@numba.njit(**_SER)
def input_transform(xp, ty0, nty, tw, v):  # pragma: no cover - numba
    """``v[xi, c, n*T + (ty - ty0)*tw + tx]`` = ``(B^T d B)[xi]`` of the 4x4 tile of ``xp`` (N,
    C, Hp, Wp) at ``(2 ty, 2 tx)``, for the tile rows ``ty0 <= ty < ty0 + nty``; ``v`` is (16,
    C, N*T) with ``T = nty*tw``."""
    n_img, n_ch = xp.shape[0], xp.shape[1]
    t_img = nty * tw
    # every inner loop runs over views cut to their extent with its own non-negative index:
    # no wrap-around checks, so LLVM vectorizes them (indexing v[xi, c, p] directly was 5x
    # slower).  ev[k] / od[k]: row k of B^T d at the even / odd columns of the padded row
    ev = np.empty((4, tw + 1), dtype=xp.dtype)
    od = np.empty((4, tw + 1), dtype=xp.dtype)
    for n in range(n_img):
        for c in range(n_ch):
            for ty in range(ty0, ty0 + nty):
                r0 = xp[n, c, 2 * ty]
                r1 = xp[n, c, 2 * ty + 1]
                r2 = xp[n, c, 2 * ty + 2]
                r3 = xp[n, c, 2 * ty + 3]
                for half in range(2):
                    s0, s1 = r0[half::2], r1[half::2]
                    s2, s3 = r2[half::2], r3[half::2]
                    dst = ev if half == 0 else od
                    d0, d1, d2, d3 = dst[0], dst[1], dst[2], dst[3]
                    for t in range(tw + 1):
                        d0[t] = s0[t] - s2[t]
                        d1[t] = s1[t] + s2[t]
                        d2[t] = s2[t] - s1[t]
                        d3[t] = s1[t] - s3[t]
                at = n * t_img + (ty - ty0) * tw
                # (B^T d) B: the tile's columns 2tx .. 2tx+3 are ev[tx], od[tx], ev[tx+1],
                # od[tx+1]
                for k in range(4):
                    e, o = ev[k, :tw], od[k, :tw]
                    e1, o1 = ev[k, 1:], od[k, 1:]
                    v0 = v[4 * k, c, at:at + tw]
                    v1 = v[4 * k + 1, c, at:at + tw]
                    v2 = v[4 * k + 2, c, at:at + tw]
                    v3 = v[4 * k + 3, c, at:at + tw]
                    for tx in range(tw):
                        v0[tx] = e[tx] - e1[tx]
                        v1[tx] = o[tx] + e1[tx]
                        v2[tx] = e1[tx] - o[tx]
                        v3[tx] = o[tx] - o1[tx]


@numba.njit(**_SER)
def output_transform(m, ty0, nty, tw, out):  # pragma: no cover - numba
    """Rows ``2 ty0 .. 2 (ty0 + nty)`` of ``out[n, f]`` (N, F, OH, OW) from the products ``m``
    (16, F, N*T), ``T = nty*tw``: ``A^T m A`` per tile (the last row / column of a tile is
    dropped where the output size is odd)."""
    n_img, n_f, oh, ow = out.shape
    t_img = nty * tw
    s = np.empty((2, 4, tw), dtype=m.dtype)
    for n in range(n_img):
        for f in range(n_f):
            for ty in range(ty0, ty0 + nty):
                at = n * t_img + (ty - ty0) * tw
                # A^T m: the two output rows of each tile, per column k of the 4x4 products
                for k in range(4):
                    m0 = m[k, f, at:at + tw]
                    m1 = m[4 + k, f, at:at + tw]
                    m2 = m[8 + k, f, at:at + tw]
                    m3 = m[12 + k, f, at:at + tw]
                    s0, s1 = s[0, k], s[1, k]
                    for tx in range(tw):
                        s0[tx] = m0[tx] + m1[tx] + m2[tx]
                        s1[tx] = m1[tx] - m2[tx] - m3[tx]
                for r in range(2):
                    y = 2 * ty + r
                    if y >= oh:
                        break
                    row = out[n, f, y]
                    c0, c1, c2, c3 = s[r, 0], s[r, 1], s[r, 2], s[r, 3]
                    even = row[0:ow:2]
                    odd = row[1:ow:2]
                    for tx in range(even.shape[0]):
                        even[tx] = c0[tx] + c1[tx] + c2[tx]
                    for tx in range(odd.shape[0]):
                        odd[tx] = c1[tx] - c2[tx] - c3[tx]


# ---- the weight gradient, Winograd F(3x3, 2x2): per 2x2 tile of dy and 4x4 tile of the padded
# input, dW[f, c] += A2^T [(G2 dy_tile G2^T) * (B2^T d B2)] A2, summed over tiles by 16 GEMMs.
# B2 is B with its last row negated, so the input transform above serves, and the sign
# s_a s_b (s = 1, 1, 1, -1) is applied to the 16 summed products instead
#: A2^T and G2 of F(3, 2)
A2T = np.array([[1.0, 1.0, 1.0, 0.0], [0.0, 1.0, -1.0, 0.0], [0.0, 1.0, 1.0, 1.0]])
G2 = np.array([[1.0, 0.0], [0.5, 0.5], [0.5, -0.5], [0.0, 1.0]])
_SIGN = np.array([1.0, 1.0, 1.0, -1.0])


@numba.njit(**_SER)
def grad_transform(dyp, ty0, nty, tw, u):  # pragma: no cover - numba
    """``u[xi, f, n*T + (ty - ty0)*tw + tx]`` = ``(G2 g G2^T)[xi]`` of the 2x2 tile ``g`` of
    ``dyp`` (N, F, 2 th, 2 tw; zero-padded head gradient) at ``(2 ty, 2 tx)``, for the tile
    rows ``ty0 <= ty < ty0 + nty``."""
    n_img, n_f = dyp.shape[0], dyp.shape[1]
    t_img = nty * tw
    rows = np.empty((4, 2 * tw), dtype=dyp.dtype)
    h0, h1, h2, h3 = rows[0], rows[1], rows[2], rows[3]
    for n in range(n_img):
        for f in range(n_f):
            for ty in range(ty0, ty0 + nty):
                g0 = dyp[n, f, 2 * ty]
                g1 = dyp[n, f, 2 * ty + 1]
                # rows of G2 g: g0, (g0 + g1) / 2, (g0 - g1) / 2, g1
                for q in range(2 * tw):
                    h0[q] = g0[q]
                    h1[q] = 0.5 * (g0[q] + g1[q])
                    h2[q] = 0.5 * (g0[q] - g1[q])
                    h3[q] = g1[q]
                at = n * t_img + (ty - ty0) * tw
                # then the same on the columns 2tx (e) and 2tx+1 (o) of each tile
                for k in range(4):
                    e, o = rows[k, 0::2], rows[k, 1::2]
                    u0 = u[4 * k, f, at:at + tw]
                    u1 = u[4 * k + 1, f, at:at + tw]
                    u2 = u[4 * k + 2, f, at:at + tw]
                    u3 = u[4 * k + 3, f, at:at + tw]
                    for tx in range(tw):
                        u0[tx] = e[tx]
                        u1[tx] = 0.5 * (e[tx] + o[tx])
                        u2[tx] = 0.5 * (e[tx] - o[tx])
                        u3[tx] = o[tx]


def weight_grad_output(m: np.ndarray) -> np.ndarray:
    """dW (F, C, 3, 3) from the 16 summed products ``m`` (16, F, C)."""
    sign = np.outer(_SIGN, _SIGN).reshape(16, 1, 1).astype(m.dtype)
    ms = (m * sign).reshape(4, 4, *m.shape[1:])
    a = A2T.astype(m.dtype)
    return np.ascontiguousarray(np.einsum("ia,abfc,jb->fcij", a, ms, a, optimize=True))
