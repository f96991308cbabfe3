"""Contributed optimizers (MXNet's ``mx.optimizer.contrib``): GroupAdaGrad."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..kernels import optimizer as K
from ..ndarray import zeros
from .optimizer import FusedOptimizer, check_nonnegative, clip_ref, register

__all__ = ["GroupAdaGrad"]


class GroupAdaGradHyper(NamedTuple):
    lr: float
    rescale_grad: float
    clip: float
    eps: float


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

    _zero_clip_disables = False

    def __init__(self, eps=1e-5, **kwargs):
        check_nonnegative("eps", eps)
        super().__init__(**kwargs)
        self.float_stable_eps = eps

    def create_state(self, index, weight):
        if len(weight.shape) != 2:
            raise ValueError(f"GroupAdaGrad needs 2-D weights, got shape {weight.shape}")
        return zeros((weight.shape[0], 1), weight.context, dtype=weight.dtype)

    def _hyper(self, index):
        wd = self._get_wd(index)
        if wd != 0:
            raise ValueError(f"GroupAdaGrad does not support weight decay, got wd={wd!r}")
        return GroupAdaGradHyper(self._get_lr(index), self.rescale_grad, self._clip(),
                                 self.float_stable_eps)

    def _apply_row_sparse(self, index, weight, grad, state, hp, mp, fused):
        """Row_sparse gradient (issue 16): only the stored rows are updated (MXNet's
        ``group_adagrad_update`` is always lazy)."""
        from ..kernels import sparse as KS

        KS.lazy_apply(self, index, weight, grad, state, hp, mp, fused)

    def _fused(self, index, w, g, arrays, w16, sc):
        (h,) = arrays
        cols = w.size // h.size if h.size else 0
        K.group_adagrad(w, g, h, w16, np.append(sc, sc.dtype.type(cols)))

    def _reference(self, index, w, g, arrays, hp):
        (h,) = arrays
        gh = clip_ref(g * hp.rescale_grad, hp.clip)
        h[...] = h + np.mean(gh * gh, axis=1, keepdims=True)
        w[...] = w - hp.lr * gh / np.sqrt(h + hp.eps)
