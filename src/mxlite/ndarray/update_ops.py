"""MXNet's optimizer update operators as ``mx.nd`` functions (``sgd_update``, ``adam_update``, ...).

Same names, argument order, defaults and ``out=`` semantics as MXNet 1.9.1, computed by the
fused kernels of :mod:`mxlite.kernels.optimizer`: states (momentum, moments, ...) are updated in
place; the new weight goes to ``out`` (pass ``out=weight`` for the usual in-place update; without
``out`` a new array is returned and ``weight`` is left alone).  Multi-precision variants
(``mp_*``) update the float32 ``weight32`` in place and write the float16 result.
``clip_gradient < 0`` (the default) means no clipping.

>>> import mxlite as mx
>>> w, g = mx.nd.ones((3,)), mx.nd.ones((3,))
>>> _ = mx.nd.sgd_update(w, g, lr=0.1, out=w)
>>> w.asnumpy().tolist()
[0.8999999761581421, 0.8999999761581421, 0.8999999761581421]
"""

from __future__ import annotations

import math

import numpy as np

from ..base import MXNetError
from .ndarray import NDArray

__all__ = [
    "adam_update", "adamw_update", "ftml_update", "ftrl_update", "lamb_update_phase1",
    "lamb_update_phase2", "mp_adamw_update", "mp_lamb_update_phase1", "mp_lamb_update_phase2",
    "mp_nag_mom_update", "mp_sgd_mom_update", "mp_sgd_update", "multi_lars",
    "multi_mp_sgd_mom_update", "multi_mp_sgd_update", "multi_sgd_mom_update",
    "multi_sgd_update", "multi_sum_sq", "nag_mom_update", "preloaded_multi_mp_sgd_mom_update",
    "preloaded_multi_mp_sgd_update", "preloaded_multi_sgd_mom_update",
    "preloaded_multi_sgd_update", "rmsprop_update", "rmspropalex_update", "signsgd_update",
    "signum_update",
]


def _K():
    from ..kernels import optimizer as K

    return K


def _nd(x, name: str) -> NDArray:
    if not isinstance(x, NDArray):
        raise TypeError(f"{name} must be an NDArray, got {type(x).__name__}")
    return x


def _same(ref: NDArray, x: NDArray, name: str, op: str, dtype=None) -> None:
    if x.shape != ref.shape:
        raise MXNetError(f"{op}: {name} shape {x.shape} differs from weight shape {ref.shape}")
    want = np.dtype(dtype) if dtype is not None else ref._data.dtype
    if x._data.dtype != want:
        raise MXNetError(f"{op}: {name} dtype {x._data.dtype} differs from expected {want}")


def _target(weight: NDArray, out, op: str) -> NDArray:
    """The array the new weight is written to (``weight`` itself, ``out``, or a new copy)."""
    if out is None:
        return weight.copy()
    _nd(out, "out")
    if out is weight:
        return out
    _same(weight, out, "out", op)
    np.copyto(out._data, weight._data)
    return out


def _call(op, kernel, weight, grad, states, hp, out, weight32=None, lazy=False):
    """Validate, pick where the result goes, run ``kernel`` with the spec instance ``hp``
    (:meth:`mxlite.kernels.optimizer.Kernel.apply`).

    A sparse ``grad``: with ``lazy`` (row_sparse) only its stored rows are updated, else the
    update runs on its dense equivalent (:func:`mxlite.kernels.sparse.lazy_call`)."""
    if type(grad) is not NDArray and isinstance(grad, NDArray):
        from ..kernels.sparse import lazy_call

        return lazy_call(_call, op, kernel, weight, grad, states, hp, out, weight32, lazy)
    _nd(weight, "weight")
    _nd(grad, "grad")
    _same(weight, grad, "grad", op)
    if weight32 is None:
        for name, s in states:
            _same(weight, _nd(s, name), name, op)
        target = _target(weight, out, op)
        w, low = target._data, None
    else:
        _same(weight, _nd(weight32, "weight32"), "weight32", op, np.float32)
        for name, s in states:
            _same(weight, _nd(s, name), name, op, np.float32)
        if out is None:
            target = NDArray(np.empty_like(weight._data), weight.context)
        else:
            target = _nd(out, "out")
            _same(weight, target, "out", op)
        w, low = weight32._data, target._data
    arrays = tuple(s._data for _, s in states)
    kernel.apply(w, grad._data, arrays, kernel.spec._make(float(x) for x in hp), low)
    return target


def _c(clip_gradient) -> float:
    return float(clip_gradient) if clip_gradient is not None else -1.0


# --------------------------------------------------------------------------- SGD family
def sgd_update(weight, grad, lr, wd=0.0, rescale_grad=1.0, clip_gradient=-1.0,
               lazy_update=True, out=None, name=None):
    """``out = weight - lr*wd*weight - lr*clip(rescale_grad*grad)``."""
    K = _K()
    return _call("sgd_update", K.sgd, weight, grad, (),
                 K.SGDSpec(lr=lr, wd=wd, rescale_grad=rescale_grad, clip=_c(clip_gradient),
                           momentum=0.0), out, lazy=lazy_update)


def sgd_mom_update(weight, grad, mom, lr, momentum=0.0, wd=0.0, rescale_grad=1.0,
                   clip_gradient=-1.0, lazy_update=True, out=None, name=None):
    """``mom = momentum*mom - lr*wd*weight - lr*clip(rescale_grad*grad)``;
    ``out = weight + mom``."""
    K = _K()
    return _call("sgd_mom_update", K.sgd_mom, weight, grad, (("mom", mom),),
                 K.SGDSpec(lr=lr, wd=wd, rescale_grad=rescale_grad, clip=_c(clip_gradient),
                           momentum=momentum), out, lazy=lazy_update)


def mp_sgd_update(weight, grad, weight32, lr, wd=0.0, rescale_grad=1.0, clip_gradient=-1.0,
                  lazy_update=True, out=None, name=None):
    """:func:`sgd_update` on the float32 ``weight32``; ``out`` gets it rounded to
    ``weight``'s dtype."""
    K = _K()
    return _call("mp_sgd_update", K.sgd, weight, grad, (),
                 K.SGDSpec(lr=lr, wd=wd, rescale_grad=rescale_grad, clip=_c(clip_gradient),
                           momentum=0.0), out, weight32,
                 lazy=False)  # MXNet: no row_sparse path, the dense update


def mp_sgd_mom_update(weight, grad, mom, weight32, lr, momentum=0.0, wd=0.0, rescale_grad=1.0,
                      clip_gradient=-1.0, lazy_update=True, out=None, name=None):
    """:func:`sgd_mom_update` on the float32 ``weight32`` (float32 ``mom``)."""
    K = _K()
    return _call("mp_sgd_mom_update", K.sgd_mom, weight, grad, (("mom", mom),),
                 K.SGDSpec(lr=lr, wd=wd, rescale_grad=rescale_grad, clip=_c(clip_gradient),
                           momentum=momentum), out, weight32,
                 lazy=False)  # MXNet: no row_sparse path, the dense update


def nag_mom_update(weight, grad, mom, lr, momentum=0.0, wd=0.0, rescale_grad=1.0,
                   clip_gradient=-1.0, out=None, name=None):
    """Nesterov momentum step (see :class:`mxlite.optimizer.NAG` for the equations).

    As MXNet's kernel, with ``out=weight`` the momentum's weight-decay term reads the updated
    weight; with another ``out`` it reads the original one.
    """
    K = _K()
    return _call("nag_mom_update", K.nag_mom, weight, grad, (("mom", mom),),
                 K.NAGSpec(lr=lr, wd=wd, rescale_grad=rescale_grad, clip=_c(clip_gradient),
                           momentum=momentum, momentum_plus_one=momentum + 1.0,
                           alias=1.0 if out is weight else 0.0), out)


def mp_nag_mom_update(weight, grad, mom, weight32, lr, momentum=0.0, wd=0.0, rescale_grad=1.0,
                      clip_gradient=-1.0, out=None, name=None):
    """:func:`nag_mom_update` on the float32 ``weight32`` (updated in place)."""
    K = _K()
    return _call("mp_nag_mom_update", K.nag_mom, weight, grad, (("mom", mom),),
                 K.NAGSpec(lr=lr, wd=wd, rescale_grad=rescale_grad, clip=_c(clip_gradient),
                           momentum=momentum, momentum_plus_one=momentum + 1.0, alias=1.0),
                 out, weight32)


# --------------------------------------------------------------------------- Adam family
def adam_update(weight, grad, mean, var, lr, beta1=0.9, beta2=0.999, epsilon=1e-8, wd=0.0,
                rescale_grad=1.0, clip_gradient=-1.0, lazy_update=True, out=None, name=None):
    """``g = clip(rescale_grad*grad + wd*weight)``; moments;
    ``out = weight - lr*mean/(sqrt(var)+eps)`` (no bias correction: the caller folds it into
    ``lr``)."""
    K = _K()
    return _call("adam_update", K.adam, weight, grad, (("mean", mean), ("var", var)),
                 K.AdamSpec(lr=lr, wd=wd, rescale_grad=rescale_grad, clip=_c(clip_gradient),
                            beta1=beta1, one_minus_beta1=1.0 - beta1, beta2=beta2,
                            one_minus_beta2=1.0 - beta2, epsilon=epsilon), out,
                 lazy=lazy_update)


def _rescale_value(rescale_grad) -> float:
    if isinstance(rescale_grad, NDArray):
        if rescale_grad.size != 1:
            raise MXNetError(f"rescale_grad must have one element, got shape {rescale_grad.shape}")
        return float(rescale_grad._data.reshape(-1)[0])
    return float(rescale_grad)


def adamw_update(weight, grad, mean, var, rescale_grad, lr, eta, beta1=0.9, beta2=0.999,
                 epsilon=1e-8, wd=0.0, clip_gradient=-1.0, out=None, name=None):
    """Decoupled weight decay: ``g = clip(rescale_grad*grad)``; moments;
    ``out = weight - eta*(lr*mean/(sqrt(var)+eps) + wd*weight)``.

    ``rescale_grad`` is an NDArray (or number); when it is not finite the update is skipped, as
    MXNet's ``contrib.adamw_update`` (the dynamic loss-scaling convention).
    """
    rs = _rescale_value(rescale_grad)
    if not math.isfinite(rs):
        return _target(weight, out, "adamw_update")
    return _call("adamw_update", _K().adamw, weight, grad, (("mean", mean), ("var", var)),
                 _adamw_spec(lr, eta, wd, rs, clip_gradient, beta1, beta2, epsilon), out)


def mp_adamw_update(weight, grad, mean, var, weight32, rescale_grad, lr, eta, beta1=0.9,
                    beta2=0.999, epsilon=1e-8, wd=0.0, clip_gradient=-1.0, out=None, name=None):
    """:func:`adamw_update` on the float32 ``weight32`` (float32 moments)."""
    rs = _rescale_value(rescale_grad)
    if not math.isfinite(rs):
        target = out if out is not None else weight.copy()
        return target
    return _call("mp_adamw_update", _K().adamw, weight, grad, (("mean", mean), ("var", var)),
                 _adamw_spec(lr, eta, wd, rs, clip_gradient, beta1, beta2, epsilon), out,
                 weight32)


def _adamw_spec(lr, eta, wd, rs, clip_gradient, beta1, beta2, epsilon):
    return _K().AdamWSpec(lr=lr, eta=eta, wd=wd, rescale_grad=rs, clip=_c(clip_gradient),
                          beta1=beta1, one_minus_beta1=1.0 - beta1, beta2=beta2,
                          one_minus_beta2=1.0 - beta2, epsilon=epsilon)


# --------------------------------------------------------------------------- RMSProp
def rmsprop_update(weight, grad, n, lr, gamma1=0.95, epsilon=1e-8, wd=0.0, rescale_grad=1.0,
                   clip_gradient=-1.0, clip_weights=-1.0, out=None, name=None):
    """``g = clip(rescale_grad*grad + wd*weight)``; ``n = (1-gamma1)*g^2 + gamma1*n``;
    ``out = clip_w(weight - lr*g/sqrt(n + epsilon))``."""
    K = _K()
    return _call("rmsprop_update", K.rmsprop, weight, grad, (("n", n),),
                 K.RMSPropSpec(lr=lr, wd=wd, rescale_grad=rescale_grad, clip=_c(clip_gradient),
                               gamma1=gamma1, one_minus_gamma1=1.0 - gamma1, gamma2=0.0,
                               epsilon=epsilon, clip_weights=_c(clip_weights)), out)


def rmspropalex_update(weight, grad, n, g, delta, lr, gamma1=0.95, gamma2=0.9, epsilon=1e-8,
                       wd=0.0, rescale_grad=1.0, clip_gradient=-1.0, clip_weights=-1.0,
                       out=None, name=None):
    """Centered RMSProp (Graves); see :class:`mxlite.optimizer.RMSProp`."""
    K = _K()
    return _call("rmspropalex_update", K.rmspropalex, weight, grad,
                 (("n", n), ("g", g), ("delta", delta)),
                 K.RMSPropSpec(lr=lr, wd=wd, rescale_grad=rescale_grad, clip=_c(clip_gradient),
                               gamma1=gamma1, one_minus_gamma1=1.0 - gamma1, gamma2=gamma2,
                               epsilon=epsilon, clip_weights=_c(clip_weights)), out)


# --------------------------------------------------------------------------- FTRL / FTML
def ftrl_update(weight, grad, z, n, lr, lamda1=0.01, beta=1.0, wd=0.0, rescale_grad=1.0,
                clip_gradient=-1.0, out=None, name=None):
    """FTRL-Proximal step; see :class:`mxlite.optimizer.Ftrl`."""
    K = _K()
    return _call("ftrl_update", K.ftrl, weight, grad, (("z", z), ("n", n)),
                 K.FtrlSpec(lr=lr, wd=wd, rescale_grad=rescale_grad, clip=_c(clip_gradient),
                            lamda1=lamda1, beta=beta), out)


def ftml_update(weight, grad, d, v, z, lr, t, beta1=0.6, beta2=0.999, epsilon=1e-8, wd=0.0,
                rescale_grad=1.0, clip_grad=-1.0, out=None, name=None):
    """FTML step at step ``t`` (>= 1); see :class:`mxlite.optimizer.FTML`."""
    if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or t < 1:
        raise ValueError(f"ftml_update: t must be an int >= 1, got {t!r}")
    K = _K()
    return _call("ftml_update", K.ftml, weight, grad, (("d", d), ("v", v), ("z", z)),
                 K.FTMLSpec(lr=lr, wd=wd, rescale_grad=rescale_grad, clip=_c(clip_grad),
                            beta1=beta1, one_minus_beta1=1.0 - beta1, beta2=beta2,
                            one_minus_beta2=1.0 - beta2, epsilon=epsilon,
                            one_minus_beta1_t=1.0 - beta1**t, one_minus_beta2_t=1.0 - beta2**t),
                 out)


# --------------------------------------------------------------------------- sign methods
def signsgd_update(weight, grad, lr, wd=0.0, rescale_grad=1.0, clip_gradient=-1.0, out=None,
                   name=None):
    """``out = (1 - lr*wd)*weight - lr*sign(clip(rescale_grad*grad))``."""
    K = _K()
    return _call("signsgd_update", K.signsgd, weight, grad, (),
                 K.SignumSpec(lr=lr, wd=wd, rescale_grad=rescale_grad, clip=_c(clip_gradient),
                              momentum=0.0, one_minus_momentum=1.0, decay=1.0 - lr * wd), out)


def signum_update(weight, grad, mom, lr, momentum=0.0, wd=0.0, rescale_grad=1.0,
                  clip_gradient=-1.0, wd_lh=0.0, out=None, name=None):
    """``mom = momentum*mom - (1-momentum)*(wd*weight + clip(rescale_grad*grad))``;
    ``out = (1 - lr*wd_lh)*weight + lr*sign(mom)``."""
    K = _K()
    return _call("signum_update", K.signum, weight, grad, (("mom", mom),),
                 K.SignumSpec(lr=lr, wd=wd, rescale_grad=rescale_grad, clip=_c(clip_gradient),
                              momentum=momentum, one_minus_momentum=1.0 - momentum,
                              decay=1.0 - lr * wd_lh), out)


# --------------------------------------------------------------------------- LAMB phases
def _lamb_phase1(op, w, weight, grad, mean, var, t, wd, beta1, beta2, epsilon, bias_correction,
                 rescale_grad, clip_gradient, out, state_dtype=None):
    """Moments updated in place and the direction ``g`` by the ``lamb_phase1`` kernel; ``w`` is
    the weight the direction reads (the float32 master under multi-precision)."""
    K = _K()
    if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or t < 1:
        raise ValueError(f"{op}: t must be an int >= 1, got {t!r}")
    _same(weight, _nd(grad, "grad"), "grad", op)
    for name, s in (("mean", mean), ("var", var)):
        _same(weight, _nd(s, name), name, op, state_dtype)
    direction = np.empty_like(w._data)
    hp = K.LAMBSpec(wd=float(wd), rescale_grad=float(rescale_grad), clip=_c(clip_gradient),
                    beta1=float(beta1), one_minus_beta1=1.0 - beta1, beta2=float(beta2),
                    one_minus_beta2=1.0 - beta2, epsilon=float(epsilon),
                    bias1=1.0 - beta1**t if bias_correction else 1.0,
                    bias2=1.0 - beta2**t if bias_correction else 1.0, lr=0.0)
    K.lamb_phase1.apply(w._data, grad._data, (mean._data, var._data, direction), hp)
    return _write(direction, out, w)


def lamb_update_phase1(weight, grad, mean, var, t, wd, beta1=0.9, beta2=0.999, epsilon=1e-6,
                       bias_correction=True, rescale_grad=1.0, clip_gradient=-1.0, out=None,
                       name=None):
    """Moments update and the LAMB direction ``g`` (returned; ``mean``/``var`` in place)."""
    _nd(weight, "weight")
    return _lamb_phase1("lamb_update_phase1", weight, weight, grad, mean, var, t, wd, beta1,
                        beta2, epsilon, bias_correction, rescale_grad, clip_gradient, out)


def mp_lamb_update_phase1(weight, grad, mean, var, weight32, t, wd, beta1=0.9, beta2=0.999,
                          epsilon=1e-6, bias_correction=True, rescale_grad=1.0,
                          clip_gradient=-1.0, out=None, name=None):
    """:func:`lamb_update_phase1` with the float32 master ``weight32``; ``g`` is float32."""
    _nd(weight, "weight")
    _same(weight, _nd(weight32, "weight32"), "weight32", "mp_lamb_update_phase1", np.float32)
    return _lamb_phase1("mp_lamb_update_phase1", weight32, weight, grad, mean, var, t, wd,
                        beta1, beta2, epsilon, bias_correction, rescale_grad, clip_gradient,
                        out, np.float32)


def _ratio(r1, r2, lower_bound, upper_bound) -> float:
    r1 = float(_nd(r1, "r1")._data.reshape(-1)[0])
    r2 = float(_nd(r2, "r2")._data.reshape(-1)[0])
    if lower_bound is not None and lower_bound >= 0:
        r1 = max(r1, lower_bound)
    if upper_bound is not None and upper_bound >= 0:
        r1 = min(r1, upper_bound)
    return 1.0 if r1 == 0.0 or r2 == 0.0 else r1 / r2


def lamb_update_phase2(weight, g, r1, r2, lr, lower_bound=-1.0, upper_bound=-1.0, out=None,
                       name=None):
    """``out = weight - lr * (r1/r2) * g`` with ``r1`` clamped to the bounds (ratio 1 if a
    norm is 0)."""
    _same(_nd(weight, "weight"), _nd(g, "g"), "g", "lamb_update_phase2")
    ratio = _ratio(r1, r2, lower_bound, upper_bound)
    w = weight._data
    return _write((w - (lr * ratio) * g._data).astype(w.dtype), out, weight)


def mp_lamb_update_phase2(weight, g, r1, r2, weight32, lr, lower_bound=-1.0, upper_bound=-1.0,
                          out=None, name=None):
    """:func:`lamb_update_phase2` on ``weight32`` (in place); ``out`` gets the rounded weight."""
    _same(_nd(weight, "weight"), _nd(weight32, "weight32"), "weight32", "mp_lamb_update_phase2",
          np.float32)
    ratio = _ratio(r1, r2, lower_bound, upper_bound)
    w32 = weight32._data
    w32[...] = w32 - (lr * ratio) * g._data.astype(np.float32)
    return _write(w32.astype(weight._data.dtype), out, weight)


def _write(values: np.ndarray, out, like: NDArray) -> NDArray:
    if out is None:
        return NDArray(values, like.context)
    _nd(out, "out")
    if out.shape != values.shape:
        raise MXNetError(f"out shape {out.shape} differs from result shape {values.shape}")
    np.copyto(out._data, values, casting="unsafe")
    return out


# --------------------------------------------------------------------------- multi-tensor
def _groups(data, size: int, num_weights: int, op: str):
    if len(data) != size * num_weights:
        raise MXNetError(
            f"{op}: expected {size} arrays per weight times num_weights={num_weights} "
            f"= {size * num_weights} inputs, got {len(data)}"
        )
    return [data[i * size:(i + 1) * size] for i in range(num_weights)]


def _per_weight(values, num_weights: int, name: str, op: str) -> list[float]:
    if isinstance(values, NDArray):
        values = values._data.reshape(-1).tolist()
    values = list(values)
    if len(values) != num_weights:
        raise MXNetError(f"{op}: {name} has {len(values)} values for {num_weights} weights")
    return [float(v) for v in values]


def _outs(out, num_weights: int, op: str):
    if out is None:
        return [None] * num_weights
    outs = list(out) if isinstance(out, (list, tuple)) else [out]
    if len(outs) != num_weights:
        raise MXNetError(f"{op}: {len(outs)} outputs for {num_weights} weights")
    return outs


def _multi(op, single, size, data, lrs, wds, num_weights, out, **kw):
    groups = _groups(data, size, num_weights, op)
    lrs = _per_weight(lrs, num_weights, "lrs", op)
    wds = _per_weight(wds, num_weights, "wds", op)
    outs = _outs(out, num_weights, op)
    return [single(*grp, lr=lr, wd=wd, out=o, **kw)
            for grp, lr, wd, o in zip(groups, lrs, wds, outs, strict=True)]


def multi_sgd_update(*data, lrs, wds, rescale_grad=1.0, clip_gradient=-1.0, num_weights=1,
                     out=None, name=None):
    """:func:`sgd_update` over ``(weight, grad)`` pairs with per-weight ``lrs``/``wds``."""
    return _multi("multi_sgd_update", sgd_update, 2, data, lrs, wds, num_weights, out,
                  rescale_grad=rescale_grad, clip_gradient=clip_gradient)


def multi_sgd_mom_update(*data, lrs, wds, momentum=0.0, rescale_grad=1.0, clip_gradient=-1.0,
                         num_weights=1, out=None, name=None):
    """:func:`sgd_mom_update` over ``(weight, grad, mom)`` triples."""
    return _multi("multi_sgd_mom_update", sgd_mom_update, 3, data, lrs, wds, num_weights, out,
                  momentum=momentum, rescale_grad=rescale_grad, clip_gradient=clip_gradient)


def multi_mp_sgd_update(*data, lrs, wds, rescale_grad=1.0, clip_gradient=-1.0, num_weights=1,
                        out=None, name=None):
    """:func:`mp_sgd_update` over ``(weight, grad, weight32)`` triples."""
    return _multi("multi_mp_sgd_update", mp_sgd_update, 3, data, lrs, wds, num_weights, out,
                  rescale_grad=rescale_grad, clip_gradient=clip_gradient)


def multi_mp_sgd_mom_update(*data, lrs, wds, momentum=0.0, rescale_grad=1.0,
                            clip_gradient=-1.0, num_weights=1, out=None, name=None):
    """:func:`mp_sgd_mom_update` over ``(weight, grad, mom, weight32)`` quadruples."""
    return _multi("multi_mp_sgd_mom_update", mp_sgd_mom_update, 4, data, lrs, wds, num_weights,
                  out, momentum=momentum, rescale_grad=rescale_grad,
                  clip_gradient=clip_gradient)


def _preloaded(op, single, size, data, num_weights, out, **kw):
    if len(data) != size * num_weights + 2:
        raise MXNetError(f"{op}: expected {size * num_weights + 2} inputs, got {len(data)}")
    return _multi(op, single, size, data[:-2], data[-2], data[-1], num_weights, out, **kw)


def preloaded_multi_sgd_update(*data, rescale_grad=1.0, clip_gradient=-1.0, num_weights=1,
                               out=None, name=None):
    """:func:`multi_sgd_update` with ``lrs`` and ``wds`` as the last two NDArray inputs."""
    return _preloaded("preloaded_multi_sgd_update", sgd_update, 2, data, num_weights, out,
                      rescale_grad=rescale_grad, clip_gradient=clip_gradient)


def preloaded_multi_sgd_mom_update(*data, momentum=0.0, rescale_grad=1.0, clip_gradient=-1.0,
                                   num_weights=1, out=None, name=None):
    """:func:`multi_sgd_mom_update` with ``lrs`` and ``wds`` as the last two NDArray inputs."""
    return _preloaded("preloaded_multi_sgd_mom_update", sgd_mom_update, 3, data, num_weights,
                      out, momentum=momentum, rescale_grad=rescale_grad,
                      clip_gradient=clip_gradient)


def preloaded_multi_mp_sgd_update(*data, rescale_grad=1.0, clip_gradient=-1.0, num_weights=1,
                                  out=None, name=None):
    """:func:`multi_mp_sgd_update` with ``lrs`` and ``wds`` as the last two NDArray inputs."""
    return _preloaded("preloaded_multi_mp_sgd_update", mp_sgd_update, 3, data, num_weights, out,
                      rescale_grad=rescale_grad, clip_gradient=clip_gradient)


def preloaded_multi_mp_sgd_mom_update(*data, momentum=0.0, rescale_grad=1.0, clip_gradient=-1.0,
                                      num_weights=1, out=None, name=None):
    """:func:`multi_mp_sgd_mom_update` with ``lrs`` and ``wds`` as the last two inputs."""
    return _preloaded("preloaded_multi_mp_sgd_mom_update", mp_sgd_mom_update, 4, data,
                      num_weights, out, momentum=momentum, rescale_grad=rescale_grad,
                      clip_gradient=clip_gradient)


def multi_sum_sq(*data, num_arrays=None, name=None):
    """Sum of squares of each input, as a float32 array of ``num_arrays`` values."""
    if num_arrays is not None and num_arrays != len(data):
        raise MXNetError(f"multi_sum_sq: num_arrays={num_arrays} but {len(data)} arrays given")
    K = _K()
    sums = []
    for i, a in enumerate(data):
        flat = np.ascontiguousarray(_nd(a, f"data[{i}]")._data).reshape(-1)
        if flat.dtype == np.float16:
            flat = flat.view(np.uint16)
        sums.append(K.sumsq(flat))
    ctx = data[0].context if data else None
    return NDArray(np.array(sums, dtype=np.float32), ctx)


def multi_lars(lrs, weights_sum_sq, grads_sum_sq, wds, eta, eps, rescale_grad=1.0, out=None,
               name=None):
    """Per-layer LARS learning rates:
    ``lr * eta * |w| / (rescale_grad*|g| + wd*|w| + eps)`` where both norms are > 0, else ``lr``."""
    arrs = [_nd(a, n)._data.astype(np.float32) for a, n in
            ((lrs, "lrs"), (weights_sum_sq, "weights_sum_sq"), (grads_sum_sq, "grads_sum_sq"),
             (wds, "wds"))]
    lr, ws, gs, wd = arrs
    if not (lr.shape == ws.shape == gs.shape == wd.shape):
        raise MXNetError(f"multi_lars: input shapes differ: {[a.shape for a in arrs]}")
    w_norm = np.sqrt(ws)
    g_norm = np.sqrt(gs) * np.float32(rescale_grad)
    ok = (ws > 0) & (gs > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = lr * np.float32(eta) * w_norm / (g_norm + wd * w_norm + np.float32(eps))
    return _write(np.where(ok, scaled, lr).astype(np.float32), out, lrs)
