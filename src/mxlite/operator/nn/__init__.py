"""Neural-network operators (MXNet 1.9.1 semantics), one file per family.

Importing this package registers every operator below in :mod:`mxlite.operator.registry`.
"""

from . import (  # noqa: F401  (each module registers its operators on import)
    activation,
    batch_norm,
    convolution,
    ctc_loss,
    dropout,
    embedding,
    fully_connected,
    loss,
    normalization,
    pooling,
    rnn,
    softmax,
    upsampling,
)
