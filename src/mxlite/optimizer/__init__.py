"""``mx.optimizer``: MXNet 1.9.1's optimizers on fused Numba kernels.

``create(name, **kwargs)`` builds an optimizer by name, ``get_updater(opt)`` wraps it for use by
index, ``Optimizer.register`` adds your own.  Every built-in keeps a readable NumPy reference
(``opt.step``) beside its fused kernel path (``opt.update``).
"""

from __future__ import annotations

from .. import ndarray as _nd
from . import contrib, optimizer, updater
from .adadelta import AdaDelta
from .adagrad import AdaGrad
from .adam import Adam, AdamState, AdamW
from .adamax import Adamax
from .contrib import GroupAdaGrad
from .dcasgd import DCASGD
from .ftml import FTML
from .ftrl import Ftrl
from .lamb import LAMB
from .lars import LARS
from .lbsgd import LBSGD
from .nadam import Nadam
from .nag import NAG
from .optimizer import FusedOptimizer, Optimizer, create, register
from .rmsprop import RMSProp
from .sgd import SGD, ccSGD
from .sgld import SGLD
from .signum import Signum
from .test import Test
from .updater import Updater, get_updater

create_optimizer = Optimizer.create_optimizer
NDabs = _nd.abs  # MXNet's mxnet.optimizer re-exports ndarray.abs under this name

__all__ = [
    "DCASGD",
    "FTML",
    "LAMB",
    "LARS",
    "LBSGD",
    "NAG",
    "SGD",
    "SGLD",
    "AdaDelta",
    "AdaGrad",
    "Adam",
    "AdamState",
    "AdamW",
    "Adamax",
    "Ftrl",
    "FusedOptimizer",
    "GroupAdaGrad",
    "NDabs",
    "Nadam",
    "Optimizer",
    "RMSProp",
    "Signum",
    "Test",
    "Updater",
    "ccSGD",
    "contrib",
    "create",
    "create_optimizer",
    "get_updater",
    "optimizer",
    "register",
    "updater",
]
