"""Tensor operators: elementwise, broadcast and scalar arithmetic, shape manipulation,
reductions, matrix products, indexing and constant creation.

Each is an :class:`~mxlite.operator.registry.Operator` with MXNet 1.9.1's name, aliases and
parameters, and a forward and backward on NumPy arrays.  Results keep the input dtype (scalars
are cast to it, as MXNet does).  One module per family; importing this package registers them.
"""

from . import (  # noqa: F401
    creation,
    elemwise,
    extra,
    indexing,
    math,
    matrix,
    normalization,
    pad_gather,
    reduce,
    sequence,
    shape,
    vision,
)

__all__: list[str] = []
