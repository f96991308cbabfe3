"""Nesterov accelerated gradient."""

from __future__ import annotations

from ..kernels import optimizer as K
from .engine import clip_ref
from .registry import register
from .sgd import MomentumFirst
from .validation import check_momentum


@register
class NAG(MomentumFirst):
    r"""Nesterov accelerated gradient, as MXNet 1.9.1's ``nag_mom_update`` computes it.

    With :math:`\tilde g = \mathrm{clip}(r g)` (rescale, then clip; weight decay not clipped):

    .. math::

        m' &= \mu m \\
        w_{new} &= w - m' + (\mu + 1)\,(m' - \eta(\tilde g + \lambda w)) \\
        m &\leftarrow m' - \eta(\tilde g + \lambda w_{new})

    The last line uses the *new* weight: MXNet's operator writes the weight in place before it
    finishes the momentum, and mxlite reproduces that (it only matters with weight decay).
    Without momentum the update is plain SGD, :math:`w \leftarrow (1 - \eta\lambda) w -
    \eta\tilde g`.  Multi-precision state is ``(momentum, master)``.

    Example
    -------
    >>> import mxlite as mx
    >>> opt = mx.optimizer.NAG(learning_rate=0.1, momentum=0.9)
    >>> w, g = mx.nd.array([1.0]), mx.nd.array([1.0])
    >>> opt.update(0, w, g, opt.create_state(0, w)); round(float(w.asscalar()), 4)
    0.81
    """

    spec = K.NAGSpec
    kernel = K.nag_mom

    def __init__(self, momentum=0.0, **kwargs):
        check_momentum(momentum)
        super().__init__(**kwargs)
        self.momentum = momentum

    def hyper(self, index):
        # alias=1: the momentum's decay term reads the updated weight (MXNet's in-place op)
        return K.NAGSpec(lr=self._get_lr(index), wd=self._get_wd(index),
                         rescale_grad=self.rescale_grad, clip=self._clip(),
                         momentum=self.momentum, momentum_plus_one=self.momentum + 1.0,
                         alias=1.0)

    def kernel_update(self, index, w, g, states, w16, hp):
        if states:
            K.nag_mom.run(w, g, states, w16, hp)
        else:  # no momentum state: MXNet's sgd_update
            K.sgd.run(w, g, (), w16, K.SGDSpec(lr=hp.lr, wd=hp.wd, rescale_grad=hp.rescale_grad,
                                               clip=hp.clip, momentum=0.0))

    def reference_update(self, index, w, g, states, hp):
        lr, wd = hp.lr, hp.wd
        gt = clip_ref(hp.rescale_grad * g, hp.clip)
        if not states:
            w[...] = w - lr * wd * w - lr * gt
            return
        (m,) = states
        mp = hp.momentum * m
        w_new = w - mp + hp.momentum_plus_one * (mp - lr * (gt + wd * w))
        m[...] = mp - lr * (gt + wd * w_new)
        w[...] = w_new
