"""Build mxlite initializers from the JSON specs of ``tools/gen_golden_initializer.py``."""

from __future__ import annotations

import json
import os

import numpy as np

import mxlite as mx

GOLDEN = os.path.join(os.path.dirname(__file__), "..", "golden")


def golden_json() -> dict:
    with open(os.path.join(GOLDEN, "initializer.json")) as f:
        return json.load(f)


def golden_arrays() -> dict[str, np.ndarray]:
    with np.load(os.path.join(GOLDEN, "initializer.npz")) as z:
        return {k: z[k] for k in z.files}


def build(spec):
    """An mxlite initializer (or Load / Mixed) from a fixture spec."""
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
            value = build(value["__init__"])
        decoded[key] = value
    if name == "load":
        decoded["param"] = {k: mx.nd.array(v) for k, v in decoded["param"].items()}
        decoded["default_init"] = build(decoded.get("default_init"))
        return mx.init.Load(**decoded)
    if name == "mixed":
        return mx.init.Mixed(decoded["patterns"], [build(s) for s in decoded["initializers"]])
    return mx.init.create(name, **decoded)
