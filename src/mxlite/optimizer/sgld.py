"""SGLD: stochastic gradient Langevin dynamics."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ..kernels import optimizer as K
from ..kernels.random import fill_normal
from .optimizer import FusedOptimizer, clip_ref, register


class SGLDHyper(NamedTuple):
    half_lr: float
    wd: float
    rescale_grad: float
    clip: float
    sqrt_lr: float


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

    _zero_clip_disables = False

    def _hyper(self, index):
        lr = self._get_lr(index)
        return SGLDHyper(lr / 2.0, self._get_wd(index), self.rescale_grad, self._clip(),
                         math.sqrt(lr))

    def _fused(self, index, w, g, arrays, w16, sc):
        K.sgld(w, g, _noise(w.size, w.dtype).astype(w.dtype, copy=False), w16, sc)

    def _reference(self, index, w, g, arrays, hp):
        gh = clip_ref(g * hp.rescale_grad, hp.clip)
        w[...] = w + -hp.half_lr * (gh + hp.wd * w)
        w[...] = w + (_noise(w.size, w.dtype).reshape(w.shape) * hp.sqrt_lr).astype(w.dtype)
