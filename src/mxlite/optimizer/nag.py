"""Nesterov accelerated gradient."""

from __future__ import annotations

from ..kernels import optimizer as K
from ._common import BASE_FIELDS, hyper_type
from .optimizer import check_nonnegative, clip_ref, register
from .sgd import _MomentumFirst

# alias = 1: momentum's decay term reads the updated weight (MXNet's in-place op)
NAGHyper = hyper_type("NAGHyper", *BASE_FIELDS, "momentum", "momentum_plus_one", "alias")


@register
class NAG(_MomentumFirst):
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

    _mom_kernel = K.nag_mom

    def __init__(self, momentum=0.0, **kwargs):
        check_nonnegative("momentum", momentum)
        super().__init__(**kwargs)
        self.momentum = momentum

    def _hyper(self, index):
        return NAGHyper(self._get_lr(index), self._get_wd(index), self.rescale_grad,
                        self._clip(), self.momentum, self.momentum + 1.0, 1.0)

    def _reference(self, index, w, g, arrays, hp):
        lr, wd, rs, c, mom, mom1, _ = hp
        gt = clip_ref(rs * g, c)
        if not arrays:
            w[...] = w - lr * wd * w - lr * gt
            return
        (m,) = arrays
        mp = mom * m
        w_new = w - mp + mom1 * (mp - lr * (gt + wd * w))
        m[...] = mp - lr * (gt + wd * w_new)
        w[...] = w_new
