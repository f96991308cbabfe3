"""Adam and AdamW."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ..kernels import optimizer as K
from ._common import zeros_states
from .engine import FusedOptimizer, clip_ref
from .registry import register, register_state
from .validation import check_decays


@register_state
class AdamState(NamedTuple):
    """Adam's state: the first and second moment estimates (``mean, var = state`` works)."""

    mean: object
    var: object


def _moments(weight):
    return AdamState(*zeros_states(weight, 2))


@register
class Adam(FusedOptimizer):
    r"""Adam (Kingma & Ba), with MXNet 1.9.1's placement of weight decay and clipping.

    At step :math:`t` of this parameter (its own update count):

    .. math::

        \hat g &= \mathrm{clip}(r g + \lambda w) \\
        m &\leftarrow \beta_1 m + (1 - \beta_1)\hat g \\
        v &\leftarrow \beta_2 v + (1 - \beta_2)\hat g^2 \\
        \eta_t &= \eta \sqrt{1 - \beta_2^t} / (1 - \beta_1^t) \\
        w &\leftarrow w - \eta_t\, m / (\sqrt v + \epsilon)

    Weight decay is L2 added to the rescaled gradient *before* clipping; the bias corrections
    are folded into the learning rate (so :math:`\epsilon` is not bias-corrected).
    ``clip_gradient=0`` (or None) disables clipping.  State: ``AdamState(mean, var)``.

    Example
    -------
    >>> import mxlite as mx
    >>> opt = mx.optimizer.Adam(learning_rate=0.1)
    >>> w, g = mx.nd.array([1.0]), mx.nd.array([0.5])
    >>> opt.update(0, w, g, opt.create_state(0, w)); round(float(w.asscalar()), 4)
    0.9
    """

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8,
                 lazy_update=True, **kwargs):
        check_decays(beta1=beta1, beta2=beta2, epsilon=epsilon)
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.lazy_update = lazy_update

    def create_state(self, index, weight):
        return _moments(weight)

    spec = K.AdamSpec
    kernel = K.adam
    multi_kernels = {2: K.MULTI_KERNELS["adam"]}

    def hyper(self, index):
        t = self._index_update_count[index]
        b1, b2 = self.beta1, self.beta2
        lr = self._get_lr(index) * math.sqrt(1.0 - b2**t) / (1.0 - b1**t)
        return K.AdamSpec.make(lr=lr, wd=self._get_wd(index), rescale_grad=self.rescale_grad,
                               clip=self._clip(), beta1=b1, one_minus_beta1=1.0 - b1, beta2=b2,
                               one_minus_beta2=1.0 - b2, epsilon=self.epsilon)

    def row_sparse_update(self, index, weight, grad, state, hp, fused):
        """Row_sparse gradient (issue 16): with ``lazy_update`` only the stored rows (MXNet's
        lazy Adam; multi-precision on the float32 master rows), else the standard update on
        the dense gradient."""
        from ..kernels import sparse as KS

        if not self.lazy_update:
            KS.dense_update(self, index, weight, grad, state, hp, fused)
            return
        KS.lazy_update(self, index, weight, grad, state, hp, fused,
                       row_kernel="adam" if self.kernel is K.adam else None)

    def reference_update(self, index, w, g, states, hp):
        m, v = states
        gh = clip_ref(g * hp.rescale_grad + w * hp.wd, hp.clip)
        m[...] = hp.beta1 * m + hp.one_minus_beta1 * gh
        v[...] = hp.beta2 * v + hp.one_minus_beta2 * gh * gh
        w[...] = w - hp.lr * m / (np.sqrt(v) + hp.epsilon)


@register
class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter), on MXNet's ``adamw_update``.

    MXNet 1.9.1 has the ``adamw_update`` operator but no AdamW optimizer class; mxlite's class
    drives the operator the way MXNet 2.0's ``AdamW`` does (operator ``lr = 1``, ``eta`` = the
    bias-corrected learning rate):

    .. math::

        \hat g &= \mathrm{clip}(r g) \\
        m &\leftarrow \beta_1 m + (1 - \beta_1)\hat g \\
        v &\leftarrow \beta_2 v + (1 - \beta_2)\hat g^2 \\
        \eta_t &= \eta \sqrt{1 - \beta_2^t} / (1 - \beta_1^t) \\
        w &\leftarrow w - \eta_t\,( m / (\sqrt v + \epsilon) + \lambda w)

    The weight decay is not part of the gradient (so not clipped, not in the moments).
    State: ``AdamState(mean, var)``.
    """

    spec = K.AdamWSpec
    kernel = K.adamw
    multi_kernels = {2: K.MULTI_KERNELS["adamw"]}

    def hyper(self, index):
        t = self._index_update_count[index]
        b1, b2 = self.beta1, self.beta2
        eta = self._get_lr(index) * math.sqrt(1.0 - b2**t) / (1.0 - b1**t)
        return K.AdamWSpec.make(lr=1.0, eta=eta, wd=self._get_wd(index),
                                rescale_grad=self.rescale_grad, clip=self._clip(), beta1=b1,
                                one_minus_beta1=1.0 - b1, beta2=b2, one_minus_beta2=1.0 - b2,
                                epsilon=self.epsilon)

    def reference_update(self, index, w, g, states, hp):
        m, v = states
        gh = clip_ref(g * hp.rescale_grad, hp.clip)
        m[...] = hp.beta1 * m + hp.one_minus_beta1 * gh
        v[...] = hp.beta2 * v + hp.one_minus_beta2 * gh * gh
        w[...] = w - hp.eta * (hp.lr * m / (np.sqrt(v) + hp.epsilon) + hp.wd * w)
