"""``mx.sym._internal``: every registered operator by its raw name (``_maximum``,
``_plus_scalar``, ...), as MXNet exposes its internal operators there.

>>> import mxlite as mx
>>> s = mx.sym._internal._maximum(mx.sym.Variable("a"), mx.sym.Variable("b"))
>>> s.list_arguments()
['a', 'b']
"""

from __future__ import annotations


def __getattr__(name: str):
    if name.startswith("__"):
        raise AttributeError(name)
    from .. import symbol

    try:
        return getattr(symbol, name)
    except AttributeError:
        raise AttributeError(f"module 'mxlite.symbol._internal' has no attribute {name!r}") \
            from None
