"""0-d and zero-size NDArrays as MXNet 1.9.1 makes, saves and loads them, in and out of np_shape.

Golden facts from tools/gen_golden_np_shape.py (MXNet 1.9.1): the shape ``mx.nd.array`` gives a
scalar, the bytes ``mx.nd.save`` writes, and which np_shape setting ``mx.nd.load`` accepts.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import mxlite as mx
from mxlite.base import MXNetError

GOLDEN = os.path.join(os.path.dirname(__file__), os.pardir, "golden", "np_shape_rules.json")
with open(GOLDEN) as _f:
    RULES = json.load(_f)

SCALARS = {"int": 5, "float": 2.5, "numpy_float64": np.float64(3.0), "0d_numpy": np.ones(())}
FILES = sorted(RULES["files"])
LOADS = [(name, mode) for name in FILES for mode in ("legacy", "np")]


def _arrays(entry):
    return [np.array(v, np.float32).reshape(s) for v, s in zip(entry["values"], entry["shapes"],
                                                              strict=True)]


@pytest.mark.parametrize("key", sorted(RULES["array_shapes"]))
def test_array_of_a_scalar_has_mxnets_shape(key):
    name, mode = key.split("/")
    with mx.util.np_shape(mode == "np"):
        a = mx.nd.array(SCALARS[name])
    assert list(a.shape) == RULES["array_shapes"][key]
    assert a.asnumpy().shape == a.shape
    assert a.asscalar() == np.float32(SCALARS[name])


@pytest.mark.parametrize("name", FILES)
def test_save_writes_mxnets_bytes(name, tmp_path):
    entry = RULES["files"][name]
    fname = str(tmp_path / name)
    with mx.util.np_shape(entry["save_np_shape"]):
        mx.nd.save(fname, [mx.nd.array(a) for a in _arrays(entry)])
    with open(fname, "rb") as f:
        assert f.read().hex() == entry["bytes"]


@pytest.mark.parametrize("name, mode", LOADS, ids=[f"{n}-load-{m}" for n, m in LOADS])
def test_load_accepts_and_refuses_as_mxnet(name, mode, tmp_path):
    entry = RULES["files"][name]
    buf = bytes.fromhex(entry["bytes"])
    expected = entry["load"][mode]
    with mx.util.np_shape(mode == "np"):
        if expected == "MXNetError":
            hint = "within mx.util.np_shape.True." if mode == "legacy" else "without NumPy"
            with pytest.raises(MXNetError, match=hint):
                mx.nd.load_frombuffer(buf)
            return
        loaded = mx.nd.load_frombuffer(buf)
    assert [list(a.shape) for a in loaded] == expected
    for a, want in zip(loaded, _arrays(entry), strict=True):
        np.testing.assert_array_equal(a.asnumpy(), want)


def test_a_0d_array_saved_outside_np_shape_loads_within_it(tmp_path):
    # MXNet 1.9.1 writes a V2 record for it that no reader can load back (the next bytes are
    # then read as the name count); mxlite writes the V3 record MXNet writes under np_shape
    fname = str(tmp_path / "scalar")
    mx.nd.save(fname, {"step": mx.nd.array(7)})
    with mx.util.np_shape(True):
        loaded = mx.nd.load(fname)
    assert loaded["step"].shape == ()
    assert loaded["step"].asscalar() == 7
    with pytest.raises(MXNetError, match="np_shape"):
        mx.nd.load(fname)


@pytest.mark.parametrize("np_shape", [False, True], ids=["legacy", "np_shape"])
def test_pickled_0d_and_zero_size_arrays_round_trip_anywhere(np_shape):
    import pickle

    arrays = [mx.nd.array(3.5), mx.nd.zeros((2, 0, 1)), mx.nd.ones((2, 1))]
    with mx.util.np_shape(np_shape):
        raw = pickle.dumps(arrays)
    with mx.util.np_shape(not np_shape):
        back = pickle.loads(raw)
    assert [a.shape for a in back] == [(), (2, 0, 1), (2, 1)]
    assert back[0].asscalar() == 3.5
