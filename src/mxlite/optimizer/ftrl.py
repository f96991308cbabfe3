"""FTRL-Proximal."""

from __future__ import annotations

import numpy as np

from ..kernels import optimizer as K
from ._common import zeros_states
from .engine import FusedOptimizer, clip_ref
from .registry import register
from .validation import check_nonnegative


@register
class Ftrl(FusedOptimizer):
    r"""FTRL-Proximal (McMahan et al.), as MXNet 1.9.1's ``ftrl_update``.

    .. math::

        \hat g &= \mathrm{clip}(r g) \\
        z &\leftarrow z + \hat g - (\sqrt{n + \hat g^2} - \sqrt n)\, w / \eta \\
        n &\leftarrow n + \hat g^2 \\
        w &\leftarrow \frac{\mathrm{sign}(z)\lambda_1 - z}{(\beta + \sqrt n)/\eta + \lambda}
              \;[\,|z| > \lambda_1]

    Weight decay enters only the denominator.  ``learning_rate`` defaults to 0.1.  State
    ``(z, n)`` in the weight's dtype (MXNet: float32, failing on float64 weights).

    Example
    -------
    >>> import mxlite as mx
    >>> opt = mx.optimizer.Ftrl(learning_rate=0.1, lamda1=0.01)
    >>> w, g = mx.nd.array([0.0]), mx.nd.array([1.0])
    >>> opt.update(0, w, g, opt.create_state(0, w)); round(float(w.asscalar()), 4)
    -0.0495
    """

    spec = K.FtrlSpec
    kernel = K.ftrl

    def __init__(self, lamda1=0.01, learning_rate=0.1, beta=1, **kwargs):
        check_nonnegative("lamda1", lamda1)
        check_nonnegative("learning_rate", learning_rate)
        check_nonnegative("beta", beta)
        super().__init__(**kwargs)
        self.lamda1 = lamda1
        self.beta = beta
        self.lr = learning_rate

    def create_state(self, index, weight):
        return zeros_states(weight, 2)

    def hyper(self, index):
        return K.FtrlSpec.make(lr=self._get_lr(index), wd=self._get_wd(index),
                               rescale_grad=self.rescale_grad, clip=self._clip(),
                               lamda1=self.lamda1, beta=float(self.beta))

    def row_sparse_update(self, index, weight, grad, state, hp, fused):
        """Row_sparse gradient (issue 16), as MXNet 1.9.1: a row_sparse weight is updated
        lazily (only the stored rows); a dense weight gets the standard update on the dense
        gradient (MXNet's ``ftrl_update`` falls back to the dense operator there, which also
        moves the rows the gradient does not store)."""
        from ..kernels import sparse as KS

        if weight.stype == "row_sparse":
            KS.lazy_update(self, index, weight, grad, state, hp, fused)
        else:
            KS.dense_update(self, index, weight, grad, state, hp, fused)

    def reference_update(self, index, w, g, states, hp):
        z, n = states
        gh = clip_ref(hp.rescale_grad * g, hp.clip)
        z[...] = z + gh - (np.sqrt(n + gh * gh) - np.sqrt(n)) * w / hp.lr
        n[...] = n + gh * gh
        new = (np.sign(z) * hp.lamda1 - z) / ((hp.beta + np.sqrt(n)) / hp.lr + hp.wd)
        w[...] = new * (np.abs(z) > hp.lamda1)
