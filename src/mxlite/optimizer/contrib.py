"""Contributed optimizers (MXNet's ``mx.optimizer.contrib``): GroupAdaGrad."""

from __future__ import annotations

import numpy as np

from ..kernels import optimizer as K
from ..ndarray import zeros
from .engine import FusedOptimizer, clip_ref
from .registry import register
from .validation import check_nonnegative

__all__ = ["GroupAdaGrad"]


@register
class GroupAdaGrad(FusedOptimizer):
    r"""AdaGrad with one accumulator per row of a 2-D weight, as MXNet 1.9.1's contrib optimizer.

    .. math::

        \hat g &= \mathrm{clip}(r g) \\
        h_i &\leftarrow h_i + \mathrm{mean}_j\, \hat g_{ij}^2 \\
        w_{ij} &\leftarrow w_{ij} - \eta\, \hat g_{ij} / \sqrt{h_i + \epsilon}

    State: the history, shape ``(rows, 1)``.  Weight decay is not supported (ValueError when
    the effective weight decay of a parameter is nonzero; MXNet asserts).  ``clip_gradient=0``
    clips to zero (MXNet clips whenever it is not None here).
    """

    zero_clip_disables = False
    spec = K.GroupAdaGradSpec
    kernel = K.group_adagrad

    def __init__(self, eps=1e-5, **kwargs):
        check_nonnegative("eps", eps)
        super().__init__(**kwargs)
        self.float_stable_eps = eps

    def create_state(self, index, weight):
        if len(weight.shape) != 2:
            raise ValueError(f"GroupAdaGrad needs 2-D weights, got shape {weight.shape}")
        return zeros((weight.shape[0], 1), weight.context, dtype=weight.dtype)

    def hyper(self, index):
        wd = self._get_wd(index)
        if wd != 0:
            raise ValueError(f"GroupAdaGrad does not support weight decay, got wd={wd!r}")
        return K.GroupAdaGradSpec.make(lr=self._get_lr(index), rescale_grad=self.rescale_grad,
                                       clip=self._clip(), eps=self.float_stable_eps)

    def row_sparse_update(self, index, weight, grad, state, hp, fused):
        """Row_sparse gradient (issue 16): only the stored rows are updated (MXNet's
        ``group_adagrad_update`` is always lazy)."""
        from ..kernels import sparse as KS

        KS.lazy_update(self, index, weight, grad, state, hp, fused)

    def reference_update(self, index, w, g, states, hp):
        (h,) = states
        gh = clip_ref(g * hp.rescale_grad, hp.clip)
        h[...] = h + np.mean(gh * gh, axis=1, keepdims=True)
        w[...] = w - hp.lr * gh / np.sqrt(h + hp.eps)
