"""LAMB: layer-wise adaptive moments for large batches."""

from __future__ import annotations

import math

import numpy as np

from ..kernels import optimizer as K
from ._common import ADAM_FIELDS, BASE_FIELDS, check_decays, hyper_type
from .adam import _moments
from .optimizer import FusedOptimizer, bias_power, check_nonnegative, clip_ref, register

# bias1, bias2: 1 - beta1**t and 1 - beta2**t, or 1 without bias correction; lr comes last
LAMBHyper = hyper_type("LAMBHyper", *BASE_FIELDS[1:], *ADAM_FIELDS, "bias1", "bias2", "lr")


@register
class LAMB(FusedOptimizer):
    r"""LAMB (You et al.), as MXNet 1.9.1 (``lamb_update_phase1/2``, ``multi_lamb_update``).

    .. math::

        \hat g &= \mathrm{clip}(r g) \\
        m &\leftarrow \beta_1 m + (1 - \beta_1)\hat g \\
        v &\leftarrow \beta_2 v + (1 - \beta_2)\hat g^2 \\
        u &= \frac{m / (1 - \beta_1^t)}{\sqrt{v / (1 - \beta_2^t)} + \epsilon} + \lambda w
            \quad(\text{no } 1 - \beta^t \text{ terms without } \texttt{bias\_correction}) \\
        r_1 &= \mathrm{clamp}(\|w\|, \texttt{lower\_bound}, \texttt{upper\_bound}),\quad
        r_2 = \|u\| \\
        w &\leftarrow w - \eta\, \frac{r_1}{r_2}\, u \quad (\text{ratio } 1 \text{ if }
            r_1 = 0 \text{ or } r_2 = 0)

    The fused path makes two passes without a temporary: the first updates the moments and
    reduces both norms, the second recomputes :math:`u` and applies it.  State
    ``AdamState(mean, var)``; with multi-precision ``(master, AdamState)`` and
    :math:`\|w\|` taken on the master.
    """

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-6,
                 lower_bound=None, upper_bound=None, bias_correction=True, **kwargs):
        check_decays(beta1=beta1, beta2=beta2, epsilon=epsilon)
        check_nonnegative("lower_bound", lower_bound, allow_none=True)
        check_nonnegative("upper_bound", upper_bound, allow_none=True)
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.lower_bound = lower_bound
        self.upper_bound = upper_bound
        self.bias_correction = bias_correction
        self.aggregate_num = 45

    def create_state(self, index, weight):
        return _moments(weight)

    def _update_group(self, indices, weights, grads, states, mp, fused, chunk=None):
        # MXNet's multi-tensor LAMB counts and reads the learning rate index by index
        from .optimizer import check_arrays

        for w, g in zip(weights, grads, strict=True):
            check_arrays(w, g)
        for i, w, g, s in zip(indices, weights, grads, states, strict=True):
            self._update_count(i)
            self._apply(i, w, g, s, self._hyper(i), mp, fused)

    def _hyper(self, index):
        t = self._index_update_count[index]
        if self.bias_correction:
            b1, b2 = 1.0 - bias_power(self.beta1, t), 1.0 - bias_power(self.beta2, t)
        else:
            b1 = b2 = 1.0
        return LAMBHyper(self._get_wd(index), self.rescale_grad, self._clip(), self.beta1,
                         1.0 - self.beta1, self.beta2, 1.0 - self.beta2, self.epsilon, b1, b2,
                         self._get_lr(index))

    def _ratio(self, w_sumsq: float, u_sumsq: float) -> float:
        r1, r2 = math.sqrt(w_sumsq), math.sqrt(u_sumsq)
        if self.lower_bound:
            r1 = max(r1, self.lower_bound)
        if self.upper_bound:
            r1 = min(r1, self.upper_bound)
        if r1 == 0.0 or r2 == 0.0:
            return 1.0
        return r1 / r2

    def _fused(self, index, w, g, arrays, w16, sc):
        m, v = arrays
        ws, us = K.lamb_moments(w, g, m, v, sc)
        sc[10] = sc[10] * self._ratio(ws, us)
        K.lamb_apply(w, m, v, w16, sc)

    def _reference(self, index, w, g, arrays, hp):
        m, v = arrays
        gh = clip_ref(g * hp.rescale_grad, hp.clip)
        m[...] = hp.beta1 * m + hp.one_minus_beta1 * gh
        v[...] = hp.beta2 * v + hp.one_minus_beta2 * gh * gh
        u = (m / hp.bias1) / (np.sqrt(v / hp.bias2) + hp.epsilon) + hp.wd * w
        w64, u64 = w.astype(np.float64), u.astype(np.float64)
        ratio = self._ratio(float(np.sum(w64 * w64)), float(np.sum(u64 * u64)))
        w[...] = w - (hp.lr * ratio) * u
