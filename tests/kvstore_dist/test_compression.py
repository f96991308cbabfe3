"""2-bit gradient compression: MXNet 1.9.1's values (golden), its bit layout, conservation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mxlite.base import MXNetError
from mxlite.kvstore import compression

GOLDEN = json.loads(
    (Path(__file__).parent.parent / "golden" / "kvstore_compression.json").read_text())
CASES = GOLDEN["cases"]


def replay(case):
    """What a server holds after each push: the decoded pushes of two workers summed (each with
    its own residual), stored as is or applied by SGD."""
    comp = compression.create({"type": "2bit", "threshold": case["threshold"]})
    shape = tuple(case["shape"])
    n = int(np.prod(shape))
    residuals = [np.zeros(n, np.float32), np.zeros(n, np.float32)]
    weight = np.array(case["init"], np.float32).reshape(-1)
    out = []
    for step in case["grads"]:
        total = np.zeros(n, np.float32)
        for d, g in enumerate(step):
            packed = comp.quantize(np.array(g, np.float32).reshape(-1), residuals[d])
            assert packed.dtype == np.uint8 and packed.size == comp.packed_size(n)
            total += comp.dequantize(packed, n, np.float32)
        if case["optimizer"] is None:
            weight = total
        else:
            weight = weight - np.float32(case["optimizer"]["learning_rate"]) * total
        out.append(weight.reshape(shape).copy())
    return out


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_matches_mxnet(case):
    for step, (got, want) in enumerate(zip(replay(case), case["pulled"], strict=True)):
        np.testing.assert_allclose(got, np.array(want, np.float32), rtol=1e-6, atol=1e-7,
                                   err_msg=f"step {step}")


def test_bit_layout_is_mxnets():
    """+t is 11, -t is 10, 0 is 00; element 0 of each group of four in the highest bits."""
    comp = compression.TwoBitCompression(0.5)
    res = np.zeros(5, np.float32)
    packed = comp.quantize(np.array([0.5, -0.5, 0.1, 0.7, -0.9], np.float32), res)
    assert packed.tolist() == [0b11100011, 0b10000000, 0, 0]
    np.testing.assert_allclose(res, [0, 0, 0.1, 0.2, -0.4], atol=1e-6)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.floats(-2, 2, width=32), min_size=7, max_size=7),
                min_size=1, max_size=6),
       st.sampled_from([0.25, 0.5, 1.0]))
def test_nothing_is_lost(grads, threshold):
    """Sent values plus the residual always add up to the gradients pushed so far."""
    comp = compression.TwoBitCompression(threshold)
    res = np.zeros(7, np.float32)
    sent = np.zeros(7, np.float64)
    for g in grads:
        g = np.array(g, np.float32)
        sent += comp.dequantize(comp.quantize(g, res), 7, np.float32)
    total = np.sum(np.array(grads, np.float64), axis=0)
    np.testing.assert_allclose(sent + res, total, atol=1e-4)


@pytest.mark.parametrize(
    "params, exc, match",
    [
        ({"type": "1bit"}, MXNetError, "Unknown type"),
        ({"threshold": 0.5}, MXNetError, "'type' is missing"),
        ({"type": "2bit", "threshold": 0}, MXNetError, "greater than 0"),
        ({"type": "2bit", "threshold": "x"}, MXNetError, "must be a number"),
        ({"type": "2bit", "thresh": 1}, MXNetError, "unknown parameters"),
        ("2bit", TypeError, "must be a dict"),
    ],
    ids=["1bit", "no-type", "zero-threshold", "text-threshold", "unknown-key", "not-a-dict"],
)
def test_bad_params(params, exc, match):
    with pytest.raises(exc, match=match):
        compression.create(params)


def test_string_values_as_mxnet_passes_them():
    assert compression.create({"type": "2bit", "threshold": "0.25"}).threshold == 0.25
