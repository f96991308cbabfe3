"""LBSGD: large-batch SGD with warmup and LARS-style scaling."""

from __future__ import annotations

import logging
import math

import numpy as np

from ..ndarray import NDArray, zeros
from .lars import sumsq
from .optimizer import FusedOptimizer, check_arrays, check_nonnegative, register
from .sgd import SGD, SGDHyper

_STRATEGIES = ("linear", "power2", "sqrt", "lars")


@register
class LBSGD(FusedOptimizer):
    r"""Large-batch SGD (MXNet 1.9.1): gradient accumulation over ``batch_scale`` calls,
    learning-rate warmup, optional LARS scaling, then the :class:`SGD` update.

    Per call for parameter ``i`` (learning rate and weight decay read *before* the update is
    counted, as MXNet): the gradient is added to a per-parameter accumulator, whose count
    :math:`k` starts at ``begin_epoch * updates_per_epoch + 1``.  When :math:`k` is a multiple
    of ``batch_scale`` (:math:`B`), with :math:`\bar g` = accumulated gradient / :math:`B`:

    .. math::

        \eta' &= \eta \cdot \begin{cases}
            \mathrm{clamp}\left(\sqrt{\|w\|^2 / (\|\bar g\|^2 + \lambda\|w\|^2 + 10^{-18})},
                0.01, 100\right) & \texttt{warmup\_strategy='lars'} \\
            \mathrm{mult}(k) & \text{otherwise}\end{cases} \\
        m &\leftarrow \mu m - \eta'\lambda w - \eta'\,\mathrm{clip}(r \bar g), \qquad
        w \leftarrow w + m

    and the accumulator resets; otherwise the step is SGD with learning rate 0 (weights
    unchanged unless the gradient is not finite, as MXNet).  :math:`\mathrm{mult}(k)` is
    :math:`B` once :math:`k \ge N` = ``warmup_epochs * updates_per_epoch``, 1 if
    :math:`N \le 1`, else :math:`1 + (B - 1)\,f(k/N)` with :math:`f` = identity (linear),
    square (power2) or square root (sqrt).

    Unlike MXNet, the accumulator copies the gradient instead of keeping a reference to the
    caller's array (which MXNet then sums with later contents of the same buffer).
    """

    def __init__(self, momentum=0.0, multi_precision=False, warmup_strategy="linear",
                 warmup_epochs=5, batch_scale=1, updates_per_epoch=32, begin_epoch=0,
                 num_epochs=60, **kwargs):
        check_nonnegative("momentum", momentum)
        if warmup_strategy not in _STRATEGIES:
            raise ValueError(
                f"warmup_strategy must be one of {', '.join(_STRATEGIES)}, got {warmup_strategy!r}"
            )
        for name, value in (("warmup_epochs", warmup_epochs), ("batch_scale", batch_scale),
                            ("updates_per_epoch", updates_per_epoch),
                            ("begin_epoch", begin_epoch), ("num_epochs", num_epochs)):
            check_nonnegative(name, value)
        if batch_scale < 1:
            raise ValueError(f"batch_scale must be >= 1, got {batch_scale!r}")
        super().__init__(multi_precision=multi_precision, **kwargs)
        logging.info("Running Large-Batch SGD Algorithm")
        logging.info("(Batch_scale=%f, warmup_epochs=%d, warmup_strategy=%s, "
                     "updates_per_epoch=%d)", batch_scale, warmup_epochs, warmup_strategy,
                     updates_per_epoch)
        self.momentum = momentum
        self.warmup_strategy = warmup_strategy
        self.warmup_epochs = warmup_epochs
        self.batch_scale = batch_scale
        self.updates_per_epoch = updates_per_epoch
        self.init_updates = begin_epoch * updates_per_epoch
        self.num_epochs = num_epochs
        self.lbmult = 1
        self.cumgrads = {}
        self.adaptive = False
        self.admult = 1

    def create_state(self, index, weight):
        if self.momentum != 0.0:
            return zeros(weight.shape, weight.context, dtype=weight.dtype)
        return None

    # ------------------------------------------------------------------ schedule
    def _get_lbmult(self, nup):
        nwup = self.warmup_epochs * self.updates_per_epoch
        maxmult = float(self.batch_scale)
        if nup >= nwup:
            return maxmult
        if nwup <= 1:
            return 1.0
        if self.warmup_strategy == "linear":
            return 1.0 + (maxmult - 1) * nup / nwup
        if self.warmup_strategy == "power2":
            return 1.0 + (maxmult - 1) * (nup * nup) / (nwup * nwup)
        if self.warmup_strategy == "sqrt":
            return 1.0 + (maxmult - 1) * math.sqrt(float(nup) / nwup)
        return 1.0

    def _get_lars(self, weight: np.ndarray, g: np.ndarray, wd, fused):
        w2 = sumsq(weight, fused)
        g2 = sumsq(g, fused)
        lars = math.sqrt(w2 / (g2 + wd * w2 + 1e-18))
        return min(max(lars, 0.01), 100.0)

    def _cumulate(self, grad: np.ndarray, index):
        """Add ``grad`` to the accumulator of ``index``; returns (accumulated, count)."""
        entry = self.cumgrads.get(index)
        # with batch_scale 1 the accumulator is emptied in this same call: no copy needed
        fresh = grad if self.batch_scale == 1 else grad.copy()
        if entry and entry["num_cums"] > 0:
            cum = entry["cum_grad"]
            total = fresh if isinstance(cum, int) else cum._data + grad
            num = entry["num_cums"] + 1
        else:
            total = fresh
            num = self.init_updates + 1
        self.cumgrads[index] = {"cum_grad": NDArray(total), "num_cums": num}
        return total, num

    # ------------------------------------------------------------------ update
    def _dispatch(self, index, weight, grad, state, mp, fused, chunk=None):
        if isinstance(index, (list, tuple)):
            for i, w, g, s in zip(index, weight, grad, state, strict=True):
                self._dispatch(i, w, g, s, mp, fused)
            return
        check_arrays(weight, grad)
        lr, wd = self._get_lr(index), self._get_wd(index)
        self._update_count(index)
        g = grad._data.astype(np.float32) if mp else grad._data
        total, num = self._cumulate(g, index)
        if num % self.batch_scale == 0:
            gbar = total / self.batch_scale if self.batch_scale != 1 else total
            if self.warmup_strategy == "lars":
                w_now = self._split_mp(state)[0]._data if mp else weight._data
                lr = lr * self._get_lars(w_now, gbar, wd, fused)
            else:
                lr = lr * self._get_lbmult(num)
            hp = SGDHyper(lr, wd, self.rescale_grad, self._clip(), self.momentum)
            self._apply(index, weight, NDArray(gbar), state, hp, mp, fused)
            self.cumgrads[index]["cum_grad"] = 0
        else:
            hp = SGDHyper(0.0, wd, 1.0, -1.0, 0.0)
            self._apply(index, weight, grad, _no_momentum(state, mp, self._master_first),
                        hp, mp, fused)

    _fused = SGD._fused
    _mom_kernel = SGD._mom_kernel
    _reference = SGD._reference


def _no_momentum(state, mp, master_first):
    """The state seen by MXNet's plain ``sgd_update`` call (no momentum array)."""
    if mp:
        master = state[0] if master_first else state[1]
        return (master, None) if master_first else (None, master)
    return None
