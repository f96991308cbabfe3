"""Initializer specs shared by the fixture generator (under MXNet) and the tests (under mxlite).

A spec is ``["classname", {kwargs}]`` whose kwargs may hold ``{"__nd__": nested list}`` (an
NDArray), ``{"__np__": nested list}`` (a float32 NumPy array) or ``{"__init__": spec}`` (another
initializer).  :func:`build` turns a spec into an object of whichever library ``mx`` is, so both
sides build the very same initializers.
"""

from __future__ import annotations

import numpy as np


def build(spec, mx):
    """An initializer of library ``mx`` (``mxnet`` or ``mxlite``) from ``spec``."""
    if spec is None:
        return None
    name, kwargs = spec
    decoded = {}
    for key, value in kwargs.items():
        if isinstance(value, dict) and "__nd__" in value:
            value = mx.nd.array(value["__nd__"])
        elif isinstance(value, dict) and "__np__" in value:
            value = np.array(value["__np__"], dtype=np.float32)
        elif isinstance(value, dict) and "__init__" in value:
            value = build(value["__init__"], mx)
        decoded[key] = value
    if name == "load":
        decoded["param"] = {k: mx.nd.array(v) for k, v in decoded["param"].items()}
        decoded["default_init"] = build(decoded.get("default_init"), mx)
        return mx.init.Load(**decoded)
    if name == "mixed":
        return mx.init.Mixed(decoded["patterns"], [build(s, mx) for s in decoded["initializers"]])
    classes = {k.lower(): v for k, v in vars(mx.init).items() if isinstance(v, type)}
    return classes[name](**decoded)
