"""SGD with momentum (and its deprecated alias ccSGD)."""

from __future__ import annotations

import warnings

import numpy as np

from ..kernels import optimizer as K
from ._common import BASE_FIELDS, hyper_type, zeros_state
from .optimizer import FusedOptimizer, check_nonnegative, clip_ref, register

SGDHyper = hyper_type("SGDHyper", *BASE_FIELDS, "momentum")


def warn_float16(name: str) -> None:
    warnings.warn(
        "Accumulating with float16 in optimizer can lead to poor accuracy or slow convergence. "
        f"Consider using multi_precision=True option of the {name} optimizer",
        UserWarning,
        stacklevel=3,
    )


class _MomentumFirst(FusedOptimizer):
    """Optimizers whose multi-precision state is ``(momentum, float32 master)`` (MXNet's order).

    With a momentum state the fused path runs ``_mom_kernel``; without one (``momentum=0``) the
    update is plain SGD.
    """

    _master_first = False
    _mom_kernel = K.sgd_mom

    def create_state_multi_precision(self, index, weight):
        if self.multi_precision and weight.dtype == np.float16:
            master = weight.astype(np.float32)
            return (self.create_state(index, master), master)
        if weight.dtype == np.float16 and not self.multi_precision:
            warn_float16(type(self).__name__)
        return self.create_state(index, weight)

    def create_state(self, index, weight):
        if self.momentum != 0.0:
            return zeros_state(weight)
        return None

    def _fused(self, index, w, g, arrays, w16, sc):
        if arrays:
            self._mom_kernel(w, g, arrays[0], w16, sc)
        else:
            K.sgd(w, g, w16, sc[:4])


@register
class SGD(_MomentumFirst):
    r"""Stochastic gradient descent with momentum and weight decay (MXNet 1.9.1 semantics).

    At each step, with :math:`\eta` the learning rate (after schedule and ``lr_mult``),
    :math:`\lambda` the weight decay (after ``wd_mult``), :math:`\mu` the momentum, ``r`` =
    ``rescale_grad`` and ``clip`` = ``clip_gradient``:

    .. math::

        m &\leftarrow \mu m - \eta \lambda w - \eta\, \mathrm{clip}(r g) \\
        w &\leftarrow w + m

    so the gradient is rescaled *before* it is clipped, and weight decay is not clipped.  Without
    momentum (:math:`\mu = 0`) there is no state and :math:`w \leftarrow w - \eta \lambda w -
    \eta\,\mathrm{clip}(r g)`.  ``clip_gradient=0`` (or None) disables clipping, as MXNet's
    operators do.  With a row_sparse gradient and ``lazy_update`` (the default) only the rows
    the gradient stores are updated, weight decay included (MXNet's lazy update).

    With ``multi_precision=True`` and float16 weights the state is ``(momentum, master)``, the
    update runs on the float32 master and writes the rounded float16 weight in the same pass.
    List calls (the Updater's multi-tensor form) count all indices before reading learning
    rates, as MXNet's aggregated ``multi_sgd_update`` path (``aggregate_num = 4``).

    Example
    -------
    >>> import mxlite as mx
    >>> opt = mx.optimizer.SGD(learning_rate=0.1, momentum=0.9, wd=0.0)
    >>> w, g = mx.nd.array([1.0, 2.0]), mx.nd.array([1.0, 1.0])
    >>> state = opt.create_state(0, w)
    >>> opt.update(0, w, g, state); w.asnumpy().tolist()
    [0.8999999761581421, 1.899999976158142]
    """

    _multi = {0: "sgd", 1: "sgd_mom"}
    _multi_width = {0: 4}

    def __init__(self, momentum=0.0, lazy_update=True, **kwargs):
        check_nonnegative("momentum", momentum)
        super().__init__(**kwargs)
        self.momentum = momentum
        self.lazy_update = lazy_update
        self.aggregate_num = 4

    def _hyper(self, index):
        return SGDHyper(self._get_lr(index), self._get_wd(index), self.rescale_grad,
                        self._clip(), self.momentum)

    def _hyper_group(self, indices):
        lrs, wds = self._get_lrs(indices), self._get_wds(indices)
        rs, c, mom = self.rescale_grad, self._clip(), self.momentum
        return [SGDHyper(lr, wd, rs, c, mom) for lr, wd in zip(lrs, wds, strict=True)]

    def _apply_row_sparse(self, index, weight, grad, state, hp, mp, fused):
        """Row_sparse gradient (issue 16): with ``lazy_update`` only the stored rows (MXNet's
        lazy SGD), else the standard update on the dense gradient.  Multi-precision updates
        are standard ones: MXNet 1.9.1's ``mp_sgd_*update`` have no row_sparse path."""
        from ..kernels import sparse as KS

        lazy = self.lazy_update and not mp
        (KS.lazy_apply if lazy else KS.dense_apply)(self, index, weight, grad, state, hp, mp,
                                                    fused)

    def _reference(self, index, w, g, arrays, hp):
        lr, wd, rs, c, mom = hp
        step = -lr * wd * w - lr * clip_ref(rs * g, c)
        if arrays:
            (m,) = arrays
            m[...] = mom * m + step
            step = m
        w[...] = w + step


@register
class ccSGD(SGD):
    """Deprecated alias of :class:`SGD`, kept as MXNet 1.9.1 keeps it."""
