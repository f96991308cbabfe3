"""Nadam (Adam with Nesterov momentum)."""

from __future__ import annotations

import numpy as np

from ..kernels import optimizer as K
from ._common import zeros_states
from .engine import FusedOptimizer, bias_power, clip_ref
from .registry import register
from .validation import check_decays, check_nonnegative


@register
class Nadam(FusedOptimizer):
    r"""Nadam (Dozat), as MXNet 1.9.1.

    With :math:`\mu_t = \beta_1(1 - \tfrac12 0.96^{t\,s})` (``s`` = ``schedule_decay``) and
    the momentum schedule :math:`M \leftarrow M \mu_t` (``m_schedule``, one value for the
    whole optimizer, multiplied once per *tensor* update, as MXNet):

    .. math::

        \hat g &= \mathrm{clip}(r g + \lambda w) \\
        m &\leftarrow \beta_1 m + (1 - \beta_1)\hat g \\
        v &\leftarrow \beta_2 v + (1 - \beta_2)\hat g^2 \\
        \bar m &= (1 - \mu_t)\,\hat g / (1 - M) + \mu_{t+1}\, m / (1 - M \mu_{t+1}) \\
        w &\leftarrow w - \eta\, \bar m / (\sqrt{v / (1 - \beta_2^t)} + \epsilon)

    ``clip_gradient=0`` clips to zero (MXNet clips whenever it is not None here).  Because
    ``m_schedule`` is shared, results depend on how many tensors are updated (MXNet's
    behaviour, kept for fidelity).  State ``(m, v)``.

    Example
    -------
    >>> import mxlite as mx
    >>> opt = mx.optimizer.Nadam(learning_rate=0.001)
    >>> w, g = mx.nd.array([1.0]), mx.nd.array([1.0])
    >>> opt.update(0, w, g, opt.create_state(0, w)); round(float(w.asscalar()), 4)
    0.9989
    """

    zero_clip_disables = False
    spec = K.NadamSpec
    kernel = K.nadam

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8,
                 schedule_decay=0.004, **kwargs):
        check_decays(beta1=beta1, beta2=beta2, epsilon=epsilon)
        check_nonnegative("schedule_decay", schedule_decay)
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.schedule_decay = schedule_decay
        self.m_schedule = 1.0

    def create_state(self, index, weight):
        return zeros_states(weight, 2)

    def hyper(self, index):
        t = self._index_update_count[index]
        lr, wd = self._get_lr(index), self._get_wd(index)
        mom_t = self.beta1 * (1.0 - 0.5 * pow(0.96, t * self.schedule_decay))
        mom_t1 = self.beta1 * (1.0 - 0.5 * pow(0.96, (t + 1) * self.schedule_decay))
        self.m_schedule = self.m_schedule * mom_t
        m_next = self.m_schedule * mom_t1
        return K.NadamSpec(lr=lr, wd=wd, rescale_grad=self.rescale_grad, clip=self._clip(),
                           beta1=self.beta1, one_minus_beta1=1.0 - self.beta1, beta2=self.beta2,
                           one_minus_beta2=1.0 - self.beta2, epsilon=self.epsilon,
                           one_minus_m_schedule=1.0 - self.m_schedule,
                           one_minus_m_schedule_next=1.0 - m_next,
                           one_minus_beta2_t=1.0 - bias_power(self.beta2, t),
                           one_minus_momentum_t=1.0 - mom_t, momentum_t1=mom_t1)

    def reference_update(self, index, w, g, states, hp):
        m, v = states
        gh = clip_ref(g * hp.rescale_grad + hp.wd * w, hp.clip)
        m[...] = hp.beta1 * m + hp.one_minus_beta1 * gh
        v[...] = hp.beta2 * v + hp.one_minus_beta2 * gh * gh
        m_bar = (hp.one_minus_momentum_t * (gh / hp.one_minus_m_schedule)
                 + hp.momentum_t1 * (m / hp.one_minus_m_schedule_next))
        w[...] = w - hp.lr * m_bar / (np.sqrt(v / hp.one_minus_beta2_t) + hp.epsilon)
