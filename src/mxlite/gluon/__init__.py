"""``mx.gluon``: MXNet 1.x's imperative training API -- Parameters, Blocks, layers (``nn``),
losses, ``Trainer``, data loading and ``utils``.

>>> import mxlite as mx
>>> from mxlite import gluon
>>> net = gluon.nn.Dense(2, in_units=3)
>>> net.initialize(mx.init.One())
>>> net(mx.nd.ones((1, 3))).asnumpy().tolist()
[[3.0, 3.0]]
"""

from __future__ import annotations

import importlib

from . import nn
from .block import Block, HybridBlock, SymbolBlock
from .parameter import Constant, DeferredInitializationError, Parameter, ParameterDict

__all__ = [
    "Block", "Constant", "DeferredInitializationError", "HybridBlock", "Parameter",
    "ParameterDict", "SymbolBlock", "Trainer", "data", "loss", "model_zoo", "nn",
    "utils",
]

_LAZY = {"loss": ".loss", "data": ".data", "utils": ".utils", "model_zoo": ".model_zoo",
         "rnn": ".rnn"}


def __getattr__(name):
    if name == "Trainer":
        from .trainer import Trainer

        globals()["Trainer"] = Trainer
        return Trainer
    if name in _LAZY:
        mod = importlib.import_module(_LAZY[name], __name__)
        globals()[name] = mod
        return mod
    raise AttributeError(f"module 'mxlite.gluon' has no attribute {name!r}")
