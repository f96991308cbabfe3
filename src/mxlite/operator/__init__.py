"""Operators: forward and backward on NumPy arrays, shared by ``mx.sym`` and ``mx.nd``."""

from .registry import REQUIRED, Operator, Param, Params, ShapeError, get, list_operators, register

__all__ = ["REQUIRED", "Operator", "Param", "Params", "ShapeError", "get", "list_operators",
           "register"]
