"""Operators: forward and backward on NumPy arrays, shared by ``mx.sym`` and ``mx.nd``.

``register`` serves both audiences: ``register(SomeOperator)`` adds a built-in
:class:`Operator` subclass to the registry, ``@register("name")`` is MXNet's decorator for a
:class:`CustomOpProp` subclass (used through ``mx.sym.Custom(..., op_type="name")``).
"""

from . import registry as _registry
from .custom import CustomOp, CustomOpProp
from .custom import register as _register_custom
from .legacy import NDArrayOp, NumpyOp, PythonOp
from .registry import REQUIRED, Operator, Param, Params, ShapeError, get, list_operators

__all__ = ["REQUIRED", "CustomOp", "CustomOpProp", "NDArrayOp", "NumpyOp", "Operator", "Param",
           "Params", "PythonOp", "ShapeError", "get", "list_operators", "register"]


def register(target):
    """``register(OperatorSubclass)`` (built-in contract) or ``@register("op_type")`` (MXNet's
    custom operators)."""
    if isinstance(target, str):
        return _register_custom(target)
    return _registry.register(target)
