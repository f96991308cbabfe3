"""`.states` in MXNet's pickled format: written by mxlite, loaded by MXNet 1.9.1
(tests/golden/states_mxnet/verdict.json from tools/gen_golden_states_mxnet.py)."""

import json
import os
import sys

import numpy as np
import pytest

import mxlite as mx
from mxlite.cli import main as cli_main

GOLDEN = os.path.join(os.path.dirname(__file__), "..", "golden", "states_mxnet")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools"))
import gen_golden_states_mxnet as spec  # noqa: E402

with open(os.path.join(GOLDEN, "verdict.json")) as _f:
    VERDICT = json.load(_f)


def _trained():
    net, batch = spec.setup(mx)
    mod = mx.mod.Module(net)
    mod.bind([("data", (8, 3))], [("softmax_label", (8,))])
    mod.init_params(mx.init.Constant(0.1))
    mod.init_optimizer(optimizer=spec.OPT[0], optimizer_params=spec.OPT[1])
    for _ in range(2):
        mod.forward_backward(batch)
        mod.update()
    return mod, batch


def test_mxnet_loaded_our_states():
    assert VERDICT["loaded"], VERDICT.get("error")
    mod, _ = _trained()
    for key, arrays in VERDICT["states"].items():
        ours = mod._updater.states[int(key)]
        for mine, theirs in zip(ours, arrays, strict=True):
            np.testing.assert_allclose(mine.asnumpy().ravel(), theirs, rtol=1e-6)


def test_writer_reproduces_the_fixture_bytes(tmp_path):
    mod, _ = _trained()
    mod.save_optimizer_states(str(tmp_path / "x.states"), mxnet_format=True)
    with open(os.path.join(GOLDEN, "mxlite-0002.states"), "rb") as f:
        assert (tmp_path / "x.states").read_bytes() == f.read()


def test_continuing_from_the_mxnet_states_matches_mxnet():
    _, batch = spec.setup(mx)
    mod = mx.mod.Module.load(os.path.join(GOLDEN, "mxlite"), 2, load_optimizer_states=True)
    mod.bind([("data", (8, 3))], [("softmax_label", (8,))])
    mod.init_optimizer(optimizer=spec.OPT[0], optimizer_params=spec.OPT[1])
    for i in range(4):  # as the verdict script does: the update count is not in the file
        mod._optimizer._index_update_count[i] = 2
    mod._optimizer.num_update = 2
    mod.forward_backward(batch)
    mod.update()
    for name, values in VERDICT["after_step"].items():
        np.testing.assert_allclose(mod.get_params()[0][name].asnumpy().ravel(), values,
                                   rtol=1e-5, atol=1e-7, err_msg=name)


def test_cli_convert_both_ways(tmp_path, capsys):
    mod, _ = _trained()
    safe = tmp_path / "safe.states"
    mod.save_optimizer_states(str(safe))
    assert safe.read_bytes()[:2] == b"PK"
    assert cli_main(["convert", str(safe), str(tmp_path / "mx.states")]) == 0
    with open(os.path.join(GOLDEN, "mxlite-0002.states"), "rb") as f:
        assert (tmp_path / "mx.states").read_bytes() == f.read()
    assert cli_main(["convert", str(tmp_path / "mx.states"), str(tmp_path / "back.states"),
                     "--to", "mxlite"]) == 0
    updater = mx.optimizer.get_updater(mx.optimizer.Adam())
    updater.set_states((tmp_path / "back.states").read_bytes())
    np.testing.assert_array_equal(updater.states[0][0].asnumpy(),
                                  mod._updater.states[0][0].asnumpy())
    assert "wrote" in capsys.readouterr().out
    assert cli_main(["convert", str(tmp_path / "missing"), str(tmp_path / "o")]) == 2


def test_unsupported_state_types_are_named():
    from mxlite._mxnet_states import dumps

    with pytest.raises(mx.MXNetError, match=r"state \[3\] is a str"):
        dumps({3: "not a state"})
