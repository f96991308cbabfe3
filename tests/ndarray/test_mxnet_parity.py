"""MXNet 1.9.1 parity: every case of tools/gen_golden_ndarray.py evaluated with mxlite.

The fixture holds each case's code (a small expression over fixed inputs) and MXNet's answer;
here the same code runs with ``mx`` bound to mxlite and the answers must agree: same kind, the
same shape and dtype for arrays, values equal (floats to a few ulps), the same exception name.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import mxlite as mx

FIXTURE = Path(__file__).resolve().parents[1] / "golden" / "ndarray.json"
GOLDEN = json.loads(FIXTURE.read_text())
CASES = GOLDEN["cases"]


def _encode(value):
    if isinstance(value, mx.nd.NDArray):
        data = value.asnumpy()
        return {
            "kind": "nd",
            "shape": list(data.shape),
            "dtype": str(data.dtype),
            "values": data.reshape(-1).tolist(),
        }
    if isinstance(value, (list, tuple)):
        return {"kind": "list", "items": [_encode(x) for x in value]}
    if isinstance(value, (bool, np.bool_)):
        return {"kind": "bool", "value": bool(value)}
    if isinstance(value, (int, np.integer)):
        return {"kind": "int", "value": int(value)}
    if isinstance(value, (float, np.floating)):
        return {"kind": "float", "value": float(value)}
    if isinstance(value, str):
        return {"kind": "str", "value": value}
    if value is None:
        return {"kind": "none"}
    raise TypeError(f"cannot encode {type(value)}")


def _evaluate(code: str):
    env = {"mx": mx, "np": np}
    exec(GOLDEN["setup"], env)
    try:
        try:
            compiled = compile(code, "<case>", "eval")
        except SyntaxError:
            exec(compile(code, "<case>", "exec"), env)
            result = env.get("r")
        else:
            result = eval(compiled, env)
        return _encode(result)
    except Exception as err:  # the exception type is the answer
        return {"kind": "error", "type": type(err).__name__, "message": str(err)}


def _number(x):
    return float(x) if isinstance(x, str) else x


def _assert_same(got, want, where="result"):
    assert got["kind"] == want["kind"], f"{where}: got {got}, MXNet gave {want}"
    kind = want["kind"]
    if kind == "error":
        assert got["type"] == want["type"], f"{where}: raised {got}, MXNet raised {want['type']}"
    elif kind == "nd":
        assert got["shape"] == want["shape"], f"{where}: shape {got['shape']} vs {want['shape']}"
        assert got["dtype"] == want["dtype"], f"{where}: dtype {got['dtype']} vs {want['dtype']}"
        expected = np.array([_number(x) for x in want["values"]], dtype=np.float64)
        actual = np.array(got["values"], dtype=np.float64)
        if want["dtype"].startswith(("int", "uint", "bool")):
            np.testing.assert_array_equal(actual, expected, err_msg=where)
        else:
            # a few ulps of the largest magnitude: MXNet's float32 kernels round differently
            eps = 1e-3 if want["dtype"] == "float16" else 1e-6
            finite = np.abs(expected[np.isfinite(expected)])
            scale = max(1.0, float(finite.max())) if finite.size else 1.0
            np.testing.assert_allclose(
                actual, expected, rtol=2 * eps, atol=eps * scale, err_msg=where
            )
    elif kind == "list":
        assert len(got["items"]) == len(want["items"]), f"{where}: {got} vs {want}"
        for k, (g, w) in enumerate(zip(got["items"], want["items"], strict=True)):
            _assert_same(g, w, f"{where}[{k}]")
    elif kind == "float":
        g, w = got["value"], _number(want["value"])
        assert (math.isnan(g) and math.isnan(w)) or math.isclose(g, w, rel_tol=2e-6), where
    else:
        assert got == want, f"{where}: got {got}, MXNet gave {want}"


def test_fixture_is_from_mxnet_191():
    assert GOLDEN["mxnet_version"] == "1.9.1"
    assert len(CASES) >= 400


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_matches_mxnet(case):
    _assert_same(_evaluate(case["code"]), case["expected"], case["id"])
