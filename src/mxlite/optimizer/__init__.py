"""``mx.optimizer``: MXNet 1.9.1's optimizers on fused Numba kernels.

``create(name, **kwargs)`` builds an optimizer by name, ``get_updater(opt)`` wraps it for use by
index, ``Optimizer.register`` adds your own.  Every built-in keeps a readable NumPy reference
(``opt.step``) beside its fused kernel path (``opt.update``).
"""

from __future__ import annotations

from . import optimizer, updater
from .adam import Adam, AdamState, AdamW
from .nag import NAG
from .optimizer import FusedOptimizer, Optimizer, create, register
from .sgd import SGD, ccSGD
from .updater import Updater, get_updater

create_optimizer = Optimizer.create_optimizer

__all__ = [
    "NAG", "SGD", "Adam", "AdamState", "AdamW", "FusedOptimizer", "Optimizer", "Updater",
    "ccSGD", "create", "create_optimizer", "get_updater", "optimizer", "register", "updater",
]
