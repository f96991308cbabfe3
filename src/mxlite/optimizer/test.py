"""``Test``: MXNet's trivial optimizer for exercising the machinery."""

from __future__ import annotations

from ..kernels import optimizer as K
from ..ndarray import zeros
from .engine import FusedOptimizer
from .registry import register


@register
class Test(FusedOptimizer):
    r"""MXNet's ``Test`` optimizer: :math:`w \leftarrow w + r g`, state :math:`\leftarrow w`.

    Learning rate, weight decay and clipping are ignored and, as in MXNet, updates are not
    counted.  The state has the weight's dtype.

    Example
    -------
    >>> import mxlite as mx
    >>> opt = mx.optimizer.Test(rescale_grad=0.5)
    >>> w, g = mx.nd.array([1.0]), mx.nd.array([2.0])
    >>> s = opt.create_state(0, w); opt.update(0, w, g, s); float(s.asscalar())
    2.0
    """

    __test__ = False  # not a pytest class
    spec = K.TestSpec
    kernel = K.test_update

    def create_state(self, index, weight):
        return zeros(weight.shape, weight.context, dtype=weight.dtype)

    def prepare(self, indices, weights, grads, states, fused):
        """As the default, but MXNet's Test does not count updates."""
        return [(g, s, self.hyper(i)) for i, g, s in zip(indices, grads, states, strict=True)]

    def hyper(self, index):
        return K.TestSpec(rescale_grad=self.rescale_grad)

    def reference_update(self, index, w, g, states, hp):
        (s,) = states
        w[...] = w + g * hp.rescale_grad
        s[...] = w
