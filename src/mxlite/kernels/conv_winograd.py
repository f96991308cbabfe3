"""Winograd convolution kernels, F(2x2, 3x3) and F(4x4, 3x3): 3x3 kernels, stride 1, no
dilation, one group.  F(2x2, 3x3) first; F(4x4, 3x3) (the ``*4`` functions) below.

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
# the transforms' constants as float32 (exact): with Python's int or float literals Numba
# computes a float32 kernel in float64 (int * float32 is float64), converting every value
_HALF, _F2, _F4, _F5, _F8 = (np.float32(k) for k in (0.5, 2, 4, 5, 8))

#: G, the weight transform of F(2x2, 3x3)
G = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])


def tiles(out_h: int, out_w: int) -> tuple[int, int]:
    """Tiles per column and row for an ``out_h x out_w`` output."""
    return (out_h + 1) // 2, (out_w + 1) // 2


def _tile_transform(w: np.ndarray, g: np.ndarray, out=None) -> np.ndarray:
    """``U[a*t + b, f, c] = (g w[f, c] g^T)[a, b]`` for the (t, 3) matrix ``g``: one GEMM
    ``kron(g, g) @ w^T`` in ``w``'s dtype (an ``einsum`` over the 4 axes took 10x as long on a
    256 x 256 x 3 x 3 weight), into ``out`` (t^2, F, C) when given."""
    f, c = w.shape[:2]
    k = np.kron(g, g).astype(w.dtype)
    if out is None:
        out = np.empty((k.shape[0], f, c), dtype=w.dtype)
    np.matmul(k, np.ascontiguousarray(w).reshape(f * c, 9).T, out=out.reshape(k.shape[0], -1))
    return out


def _tile_gather(m: np.ndarray, g: np.ndarray) -> np.ndarray:
    """``dW[f, c] = g^T m[:, f, c] g`` (F, C, 3, 3) from (t^2, F, C) products, the adjoint of
    :func:`_tile_transform` (one GEMM in ``m``'s dtype)."""
    f, c = m.shape[1:]
    dw = np.ascontiguousarray(m).reshape(m.shape[0], f * c).T @ np.kron(g, g).astype(m.dtype)
    return dw.reshape(f, c, 3, 3)


def weight_transform(w: np.ndarray, out=None) -> np.ndarray:
    """``U[xi, f, c] = (G w[f, c] G^T)[xi]`` (16, F, C), C-contiguous, in ``w``'s dtype (into
    ``out`` when given)."""
    return _tile_transform(w, G, out)


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
                    h1[q] = _HALF * (g0[q] + g1[q])
                    h2[q] = _HALF * (g0[q] - g1[q])
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
                        u1[tx] = _HALF * (e[tx] + o[tx])
                        u2[tx] = _HALF * (e[tx] - o[tx])
                        u3[tx] = o[tx]


def weight_grad_output(m: np.ndarray) -> np.ndarray:
    """dW (F, C, 3, 3) from the 16 summed products ``m`` (16, F, C)."""
    # the sign s_a s_b of each product folded into the rows of A2 (a diagonal on each side)
    return _tile_gather(m, _SIGN[:, None] * A2T.T)


# ---- Winograd F(4x4, 3x3): a 6x6 input tile every 4 pixels gives a 4x4 output tile, 36
# products per 16 outputs and input channel (16 per 4 above: 1.78x fewer), and 36 transformed
# values per 16 input pixels (16 per 4 above: 0.56x the bytes).  Interpolation points 0, 1,
# -1, 2, -2 and infinity (Lavin and Gray 2016; oneDNN's float32 Winograd uses this tile):
#
#     B4^T = [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
#             [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]]
#     G4   = [[1/4, 0, 0], [-1/6, -1/6, -1/6], [-1/6, 1/6, -1/6],
#             [1/24, 1/12, 1/6], [1/24, -1/12, 1/6], [0, 0, 1]]
#     A4^T = [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]]
#
# Transformed values are indexed ``xi = 6 a + b`` (row a, column b of the 6x6 tile).  The weight
# gradient runs the same trilinear form the other way round: ``dw = G4^T [(A4 g A4^T) *
# (B4^T d B4)] G4`` for a 4x4 tile ``g`` of dy and the 6x6 input tile ``d`` at the same place,
# summed over tiles (by 36 GEMMs), i.e. F(3x3, 4x4) with the input transform of the forward.
B4T = np.array([[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
                [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]], dtype=float)
G4 = np.array([[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
               [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]])
A4T = np.array([[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0],
                [0, 1, -1, 8, -8, 1]], dtype=float)


def tiles4(out_h: int, out_w: int) -> tuple[int, int]:
    """F(4x4, 3x3) tiles per column and row for an ``out_h x out_w`` output."""
    return (out_h + 3) // 4, (out_w + 3) // 4


def weight_transform4(w: np.ndarray, out=None) -> np.ndarray:
    """``U[6a + b, f, c] = (G4 w[f, c] G4^T)[a, b]`` (36, F, C), C-contiguous, in ``w``'s
    dtype (into ``out`` when given)."""
    return _tile_transform(w, G4, out)


@numba.njit(inline="always", **_SER)
def _bt_rows(d0, d1, d2, d3, d4, d5, o0, o1, o2, o3, o4, o5):  # pragma: no cover - numba
    """``o_k = (B4^T d)_k`` elementwise over equal-length vectors (inlined by LLVM)."""
    for t in range(o0.shape[0]):
        a2, a4 = d2[t], d4[t]
        t1 = a4 - _F4 * a2
        t2 = d3[t] - _F4 * d1[t]
        t3 = a4 - a2
        t4 = _F2 * (d3[t] - d1[t])
        o0[t] = _F4 * d0[t] - _F5 * a2 + a4
        o1[t] = t1 + t2
        o2[t] = t1 - t2
        o3[t] = t3 + t4
        o4[t] = t3 - t4
        o5[t] = _F4 * d1[t] - _F5 * d3[t] + d5[t]


@numba.njit(**_SER)
def input_transform4(x, pad_h, pad_w, ty0, nty, tw, v):  # pragma: no cover - numba
    """``v[6a + b, c, n*T + (ty - ty0)*tw + tx]`` = ``(B4^T d B4)[a, b]`` of the 6x6 tile at
    ``(4 ty, 4 tx)`` of the images ``x`` (N, C, H, W) zero-padded by ``pad_h`` rows above and
    ``pad_w`` columns on the left (and zeros wherever a tile reaches past the image), for the
    tile rows ``ty0 <= ty < ty0 + nty``; ``v`` is (36, C, N*T) with ``T = nty*tw``."""
    n_img, n_ch, height, width = x.shape
    t_img = nty * tw
    r_lo = 4 * ty0 - pad_h
    wp = 4 * tw + 2
    w1 = max(0, min(width, wp - pad_w))
    # each image row is copied into a zero-padded row buffer (in L1) and read from there: no
    # padded copy of the images.  h[b, k % 4, (k // 4) tw + tx]: the column transform
    # (d B4)[., b] of padded row r_lo + k at tile column tx (rows that two tile rows share are
    # transformed once).  Rows k = 4t + i of tile row t then lie at h[b, i, t tw + tx] (i < 4)
    # and h[b, i - 4, (t + 1) tw + tx], so the row transform runs over the whole block at
    # once, each vector contiguous
    buf = np.zeros(wp, dtype=x.dtype)
    zero = np.zeros(wp, dtype=x.dtype)
    body = buf[pad_w:pad_w + w1]
    h = np.zeros((6, 4, (nty + 1) * tw), dtype=x.dtype)
    t_len = nty * tw
    for n in range(n_img):
        at = n * t_img
        for c in range(n_ch):
            for k in range(4 * nty + 2):
                r = r_lo + k
                if 0 <= r < height:
                    src = x[n, c, r, :w1]
                    for q in range(w1):
                        body[q] = src[q]
                    row = buf
                else:
                    row = zero
                q, o = k % 4, (k // 4) * tw
                h0, h1, h2 = h[0, q, o:o + tw], h[1, q, o:o + tw], h[2, q, o:o + tw]
                h3, h4, h5 = h[3, q, o:o + tw], h[4, q, o:o + tw], h[5, q, o:o + tw]
                # the six loads of a tile from one base: LLVM vectorizes them as one
                # interleaved group (strided views compiled to scalar code, 4x slower)
                for tx in range(tw):
                    j = 4 * tx
                    d0, d1, d2 = row[j], row[j + 1], row[j + 2]
                    d3, d4, d5 = row[j + 3], row[j + 4], row[j + 5]
                    t1 = d4 - _F4 * d2
                    t2 = d3 - _F4 * d1
                    t3 = d4 - d2
                    t4 = _F2 * (d3 - d1)
                    h0[tx] = _F4 * d0 - _F5 * d2 + d4
                    h1[tx] = t1 + t2
                    h2[tx] = t1 - t2
                    h3[tx] = t3 + t4
                    h4[tx] = t3 - t4
                    h5[tx] = _F4 * d1 - _F5 * d3 + d5
            for b in range(6):
                hb = h[b]
                _bt_rows(hb[0, :t_len], hb[1, :t_len], hb[2, :t_len], hb[3, :t_len],
                         hb[0, tw:tw + t_len], hb[1, tw:tw + t_len],
                         v[b, c, at:at + t_len], v[6 + b, c, at:at + t_len],
                         v[12 + b, c, at:at + t_len], v[18 + b, c, at:at + t_len],
                         v[24 + b, c, at:at + t_len], v[30 + b, c, at:at + t_len])


@numba.njit(inline="always", **_SER)
def _at_rows(m0, m1, m2, m3, m4, m5, o0, o1, o2, o3):  # pragma: no cover - numba
    """``o_r = (A4^T m)_r`` elementwise over equal-length vectors."""
    for t in range(o0.shape[0]):
        p12, q12 = m1[t] + m2[t], m1[t] - m2[t]
        p34, q34 = m3[t] + m4[t], m3[t] - m4[t]
        o0[t] = m0[t] + p12 + p34
        o1[t] = q12 + _F2 * q34
        o2[t] = p12 + _F4 * p34
        o3[t] = q12 + _F8 * q34 + m5[t]


@numba.njit(**_SER)
def output_transform4(m, bias, ty0, nty, tw, out):  # pragma: no cover - numba
    """Rows ``4 ty0 .. 4 (ty0 + nty)`` of ``out[n, f]`` (N, F, OH, OW) from the products ``m``
    (36, F, N*T), ``T = nty*tw``: ``A4^T m A4 + bias[f]`` per tile (the rows / columns of a
    tile past the output's edge are dropped); ``bias`` has F values (zeros for none)."""
    n_img, n_f, oh, ow = out.shape
    t_img = nty * tw
    # s[r, b, t tw + tx]: (A4^T m)[r, b] of the block's tiles, over the block at once; then
    # per output row the column transform, whose 4 values of a tile go to 4 adjacent pixels
    s = np.empty((4, 6, t_img), dtype=m.dtype)
    full = ow // 4
    for n in range(n_img):
        at = n * t_img
        for f in range(n_f):
            bf = bias[f]
            for b in range(6):
                _at_rows(m[b, f, at:at + t_img], m[6 + b, f, at:at + t_img],
                         m[12 + b, f, at:at + t_img], m[18 + b, f, at:at + t_img],
                         m[24 + b, f, at:at + t_img], m[30 + b, f, at:at + t_img],
                         s[0, b], s[1, b], s[2, b], s[3, b])
            for t in range(nty):
                for r in range(4):
                    y = 4 * (ty0 + t) + r
                    if y >= oh:
                        break
                    row = out[n, f, y]
                    sr = s[r]
                    o = t * tw
                    for tx in range(full):
                        c0, c1, c2 = sr[0, o + tx], sr[1, o + tx], sr[2, o + tx]
                        c3, c4, c5 = sr[3, o + tx], sr[4, o + tx], sr[5, o + tx]
                        p12, q12 = c1 + c2, c1 - c2
                        p34, q34 = c3 + c4, c3 - c4
                        row[4 * tx] = c0 + p12 + p34 + bf
                        row[4 * tx + 1] = q12 + _F2 * q34 + bf
                        row[4 * tx + 2] = p12 + _F4 * p34 + bf
                        row[4 * tx + 3] = q12 + _F8 * q34 + c5 + bf
                    if full < tw:  # the last tile, cut by the edge
                        tx = full
                        c0, c1, c2 = sr[0, o + tx], sr[1, o + tx], sr[2, o + tx]
                        c3, c4 = sr[3, o + tx], sr[4, o + tx]
                        p12, q12 = c1 + c2, c1 - c2
                        p34, q34 = c3 + c4, c3 - c4
                        row[4 * tx] = c0 + p12 + p34 + bf
                        if 4 * tx + 1 < ow:
                            row[4 * tx + 1] = q12 + _F2 * q34 + bf
                        if 4 * tx + 2 < ow:
                            row[4 * tx + 2] = p12 + _F4 * p34 + bf


@numba.njit(inline="always", **_SER)
def _a_rows(g0, g1, g2, g3, o0, o1, o2, o3, o4, o5):  # pragma: no cover - numba
    """``o_k = (A4 g)_k`` elementwise over equal-length vectors."""
    for t in range(o0.shape[0]):
        a0, a1, a2, a3 = g0[t], g1[t], g2[t], g3[t]
        p02, p13 = a0 + a2, a1 + a3
        q02, q13 = a0 + _F4 * a2, _F2 * a1 + _F8 * a3
        o0[t] = a0
        o1[t] = p02 + p13
        o2[t] = p02 - p13
        o3[t] = q02 + q13
        o4[t] = q02 - q13
        o5[t] = a3


@numba.njit(**_SER)
def grad_transform4(dy, ty0, nty, tw, u):  # pragma: no cover - numba
    """``u[6a + b, f, n*T + (ty - ty0)*tw + tx]`` = ``(A4 g A4^T)[a, b]`` of the 4x4 tile ``g``
    at ``(4 ty, 4 tx)`` of the head gradient ``dy`` (N, F, OH, OW; zeros past its edges), for
    the tile rows ``ty0 <= ty < ty0 + nty``."""
    n_img, n_f, oh, ow = dy.shape
    t_img = nty * tw
    w1 = min(ow, 4 * tw)
    # rows past the bottom edge read a zero row; rows cut by the right edge go through a
    # zero-padded buffer
    buf = np.zeros(4 * tw, dtype=dy.dtype)
    zero = np.zeros(4 * tw, dtype=dy.dtype)
    body = buf[:w1]
    # h[b, i, t tw + tx]: (g A4^T)[i, b] of the block's tiles (row 4 (ty0 + t) + i), then the
    # row transform over the whole block at once, as in input_transform4
    h = np.empty((6, 4, t_img), dtype=dy.dtype)
    for n in range(n_img):
        at = n * t_img
        for f in range(n_f):
            for t in range(nty):
                o = t * tw
                for i in range(4):
                    r = 4 * (ty0 + t) + i
                    if r >= oh:
                        row = zero
                    elif w1 == 4 * tw:
                        row = dy[n, f, r]
                    else:
                        src = dy[n, f, r]
                        for q in range(w1):
                            body[q] = src[q]
                        row = buf
                    h0, h1, h2 = h[0, i, o:o + tw], h[1, i, o:o + tw], h[2, i, o:o + tw]
                    h3, h4, h5 = h[3, i, o:o + tw], h[4, i, o:o + tw], h[5, i, o:o + tw]
                    for tx in range(tw):
                        j = 4 * tx
                        a0, a1, a2, a3 = row[j], row[j + 1], row[j + 2], row[j + 3]
                        p02, p13 = a0 + a2, a1 + a3
                        q02, q13 = a0 + _F4 * a2, _F2 * a1 + _F8 * a3
                        h0[tx] = a0
                        h1[tx] = p02 + p13
                        h2[tx] = p02 - p13
                        h3[tx] = q02 + q13
                        h4[tx] = q02 - q13
                        h5[tx] = a3
            for b in range(6):
                hb = h[b]
                _a_rows(hb[0], hb[1], hb[2], hb[3], u[b, f, at:at + t_img],
                        u[6 + b, f, at:at + t_img], u[12 + b, f, at:at + t_img],
                        u[18 + b, f, at:at + t_img], u[24 + b, f, at:at + t_img],
                        u[30 + b, f, at:at + t_img])


def weight_grad_output4(m: np.ndarray) -> np.ndarray:
    """dW (F, C, 3, 3) = ``G4^T m G4`` per (f, c) from the 36 summed products ``m`` (36, F,
    C)."""
    return _tile_gather(m, G4)
