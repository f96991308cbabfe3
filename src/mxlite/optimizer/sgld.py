"""SGLD: stochastic gradient Langevin dynamics."""

from __future__ import annotations

import math

import numpy as np

from ..kernels import optimizer as K
from ..kernels.random import fill_normal
from .engine import FusedOptimizer, clip_ref
from .registry import register


def _noise(n: int, dtype) -> np.ndarray:
    """``n`` standard normal draws (float64 for float64 weights, else float32) by the fast,
    multi-threaded fill of :mod:`mxlite.kernels.random` (from ``mxlite.random.generator()``)."""
    noise = np.empty(n, dtype=np.float64 if dtype == np.float64 else np.float32)
    fill_normal(noise, 0.0, 1.0)
    return noise


@register
class SGLD(FusedOptimizer):
    r"""Stochastic gradient Langevin dynamics (Welling & Teh), as MXNet 1.9.1.

    .. math::

        \hat g &= \mathrm{clip}(r g) \\
        w &\leftarrow w - \tfrac{\eta}{2}(\hat g + \lambda w) + \sqrt{\eta}\, \xi,
        \qquad \xi \sim \mathcal N(0, I)

    The noise comes from :func:`mxlite.random.generator` through the multi-threaded
    :func:`mxlite.kernels.random.fill_normal` (``mx.random.seed`` makes runs reproducible; the
    draws differ from MXNet's generator).  No state.  ``clip_gradient=0``
    clips to zero (MXNet clips whenever it is not None here).

    Example
    -------
    >>> import mxlite as mx
    >>> mx.random.seed(0)
    >>> opt = mx.optimizer.SGLD(learning_rate=0.0)
    >>> w, g = mx.nd.array([1.0]), mx.nd.array([1.0])
    >>> opt.update(0, w, g, None); float(w.asscalar())
    1.0
    """

    zero_clip_disables = False
    spec = K.SGLDSpec
    kernel = K.sgld

    def hyper(self, index):
        lr = self._get_lr(index)
        return K.SGLDSpec(half_lr=lr / 2.0, wd=self._get_wd(index),
                          rescale_grad=self.rescale_grad, clip=self._clip(),
                          sqrt_lr=math.sqrt(lr))

    def kernel_update(self, index, w, g, states, w16, hp):
        noise = _noise(w.size, w.dtype).astype(w.dtype, copy=False)
        K.sgld.run(w, g, (noise,), w16, hp)

    def reference_update(self, index, w, g, states, hp):
        gh = clip_ref(g * hp.rescale_grad, hp.clip)
        w[...] = w + -hp.half_lr * (gh + hp.wd * w)
        w[...] = w + (_noise(w.size, w.dtype).reshape(w.shape) * hp.sqrt_lr).astype(w.dtype)
