"""DCASGD: asynchronous SGD with delay compensation."""

from __future__ import annotations

import numpy as np

from ..kernels import optimizer as K
from ._common import zeros_state
from .engine import FusedOptimizer, clip_ref
from .registry import register
from .validation import check_momentum, check_nonnegative


@register
class DCASGD(FusedOptimizer):
    r"""DCASGD (Zheng et al., delay-compensated asynchronous SGD), as MXNet 1.9.1 — with
    momentum working.

    .. math::

        \hat g &= \mathrm{clip}(r g) \\
        d &= -\eta\,(\hat g + \lambda w + \lambda_{dc}\, \hat g^2 (w - w_{prev})) \\
        m &\leftarrow \mu m + d \quad (\text{with momentum; else } m = d) \\
        w_{prev} &\leftarrow w \\
        w &\leftarrow w + m

    (:math:`\lambda_{dc}` is ``lamda``.)  State ``(momentum or None, previous weight)``.
    MXNet 1.9.1 crashes as soon as ``momentum > 0`` (it tests the momentum array's truth
    value); mxlite implements the evident intent above.  ``clip_gradient=0`` clips to zero
    (MXNet clips whenever it is not None here).

    Example
    -------
    >>> import mxlite as mx
    >>> opt = mx.optimizer.DCASGD(learning_rate=0.1, momentum=0.9)
    >>> w, g = mx.nd.array([1.0]), mx.nd.array([1.0])
    >>> opt.update(0, w, g, opt.create_state(0, w)); round(float(w.asscalar()), 4)
    0.9
    """

    zero_clip_disables = False
    spec = K.DCASGDSpec
    kernel = K.dcasgd

    def __init__(self, momentum=0.0, lamda=0.04, **kwargs):
        check_momentum(momentum)
        check_nonnegative("lamda", lamda)
        super().__init__(**kwargs)
        self.momentum = momentum
        self.weight_previous = {}
        self.lamda = lamda

    def create_state(self, index, weight):
        mom = None
        if self.momentum != 0.0:
            mom = zeros_state(weight)
        return (mom, weight.copy())

    def state_arrays(self, state):
        # (momentum or an empty array, previous weight): the kernel tests the momentum's size
        mom, prev = state
        m = mom._data if mom is not None else np.empty(0, dtype=prev._data.dtype)
        return (m, prev._data)

    def hyper(self, index):
        return K.DCASGDSpec(lr=self._get_lr(index), wd=self._get_wd(index),
                            rescale_grad=self.rescale_grad, clip=self._clip(),
                            momentum=self.momentum, lamda=self.lamda)

    def reference_update(self, index, w, g, states, hp):
        m, prev = states
        gh = clip_ref(g * hp.rescale_grad, hp.clip)
        d = -hp.lr * (gh + hp.wd * w + hp.lamda * gh * gh * (w - prev))
        if m.size:
            m[...] = hp.momentum * m + d
            d = m
        prev[...] = w
        w[...] = w + d
