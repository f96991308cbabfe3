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

_BODY = {"cache": True, "nogil": True, "inline": "always"}
_SER = {"cache": True, "nogil": True}


@numba.njit(**_BODY)
def _sigmoid(v):  # pragma: no cover - numba
    if v >= 0:
        return 1.0 / (1.0 + math.exp(-v))
    e = math.exp(v)
    return e / (1.0 + e)


@numba.njit(**_BODY)
def _clip(v, lo, hi, clip_nan):  # pragma: no cover - numba
    if v != v:  # NaN
        return lo if clip_nan else v
    if v < lo:
        return lo
    if v > hi:
        return hi
    return v


# ------------------------------------------------------------------------------------- LSTM
@numba.njit(**_SER)
def lstm_forward(gx, wh, h0, c0, lens, reverse, y, off, save, hprev, acts, cs,
                 wr, proj, hraw, clip, lo, hi, clip_nan, cmask, hy, cy):  # pragma: no cover
    """LSTM(P) over one layer and direction; ``wr`` ``(R, H)`` is the projection when
    ``proj`` (the recurrent state is then ``r = (o * tanh(c)) @ wr.T``); ``clip`` clips the
    cell state to ``[lo, hi]`` after every step (``cmask`` records where it did not)."""
    T, N, G = gx.shape
    H = G // 4
    R = h0.shape[1]
    h = h0.copy()
    c = c0.copy()
    gh = np.empty((N, G), gx.dtype)
    hr = np.empty((N, H), gx.dtype)
    rnew = np.empty((N, R), gx.dtype)
    for s in range(T):
        t = T - 1 - s if reverse else s
        if save:
            hprev[t] = h
        np.dot(h, wh.T, gh)
        for n in range(N):
            if t >= lens[n]:
                for k in range(R):
                    y[t, n, off + k] = 0.0
                continue
            for k in range(H):
                i = _sigmoid(gx[t, n, k] + gh[n, k])
                f = _sigmoid(gx[t, n, H + k] + gh[n, H + k])
                g = math.tanh(gx[t, n, 2 * H + k] + gh[n, 2 * H + k])
                o = _sigmoid(gx[t, n, 3 * H + k] + gh[n, 3 * H + k])
                cn = f * c[n, k] + i * g
                if clip:
                    cc = _clip(cn, lo, hi, clip_nan)
                    if save:
                        cmask[t, n, k] = 1.0 if cc == cn else 0.0
                    cn = cc
                c[n, k] = cn
                hv = o * math.tanh(cn)
                if save:
                    acts[t, n, k] = i
                    acts[t, n, H + k] = f
                    acts[t, n, 2 * H + k] = g
                    acts[t, n, 3 * H + k] = o
                if proj:
                    hr[n, k] = hv
                else:
                    h[n, k] = hv
                    y[t, n, off + k] = hv
        if proj:
            np.dot(hr, wr.T, rnew)
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
    dh = dhy.copy()
    dc = dcy.copy()
    dhr = np.empty((N, H), dg.dtype)
    back = np.empty((N, R), dg.dtype)
    for s in range(T):
        t = s if reverse else T - 1 - s
        tp = t + 1 if reverse else t - 1  # the step before t in the walk
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
            if t >= lens[n]:
                for k in range(G):
                    dg[t, n, k] = 0.0
                continue
            for k in range(H):
                i = acts[t, n, k]
                f = acts[t, n, H + k]
                g = acts[t, n, 2 * H + k]
                o = acts[t, n, 3 * H + k]
                tc = math.tanh(cs[t, n, k])
                cp = cs[tp, n, k] if 0 <= tp < T else c0[n, k]
                dct = dc[n, k] + dhr[n, k] * o * (1.0 - tc * tc)
                if clip:
                    dct *= cmask[t, n, k]
                dg[t, n, k] = dct * g * i * (1.0 - i)
                dg[t, n, H + k] = dct * cp * f * (1.0 - f)
                dg[t, n, 2 * H + k] = dct * i * (1.0 - g * g)
                dg[t, n, 3 * H + k] = dhr[n, k] * tc * o * (1.0 - o)
                dc[n, k] = dct * f
        np.dot(dg[t], wh, back)
        for n in range(N):
            if t < lens[n]:
                for k in range(R):
                    dh[n, k] = back[n, k]
    dh0[:, :] = dh
    dc0[:, :] = dc


# -------------------------------------------------------------------------------------- GRU
@numba.njit(**_SER)
def gru_forward(gx, wh, bh, h0, lens, reverse, y, off, save, hprev, acts, hn, hy):
    """GRU over one layer and direction (MXNet's / cuDNN's form):
    ``r = s(x_r + h_r + b_r)``, ``z = s(x_z + h_z + b_z)``, ``n = tanh(x_n + r * (h_n + b_hn))``,
    ``h' = (1 - z) * n + z * h``; ``gx`` holds ``x @ W_x.T + b_x``, ``bh`` is ``b_h``."""
    # pragma: no cover - numba
    T, N, G = gx.shape
    H = G // 3
    h = h0.copy()
    gh = np.empty((N, G), gx.dtype)
    for s in range(T):
        t = T - 1 - s if reverse else s
        if save:
            hprev[t] = h
        np.dot(h, wh.T, gh)
        for n in range(N):
            if t >= lens[n]:
                for k in range(H):
                    y[t, n, off + k] = 0.0
                continue
            for k in range(H):
                r = _sigmoid(gx[t, n, k] + gh[n, k] + bh[k])
                z = _sigmoid(gx[t, n, H + k] + gh[n, H + k] + bh[H + k])
                hl = gh[n, 2 * H + k] + bh[2 * H + k]
                nv = math.tanh(gx[t, n, 2 * H + k] + r * hl)
                hv = (1.0 - z) * nv + z * h[n, k]
                h[n, k] = hv
                y[t, n, off + k] = hv
                if save:
                    acts[t, n, k] = r
                    acts[t, n, H + k] = z
                    acts[t, n, 2 * H + k] = nv
                    hn[t, n, k] = hl
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
def rnn_forward(gx, wh, h0, lens, reverse, relu, y, off, save, hprev, acts, hy):
    """Elman RNN over one layer and direction: ``h' = act(x @ W_x.T + b_x + h @ W_h.T + b_h)``
    with ``act`` tanh or relu."""
    # pragma: no cover - numba
    T, N, H = gx.shape
    h = h0.copy()
    gh = np.empty((N, H), gx.dtype)
    for s in range(T):
        t = T - 1 - s if reverse else s
        if save:
            hprev[t] = h
        np.dot(h, wh.T, gh)
        for n in range(N):
            if t >= lens[n]:
                for k in range(H):
                    y[t, n, off + k] = 0.0
                continue
            for k in range(H):
                v = gx[t, n, k] + gh[n, k]
                if relu:
                    hv = v if v > 0.0 else 0.0
                else:
                    hv = math.tanh(v)
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
