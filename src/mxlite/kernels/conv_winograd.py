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
that padded copy (so the transforms have no bounds checks), padded up to whole tiles.
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
def input_transform(xp, th, tw, v):  # pragma: no cover - numba
    """``v[xi, c, n*T + ty*tw + tx]`` = ``(B^T d B)[xi]`` of the 4x4 tile of ``xp`` (N, C, Hp,
    Wp) at ``(2 ty, 2 tx)``; ``v`` is (16, C, N*T) with ``T = th*tw``."""
    n_img, n_ch = xp.shape[0], xp.shape[1]
    t_img = th * tw
    # the inner loop runs over views cut to their extent with a non-negative index: no
    # wrap-around checks, so LLVM vectorizes it (10x faster than indexing v[xi, c, p])
    a = np.empty((4, tw + 1, 2), dtype=xp.dtype)
    for n in range(n_img):
        for c in range(n_ch):
            for ty in range(th):
                r0 = xp[n, c, 2 * ty]
                r1 = xp[n, c, 2 * ty + 1]
                r2 = xp[n, c, 2 * ty + 2]
                r3 = xp[n, c, 2 * ty + 3]
                at = n * t_img + ty * tw
                # B^T d, row by row, over the whole padded row (2 tw + 2 columns)
                for q in range(2 * tw + 2):
                    a[0, q >> 1, q & 1] = r0[q] - r2[q]
                    a[1, q >> 1, q & 1] = r1[q] + r2[q]
                    a[2, q >> 1, q & 1] = r2[q] - r1[q]
                    a[3, q >> 1, q & 1] = r1[q] - r3[q]
                # (B^T d) B: columns 2tx .. 2tx+3 are pairs tx and tx+1
                for k in range(4):
                    ak = a[k]
                    lo, hi = ak[:tw], ak[1:tw + 1]
                    v0 = v[4 * k, c, at:at + tw]
                    v1 = v[4 * k + 1, c, at:at + tw]
                    v2 = v[4 * k + 2, c, at:at + tw]
                    v3 = v[4 * k + 3, c, at:at + tw]
                    for tx in range(tw):
                        e0, e1 = lo[tx, 0], lo[tx, 1]
                        e2, e3 = hi[tx, 0], hi[tx, 1]
                        v0[tx] = e0 - e2
                        v1[tx] = e1 + e2
                        v2[tx] = e2 - e1
                        v3[tx] = e1 - e3


@numba.njit(**_SER)
def output_transform(m, th, tw, out):  # pragma: no cover - numba
    """``out[n, f]`` (N, F, OH, OW) from the products ``m`` (16, F, N*T): ``A^T m A`` per tile
    (the last row / column of a tile is dropped where the output size is odd)."""
    n_img, n_f, oh, ow = out.shape
    t_img = th * tw
    s = np.empty((2, 4, tw), dtype=m.dtype)
    for n in range(n_img):
        for f in range(n_f):
            for ty in range(th):
                at = n * t_img + ty * tw
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
def grad_transform(dyp, th, tw, u):  # pragma: no cover - numba
    """``u[xi, f, n*T + ty*tw + tx]`` = ``(G2 g G2^T)[xi]`` of the 2x2 tile ``g`` of ``dyp``
    (N, F, 2 th, 2 tw; zero-padded head gradient) at ``(2 ty, 2 tx)``."""
    n_img, n_f = dyp.shape[0], dyp.shape[1]
    t_img = th * tw
    for n in range(n_img):
        for f in range(n_f):
            for ty in range(th):
                g0 = dyp[n, f, 2 * ty]
                g1 = dyp[n, f, 2 * ty + 1]
                at = n * t_img + ty * tw
                # rows of G2 g: g0, (g0 + g1) / 2, (g0 - g1) / 2, g1; then the same on columns
                for k in range(4):
                    u0 = u[4 * k, f, at:at + tw]
                    u1 = u[4 * k + 1, f, at:at + tw]
                    u2 = u[4 * k + 2, f, at:at + tw]
                    u3 = u[4 * k + 3, f, at:at + tw]
                    for tx in range(tw):
                        a0, a1 = g0[2 * tx], g0[2 * tx + 1]
                        b0, b1 = g1[2 * tx], g1[2 * tx + 1]
                        if k == 0:
                            e0, e1 = a0, a1
                        elif k == 1:
                            e0, e1 = 0.5 * (a0 + b0), 0.5 * (a1 + b1)
                        elif k == 2:
                            e0, e1 = 0.5 * (a0 - b0), 0.5 * (a1 - b1)
                        else:
                            e0, e1 = b0, b1
                        u0[tx] = e0
                        u1[tx] = 0.5 * (e0 + e1)
                        u2[tx] = 0.5 * (e0 - e1)
                        u3[tx] = e1


def weight_grad_output(m: np.ndarray) -> np.ndarray:
    """dW (F, C, 3, 3) from the 16 summed products ``m`` (16, F, C)."""
    sign = np.outer(_SIGN, _SIGN).reshape(16, 1, 1).astype(m.dtype)
    ms = (m * sign).reshape(4, 4, *m.shape[1:])
    a = A2T.astype(m.dtype)
    return np.ascontiguousarray(np.einsum("ia,abfc,jb->fcij", a, ms, a, optimize=True))
