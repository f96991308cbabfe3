"""The MXNet 1.9.1 answers of tools/gen_golden_sparse.py (tests/golden/sparse.json / .npz)."""

from __future__ import annotations

import json
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(HERE, "..", "golden")

with open(os.path.join(GOLDEN, "sparse.json")) as f:
    META = json.load(f)
with np.load(os.path.join(GOLDEN, "sparse.npz")) as z:
    ARRAYS = {k: z[k] for k in z.files}

# relative tolerance by dtype (MXNet passes float64 updates float32 scalars); float16 weights
# are compared at float16 resolution
RTOL = {"float32": 2e-5, "float64": 1e-6, "float16": 2e-3}


def close(actual, expected, dtype="float32", what=""):
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, (what, actual.shape, expected.shape)
    rtol = RTOL[dtype]
    same = (actual == expected) | (np.isnan(actual) & np.isnan(expected))  # inf, nan
    finite = np.isfinite(expected)
    scale = max(1.0, float(np.max(np.abs(expected[finite])))) if finite.any() else 1.0
    with np.errstate(invalid="ignore"):
        err = np.where(same, 0.0, np.abs(actual - expected))
    ok = same | (err <= rtol * np.abs(expected) + rtol * scale * 0.1)
    assert ok.all(), (f"{what}: max abs err {err.max():.3g}; actual {actual[~ok][:4]}, "
                      f"expected {expected[~ok][:4]}")
