"""Signum and signSGD."""

from __future__ import annotations

import numpy as np

from ..kernels import optimizer as K
from ._common import zeros_state
from .engine import FusedOptimizer, clip_ref
from .registry import register
from .validation import check_momentum, check_nonnegative


@register
class Signum(FusedOptimizer):
    r"""Signum (sign of momentum) and, with ``momentum=0``, signSGD (Bernstein et al.).

    Signum (``signum_update``), state = momentum:

    .. math::

        m &\leftarrow \mu m - (1 - \mu)(\lambda w + \mathrm{clip}(r g)) \\
        w &\leftarrow (1 - \eta\lambda_{lh}) w + \eta\, \mathrm{sign}(m)

    signSGD (``signsgd_update``), no state:

    .. math::

        w \leftarrow (1 - \eta(\lambda + \lambda_{lh})) w - \eta\, \mathrm{sign}(\mathrm{clip}(r g))

    (:math:`\lambda_{lh}` = ``wd_lh``, decoupled weight decay.)  MXNet 1.9.1 fails for
    ``momentum=0`` with a nonzero ``wd_lh`` (its ``signsgd_update`` has no ``wd_lh``); mxlite
    applies ``wd_lh`` as the decoupled decay it is, next to ``wd``.

    Example
    -------
    >>> import mxlite as mx
    >>> opt = mx.optimizer.Signum(learning_rate=0.01, momentum=0.9)
    >>> w, g = mx.nd.array([1.0]), mx.nd.array([-3.0])
    >>> opt.update(0, w, g, opt.create_state(0, w)); round(float(w.asscalar()), 4)
    1.01
    """

    def __init__(self, learning_rate=0.01, momentum=0.9, wd_lh=0.0, **kwargs):
        check_momentum(momentum)
        check_nonnegative("wd_lh", wd_lh)
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.momentum = momentum
        self.wd_lh = wd_lh

    def create_state(self, index, weight):
        if self.momentum != 0.0:
            return zeros_state(weight)
        return None

    spec = K.SignumSpec

    def hyper(self, index):
        lr, wd = self._get_lr(index), self._get_wd(index)
        # decay: 1 - lr * wd_lh for Signum; signSGD has no momentum and decays by wd as well
        decay = 1.0 - lr * self.wd_lh if self.momentum > 0 else 1.0 - lr * (wd + self.wd_lh)
        return K.SignumSpec(lr=lr, wd=wd, rescale_grad=self.rescale_grad, clip=self._clip(),
                            momentum=self.momentum, one_minus_momentum=1.0 - self.momentum,
                            decay=decay)

    def kernel_update(self, index, w, g, states, w16, hp):
        if states:
            K.signum.run(w, g, states, w16, hp)
        else:
            K.signsgd.run(w, g, states, w16, hp)

    def reference_update(self, index, w, g, states, hp):
        gh = clip_ref(hp.rescale_grad * g, hp.clip)
        if states:
            (m,) = states
            m[...] = hp.momentum * m - hp.one_minus_momentum * (hp.wd * w + gh)
            w[...] = hp.decay * w + hp.lr * np.sign(m)
        else:
            w[...] = hp.decay * w - hp.lr * np.sign(gh)
