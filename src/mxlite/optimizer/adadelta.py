"""AdaDelta."""

from __future__ import annotations

import numpy as np

from ..kernels import optimizer as K
from ._common import zeros_states
from .engine import FusedOptimizer, clip_ref
from .registry import register
from .validation import check_decays


@register
class AdaDelta(FusedOptimizer):
    r"""AdaDelta (Zeiler), as MXNet 1.9.1.  The learning rate is not used.

    .. math::

        \hat g &= \mathrm{clip}(r g) \\
        a_g &\leftarrow \rho a_g + (1 - \rho)\hat g^2 \\
        \delta &= \sqrt{a_\delta + \epsilon} / \sqrt{a_g + \epsilon}\; \hat g \\
        a_\delta &\leftarrow \rho a_\delta + (1 - \rho)\delta^2 \\
        w &\leftarrow w - (\delta + \lambda w)

    State ``(a_g, a_delta)`` in the weight's dtype.  Unlike MXNet, the caller's gradient is not
    modified (MXNet multiplies it by ``rescale_grad`` in place).

    Example
    -------
    >>> import mxlite as mx
    >>> opt = mx.optimizer.AdaDelta()
    >>> w, g = mx.nd.array([1.0]), mx.nd.array([1.0])
    >>> opt.update(0, w, g, opt.create_state(0, w)); round(float(w.asscalar()), 4)
    0.99
    """

    zero_clip_disables = False
    spec = K.AdaDeltaSpec
    kernel = K.adadelta

    def __init__(self, rho=0.90, epsilon=1e-5, **kwargs):
        check_decays(rho=rho, epsilon=epsilon)
        super().__init__(**kwargs)
        self.rho = rho
        self.epsilon = epsilon

    def create_state(self, index, weight):
        return zeros_states(weight, 2)

    def hyper(self, index):
        return K.AdaDeltaSpec(wd=self._get_wd(index), rescale_grad=self.rescale_grad,
                              clip=self._clip(), rho=self.rho, one_minus_rho=1.0 - self.rho,
                              epsilon=self.epsilon)

    def reference_update(self, index, w, g, states, hp):
        acc_g, acc_delta = states
        gh = clip_ref(g * hp.rescale_grad, hp.clip)
        acc_g[...] = hp.rho * acc_g + hp.one_minus_rho * gh * gh
        delta = np.sqrt(acc_delta + hp.epsilon) / np.sqrt(acc_g + hp.epsilon) * gh
        acc_delta[...] = hp.rho * acc_delta + hp.one_minus_rho * delta * delta
        w[...] = w - (delta + hp.wd * w)
