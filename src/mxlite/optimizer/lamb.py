"""LAMB: layer-wise adaptive moments for large batches."""

from __future__ import annotations

import math

import numpy as np

from ..kernels import optimizer as K
from .adam import _moments
from .engine import FusedOptimizer, bias_power, clip_ref
from .registry import register
from .validation import check_decays, check_nonnegative


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
    :math:`\|w\|` taken on the master.  ``lower_bound`` and ``upper_bound`` (None or 0: no
    bound) must satisfy ``lower_bound <= upper_bound`` when both are set.
    """

    spec = K.LAMBSpec

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-6,
                 lower_bound=None, upper_bound=None, bias_correction=True, **kwargs):
        check_decays(beta1=beta1, beta2=beta2, epsilon=epsilon)
        check_nonnegative("lower_bound", lower_bound, allow_none=True)
        check_nonnegative("upper_bound", upper_bound, allow_none=True, finite=False)
        if lower_bound and upper_bound and lower_bound > upper_bound:
            raise ValueError(
                f"lower_bound must be <= upper_bound, got lower_bound={lower_bound!r}, "
                f"upper_bound={upper_bound!r}"
            )
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

    def prepare(self, indices, weights, grads, states, fused):
        """MXNet's multi-tensor LAMB counts and reads the learning rate index by index (although
        it aggregates)."""
        out = []
        for i, g, s in zip(indices, grads, states, strict=True):
            self._update_count(i)
            out.append((g, s, self.hyper(i)))
        return out

    def hyper(self, index):
        t = self._index_update_count[index]
        if self.bias_correction:
            b1, b2 = 1.0 - bias_power(self.beta1, t), 1.0 - bias_power(self.beta2, t)
        else:
            b1 = b2 = 1.0
        return K.LAMBSpec(wd=self._get_wd(index), rescale_grad=self.rescale_grad,
                          clip=self._clip(), beta1=self.beta1, one_minus_beta1=1.0 - self.beta1,
                          beta2=self.beta2, one_minus_beta2=1.0 - self.beta2,
                          epsilon=self.epsilon, bias1=b1, bias2=b2, lr=self._get_lr(index))

    def _ratio(self, w_sumsq: float, u_sumsq: float) -> float:
        r1, r2 = math.sqrt(w_sumsq), math.sqrt(u_sumsq)
        if self.lower_bound:
            r1 = max(r1, self.lower_bound)
        if self.upper_bound:
            r1 = min(r1, self.upper_bound)
        if r1 == 0.0 or r2 == 0.0:
            return 1.0
        return r1 / r2

    def kernel_update(self, index, w, g, states, w16, hp):
        m, v = states
        ws, us = K.lamb_moments(w, g, m, v, K.lamb_moments.scalars(hp, w.dtype))
        step = hp._replace(lr=hp.lr * self._ratio(ws, us))
        K.lamb_apply(w, m, v, w16, K.lamb_apply.scalars(step, w.dtype))

    def reference_update(self, index, w, g, states, hp):
        m, v = states
        gh = clip_ref(g * hp.rescale_grad, hp.clip)
        m[...] = hp.beta1 * m + hp.one_minus_beta1 * gh
        v[...] = hp.beta2 * v + hp.one_minus_beta2 * gh * gh
        u = (m / hp.bias1) / (np.sqrt(v / hp.bias2) + hp.epsilon) + hp.wd * w
        w64, u64 = w.astype(np.float64), u.astype(np.float64)
        ratio = self._ratio(float(np.sum(w64 * w64)), float(np.sum(u64 * u64)))
        w[...] = w - (hp.lr * ratio) * u
