"""Imports every operator family so that each registers itself (one import line per file)."""
from . import (
    nn,  # noqa: F401  (FullyConnected, Convolution, BatchNorm, ... see nn/)
    tensor,  # noqa: F401
)
