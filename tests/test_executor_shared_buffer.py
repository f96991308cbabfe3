"""``simple_bind(shared_buffer=...)`` without ``shared_exec`` fills and reads the buffer as
MXNet 1.9.1 does: only the arguments outside ``shared_arg_names`` (all when it is ``None``),
their gradients as ``"grad of <name>"`` (tests/golden/executor_shared_buffer.json, written by
tools/gen_golden_shared_buffer.py)."""

from __future__ import annotations

import json
import pathlib
import sys

import numpy as np
import pytest

import mxlite as mx

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tools"))
import gen_golden_shared_buffer as spec  # noqa: E402

GOLDEN = json.loads((HERE / "golden" / "executor_shared_buffer.json").read_text())


@pytest.mark.parametrize(("names", "grad_req"), [c[1:] for c in spec.CASES],
                         ids=[c[0] for c in spec.CASES])
def test_buffer_holds_and_serves_what_mxnet_puts_there(names, grad_req, request):
    case = request.node.callspec.id
    assert spec.record(mx, names, grad_req) == GOLDEN[case]


def test_buffered_arrays_and_gradients_share_the_buffer_memory():
    net = mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=3, name="fc")
    buf = {}
    first = net.simple_bind(mx.cpu(), data=(4, 2), shared_arg_names=["fc_weight", "fc_bias"],
                            shared_buffer=buf)
    assert sorted(buf) == ["data", "grad of data"]
    assert buf["data"] is first.arg_dict["data"]
    smaller = net.simple_bind(mx.cpu(), data=(2, 2), shared_arg_names=["fc_weight", "fc_bias"],
                              shared_buffer=buf)
    assert np.shares_memory(smaller.arg_dict["data"].handle, first.arg_dict["data"].handle)
    assert np.shares_memory(smaller.grad_dict["data"].handle, first.grad_dict["data"].handle)
    assert not np.shares_memory(smaller.arg_dict["fc_weight"].handle,
                                first.arg_dict["fc_weight"].handle)
