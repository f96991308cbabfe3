"""Build mxlite initializers from the JSON specs of ``tools/gen_golden_initializer.py``
(the same builder the generator runs under MXNet: ``tools/init_spec.py``)."""

from __future__ import annotations

import json
import os
import sys

import numpy as np

import mxlite as mx

GOLDEN = os.path.join(os.path.dirname(__file__), "..", "golden")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools"))
import init_spec  # noqa: E402  (the generator's spec builder, shared)


def golden_json() -> dict:
    with open(os.path.join(GOLDEN, "initializer.json")) as f:
        return json.load(f)


def golden_arrays() -> dict[str, np.ndarray]:
    with np.load(os.path.join(GOLDEN, "initializer.npz")) as z:
        return {k: z[k] for k in z.files}


def build(spec):
    """An mxlite initializer (or Load / Mixed) from a fixture spec."""
    return init_spec.build(spec, mx)
