"""The Gluon recurrent cells match MXNet 1.9.1: names, outputs, final states and gradients
(tests/golden/gluon_rnn_cells.*, written by tools/gen_golden_gluon_rnn_cells.py)."""

from __future__ import annotations

import json
import pathlib
import sys

import numpy as np
import pytest

import mxlite as mx

HERE = pathlib.Path(__file__).resolve().parent
GOLDEN = HERE.parent / "golden"
sys.path.insert(0, str(HERE.parents[1] / "tools"))
import gen_golden_gluon_rnn_cells as spec  # noqa: E402

META = json.loads((GOLDEN / "gluon_rnn_cells.json").read_text())
ARRAYS = np.load(GOLDEN / "gluon_rnn_cells.npz")
CASES = {case[0]: (k, case) for k, case in enumerate(spec.CASES)}


def _array(key):
    return ARRAYS[key]


@pytest.mark.parametrize("cid", sorted(CASES))
def test_names_match_mxnet(cid):
    _, case = CASES[cid]
    got = spec.names(mx, case)
    want = META[cid]
    for key in ("params", "saved", "state_info", "list_arguments", "list_outputs"):
        assert got[key] == want[key], key


@pytest.mark.parametrize("mode", ["imperative", "hybrid"])
@pytest.mark.parametrize("cid", sorted(CASES))
def test_outputs_states_and_gradients_match_mxnet(cid, mode):
    k, case = CASES[cid]
    seed = 100 + k
    _, x, _, weights = spec.build(mx, case, seed)
    np.testing.assert_array_equal(x, _array(f"{cid}/data"))  # same draws on both sides
    for name, w in weights.items():
        np.testing.assert_array_equal(w, _array(f"{cid}/weight/{name}"))
    res = spec.run_case(mx, case, seed, hybridize=mode == "hybrid")
    want = META[cid]
    assert res["merged"] == want["merged"]
    np.testing.assert_allclose(res["out"], _array(f"{cid}/{mode}/out"), rtol=1e-5, atol=1e-6)
    assert len(res["states"]) == want["num_states"]
    for j, s in enumerate(res["states"]):
        np.testing.assert_allclose(s, _array(f"{cid}/{mode}/state{j}"), rtol=1e-5, atol=1e-6,
                                   err_msg=f"state {j}")
    prefix = f"{cid}/{mode}/grad/"
    want_grads = {key[len(prefix):] for key in ARRAYS.files if key.startswith(prefix)}
    assert set(res["grads"]) == want_grads
    for name, g in res["grads"].items():
        np.testing.assert_allclose(g, _array(prefix + name), rtol=1e-4, atol=1e-5,
                                   err_msg=f"gradient of {name}")
