"""``mx.sym`` / ``mx.symbol``: symbolic graphs, their JSON format, inference and binding.

Every registered operator is available as a constructor, ``mx.sym.FullyConnected(data,
num_hidden=10, name="fc")``; names not given are generated as MXNet does (``fullyconnected0``).

>>> import mxlite as mx
>>> data = mx.sym.Variable("data")
>>> fc = mx.sym.FullyConnected(data, num_hidden=3, name="fc")
>>> net = mx.sym.SoftmaxOutput(fc, name="softmax")
>>> net.list_arguments()
['data', 'fc_weight', 'fc_bias', 'softmax_label']
>>> net.infer_shape(data=(4, 5))
([(4, 5), (3, 5), (3,), (4,)], [(4, 3)], [])
>>> exe = net.simple_bind(mx.cpu(), data=(4, 5))
>>> exe.forward(is_train=True)[0].shape
(4, 3)
>>> exe.backward()
>>> exe.grad_dict["fc_weight"].shape
(3, 5)
>>> mx.sym.load_json(net.tojson()).list_outputs()
['softmax_output']
"""

from __future__ import annotations

from ..operator import registry as _registry
from . import attribute, name
from ._math import hypot, maximum, minimum, pow, power
from .attribute import AttrScope
from .symbol import Group, Symbol, Variable, arange, full, load, load_json, ones, var, zeros

__all__ = ["AttrScope", "Group", "Symbol", "Variable", "arange", "attribute", "full", "hypot",
           "load", "load_json", "maximum", "minimum", "name", "ones", "pow", "power", "var",
           "zeros"]


def __getattr__(opname: str):
    if opname.startswith("__"):
        raise AttributeError(opname)
    if opname in ("sparse", "contrib", "_internal"):  # the namespaces mx.sym.sparse, ...
        import importlib

        return importlib.import_module("." + opname, __name__)
    from ..base import MXNetError
    from .symbol import _op_function

    try:
        _registry.get(opname)
    except MXNetError as err:
        raise AttributeError(f"module 'mxlite.symbol' has no attribute {opname!r} ({err})") \
            from None
    fn = _op_function(opname, opname.lower())
    globals()[opname] = fn
    return fn


def __dir__():
    return sorted(set(globals()) | set(_registry.list_operators()))
