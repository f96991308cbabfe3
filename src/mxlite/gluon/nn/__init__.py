"""``gluon.nn``: neural-network layers."""

from ..block import Block, HybridBlock, SymbolBlock  # noqa: F401  (as MXNet exports them)
from .activations import *  # noqa: F403
from .basic_layers import *  # noqa: F403
from .conv_layers import *  # noqa: F403
