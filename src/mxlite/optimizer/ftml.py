"""FTML: follow the moving leader."""

from __future__ import annotations

import numpy as np

from ..kernels import optimizer as K
from ._common import zeros_states
from .engine import FusedOptimizer, bias_power, clip_ref
from .registry import register
from .validation import check_decays


@register
class FTML(FusedOptimizer):
    r"""FTML (Zheng & Kwok), as MXNet 1.9.1's ``ftml_update``.

    .. math::

        \hat g &= \mathrm{clip}(r g + \lambda w) \\
        v &\leftarrow \beta_2 v + (1 - \beta_2)\hat g^2 \\
        d_t &= \frac{1 - \beta_1^t}{\eta}\left(\sqrt{v / (1 - \beta_2^t)} + \epsilon\right) \\
        z &\leftarrow \beta_1 z + (1 - \beta_1)\hat g - (d_t - \beta_1 d)\, w \\
        d &\leftarrow d_t \\
        w &\leftarrow -z / d_t

    State ``(d, v, z)``.

    Example
    -------
    >>> import mxlite as mx
    >>> opt = mx.optimizer.FTML(learning_rate=0.1)
    >>> w, g = mx.nd.array([1.0]), mx.nd.array([1.0])
    >>> opt.update(0, w, g, opt.create_state(0, w)); round(float(w.asscalar()), 4)
    0.9
    """

    spec = K.FTMLSpec
    kernel = K.ftml

    def __init__(self, beta1=0.6, beta2=0.999, epsilon=1e-8, **kwargs):
        check_decays(beta1=beta1, beta2=beta2, epsilon=epsilon)
        super().__init__(**kwargs)
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon

    def create_state(self, index, weight):
        return zeros_states(weight, 3)

    def hyper(self, index):
        t = self._index_update_count[index]
        b1, b2 = self.beta1, self.beta2
        return K.FTMLSpec(lr=self._get_lr(index), wd=self._get_wd(index),
                          rescale_grad=self.rescale_grad, clip=self._clip(), beta1=b1,
                          one_minus_beta1=1.0 - b1, beta2=b2, one_minus_beta2=1.0 - b2,
                          epsilon=self.epsilon, one_minus_beta1_t=1.0 - bias_power(b1, t),
                          one_minus_beta2_t=1.0 - bias_power(b2, t))

    def reference_update(self, index, w, g, states, hp):
        d, v, z = states
        gh = clip_ref(hp.rescale_grad * g + hp.wd * w, hp.clip)
        v[...] = hp.beta2 * v + hp.one_minus_beta2 * gh * gh
        d_t = hp.one_minus_beta1_t / hp.lr * (np.sqrt(v / hp.one_minus_beta2_t) + hp.epsilon)
        z[...] = hp.beta1 * z + hp.one_minus_beta1 * gh - (d_t - hp.beta1 * d) * w
        d[...] = d_t
        w[...] = -z / d_t
