"""AdaGrad."""

from __future__ import annotations

import numpy as np

from ..kernels import optimizer as K
from ._common import zeros_state
from .engine import FusedOptimizer, clip_ref
from .registry import register
from .validation import check_nonnegative


@register
class AdaGrad(FusedOptimizer):
    r"""AdaGrad (Duchi et al.), as MXNet 1.9.1's dense update.

    .. math::

        \hat g &= \mathrm{clip}(r g) \\
        h &\leftarrow h + \hat g^2 \\
        w &\leftarrow w - \eta\,(\hat g / \sqrt{h + \epsilon} + \lambda w)

    Weight decay is outside the adaptive scaling and is not clipped; ``eps`` sits inside the
    square root.  ``clip_gradient=0`` clips to zero (MXNet applies ``clip`` whenever
    ``clip_gradient`` is not None here).  The history has the weight's dtype (MXNet makes it
    float32 and fails on float64 weights).

    Example
    -------
    >>> import mxlite as mx
    >>> opt = mx.optimizer.AdaGrad(learning_rate=0.1)
    >>> w, g = mx.nd.array([1.0]), mx.nd.array([2.0])
    >>> opt.update(0, w, g, opt.create_state(0, w)); round(float(w.asscalar()), 4)
    0.9
    """

    zero_clip_disables = False
    spec = K.AdaGradSpec
    kernel = K.adagrad

    def __init__(self, eps=1e-7, **kwargs):
        check_nonnegative("eps", eps)
        super().__init__(**kwargs)
        self.float_stable_eps = eps

    def create_state(self, index, weight):
        return zeros_state(weight)

    def hyper(self, index):
        return K.AdaGradSpec.make(lr=self._get_lr(index), wd=self._get_wd(index),
                                  rescale_grad=self.rescale_grad, clip=self._clip(),
                                  eps=self.float_stable_eps)

    def row_sparse_update(self, index, weight, grad, state, hp, fused):
        """Row_sparse gradient (issue 16): MXNet's ``sparse.adagrad_update``, this update on
        the stored rows only (weight decay must be 0)."""
        from ..kernels import sparse as KS

        KS.adagrad_update_rows(self, index, weight, grad, state, hp, fused)

    def reference_update(self, index, w, g, states, hp):
        (h,) = states
        gh = clip_ref(g * hp.rescale_grad, hp.clip)
        h[...] = h + gh * gh
        w[...] = w + (gh / np.sqrt(h + hp.eps) + w * hp.wd) * -hp.lr
