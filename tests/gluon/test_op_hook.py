"""``HybridBlock.register_op_hook`` reports what MXNet 1.9.1's does: node names (MXNet's input
and output naming per operator), operator names and the order (tests/golden/gluon_op_hook.json,
written by tools/gen_golden_op_hook.py)."""

from __future__ import annotations

import json
import pathlib
import sys

import numpy as np
import pytest

import mxlite as mx

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "tools"))
import gen_golden_op_hook as spec  # noqa: E402

GOLDEN = json.loads((HERE.parent / "golden" / "gluon_op_hook.json").read_text())


@pytest.mark.parametrize("monitor_all", [False, True], ids=["outputs", "monitor_all"])
@pytest.mark.parametrize("case", spec.CASES)
def test_hook_sees_mxnet_names_in_mxnet_order(case, monitor_all):
    assert spec.record(mx, case, monitor_all) == GOLDEN[f"{case}/{int(monitor_all)}"]


def test_hook_arrays_are_the_values_and_only_forward_is_reported():
    net = mx.gluon.nn.HybridSequential(prefix="h_")
    with net.name_scope():
        net.add(mx.gluon.nn.Dense(2, in_units=3))
    net.initialize(mx.init.One())
    net.hybridize()
    seen = {}
    net.register_op_hook(lambda name, op, arr: seen.setdefault(name, arr.asnumpy()))
    x = mx.nd.ones((1, 3))
    x.attach_grad()
    with mx.autograd.record():
        y = net(x)
    y.backward()
    assert list(seen) == ["h_dense0_fwd_output"]  # no backward nodes
    np.testing.assert_array_equal(seen["h_dense0_fwd_output"], [[3.0, 3.0]])
    with pytest.raises(TypeError, match="callback must be callable"):
        net.register_op_hook("not a function")
