"""SGD with momentum (and its deprecated alias ccSGD)."""

from __future__ import annotations

import warnings

import numpy as np

from ..kernels import optimizer as K
from ._common import zeros_state
from .engine import FusedOptimizer, clip_ref
from .registry import register
from .validation import check_momentum


def warn_float16(name: str) -> None:
    warnings.warn(
        "Accumulating with float16 in optimizer can lead to poor accuracy or slow convergence. "
        f"Consider using multi_precision=True option of the {name} optimizer",
        UserWarning,
        stacklevel=3,
    )


class MomentumFirst(FusedOptimizer):
    """Base of SGD and NAG: a momentum state (None without momentum) and the multi-precision
    state ``(momentum, float32 master)`` (MXNet's order for them)."""

    master_first = False

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


@register
class SGD(MomentumFirst):
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

    spec = K.SGDSpec
    multi_kernels = {0: K.MULTI_KERNELS["sgd"], 1: K.MULTI_KERNELS["sgd_mom"]}

    def __init__(self, momentum=0.0, lazy_update=True, **kwargs):
        check_momentum(momentum)
        super().__init__(**kwargs)
        self.momentum = momentum
        self.lazy_update = lazy_update
        self.aggregate_num = 4

    def hyper(self, index):
        return K.SGDSpec.make(lr=self._get_lr(index), wd=self._get_wd(index),
                              rescale_grad=self.rescale_grad, clip=self._clip(),
                              momentum=self.momentum)

    def kernel_update(self, index, w, g, states, w16, hp):
        if states:
            K.sgd_mom.run(w, g, states, w16, hp)
        else:  # no momentum state: MXNet's sgd_update
            K.sgd.run(w, g, states, w16, hp)

    def row_sparse_update(self, index, weight, grad, state, hp, fused):
        """Row_sparse gradient (issue 16): with ``lazy_update`` only the stored rows (MXNet's
        lazy SGD, in place by :data:`mxlite.kernels.sparse.ROW_KERNELS`), else the standard
        update on the dense gradient.  Multi-precision updates are standard ones: MXNet
        1.9.1's ``mp_sgd_*update`` have no row_sparse path."""
        from ..kernels import sparse as KS

        if not self.lazy_update or self._mp_of(weight):
            KS.dense_update(self, index, weight, grad, state, hp, fused)
            return
        KS.lazy_update(self, index, weight, grad, state, hp, fused,
                       row_kernel="sgd_mom" if state is not None else "sgd")

    def reference_update(self, index, w, g, states, hp):
        step = -hp.lr * hp.wd * w - hp.lr * clip_ref(hp.rescale_grad * g, hp.clip)
        if states:
            (m,) = states
            m[...] = hp.momentum * m + step
            step = m
        w[...] = w + step


@register
class ccSGD(SGD):
    """Deprecated alias of :class:`SGD`, kept as MXNet 1.9.1 keeps it."""
