"""FusedRNNCell: packed layout, unpack/pack, unfuse() and the fused graph against MXNet 1.9.1."""

import numpy as np
import pytest

import mxlite as mx

from ._golden import META, arrays, spec

CASES = {case[0]: case for case in spec.FUSED_CASES}
HAS_RNN_OP = hasattr(mx.sym, "RNN")


def _pname(cid):
    return f"{CASES[cid][1]}_parameters"


@pytest.mark.parametrize("cid", sorted(CASES))
def test_unpack_weights_names_and_values_match_mxnet(cid):
    cell = spec.fused_cell(mx, CASES[cid])
    packed = arrays(cid)["packed"]
    unpacked = cell.unpack_weights({_pname(cid): mx.nd.array(packed), "other": mx.nd.ones(2)})
    assert sorted(unpacked) == sorted([*META["fused"][cid]["unpacked"], "other"])
    want = arrays(f"{cid}/unpacked")
    for name, value in want.items():
        np.testing.assert_array_equal(unpacked[name].asnumpy(), value, err_msg=name)


@pytest.mark.parametrize("cid", sorted(CASES))
def test_pack_weights_inverts_unpack(cid):
    cell = spec.fused_cell(mx, CASES[cid])
    unpacked = {n: mx.nd.array(v) for n, v in arrays(f"{cid}/unpacked").items()}
    packed = cell.pack_weights(unpacked)
    assert list(packed) == [_pname(cid)]
    np.testing.assert_array_equal(packed[_pname(cid)].asnumpy(), arrays(cid)["packed"])


@pytest.mark.parametrize("cid", sorted(CASES))
def test_fused_names_and_state_info_match_mxnet(cid):
    cell = spec.fused_cell(mx, CASES[cid])
    info = [dict(i, shape=list(i["shape"])) for i in cell.state_info]
    assert info == META["fused"][cid]["state_info"]
    assert sorted(cell.params._params) == [_pname(cid)]
    init = cell.params._params[_pname(cid)].attr("__init__")
    assert '"fusedrnn"' in init.lower() and f'"{CASES[cid][1]}"' in init


@pytest.mark.parametrize("cid", sorted(CASES))
def test_unfused_stack_matches_mxnet_fused_and_unfused_outputs(cid):
    stack, group = spec.unfused_group(mx, CASES[cid])
    want = META["fused"][cid]
    assert group.list_arguments() == want["unfused_arguments"]
    assert group.list_outputs() == want["unfused_outputs"]
    unpacked = {n: mx.nd.array(v) for n, v in arrays(f"{cid}/unpacked").items()}
    plain = stack.pack_weights(unpacked)
    data = arrays(cid)["data"]
    args = {n: mx.nd.array(data) if n == "data" else plain[n] for n in group.list_arguments()}
    outs = [o.asnumpy() for o in group.bind(mx.cpu(), args).forward(is_train=False)]
    golden = arrays(f"{cid}/unfused_out")
    assert len(outs) == want["num_unfused_outputs"]
    for j, out in enumerate(outs):
        np.testing.assert_allclose(out, golden[str(j)], rtol=1e-5, atol=1e-6)
    # the unfused stack computes what MXNet's fused RNN operator computes
    np.testing.assert_allclose(outs[0], arrays(f"{cid}/fused_out")["0"], rtol=1e-4, atol=1e-5)


@pytest.mark.skipif(not HAS_RNN_OP, reason="needs the fused RNN operator (branch rnnop)")
@pytest.mark.filterwarnings("ignore:NTC layout detected")
@pytest.mark.parametrize("cid", sorted(CASES))
def test_fused_graph_matches_mxnet(cid):
    _, group = spec.fused_group(mx, CASES[cid])
    want = META["fused"][cid]
    assert group.list_arguments() == want["list_arguments"]
    assert group.list_outputs() == want["list_outputs"]
    args = {"data": mx.nd.array(arrays(cid)["data"]), _pname(cid): mx.nd.array(
        arrays(cid)["packed"])}
    outs = [o.asnumpy() for o in group.bind(mx.cpu(), args).forward(is_train=False)]
    golden = arrays(f"{cid}/fused_out")
    assert len(outs) == want["num_fused_outputs"]
    for j, out in enumerate(outs):
        np.testing.assert_allclose(out, golden[str(j)], rtol=1e-4, atol=1e-5)


def test_fused_rnn_initializer_slices_are_the_unpacked_names():
    """mx.init.FusedRNN's per-gate names are what unpack_weights names (with the prefix)."""
    cell = mx.rnn.FusedRNNCell(4, num_layers=2, mode="lstm", bidirectional=True, prefix="f_",
                               forget_bias=3.0)
    size = (5 + 4 + 2) * 4 * 4 * 2 + 1 * 4 * 4 * (4 + 2 * 4 + 2) * 2
    _, slices = mx.init.fused_rnn_layout(size, 4, 2, "lstm", True)
    arr = mx.nd.zeros((size,))
    # as Module.init_params does it: the variable's __init__ (FusedRNN(None, ...)) under a
    # global initializer it falls back to for the gates
    attrs = cell.params._params["f_parameters"].list_attr()
    mx.init.Constant(0.5)(mx.init.InitDesc("f_parameters", attrs=attrs), arr)
    unpacked = cell.unpack_weights({"f_parameters": arr})
    assert sorted(unpacked) == sorted("f_" + name for name, *_ in slices)
    for name, value in unpacked.items():
        expect = 3.0 if name.endswith("_f_bias") else 0.0 if name.endswith("_bias") else 0.5
        assert np.all(value.asnumpy() == expect), name


def test_unfuse_builds_mxnet_names_with_dropout_between_layers():
    cell = mx.rnn.FusedRNNCell(5, num_layers=3, mode="gru", bidirectional=True, dropout=0.25,
                               prefix="g_")
    stack = cell.unfuse()
    kinds = [type(c).__name__ for c in stack._cells]
    assert kinds == ["BidirectionalCell", "DropoutCell", "BidirectionalCell", "DropoutCell",
                     "BidirectionalCell"]
    assert stack._cells[1]._prefix == "g__dropout0_"
    assert stack._cells[1].dropout == 0.25
    outputs, _ = stack.unroll(2, [mx.sym.Variable(f"x{t}") for t in range(2)])
    assert mx.sym.Group(outputs).list_outputs() == ["g_bi_l2_t0_output", "g_bi_l2_t1_output"]


def test_fused_cell_cannot_be_stepped_and_rejects_bad_settings():
    cell = mx.rnn.FusedRNNCell(3)
    with pytest.raises(NotImplementedError, match="cannot be stepped"):
        cell(mx.sym.Variable("x"), cell.begin_state())
    with pytest.raises(ValueError, match="mode must be one of"):
        mx.rnn.FusedRNNCell(3, mode="elman")
    with pytest.raises(ValueError, match="num_layers must be a positive int, got 0"):
        mx.rnn.FusedRNNCell(3, num_layers=0)
    with pytest.raises(ValueError, match="dropout must be a number in"):
        mx.rnn.FusedRNNCell(3, dropout=1.5)
    with pytest.raises(ValueError, match="not a packed layout size"):
        cell.unpack_weights({"lstm_parameters": mx.nd.zeros((7,))})
    with pytest.raises(KeyError, match="lstm_parameters"):
        cell.unpack_weights({"x": mx.nd.zeros((7,))})


@pytest.mark.skipif(not HAS_RNN_OP, reason="needs the fused RNN operator (branch rnnop)")
@pytest.mark.parametrize("get_next_state", [False, True])
def test_fused_unroll_layouts_and_state_outputs(get_next_state):
    cell = mx.rnn.FusedRNNCell(3, num_layers=2, mode="gru", get_next_state=get_next_state,
                               prefix="g_")
    data = mx.sym.Variable("data")
    with pytest.warns(UserWarning, match="NTC layout detected"):
        outputs, states = cell.unroll(4, data, layout="NTC", merge_outputs=False)
    assert len(outputs) == 4
    assert len(states) == (1 if get_next_state else 0)
    if get_next_state:
        assert states[0].attr("__layout__") == "LNC"
        _, out_shapes, _ = states[0].infer_shape(data=(5, 4, 2))
        assert out_shapes == [(2, 5, 3)]
    _, out_shapes, _ = mx.sym.Group(outputs).infer_shape(data=(5, 4, 2))
    assert out_shapes == [(5, 3)] * 4
    with pytest.raises(ValueError, match="layout 'NCT' is not supported"):
        cell.unroll(4, data, layout="NCT")
