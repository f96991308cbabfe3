"""``mx.sym.contrib``: the operators MXNet registers as ``_contrib_<name>``, by ``<name>``
(``mx.sym.contrib.SparseEmbedding``, ``mx.sym.contrib.ctc_loss``, ...).

>>> import mxlite as mx
>>> e = mx.sym.contrib.SparseEmbedding(mx.sym.Variable("d"), input_dim=5, output_dim=2)
>>> e.list_arguments()
['d', 'sparseembedding0_weight']
"""

from __future__ import annotations


def __getattr__(name: str):
    if name.startswith("__"):
        raise AttributeError(name)
    from ..base import MXNetError
    from ..operator import registry
    from .symbol import _op_function

    try:
        registry.get("_contrib_" + name)
    except MXNetError:
        raise AttributeError(f"module 'mxlite.symbol.contrib' has no attribute {name!r}") \
            from None
    fn = _op_function("_contrib_" + name, name.lower())  # names as MXNet: sparseembedding0
    globals()[name] = fn
    return fn
