"""``Test``: MXNet's trivial optimizer for exercising the machinery."""

from __future__ import annotations

from typing import NamedTuple

from ..kernels import optimizer as K
from ..ndarray import zeros
from .optimizer import FusedOptimizer, register


class TestHyper(NamedTuple):
    rescale_grad: float


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
    _kernel = K.test_update

    def create_state(self, index, weight):
        return zeros(weight.shape, weight.context, dtype=weight.dtype)

    def _update_count(self, index):
        """MXNet's Test does not count updates."""

    def _hyper(self, index):
        return TestHyper(self.rescale_grad)

    def _reference(self, index, w, g, arrays, hp):
        (s,) = arrays
        w[...] = w + g * hp.rescale_grad
        s[...] = w
