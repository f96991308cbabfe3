"""RMSProp (Tieleman & Hinton) and its centered variant (Graves)."""

from __future__ import annotations

import numpy as np

from ..kernels import optimizer as K
from ._common import zeros_states
from .engine import FusedOptimizer, clip_ref
from .registry import register
from .validation import check_decays, check_nonnegative


@register
class RMSProp(FusedOptimizer):
    r"""RMSProp, plain (``centered=False``) or centered (``centered=True``), MXNet 1.9.1 ops.

    With :math:`\hat g = \mathrm{clip}(r g + \lambda w)` (weight decay added before clipping):

    plain (``rmsprop_update``), state ``(n,)``:

    .. math::

        n &\leftarrow (1 - \gamma_1)\hat g^2 + \gamma_1 n \\
        w &\leftarrow \mathrm{clip_w}(w - \eta\, \hat g / \sqrt{n + \epsilon})

    centered (``rmspropalex_update``), state ``(n, \bar g, \delta)``:

    .. math::

        n &\leftarrow (1 - \gamma_1)\hat g^2 + \gamma_1 n \\
        \bar g &\leftarrow (1 - \gamma_1)\hat g + \gamma_1 \bar g \\
        \delta &\leftarrow \gamma_2 \delta - \eta\, \hat g / \sqrt{n - \bar g^2 + \epsilon} \\
        w &\leftarrow \mathrm{clip_w}(w + \delta)

    :math:`\epsilon` is inside the square root.  ``clip_weights`` (if set and nonzero) clips
    the new weight to ``[-clip_weights, clip_weights]``.  States have the weight's dtype (MXNet
    makes them float32 and then fails on float64 weights).

    Example
    -------
    >>> import mxlite as mx
    >>> opt = mx.optimizer.RMSProp(learning_rate=0.01)
    >>> w, g = mx.nd.array([1.0]), mx.nd.array([1.0])
    >>> opt.update(0, w, g, opt.create_state(0, w)); round(float(w.asscalar()), 4)
    0.9684
    """

    def __init__(self, learning_rate=0.001, gamma1=0.9, gamma2=0.9, epsilon=1e-8,
                 centered=False, clip_weights=None, **kwargs):
        check_decays(gamma1=gamma1, gamma2=gamma2, epsilon=epsilon)
        check_nonnegative("clip_weights", clip_weights, allow_none=True, finite=False)
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.gamma1 = gamma1
        self.gamma2 = gamma2
        self.centered = centered
        self.epsilon = epsilon
        self.clip_weights = clip_weights

    def create_state(self, index, weight):
        n = 3 if self.centered else 1
        return zeros_states(weight, n)

    spec = K.RMSPropSpec

    def hyper(self, index):
        cw = float(self.clip_weights) if self.clip_weights else -1.0
        return K.RMSPropSpec(lr=self._get_lr(index), wd=self._get_wd(index),
                             rescale_grad=self.rescale_grad, clip=self._clip(),
                             gamma1=self.gamma1, one_minus_gamma1=1.0 - self.gamma1,
                             gamma2=self.gamma2, epsilon=self.epsilon, clip_weights=cw)

    def kernel_update(self, index, w, g, states, w16, hp):
        if len(states) == 3:
            K.rmspropalex.run(w, g, states, w16, hp)
        else:
            K.rmsprop.run(w, g, states, w16, hp)

    def reference_update(self, index, w, g, states, hp):
        gh = clip_ref(hp.rescale_grad * g + hp.wd * w, hp.clip)
        n = states[0]
        n[...] = hp.one_minus_gamma1 * gh * gh + hp.gamma1 * n
        if len(states) == 1:
            new = w - hp.lr * gh / np.sqrt(n + hp.epsilon)
        else:
            _, gbar, delta = states
            gbar[...] = hp.one_minus_gamma1 * gh + hp.gamma1 * gbar
            delta[...] = hp.gamma2 * delta - hp.lr * gh / np.sqrt(n - gbar * gbar + hp.epsilon)
            new = w + delta
        w[...] = clip_ref(new, hp.clip_weights)
