"""Adamax (Adam with the infinity norm)."""

from __future__ import annotations

import numpy as np

from ..kernels import optimizer as K
from ._common import zeros_states
from .engine import FusedOptimizer, bias_power, clip_ref
from .registry import register
from .validation import check_decays


@register
class Adamax(FusedOptimizer):
    r"""Adamax (Kingma & Ba, section 7), as MXNet 1.9.1.

    .. math::

        \hat g &= \mathrm{clip}(r g + \lambda w) \\
        m &\leftarrow \beta_1 m + (1 - \beta_1)\hat g \\
        u &\leftarrow \max(\beta_2 u, |\hat g|) \\
        w &\leftarrow w - \frac{\eta}{1 - \beta_1^t}\, m / u

    ``clip_gradient=0`` clips to zero (MXNet clips whenever it is not None here).
    State ``(m, u)``.

    Example
    -------
    >>> import mxlite as mx
    >>> opt = mx.optimizer.Adamax(learning_rate=0.002)
    >>> w, g = mx.nd.array([1.0]), mx.nd.array([3.0])
    >>> opt.update(0, w, g, opt.create_state(0, w)); round(float(w.asscalar()), 4)
    0.998
    """

    zero_clip_disables = False
    spec = K.AdamaxSpec
    kernel = K.adamax

    def __init__(self, learning_rate=0.002, beta1=0.9, beta2=0.999, **kwargs):
        check_decays(beta1=beta1, beta2=beta2)
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta1 = beta1
        self.beta2 = beta2

    def create_state(self, index, weight):
        return zeros_states(weight, 2)

    def hyper(self, index):
        t = self._index_update_count[index]
        lr = self._get_lr(index) / (1.0 - bias_power(self.beta1, t))
        return K.AdamaxSpec(lr=lr, wd=self._get_wd(index), rescale_grad=self.rescale_grad,
                            clip=self._clip(), beta1=self.beta1,
                            one_minus_beta1=1.0 - self.beta1, beta2=self.beta2)

    def reference_update(self, index, w, g, states, hp):
        m, u = states
        gh = clip_ref(g * hp.rescale_grad + hp.wd * w, hp.clip)
        m[...] = hp.beta1 * m + hp.one_minus_beta1 * gh
        u[...] = np.maximum(hp.beta2 * u, np.abs(gh))
        w[...] = w - hp.lr * m / u
