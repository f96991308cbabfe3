"""Fused optimizer update kernels: one pass over memory, in place, no temporaries.

Calling convention shared by every update kernel::

    kernel(w, g, *states, w16, sc)

* ``w``: the weight being updated, flat float32 or float64 (the float32 master copy under
  multi-precision).  The arithmetic runs in ``w``'s dtype, as MXNet's kernels do.
* ``g``: the gradient, flat, same dtype as ``w``, or ``uint16`` holding float16 bits.
* ``states``: flat arrays of ``w``'s dtype, updated in place.
* ``w16``: ``uint16`` view of a float16 weight to write the rounded result to in the same pass
  (multi-precision), or an empty array.
* ``sc``: the hyperparameter scalars, already combined in Python (learning rate after schedule
  and multiplier, bias corrections, ...), as an array of ``w``'s dtype; each kernel documents
  its layout.  ``clip < 0`` means no gradient clipping.

Each :class:`Kernel` bundles a serial and a ``parallel=True`` variant of the same loop; tensors of
at least :data:`~mxlite.kernels.PARALLEL_THRESHOLD` elements take the parallel one.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import prange, types
from numba.extending import intrinsic
from numba.np.unsafe.ndarray import to_fixed_tuple

from . import PARALLEL_THRESHOLD, serial_parallel
from ._half import half_bits, load

__all__ = [
    "KERNELS", "MULTI_KERNELS", "Kernel", "MultiKernel", "adadelta", "adagrad", "adam",
    "adamax", "adamw", "dcasgd", "ftml", "ftrl", "group_adagrad", "lamb_apply", "lamb_moments",
    "nadam", "nag_mom", "rmsprop", "rmspropalex", "sgd", "sgd_mom", "sgld", "signsgd", "signum",
    "sumsq", "test_update",
]

# error_model="numpy": IEEE results (inf/nan) for a division by zero, as MXNet's kernels, instead
# of Python's ZeroDivisionError (whose check would also keep LLVM from vectorizing the loops)
_AT = {"cache": True, "inline": "always", "fastmath": False, "error_model": "numpy"}
_SER = {"cache": True, "fastmath": False, "error_model": "numpy"}
_PAR = {"cache": True, "fastmath": False, "error_model": "numpy", "parallel": True}

EMPTY16 = np.empty(0, dtype=np.uint16)


class Kernel:
    """A serial/parallel pair of one update loop, called like the loop itself."""

    __slots__ = ("name", "parallel", "serial")

    def __init__(self, name: str, serial, parallel):
        self.name = name
        self.serial = serial
        self.parallel = parallel

    def __call__(self, *args):
        if args[0].size >= PARALLEL_THRESHOLD:
            return self.parallel(*args)
        return self.serial(*args)

    @property
    def dispatchers(self):
        return (self.serial, self.parallel)

    def __repr__(self) -> str:
        return f"<Kernel {self.name}>"


KERNELS: dict[str, Kernel] = {}


def _pair(name, loop, parallel=None) -> Kernel:
    """Register the :class:`Kernel` of ``loop``, a driver written once with ``prange``
    (or, with ``parallel``, of two separately written dispatchers)."""
    if parallel is None:
        k = Kernel(name, *serial_parallel(loop, _SER, _PAR))
    else:
        k = Kernel(name, loop, parallel)
    KERNELS[name] = k
    return k


@numba.njit(**_AT)
def _clip(x, c):
    if c >= 0:
        if x > c:
            return c
        if x < -c:
            return -c
    return x


@numba.njit(**_AT)
def _store(w, w16, st, i, v):
    w[i] = v
    if st:
        w16[i] = half_bits(v)


# --------------------------------------------------------------------------- SGD
# sc = (lr, wd, rescale, clip)


@numba.njit(**_AT)
def _sgd_at(i, w, g, w16, st, p):
    lr, wd, rs, c = p
    wi = w[i]
    step = -(lr * wd * wi) - lr * _clip(rs * load(g, i), c)
    _store(w, w16, st, i, wi + step)


def _sgd_loop(w, g, w16, sc):
    p = to_fixed_tuple(sc, 4)
    # one loop per case, so that the loop body has no branch on it (it vectorizes)
    if w16.size > 0:
        for i in prange(w.size):
            _sgd_at(i, w, g, w16, True, p)
    else:
        for i in prange(w.size):
            _sgd_at(i, w, g, w16, False, p)


sgd = _pair("sgd", _sgd_loop)

# sc = (lr, wd, rescale, clip, momentum)


@numba.njit(**_AT)
def _sgd_mom_at(i, w, g, m, w16, st, p):
    lr, wd, rs, c, mom = p
    wi = w[i]
    mi = mom * m[i] - lr * wd * wi - lr * _clip(rs * load(g, i), c)
    m[i] = mi
    _store(w, w16, st, i, wi + mi)


def _sgd_mom_loop(w, g, m, w16, sc):
    p = to_fixed_tuple(sc, 5)
    # one loop per case, so that the loop body has no branch on it (it vectorizes)
    if w16.size > 0:
        for i in prange(w.size):
            _sgd_mom_at(i, w, g, m, w16, True, p)
    else:
        for i in prange(w.size):
            _sgd_mom_at(i, w, g, m, w16, False, p)


sgd_mom = _pair("sgd_mom", _sgd_mom_loop)

# --------------------------------------------------------------------------- NAG
# sc = (lr, wd, rescale, clip, momentum, momentum + 1, alias)
# alias = 1: the weight is updated in place before the momentum's weight-decay term reads it
# (MXNet's operator with out=weight, and its multi-precision variant); 0: that term reads the
# old weight (the operator writing to another output array).


@numba.njit(**_AT)
def _nag_mom_at(i, w, g, m, w16, st, p):
    lr, wd, rs, c, mom, mom1, alias = p
    wi = w[i]
    gi = _clip(rs * load(g, i), c)
    mi = mom * m[i]
    wn = wi - mi + mom1 * (mi - lr * (gi + wd * wi))
    if alias != 0:
        m[i] = mi - lr * (gi + wd * wn)
    else:
        m[i] = mi - lr * (gi + wd * wi)
    _store(w, w16, st, i, wn)


def _nag_mom_loop(w, g, m, w16, sc):
    p = to_fixed_tuple(sc, 7)
    # one loop per case, so that the loop body has no branch on it (it vectorizes)
    if w16.size > 0:
        for i in prange(w.size):
            _nag_mom_at(i, w, g, m, w16, True, p)
    else:
        for i in prange(w.size):
            _nag_mom_at(i, w, g, m, w16, False, p)


nag_mom = _pair("nag_mom", _nag_mom_loop)

# --------------------------------------------------------------------------- Adam
# sc = (lr, wd, rescale, clip, beta1, 1 - beta1, beta2, 1 - beta2, epsilon)


@numba.njit(**_AT)
def _adam_at(i, w, g, m, v, w16, st, p):
    lr, wd, rs, c, b1, ob1, b2, ob2, eps = p
    wi = w[i]
    gi = _clip(load(g, i) * rs + wi * wd, c)
    mi = b1 * m[i] + ob1 * gi
    vi = b2 * v[i] + ob2 * gi * gi
    m[i] = mi
    v[i] = vi
    _store(w, w16, st, i, wi - lr * mi / (np.sqrt(vi) + eps))


def _adam_loop(w, g, m, v, w16, sc):
    p = to_fixed_tuple(sc, 9)
    # one loop per case, so that the loop body has no branch on it (it vectorizes)
    if w16.size > 0:
        for i in prange(w.size):
            _adam_at(i, w, g, m, v, w16, True, p)
    else:
        for i in prange(w.size):
            _adam_at(i, w, g, m, v, w16, False, p)


adam = _pair("adam", _adam_loop)

# sc = (lr, eta, wd, rescale, clip, beta1, 1 - beta1, beta2, 1 - beta2, epsilon)


@numba.njit(**_AT)
def _adamw_at(i, w, g, m, v, w16, st, p):
    lr, eta, wd, rs, c, b1, ob1, b2, ob2, eps = p
    wi = w[i]
    gi = _clip(load(g, i) * rs, c)
    mi = b1 * m[i] + ob1 * gi
    vi = b2 * v[i] + ob2 * gi * gi
    m[i] = mi
    v[i] = vi
    _store(w, w16, st, i, wi - eta * (lr * mi / (np.sqrt(vi) + eps) + wd * wi))


def _adamw_loop(w, g, m, v, w16, sc):
    p = to_fixed_tuple(sc, 10)
    # one loop per case, so that the loop body has no branch on it (it vectorizes)
    if w16.size > 0:
        for i in prange(w.size):
            _adamw_at(i, w, g, m, v, w16, True, p)
    else:
        for i in prange(w.size):
            _adamw_at(i, w, g, m, v, w16, False, p)


adamw = _pair("adamw", _adamw_loop)

# --------------------------------------------------------------------------- RMSProp
# sc = (lr, wd, rescale, clip, gamma1, 1 - gamma1, epsilon, clip_weights)


@numba.njit(**_AT)
def _rmsprop_at(i, w, g, n, w16, st, p):
    lr, wd, rs, c, g1, og1, eps, cw = p
    wi = w[i]
    gi = _clip(rs * load(g, i) + wd * wi, c)
    ni = og1 * gi * gi + g1 * n[i]
    n[i] = ni
    _store(w, w16, st, i, _clip(wi - lr * gi / np.sqrt(ni + eps), cw))


def _rmsprop_loop(w, g, n, w16, sc):
    p = to_fixed_tuple(sc, 8)
    # one loop per case, so that the loop body has no branch on it (it vectorizes)
    if w16.size > 0:
        for i in prange(w.size):
            _rmsprop_at(i, w, g, n, w16, True, p)
    else:
        for i in prange(w.size):
            _rmsprop_at(i, w, g, n, w16, False, p)


rmsprop = _pair("rmsprop", _rmsprop_loop)

# sc = (lr, wd, rescale, clip, gamma1, 1 - gamma1, gamma2, epsilon, clip_weights)


@numba.njit(**_AT)
def _rmspropalex_at(i, w, g, n, gb, d, w16, st, p):
    lr, wd, rs, c, g1, og1, g2, eps, cw = p
    wi = w[i]
    gi = _clip(rs * load(g, i) + wd * wi, c)
    ni = og1 * gi * gi + g1 * n[i]
    gbi = og1 * gi + g1 * gb[i]
    di = g2 * d[i] - lr * gi / np.sqrt(ni - gbi * gbi + eps)
    n[i] = ni
    gb[i] = gbi
    d[i] = di
    _store(w, w16, st, i, _clip(wi + di, cw))


def _rmspropalex_loop(w, g, n, gb, d, w16, sc):
    p = to_fixed_tuple(sc, 9)
    # one loop per case, so that the loop body has no branch on it (it vectorizes)
    if w16.size > 0:
        for i in prange(w.size):
            _rmspropalex_at(i, w, g, n, gb, d, w16, True, p)
    else:
        for i in prange(w.size):
            _rmspropalex_at(i, w, g, n, gb, d, w16, False, p)


rmspropalex = _pair("rmspropalex", _rmspropalex_loop)

# --------------------------------------------------------------------------- AdaGrad
# sc = (lr, wd, rescale, clip, eps)


@numba.njit(**_AT)
def _adagrad_at(i, w, g, h, w16, st, p):
    lr, wd, rs, c, eps = p
    wi = w[i]
    gi = _clip(load(g, i) * rs, c)
    hi = h[i] + gi * gi
    h[i] = hi
    _store(w, w16, st, i, wi + (gi / np.sqrt(hi + eps) + wi * wd) * -lr)


def _adagrad_loop(w, g, h, w16, sc):
    p = to_fixed_tuple(sc, 5)
    # one loop per case, so that the loop body has no branch on it (it vectorizes)
    if w16.size > 0:
        for i in prange(w.size):
            _adagrad_at(i, w, g, h, w16, True, p)
    else:
        for i in prange(w.size):
            _adagrad_at(i, w, g, h, w16, False, p)


adagrad = _pair("adagrad", _adagrad_loop)

# --------------------------------------------------------------------------- AdaDelta
# sc = (wd, rescale, clip, rho, 1 - rho, epsilon)


@numba.njit(**_AT)
def _adadelta_at(i, w, g, ag, ad, w16, st, p):
    wd, rs, c, rho, orho, eps = p
    wi = w[i]
    gi = _clip(load(g, i) * rs, c)
    agi = rho * ag[i] + orho * gi * gi
    delta = np.sqrt(ad[i] + eps) / np.sqrt(agi + eps) * gi
    ag[i] = agi
    ad[i] = rho * ad[i] + orho * delta * delta
    _store(w, w16, st, i, wi - (delta + wd * wi))


def _adadelta_loop(w, g, ag, ad, w16, sc):
    p = to_fixed_tuple(sc, 6)
    # one loop per case, so that the loop body has no branch on it (it vectorizes)
    if w16.size > 0:
        for i in prange(w.size):
            _adadelta_at(i, w, g, ag, ad, w16, True, p)
    else:
        for i in prange(w.size):
            _adadelta_at(i, w, g, ag, ad, w16, False, p)


adadelta = _pair("adadelta", _adadelta_loop)

# --------------------------------------------------------------------------- Adamax
# sc = (lr / (1 - beta1**t), wd, rescale, clip, beta1, 1 - beta1, beta2)


@numba.njit(**_AT)
def _adamax_at(i, w, g, m, u, w16, st, p):
    lr, wd, rs, c, b1, ob1, b2 = p
    wi = w[i]
    gi = _clip(load(g, i) * rs + wd * wi, c)
    mi = b1 * m[i] + ob1 * gi
    decayed, mag = b2 * u[i], abs(gi)
    ui = decayed if decayed > mag else mag  # MXNet's maximum: a > b ? a : b
    m[i] = mi
    u[i] = ui
    _store(w, w16, st, i, wi - lr * mi / ui)


def _adamax_loop(w, g, m, u, w16, sc):
    p = to_fixed_tuple(sc, 7)
    # one loop per case, so that the loop body has no branch on it (it vectorizes)
    if w16.size > 0:
        for i in prange(w.size):
            _adamax_at(i, w, g, m, u, w16, True, p)
    else:
        for i in prange(w.size):
            _adamax_at(i, w, g, m, u, w16, False, p)


adamax = _pair("adamax", _adamax_loop)

# --------------------------------------------------------------------------- Nadam
# sc = (lr, wd, rescale, clip, beta1, 1 - beta1, beta2, 1 - beta2, epsilon,
#       1 - m_schedule, 1 - m_schedule_next, 1 - beta2**t, 1 - momentum_t, momentum_t1)


@numba.njit(**_AT)
def _nadam_at(i, w, g, m, v, w16, st, p):
    lr, wd, rs, c, b1, ob1, b2, ob2, eps, oms, omsn, ob2t, omt, mt1 = p
    wi = w[i]
    gi = _clip(load(g, i) * rs + wd * wi, c)
    mi = b1 * m[i] + ob1 * gi
    vi = b2 * v[i] + ob2 * gi * gi
    m[i] = mi
    v[i] = vi
    mbar = omt * (gi / oms) + mt1 * (mi / omsn)
    _store(w, w16, st, i, wi - lr * mbar / (np.sqrt(vi / ob2t) + eps))


def _nadam_loop(w, g, m, v, w16, sc):
    p = to_fixed_tuple(sc, 14)
    # one loop per case, so that the loop body has no branch on it (it vectorizes)
    if w16.size > 0:
        for i in prange(w.size):
            _nadam_at(i, w, g, m, v, w16, True, p)
    else:
        for i in prange(w.size):
            _nadam_at(i, w, g, m, v, w16, False, p)


nadam = _pair("nadam", _nadam_loop)

# --------------------------------------------------------------------------- DCASGD
# sc = (lr, wd, rescale, clip, momentum, lamda); m is empty without momentum


@numba.njit(**_AT)
def _dcasgd_at(i, w, g, m, prev, w16, st, hm, p):
    lr, wd, rs, c, mom, lamda = p
    wi = w[i]
    gi = _clip(load(g, i) * rs, c)
    d = -lr * (gi + wd * wi + lamda * gi * gi * (wi - prev[i]))
    if hm:
        d = mom * m[i] + d
        m[i] = d
    prev[i] = wi
    _store(w, w16, st, i, wi + d)


def _dcasgd_loop(w, g, m, prev, w16, sc):
    p = to_fixed_tuple(sc, 6)
    # one loop per case, so that the loop body has no branch on it (it vectorizes)
    if w16.size > 0 and m.size > 0:
        for i in prange(w.size):
            _dcasgd_at(i, w, g, m, prev, w16, True, True, p)
    elif w16.size > 0:
        for i in prange(w.size):
            _dcasgd_at(i, w, g, m, prev, w16, True, False, p)
    elif m.size > 0:
        for i in prange(w.size):
            _dcasgd_at(i, w, g, m, prev, w16, False, True, p)
    else:
        for i in prange(w.size):
            _dcasgd_at(i, w, g, m, prev, w16, False, False, p)


dcasgd = _pair("dcasgd", _dcasgd_loop)

# --------------------------------------------------------------------------- SGLD
# sc = (lr / 2, wd, rescale, clip, sqrt(lr)); noise holds standard normal draws


@numba.njit(**_AT)
def _sgld_at(i, w, g, noise, w16, st, p):
    hlr, wd, rs, c, slr = p
    wi = w[i]
    gi = _clip(load(g, i) * rs, c)
    wi = wi + -hlr * (gi + wd * wi)
    _store(w, w16, st, i, wi + noise[i] * slr)


def _sgld_loop(w, g, noise, w16, sc):
    p = to_fixed_tuple(sc, 5)
    # one loop per case, so that the loop body has no branch on it (it vectorizes)
    if w16.size > 0:
        for i in prange(w.size):
            _sgld_at(i, w, g, noise, w16, True, p)
    else:
        for i in prange(w.size):
            _sgld_at(i, w, g, noise, w16, False, p)


sgld = _pair("sgld", _sgld_loop)

# --------------------------------------------------------------------------- signSGD / Signum
# signsgd sc = (lr, wd, rescale, clip, 1 - lr * wd)


@numba.njit(**_AT)
def _signsgd_at(i, w, g, w16, st, p):
    lr, _wd, rs, c, decay = p
    wi = w[i]
    gi = _clip(rs * load(g, i), c)
    _store(w, w16, st, i, decay * wi - lr * np.sign(gi))


def _signsgd_loop(w, g, w16, sc):
    p = to_fixed_tuple(sc, 5)
    # one loop per case, so that the loop body has no branch on it (it vectorizes)
    if w16.size > 0:
        for i in prange(w.size):
            _signsgd_at(i, w, g, w16, True, p)
    else:
        for i in prange(w.size):
            _signsgd_at(i, w, g, w16, False, p)


signsgd = _pair("signsgd", _signsgd_loop)

# signum sc = (lr, wd, rescale, clip, momentum, 1 - momentum, 1 - lr * wd_lh)


@numba.njit(**_AT)
def _signum_at(i, w, g, m, w16, st, p):
    lr, wd, rs, c, mom, omom, decay = p
    wi = w[i]
    mi = mom * m[i] - omom * (wd * wi + _clip(rs * load(g, i), c))
    m[i] = mi
    _store(w, w16, st, i, decay * wi + lr * np.sign(mi))


def _signum_loop(w, g, m, w16, sc):
    p = to_fixed_tuple(sc, 7)
    # one loop per case, so that the loop body has no branch on it (it vectorizes)
    if w16.size > 0:
        for i in prange(w.size):
            _signum_at(i, w, g, m, w16, True, p)
    else:
        for i in prange(w.size):
            _signum_at(i, w, g, m, w16, False, p)


signum = _pair("signum", _signum_loop)

# --------------------------------------------------------------------------- FTML
# sc = (lr, wd, rescale, clip, beta1, 1 - beta1, beta2, 1 - beta2, epsilon,
#       1 - beta1**t, 1 - beta2**t)


@numba.njit(**_AT)
def _ftml_at(i, w, g, d, v, z, w16, st, p):
    lr, wd, rs, c, b1, ob1, b2, ob2, eps, ob1t, ob2t = p
    wi = w[i]
    gi = _clip(rs * load(g, i) + wd * wi, c)
    vi = b2 * v[i] + ob2 * gi * gi
    dt = ob1t / lr * (np.sqrt(vi / ob2t) + eps)
    zi = b1 * z[i] + ob1 * gi - (dt - b1 * d[i]) * wi
    v[i] = vi
    d[i] = dt
    z[i] = zi
    _store(w, w16, st, i, -zi / dt)


def _ftml_loop(w, g, d, v, z, w16, sc):
    p = to_fixed_tuple(sc, 11)
    # one loop per case, so that the loop body has no branch on it (it vectorizes)
    if w16.size > 0:
        for i in prange(w.size):
            _ftml_at(i, w, g, d, v, z, w16, True, p)
    else:
        for i in prange(w.size):
            _ftml_at(i, w, g, d, v, z, w16, False, p)


ftml = _pair("ftml", _ftml_loop)

# --------------------------------------------------------------------------- FTRL
# sc = (lr, wd, rescale, clip, lamda1, beta)


@numba.njit(**_AT)
def _ftrl_at(i, w, g, z, n, w16, st, p):
    lr, wd, rs, c, l1, beta = p
    wi = w[i]
    gi = _clip(rs * load(g, i), c)
    ni = n[i]
    zi = z[i] + gi - (np.sqrt(ni + gi * gi) - np.sqrt(ni)) * wi / lr
    ni = ni + gi * gi
    z[i] = zi
    n[i] = ni
    wn = (np.sign(zi) * l1 - zi) / ((beta + np.sqrt(ni)) / lr + wd)
    if not abs(zi) > l1:
        wn = wn * (l1 - l1)  # masked to zero (NaN stays NaN, as MXNet's multiply by the mask)
    _store(w, w16, st, i, wn)


def _ftrl_loop(w, g, z, n, w16, sc):
    p = to_fixed_tuple(sc, 6)
    # one loop per case, so that the loop body has no branch on it (it vectorizes)
    if w16.size > 0:
        for i in prange(w.size):
            _ftrl_at(i, w, g, z, n, w16, True, p)
    else:
        for i in prange(w.size):
            _ftrl_at(i, w, g, z, n, w16, False, p)


ftrl = _pair("ftrl", _ftrl_loop)

# --------------------------------------------------------------------------- LAMB
# Two passes, no temporary: pass 1 updates the moments and reduces ||w||^2 and ||update||^2;
# pass 2 recomputes the update from the new moments and applies it with the trust ratio.
# sc = (wd, rescale, clip, beta1, 1 - beta1, beta2, 1 - beta2, epsilon,
#       1 - beta1**t, 1 - beta2**t, lr * trust_ratio)   (bias terms are 1 without correction)


@numba.njit(**_AT)
def _lamb_dir(wi, mi, vi, p):
    wd, _rs, _c, _b1, _ob1, _b2, _ob2, eps, bc1, bc2, _lrr = p
    return (mi / bc1) / (np.sqrt(vi / bc2) + eps) + wd * wi


@numba.njit(**_AT)
def _lamb_mom_at(i, w, g, m, v, p):
    _wd, rs, c, b1, ob1, b2, ob2, _eps, _bc1, _bc2, _lrr = p
    gi = _clip(load(g, i) * rs, c)
    mi = b1 * m[i] + ob1 * gi
    vi = b2 * v[i] + ob2 * gi * gi
    m[i] = mi
    v[i] = vi
    return mi, vi


@numba.njit(**_SER)
def _lamb_moments_ser(w, g, m, v, sc):
    p = to_fixed_tuple(sc, 11)
    ws = 0.0
    us = 0.0
    for i in range(w.size):
        mi, vi = _lamb_mom_at(i, w, g, m, v, p)
        wi = w[i]
        u = _lamb_dir(wi, mi, vi, p)
        ws += np.float64(wi) * np.float64(wi)
        us += np.float64(u) * np.float64(u)
    return ws, us


#: block of the parallel reductions (LAMB's norms, the sum of squares): each block sums into
#: several partial sums (independent dependency chains, so the adds overlap), then the blocks
#: are added up
_RBLOCK = 4096


@numba.njit(**_AT)
def _sq2_at(a, b, j):
    x = np.float64(a[j])
    y = np.float64(b[j])
    return x * x, y * y


@numba.njit(**_PAR)
def _lamb_moments_par(w, g, m, v, sc):
    # per block of _RBLOCK elements: the moment update (a vectorized loop over block views,
    # the update direction kept in a block-sized buffer), then both sums of squares with four
    # partial sums each, so that the float64 adds overlap instead of forming one long chain
    p = to_fixed_tuple(sc, 11)
    n = w.size
    ws = 0.0
    us = 0.0
    for b in prange((n + _RBLOCK - 1) // _RBLOCK):
        lo = b * _RBLOCK
        hi = min(lo + _RBLOCK, n)
        wb, gb, mb, vb = w[lo:hi], g[lo:hi], m[lo:hi], v[lo:hi]
        ub = np.empty(wb.size, dtype=w.dtype)
        for j in range(wb.size):
            mj, vj = _lamb_mom_at(j, wb, gb, mb, vb, p)
            ub[j] = _lamb_dir(wb[j], mj, vj, p)
        w0 = w1 = w2 = w3 = 0.0
        u0 = u1 = u2 = u3 = 0.0
        j = 0
        while j + 4 <= wb.size:
            x, y = _sq2_at(wb, ub, j)
            w0 += x
            u0 += y
            x, y = _sq2_at(wb, ub, j + 1)
            w1 += x
            u1 += y
            x, y = _sq2_at(wb, ub, j + 2)
            w2 += x
            u2 += y
            x, y = _sq2_at(wb, ub, j + 3)
            w3 += x
            u3 += y
            j += 4
        while j < wb.size:
            x, y = _sq2_at(wb, ub, j)
            w0 += x
            u0 += y
            j += 1
        ws += (w0 + w1) + (w2 + w3)
        us += (u0 + u1) + (u2 + u3)
    return ws, us


lamb_moments = _pair("lamb_moments", _lamb_moments_ser, _lamb_moments_par)


def _lamb_apply_loop(w, m, v, w16, sc):
    p = to_fixed_tuple(sc, 11)
    lrr = p[10]
    if w16.size > 0:
        for i in prange(w.size):
            wi = w[i]
            _store(w, w16, True, i, wi - lrr * _lamb_dir(wi, m[i], v[i], p))
    else:
        for i in prange(w.size):
            wi = w[i]
            _store(w, w16, False, i, wi - lrr * _lamb_dir(wi, m[i], v[i], p))


lamb_apply = _pair("lamb_apply", _lamb_apply_loop)

# --------------------------------------------------------------------------- Test
# sc = (rescale,); state <- new weight


def _test_loop(w, g, s, w16, sc):
    rs = sc[0]
    st = w16.size > 0
    for i in prange(w.size):
        wn = w[i] + load(g, i) * rs
        s[i] = wn
        _store(w, w16, st, i, wn)


test_update = _pair("test_update", _test_loop)

# --------------------------------------------------------------------------- reductions


@numba.njit(**_SER)
def _sumsq_ser(x):
    s = 0.0
    for i in range(x.size):
        xi = np.float64(load(x, i))
        s += xi * xi
    return s


@numba.njit(**_AT)
def _sq_at(x, i):
    xi = np.float64(load(x, i))
    return xi * xi


@numba.njit(**_PAR)
def _sumsq_par(x):
    n = x.size
    s = 0.0
    for b in prange((n + _RBLOCK - 1) // _RBLOCK):
        lo = b * _RBLOCK
        hi = min(lo + _RBLOCK, n)
        a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = 0.0
        i = lo
        while i + 8 <= hi:
            a0 += _sq_at(x, i)
            a1 += _sq_at(x, i + 1)
            a2 += _sq_at(x, i + 2)
            a3 += _sq_at(x, i + 3)
            a4 += _sq_at(x, i + 4)
            a5 += _sq_at(x, i + 5)
            a6 += _sq_at(x, i + 6)
            a7 += _sq_at(x, i + 7)
            i += 8
        while i < hi:
            a0 += _sq_at(x, i)
            i += 1
        s += ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))
    return s


sumsq = _pair("sumsq", _sumsq_ser, _sumsq_par)

# --------------------------------------------------------------------------- GroupAdaGrad
# Row-wise AdaGrad on a 2-D weight (rows x cols, flat): one history value per row.
# sc = (lr, rescale, clip, eps, number of columns)


@numba.njit(**_AT)
def _group_adagrad_row(r, cols, w, g, h, w16, st, p):
    lr, rs, c, eps, ncols = p
    base = r * cols
    acc = lr - lr  # zero of the compute dtype
    for j in range(cols):
        gj = _clip(load(g, base + j) * rs, c)
        acc += gj * gj
    hr = h[r] + acc / ncols
    h[r] = hr
    div = np.sqrt(hr + eps)
    for j in range(cols):
        gj = _clip(load(g, base + j) * rs, c)
        _store(w, w16, st, base + j, w[base + j] - lr * gj / div)


def _group_adagrad_loop(w, g, h, w16, sc):
    p = to_fixed_tuple(sc, 5)
    st = w16.size > 0
    rows = h.size
    cols = w.size // rows if rows else 0
    for r in prange(rows):
        _group_adagrad_row(r, cols, w, g, h, w16, st, p)


group_adagrad = _pair("group_adagrad", _group_adagrad_loop)

# --------------------------------------------------------------------------- multi-tensor
# One call updates a whole group of small tensors (the updater's list form), so the per-tensor
# cost is a few table entries instead of a kernel dispatch.  Tensors are passed as tables of
# data addresses (uintp), one table per role (weight, gradient, each state), plus their sizes;
# ``like`` is an empty array of the compute dtype and ``sc`` holds one row of scalars per
# tensor.  The parallel variant spreads the tensors over the threads.


@intrinsic
def _as_ptr(typingctx, addr, like):
    """``CPointer(like.dtype)`` from an integer address."""
    sig = types.CPointer(like.dtype)(addr, like)

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], context.get_value_type(signature.return_type))

    return sig, codegen


@numba.njit(**_AT)
def _view(table, t, n, like):
    return numba.carray(_as_ptr(table[t], like), n)


def _sgd_multi_loop(wp, gp, sizes, like, e16, sc):
    for t in prange(sizes.size):
        n = sizes[t]
        w, g, p = _view(wp, t, n, like), _view(gp, t, n, like), to_fixed_tuple(sc[t], 4)
        for i in range(n):
            _sgd_at(i, w, g, e16, False, p)


def _sgd_mom_multi_loop(wp, gp, mp, sizes, like, e16, sc):
    for t in prange(sizes.size):
        n = sizes[t]
        w, g, m = _view(wp, t, n, like), _view(gp, t, n, like), _view(mp, t, n, like)
        p = to_fixed_tuple(sc[t], 5)
        for i in range(n):
            _sgd_mom_at(i, w, g, m, e16, False, p)


def _adam_multi_loop(wp, gp, mp, vp, sizes, like, e16, sc):
    for t in prange(sizes.size):
        n = sizes[t]
        w, g = _view(wp, t, n, like), _view(gp, t, n, like)
        m, v = _view(mp, t, n, like), _view(vp, t, n, like)
        p = to_fixed_tuple(sc[t], 9)
        for i in range(n):
            _adam_at(i, w, g, m, v, e16, False, p)


def _adamw_multi_loop(wp, gp, mp, vp, sizes, like, e16, sc):
    for t in prange(sizes.size):
        n = sizes[t]
        w, g = _view(wp, t, n, like), _view(gp, t, n, like)
        m, v = _view(mp, t, n, like), _view(vp, t, n, like)
        p = to_fixed_tuple(sc[t], 10)
        for i in range(n):
            _adamw_at(i, w, g, m, v, e16, False, p)


class MultiKernel:
    """A serial/parallel pair of a multi-tensor loop; parallel once the group is large."""

    __slots__ = ("name", "parallel", "serial")

    def __init__(self, name, serial, parallel):
        self.name, self.serial, self.parallel = name, serial, parallel

    def __call__(self, *args, total=0):
        if total >= PARALLEL_THRESHOLD:
            return self.parallel(*args)
        return self.serial(*args)

    @property
    def dispatchers(self):
        return (self.serial, self.parallel)


MULTI_KERNELS = {
    "sgd": MultiKernel("sgd_multi", *serial_parallel(_sgd_multi_loop, _SER, _PAR)),
    "sgd_mom": MultiKernel("sgd_mom_multi", *serial_parallel(_sgd_mom_multi_loop, _SER, _PAR)),
    "adam": MultiKernel("adam_multi", *serial_parallel(_adam_multi_loop, _SER, _PAR)),
    "adamw": MultiKernel("adamw_multi", *serial_parallel(_adamw_multi_loop, _SER, _PAR)),
}
