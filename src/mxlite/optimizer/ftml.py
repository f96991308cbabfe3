"""FTML: follow the moving leader."""

from __future__ import annotations

import numpy as np

from ..kernels import optimizer as K
from ._common import (
    ADAM_FIELDS,
    BASE_FIELDS,
    check_decays,
    hyper_type,
    zeros_states,
)
from .optimizer import FusedOptimizer, bias_power, clip_ref, register

FTMLHyper = hyper_type("FTMLHyper", *BASE_FIELDS, *ADAM_FIELDS, "one_minus_beta1_t",
                       "one_minus_beta2_t")


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

    _kernel = K.ftml

    def __init__(self, beta1=0.6, beta2=0.999, epsilon=1e-8, **kwargs):
        check_decays(beta1=beta1, beta2=beta2, epsilon=epsilon)
        super().__init__(**kwargs)
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon

    def create_state(self, index, weight):
        return zeros_states(weight, 3)

    def _hyper(self, index):
        t = self._index_update_count[index]
        return FTMLHyper(self._get_lr(index), self._get_wd(index), self.rescale_grad,
                         self._clip(), self.beta1, 1.0 - self.beta1, self.beta2,
                         1.0 - self.beta2, self.epsilon, 1.0 - bias_power(self.beta1, t),
                         1.0 - bias_power(self.beta2, t))

    def _reference(self, index, w, g, arrays, hp):
        d, v, z = arrays
        gh = clip_ref(hp.rescale_grad * g + hp.wd * w, hp.clip)
        v[...] = hp.beta2 * v + hp.one_minus_beta2 * gh * gh
        d_t = hp.one_minus_beta1_t / hp.lr * (np.sqrt(v / hp.one_minus_beta2_t) + hp.epsilon)
        z[...] = hp.beta1 * z + hp.one_minus_beta1 * gh - (d_t - hp.beta1 * d) * w
        d[...] = d_t
        w[...] = -z / d_t
