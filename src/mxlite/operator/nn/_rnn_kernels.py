"""Numba kernels of the fused ``RNN`` operator: one call runs one layer in one direction.

The input projection of every time step (``x_t @ W_x.T + b``) is one GEMM done by the caller
before the kernel (``gx``, ``(T, N, G*H)``); the kernel walks the time steps, doing the
recurrent GEMM ``h @ W_h.T`` through BLAS (``np.dot`` with an output buffer) and the gate
nonlinearities of the whole batch in one fused loop.  Gate order: LSTM ``i, f, g, o``; GRU
``r, z, n``.

Shared arguments:

- ``reverse``: walk ``t = T-1 .. 0`` (the backward direction of a bidirectional layer).
- ``lens`` ``(N,)`` int64: valid steps per sample; at ``t >= lens[n]`` the state of sample
  ``n`` is carried unchanged, its output is 0 and no gradient flows (``use_sequence_length``;
  ``lens[n] = T`` otherwise).
- ``y`` ``(T, N, D*R)``: the layer output; this direction writes columns ``off .. off+R``.
- ``save``: keep what backward needs (training); when False the save arrays may be empty.
- saved per step: ``hprev`` ``(T, N, R)`` the state the step started from; ``acts`` the gate
  activations (LSTM ``(T, N, 4H)``, GRU ``(T, N, 3H)``, RNN ``(T, N, H)`` its output); LSTM
  ``cs`` ``(T, N, H)`` the cell state after the step, GRU ``hn`` ``(T, N, H)`` the recurrent
  part of the candidate ``W_hn h + b_hn``.

Backward kernels get ``dy`` (gradient of ``y``), ``dhy``/``dcy`` (of the final states) and
return the gate gradients of every step (``dg``, ``(T, N, G*H)``, plus for the GRU ``dgh``,
the gradient of the recurrent pre-activations), from which the caller computes weight, bias
and input gradients with one GEMM each over all steps.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ... import kernels  # noqa: F401  (sets Numba's cache directory before the jits below)

_BODY = {"cache": True, "nogil": True, "inline": "always"}
_SER = {"cache": True, "nogil": True}


@numba.njit(**_BODY)
def _clip(v, lo, hi, clip_nan):  # pragma: no cover - numba
    if v != v:  # NaN
        return lo if clip_nan else v
    if v < lo:
        return lo
    if v > hi:
        return hi
    return v


_F = np.float32
_I = np.int32


@numba.njit(cache=True, nogil=True, fastmath={"contract", "arcp"})
def exp_into(a, out, bits):  # pragma: no cover - numba
    """``out[:m] = exp(a[:m])`` (flat arrays, ``m = a.size``).  float32: Cody-Waite range
    reduction ``a = k ln2 + r`` and a degree-7 polynomial in ``r``, ``2^k`` put together in the
    int32 scratch ``bits`` and multiplied in a second pass; both loops vectorize (libm's scalar
    ``expf`` is ~4x slower).  Relative error < 1e-7; arguments are clamped to [-87, 88] (so
    huge values give ~1.7e38 and tiny ones ~1.6e-38 instead of inf / 0, which the gates below
    turn into the same 0 / 1).  float64: ``math.exp``."""
    m = a.shape[0]
    if a.itemsize != 4:
        for j in range(m):
            out[j] = math.exp(a[j])
        return
    for j in range(m):
        v = min(max(a[j], _F(-87.0)), _F(88.0))
        kf = math.floor(v * _F(1.4426950408889634) + _F(0.5))
        r = v - kf * _F(0.693359375) - kf * _F(-2.12194440e-4)
        q = _F(1.0 / 5040.0)
        q = q * r + _F(1.0 / 720.0)
        q = q * r + _F(1.0 / 120.0)
        q = q * r + _F(1.0 / 24.0)
        q = q * r + _F(1.0 / 6.0)
        q = q * r + _F(0.5)
        q = q * r + _F(1.0)
        out[j] = q * r + _F(1.0)
        bits[j] = (_I(kf) + _I(127)) << _I(23)
    scale = bits[:m].view(np.float32)
    for j in range(m):
        v = out[j] * scale[j]
        out[j] = v if a[j] == a[j] else a[j]  # NaN stays NaN


# ------------------------------------------------------------------------------------- LSTM
@numba.njit(**_SER)
def lstm_forward(gx, wht, h0, c0, lens, reverse, y, off, save, hprev, acts, cs,
                 wrt, proj, hraw, clip, lo, hi, clip_nan, cmask, hy, cy):  # pragma: no cover
    """LSTM(P) over one layer and direction; ``wrt`` ``(H, R)`` is the transposed projection
    when ``proj`` (the recurrent state is then ``r = (o * tanh(c)) @ wrt``); ``clip`` clips the
    cell state to ``[lo, hi]`` after every step (``cmask`` records where it did not).
    Per step: ``sigmoid(v) = 1 / (1 + exp(-v))`` and ``tanh(v) = 2 sigmoid(2v) - 1`` from one
    vectorized :func:`exp_into` over the batch's gates, and one over its cell states."""
    T, N, G = gx.shape
    H = G // 4
    R = h0.shape[1]
    one = np.ones(1, gx.dtype)[0]
    two = one + one
    h = h0.copy()
    c = c0.copy()
    gh = np.empty((N, G), gx.dtype)
    hr = np.empty((N, H), gx.dtype)
    rnew = np.empty((N, R), gx.dtype)
    arg = np.empty(N * G, gx.dtype)
    e = np.empty(N * G, gx.dtype)
    ec = np.empty(N * H, gx.dtype)
    bits = np.empty(N * G, np.int32)
    for s in range(T):
        t = T - 1 - s if reverse else s
        if save:
            hprev[t] = h
        np.dot(h, wht, gh)
        for n in range(N):
            gxr, ghr, ar = gx[t, n], gh[n], arg[n * G:(n + 1) * G]
            for k in range(G):
                ar[k] = -(gxr[k] + ghr[k])
            ag = ar[2 * H:3 * H]
            for k in range(H):
                ag[k] *= two
        exp_into(arg, e, bits)
        for n in range(N):
            b = n * G
            if t >= lens[n]:
                for k in range(R):
                    y[t, n, off + k] = 0.0
                for k in range(H):
                    arg[n * H + k] = 0.0
                continue
            # branch-free gate arithmetic on row slices indexed by the bare loop counter (so
            # that Numba drops its negative-index fix-ups and LLVM vectorizes the loop);
            # clipping and saving in loops of their own
            ei, ef = e[b:b + H], e[b + H:b + 2 * H]
            eg = e[b + 2 * H:b + 3 * H]
            cr, ar = c[n], arg[n * H:(n + 1) * H]
            for k in range(H):
                cn = (one / (one + ef[k])) * cr[k] + (one / (one + ei[k])) * (
                    two / (one + eg[k]) - one)
                cr[k] = cn
                ar[k] = -two * cn
            if clip:
                for k in range(H):
                    cn = c[n, k]
                    cc = _clip(cn, lo, hi, clip_nan)
                    if save:
                        cmask[t, n, k] = 1.0 if cc == cn else 0.0
                    c[n, k] = cc
                    arg[n * H + k] = -two * cc
            if save:
                for k in range(G):
                    acts[t, n, k] = one / (one + e[b + k])
                for k in range(2 * H, 3 * H):
                    acts[t, n, k] = two * acts[t, n, k] - one
        exp_into(arg[:N * H], ec, bits)
        for n in range(N):
            if t >= lens[n]:
                continue
            b = n * G
            if proj:
                for k in range(H):
                    hr[n, k] = (two / (one + ec[n * H + k]) - one) / (one + e[b + 3 * H + k])
            else:
                ecr, eo, hrow = ec[n * H:(n + 1) * H], e[b + 3 * H:b + 4 * H], h[n]
                for k in range(H):
                    hrow[k] = (two / (one + ecr[k]) - one) / (one + eo[k])
                y[t, n, off:off + H] = hrow
        if proj:
            np.dot(hr, wrt, rnew)
            for n in range(N):
                if t < lens[n]:
                    for k in range(R):
                        h[n, k] = rnew[n, k]
                        y[t, n, off + k] = rnew[n, k]
                    if save:
                        for k in range(H):
                            hraw[t, n, k] = hr[n, k]
                elif save:
                    for k in range(H):
                        hraw[t, n, k] = 0.0
        if save:
            cs[t] = c
    hy[:, :] = h
    cy[:, :] = c


@numba.njit(**_SER)
def lstm_backward(dy, off, dhy, dcy, wh, c0, lens, reverse, acts, cs, wr, proj, clip, cmask,
                  dg, dr, dh0, dc0):  # pragma: no cover - numba
    """Gate gradients ``dg`` of every step (pre-activation, ``i, f, g, o``); ``dr`` gets the
    gradient of each step's projected state when ``proj``; ``dh0``/``dc0`` the initial
    states'."""
    T, N, G = dg.shape
    H = G // 4
    R = dhy.shape[1]
    one = np.ones(1, dg.dtype)[0]
    two = one + one
    dh = dhy.copy()
    dc = dcy.copy()
    dhr = np.empty((N, H), dg.dtype)
    back = np.empty((N, R), dg.dtype)
    arg = np.empty(N * H, dg.dtype)
    ec = np.empty(N * H, dg.dtype)
    bits = np.empty(N * H, np.int32)
    ones = np.ones(H, dg.dtype)
    for s in range(T):
        t = s if reverse else T - 1 - s
        tp = t + 1 if reverse else t - 1  # the step before t in the walk
        for n in range(N):
            csr, ar = cs[t, n], arg[n * H:(n + 1) * H]
            for k in range(H):
                ar[k] = -two * csr[k]
        exp_into(arg, ec, bits)  # tanh(c) exactly as the forward computed it
        for n in range(N):
            if t < lens[n]:
                for k in range(R):
                    dh[n, k] += dy[t, n, off + k]
        if proj:
            for n in range(N):
                for k in range(R):
                    dr[t, n, k] = dh[n, k] if t < lens[n] else 0.0
            np.dot(dr[t], wr, dhr)
        else:
            dhr[:, :] = dh
        for n in range(N):
            dgr = dg[t, n]
            if t >= lens[n]:
                for k in range(G):
                    dgr[k] = 0.0
                continue
            # row slices indexed by the bare counter: no negative-index fix-ups, vectorizes
            ar = acts[t, n]
            ai, af, ag, ao = ar[:H], ar[H:2 * H], ar[2 * H:3 * H], ar[3 * H:]
            gi, gf, gg, go = dgr[:H], dgr[H:2 * H], dgr[2 * H:3 * H], dgr[3 * H:]
            ecr, dcr, dhrr = ec[n * H:(n + 1) * H], dc[n], dhr[n]
            cpr = cs[tp, n] if 0 <= tp < T else c0[n]
            cmr = cmask[t, n] if clip else ones
            for k in range(H):
                tc = two / (one + ecr[k]) - one
                dct = (dcr[k] + dhrr[k] * ao[k] * (one - tc * tc)) * cmr[k]
                gi[k] = dct * ag[k] * ai[k] * (one - ai[k])
                gf[k] = dct * cpr[k] * af[k] * (one - af[k])
                gg[k] = dct * ai[k] * (one - ag[k] * ag[k])
                go[k] = dhrr[k] * tc * ao[k] * (one - ao[k])
                dcr[k] = dct * af[k]
        np.dot(dg[t], wh, back)
        for n in range(N):
            if t < lens[n]:
                for k in range(R):
                    dh[n, k] = back[n, k]
    dh0[:, :] = dh
    dc0[:, :] = dc


# -------------------------------------------------------------------------------------- GRU
@numba.njit(**_SER)
def gru_forward(gx, wht, bh, h0, lens, reverse, y, off, save, hprev, acts, hn, hy):
    """GRU over one layer and direction (MXNet's / cuDNN's form):
    ``r = s(x_r + h_r + b_r)``, ``z = s(x_z + h_z + b_z)``, ``n = tanh(x_n + r * (h_n + b_hn))``,
    ``h' = (1 - z) * n + z * h``; ``gx`` holds ``x @ W_x.T + b_x``, ``bh`` is ``b_h``.  Per step
    one vectorized :func:`exp_into` for ``r, z`` and one for ``n``."""
    # pragma: no cover - numba
    T, N, G = gx.shape
    H = G // 3
    one = np.ones(1, gx.dtype)[0]
    two = one + one
    h = h0.copy()
    gh = np.empty((N, G), gx.dtype)
    arg = np.empty(N * 2 * H, gx.dtype)
    e = np.empty(N * 2 * H, gx.dtype)
    en = np.empty(N * H, gx.dtype)
    bits = np.empty(N * 2 * H, np.int32)
    for s in range(T):
        t = T - 1 - s if reverse else s
        if save:
            hprev[t] = h
        np.dot(h, wht, gh)
        for n in range(N):
            for k in range(2 * H):
                arg[n * 2 * H + k] = -(gx[t, n, k] + gh[n, k] + bh[k])
        exp_into(arg, e, bits)
        for n in range(N):
            for k in range(H):
                r = one / (one + e[n * 2 * H + k])
                arg[n * H + k] = -two * (gx[t, n, 2 * H + k] + r * (gh[n, 2 * H + k]
                                                                    + bh[2 * H + k]))
        exp_into(arg[:N * H], en, bits)
        for n in range(N):
            if t >= lens[n]:
                for k in range(H):
                    y[t, n, off + k] = 0.0
                continue
            for k in range(H):
                r = one / (one + e[n * 2 * H + k])
                z = one / (one + e[n * 2 * H + H + k])
                nv = two / (one + en[n * H + k]) - one
                hv = (one - z) * nv + z * h[n, k]
                h[n, k] = hv
                y[t, n, off + k] = hv
                if save:
                    acts[t, n, k] = r
                    acts[t, n, H + k] = z
                    acts[t, n, 2 * H + k] = nv
                    hn[t, n, k] = gh[n, 2 * H + k] + bh[2 * H + k]
    hy[:, :] = h


@numba.njit(**_SER)
def gru_backward(dy, off, dhy, wh, lens, reverse, hprev, acts, hn, dg, dgh, dh0):
    """Gradients of the input pre-activations ``dg`` (``r, z, n``) and of the recurrent ones
    ``dgh`` (equal but for ``n``, which is scaled by ``r``), and of the initial state."""
    # pragma: no cover - numba
    T, N, G = dg.shape
    H = G // 3
    dh = dhy.copy()
    back = np.empty((N, H), dg.dtype)
    for s in range(T):
        t = s if reverse else T - 1 - s
        for n in range(N):
            if t >= lens[n]:
                for k in range(G):
                    dg[t, n, k] = 0.0
                    dgh[t, n, k] = 0.0
                continue
            for k in range(H):
                d = dh[n, k] + dy[t, n, off + k]
                r = acts[t, n, k]
                z = acts[t, n, H + k]
                nv = acts[t, n, 2 * H + k]
                dn = d * (1.0 - z) * (1.0 - nv * nv)
                dz = d * (hprev[t, n, k] - nv) * z * (1.0 - z)
                drr = dn * hn[t, n, k] * r * (1.0 - r)
                dg[t, n, k] = drr
                dg[t, n, H + k] = dz
                dg[t, n, 2 * H + k] = dn
                dgh[t, n, k] = drr
                dgh[t, n, H + k] = dz
                dgh[t, n, 2 * H + k] = dn * r
                dh[n, k] = d * z  # the direct path; the GEMM part is added below
        np.dot(dgh[t], wh, back)
        for n in range(N):
            if t < lens[n]:
                for k in range(H):
                    dh[n, k] += back[n, k]
    dh0[:, :] = dh


# ------------------------------------------------------------------------- RNN tanh / relu
@numba.njit(**_SER)
def rnn_forward(gx, wht, h0, lens, reverse, relu, y, off, save, hprev, acts, hy):
    """Elman RNN over one layer and direction: ``h' = act(x @ W_x.T + b_x + h @ W_h.T + b_h)``
    with ``act`` tanh (one vectorized :func:`exp_into` per step) or relu."""
    # pragma: no cover - numba
    T, N, H = gx.shape
    one = np.ones(1, gx.dtype)[0]
    two = one + one
    h = h0.copy()
    gh = np.empty((N, H), gx.dtype)
    arg = np.empty(N * H, gx.dtype)
    e = np.empty(N * H, gx.dtype)
    bits = np.empty(N * H, np.int32)
    for s in range(T):
        t = T - 1 - s if reverse else s
        if save:
            hprev[t] = h
        np.dot(h, wht, gh)
        if not relu:
            for n in range(N):
                for k in range(H):
                    arg[n * H + k] = -two * (gx[t, n, k] + gh[n, k])
            exp_into(arg, e, bits)
        for n in range(N):
            if t >= lens[n]:
                for k in range(H):
                    y[t, n, off + k] = 0.0
                continue
            for k in range(H):
                if relu:
                    v = gx[t, n, k] + gh[n, k]
                    hv = v if v > 0.0 else 0.0
                else:
                    hv = two / (one + e[n * H + k]) - one
                h[n, k] = hv
                y[t, n, off + k] = hv
                if save:
                    acts[t, n, k] = hv
    hy[:, :] = h


@numba.njit(**_SER)
def rnn_backward(dy, off, dhy, wh, lens, reverse, relu, acts, dg, dh0):
    """Pre-activation gradients ``dg`` of every step and the initial state's gradient."""
    # pragma: no cover - numba
    T, N, H = dg.shape
    dh = dhy.copy()
    back = np.empty((N, H), dg.dtype)
    for s in range(T):
        t = s if reverse else T - 1 - s
        for n in range(N):
            if t >= lens[n]:
                for k in range(H):
                    dg[t, n, k] = 0.0
                continue
            for k in range(H):
                d = dh[n, k] + dy[t, n, off + k]
                hv = acts[t, n, k]
                if relu:
                    dg[t, n, k] = d if hv > 0.0 else 0.0
                else:
                    dg[t, n, k] = d * (1.0 - hv * hv)
        np.dot(dg[t], wh, back)
        for n in range(N):
            if t < lens[n]:
                for k in range(H):
                    dh[n, k] = back[n, k]
    dh0[:, :] = dh
