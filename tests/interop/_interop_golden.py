"""Access to the MXNet-written golden files of ``tools/gen_golden_interop.py``."""

from __future__ import annotations

import json
import os
from functools import lru_cache

import numpy as np

import mxlite as mx

GOLDEN = os.path.join(os.path.dirname(__file__), "..", "golden", "interop")


def path(name: str) -> str:
    return os.path.join(GOLDEN, name)


def read(name: str) -> bytes:
    with open(path(name), "rb") as f:
        return f.read()


@lru_cache(maxsize=1)
def manifest() -> dict:
    with open(path("manifest.json")) as f:
        return json.load(f)


@lru_cache(maxsize=1)
def values() -> dict[str, np.ndarray]:
    with np.load(path("values.npz"), allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def nd(key: str) -> mx.nd.NDArray:
    """The golden array ``key`` as an mxlite NDArray (0-d arrays stay 0-d)."""
    return mx.nd.NDArray(np.array(values()[key]))


def expected_content(entry: dict):
    """The list or dict a golden NDArray file holds, as mxlite NDArrays."""
    arrays = [nd(k) for k in entry["keys"]]
    if entry["names"] is None:
        return arrays
    return dict(zip(entry["names"], arrays, strict=True))


def assert_same(actual: mx.nd.NDArray, expected: np.ndarray, what: str = "") -> None:
    """Identical dtype, shape and bytes (so nan, inf and -0.0 count too)."""
    data = actual._data
    assert data.dtype == expected.dtype, (what, data.dtype, expected.dtype)
    assert data.shape == expected.shape, (what, data.shape, expected.shape)
    assert data.tobytes() == expected.tobytes(), what


def optimizer_kwargs(kwargs: dict) -> dict:
    """Optimizer kwargs from the manifest; ``{"__scheduler__": [class, kwargs]}`` values become
    mxlite lr_scheduler objects (as the generator built MXNet's)."""
    out = {}
    for key, value in kwargs.items():
        if isinstance(value, dict) and "__scheduler__" in value:
            cls_name, sched_kwargs = value["__scheduler__"]
            value = getattr(mx.lr_scheduler, cls_name)(**sched_kwargs)
        out[key] = value
    return out
