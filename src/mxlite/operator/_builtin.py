"""Imports every operator family so that each registers itself (one import line per file)."""
from . import (
    custom,  # noqa: F401  (Custom: operators written in Python)
    nn,  # noqa: F401  (FullyConnected, Convolution, BatchNorm, ... see nn/)
    sparse,  # noqa: F401  (cast_storage, _sparse_retain)
    tensor,  # noqa: F401
)
