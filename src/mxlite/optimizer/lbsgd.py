"""LBSGD: large-batch SGD with warmup and LARS-style scaling."""

from __future__ import annotations

import logging
import math

import numpy as np

from ..kernels import optimizer as K
from ..ndarray import NDArray
from .lars import sumsq
from .optimizer import Optimizer
from .registry import register
from .sgd import SGD
from .validation import check_count, check_momentum, check_nonnegative

_STRATEGIES = ("linear", "power2", "sqrt", "lars")


@register
class LBSGD(SGD):
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

    The update itself is :class:`SGD`'s (this class derives from it, overriding only
    ``prepare``); unlike SGD, the multi-precision state is ``(master, momentum)``, as MXNet's.
    """

    master_first = True
    multi_kernels = None

    def __init__(self, momentum=0.0, multi_precision=False, warmup_strategy="linear",
                 warmup_epochs=5, batch_scale=1, updates_per_epoch=32, begin_epoch=0,
                 num_epochs=60, **kwargs):
        check_momentum(momentum)
        if warmup_strategy not in _STRATEGIES:
            raise ValueError(
                f"warmup_strategy must be one of {', '.join(_STRATEGIES)}, got {warmup_strategy!r}"
            )
        for name, value in (("warmup_epochs", warmup_epochs), ("num_epochs", num_epochs)):
            check_nonnegative(name, value)
        check_count("batch_scale", batch_scale, 1)
        check_count("updates_per_epoch", updates_per_epoch)
        check_count("begin_epoch", begin_epoch)
        super().__init__(momentum=momentum, multi_precision=multi_precision, **kwargs)
        self.aggregate_num = 0  # MXNet's LBSGD updates tensor by tensor
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

    def create_state_multi_precision(self, index, weight):
        return Optimizer.create_state_multi_precision(self, index, weight)

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
    def prepare(self, indices, weights, grads, states, fused):
        """Per tensor (learning rate and weight decay read before the count, as MXNet): add
        the gradient to the accumulator; on a ``batch_scale`` boundary the SGD step with the
        accumulated mean gradient and the warmup (or LARS) learning rate, else MXNet's
        ``sgd_update`` with learning rate 0 and no momentum."""
        out = []
        for index, weight, grad, state in zip(indices, weights, grads, states, strict=True):
            lr, wd = self._get_lr(index), self._get_wd(index)
            self._update_count(index)
            mp = self._mp_of(weight)
            g = grad._data.astype(np.float32) if mp else grad._data
            total, num = self._cumulate(g, index)
            if num % self.batch_scale == 0:
                gbar = total / self.batch_scale if self.batch_scale != 1 else total
                if self.warmup_strategy == "lars":
                    w_now = self._split_mp(state)[0]._data if mp else weight._data
                    lr = lr * self._get_lars(w_now, gbar, wd, fused)
                else:
                    lr = lr * self._get_lbmult(num)
                hp = K.SGDSpec(lr=lr, wd=wd, rescale_grad=self.rescale_grad,
                               clip=self._clip(), momentum=self.momentum)
                self.cumgrads[index]["cum_grad"] = 0
                out.append((NDArray(gbar), state, hp))
            else:
                hp = K.SGDSpec(lr=0.0, wd=wd, rescale_grad=1.0, clip=-1.0, momentum=0.0)
                out.append((grad, _no_momentum(state, mp, self.master_first), hp))
        return out


def _no_momentum(state, mp, master_first):
    """The state seen by MXNet's plain ``sgd_update`` call (no momentum array)."""
    if mp:
        master = state[0] if master_first else state[1]
        return (master, None) if master_first else (None, master)
    return None
