"""Signum and signSGD."""

from __future__ import annotations

import numpy as np

from ..kernels import optimizer as K
from ._common import BASE_FIELDS, hyper_type, zeros_state
from .optimizer import FusedOptimizer, check_nonnegative, clip_ref, register

# decay: 1 - lr * (wd + wd_lh)
SignSGDHyper = hyper_type("SignSGDHyper", *BASE_FIELDS, "decay")
# decay: 1 - lr * wd_lh
SignumHyper = hyper_type("SignumHyper", *BASE_FIELDS, "momentum", "one_minus_momentum", "decay")


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
        check_nonnegative("momentum", momentum)
        check_nonnegative("wd_lh", wd_lh)
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.momentum = momentum
        self.wd_lh = wd_lh

    def create_state(self, index, weight):
        if self.momentum != 0.0:
            return zeros_state(weight)
        return None

    def _hyper(self, index):
        lr, wd = self._get_lr(index), self._get_wd(index)
        if self.momentum > 0:
            return SignumHyper(lr, wd, self.rescale_grad, self._clip(), self.momentum,
                               1.0 - self.momentum, 1.0 - lr * self.wd_lh)
        return SignSGDHyper(lr, wd, self.rescale_grad, self._clip(),
                            1.0 - lr * (wd + self.wd_lh))

    def _fused(self, index, w, g, arrays, w16, sc):
        if arrays:
            K.signum(w, g, arrays[0], w16, sc)
        else:
            K.signsgd(w, g, w16, sc)

    def _reference(self, index, w, g, arrays, hp):
        gh = clip_ref(hp.rescale_grad * g, hp.clip)
        if arrays:
            (m,) = arrays
            m[...] = hp.momentum * m - hp.one_minus_momentum * (hp.wd * w + gh)
            w[...] = hp.decay * w + hp.lr * np.sign(m)
        else:
            w[...] = hp.decay * w - hp.lr * np.sign(gh)
