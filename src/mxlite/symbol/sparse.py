"""``mx.sym.sparse``: MXNet's sparse symbol namespace.

Every operator of ``mx.sym`` is here under the same name (``mx.sym.sparse.dot``,
``mx.sym.sparse.Embedding``, ``mx.sym.sparse.elemwise_add``, ...): storage types are decided by
the executor at bind time (``Variable(..., stype='csr')``, ``stype_dict``), not by the operator
symbol.

>>> import mxlite as mx
>>> x = mx.sym.Variable("x", stype="csr")
>>> y = mx.sym.sparse.dot(x, mx.sym.Variable("w"))
>>> y.list_arguments()
['x', 'w']
"""

from __future__ import annotations

#: MXNet's sparse symbol names whose operator has another name
_OPERATOR_NAMES = {"retain": "_sparse_retain"}


def __getattr__(name: str):
    if name.startswith("__"):
        raise AttributeError(name)
    from .. import symbol

    name = _OPERATOR_NAMES.get(name, name)

    try:
        return getattr(symbol, name)
    except AttributeError:
        raise AttributeError(f"module 'mxlite.symbol.sparse' has no attribute {name!r}") \
            from None
