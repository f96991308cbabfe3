"""LARS: layer-wise adaptive rate scaling on top of SGD with momentum."""

from __future__ import annotations

import math

import numpy as np

from ..kernels import optimizer as K
from .registry import register
from .sgd import SGD
from .validation import check_nonnegative

_NO_LARS_SUFFIXES = ("gamma", "beta", "bias")


def sumsq(a: np.ndarray, fused: bool) -> float:
    """Sum of squares (float64) of an array; the fused path uses the Numba reduction."""
    if fused:
        flat = np.ascontiguousarray(a).reshape(-1)
        if flat.dtype == np.float16:
            flat = flat.view(np.uint16)
        return float(K.sumsq(flat))
    a64 = a.astype(np.float64)
    return float(np.sum(a64 * a64))


@register
class LARS(SGD):
    r"""LARS (You et al.), as MXNet 1.9.1's aggregated path (``multi_lars`` + multi-SGD).

    For each tensor whose name does not end in ``gamma``, ``beta`` or ``bias`` (names from
    ``param_idx2name``, else the index as a string), with :math:`\|w\|`, :math:`\|g\|` its
    norms:

    .. math::

        \eta_l = \begin{cases}
            \eta\, \eta_{lars} \|w\| / (r\|g\| + \lambda\|w\| + \epsilon)
                & \|w\| > 0,\ \|g\| > 0 \\
            \eta & \text{otherwise}\end{cases}

    then the :class:`SGD` momentum update with :math:`\eta_l` (rounded to float32, as MXNet's
    learning-rate array) and momentum :math:`\mu\,\eta_{cur}/\eta_{last}` when
    ``momentum_correction`` (the ratio of the scheduled learning rate of this call to that of
    the previous call).  Default weight-decay multipliers: 0 for names not ending in
    ``_weight``.  (``eta`` is :math:`\eta_{lars}`, ``eps`` is :math:`\epsilon`.)
    """

    def __init__(self, momentum=0.0, lazy_update=True, eta=0.001, eps=0,
                 momentum_correction=True, **kwargs):
        check_nonnegative("eta", eta)
        check_nonnegative("eps", eps)
        super().__init__(momentum=momentum, lazy_update=lazy_update, **kwargs)
        self.momentum_correction = momentum_correction
        self.eta = eta
        self.eps = eps
        self.skip = 0
        self.last_lr = None
        self.cur_lr = None

    def _get_lrs(self, indices):
        if self.cur_lr is not None:
            self.last_lr = self.cur_lr
        lr = self._scheduled_lr()
        if self.cur_lr is None:
            self.last_lr = lr
        self.cur_lr = lr
        return self._scaled_lrs(lr, indices)

    #: as :meth:`Optimizer.set_wd_mult`, but only names ending in ``_weight`` keep decay
    _wd_kept_suffixes = ("_weight",)

    multi_kernels = None  # each tensor has its own LARS learning rate and norms

    def prepare(self, indices, weights, grads, states, fused):
        """Count the chunk, then each tensor's learning rate scaled by its norms (the norms by
        the Numba reduction on the fused path, by NumPy on the reference path)."""
        self._update_count(indices)
        lrs = self._get_lrs(indices)
        wds = self._get_wds(indices)
        mom = self.momentum
        if mom > 0 and self.momentum_correction and self.last_lr != 0:
            mom = self.momentum * (self.cur_lr / self.last_lr)
        c = self._clip()
        out = []
        for i, index in enumerate(indices):
            name = self.idx2name.get(index, str(index))
            lr = lrs[i]
            if not name.endswith(_NO_LARS_SUFFIXES):
                w_norm = math.sqrt(sumsq(weights[i]._data, fused))
                g_norm = math.sqrt(sumsq(grads[i]._data, fused)) * self.rescale_grad
                if w_norm > 0.0 and g_norm > 0.0:
                    lr = lr * self.eta * w_norm / (g_norm + wds[i] * w_norm + self.eps)
            hp = K.SGDSpec(lr=float(np.float32(lr)), wd=wds[i], rescale_grad=self.rescale_grad,
                           clip=c, momentum=mom)
            out.append((grads[i], states[i], hp))
        return out
