"""mx.rnn cell behaviour beyond the golden numbers: states, sharing, modifiers, errors."""

import numpy as np
import pytest

import mxlite as mx


def test_begin_state_names_count_until_reset():
    cell = mx.rnn.LSTMCell(4, prefix="c_")
    first = cell.begin_state()
    second = cell.begin_state()
    assert [s.name for s in first + second] == [f"c_begin_state_{k}" for k in range(4)]
    cell.reset()
    assert [s.name for s in cell.begin_state()] == ["c_begin_state_0", "c_begin_state_1"]


def test_begin_state_func_and_kwargs():
    cell = mx.rnn.GRUCell(3, prefix="g_")
    (var,) = cell.begin_state(func=mx.sym.Variable)
    assert var.list_arguments() == ["g_begin_state_0"]
    assert var.list_attr() == {"__shape__": "(0, 3)", "__layout__": "NC"}
    (zero,) = cell.begin_state(dtype="float64")
    assert zero.infer_type()[1] == [np.float64]


def test_unroll_restarts_step_names():
    cell = mx.rnn.RNNCell(2, prefix="r_")
    for _ in range(2):
        outputs, _ = cell.unroll(2, [mx.sym.Variable("a"), mx.sym.Variable("b")])
        assert [o.name for o in outputs] == ["r_t0_out", "r_t1_out"]


def test_cells_sharing_params_share_weights():
    params = mx.rnn.RNNParams("shared_")
    a = mx.rnn.LSTMCell(3, prefix="a_", params=params)
    b = mx.rnn.LSTMCell(3, prefix="b_", params=params)
    assert a._iW is b._iW
    outputs, _ = b.unroll(2, mx.sym.Variable("data"), merge_outputs=True)
    assert outputs.list_arguments() == ["data", "shared_i2h_weight", "shared_i2h_bias",
                                        "shared_h2h_weight", "shared_h2h_bias"]


def test_container_params_override_only_unread_cells():
    params = mx.rnn.RNNParams()
    stack = mx.rnn.SequentialRNNCell(params=params)
    stack.add(mx.rnn.DropoutCell(0.1))  # no weights: its params were never read
    with pytest.raises(ValueError, match="Either specify params for SequentialRNNCell or child"):
        stack.add(mx.rnn.LSTMCell(2))
    with pytest.raises(ValueError, match="Either specify params for BidirectionalCell or child"):
        mx.rnn.BidirectionalCell(mx.rnn.GRUCell(2, prefix="l_"), mx.rnn.GRUCell(2, prefix="r_"),
                                 params=mx.rnn.RNNParams())


def test_modifier_cells_take_over_the_base_cell():
    base = mx.rnn.GRUCell(4, prefix="g_")
    res = mx.rnn.ResidualCell(base)
    with pytest.raises(ValueError, match="wrapped in a modifier cell"):
        base.begin_state()
    assert [s.name for s in res.begin_state()] == ["g_begin_state_0"]
    assert res.params is base.params
    assert res.state_info == base.state_info


def test_modifier_over_a_stack_builds_begin_states():
    """MXNet 1.9.1 raises TypeError here (init_sym passed positionally to **kwargs), and its
    ZoneoutCell raises AttributeError on any SequentialRNNCell."""
    stack = mx.rnn.SequentialRNNCell()
    stack.add(mx.rnn.RNNCell(3, prefix="a_"))
    stack.add(mx.rnn.RNNCell(3, prefix="b_"))
    zone = mx.rnn.ZoneoutCell(stack, zoneout_outputs=0.2)
    states = zone.begin_state(init_sym=mx.sym.Variable)
    assert [s.name for s in states] == ["a_begin_state_0", "b_begin_state_0"]
    outputs, _ = zone.unroll(3, mx.sym.Variable("data"), merge_outputs=True)
    _, shapes, _ = outputs.infer_shape(data=(2, 3, 5))
    assert shapes == [(2, 3, 3)]


@pytest.mark.parametrize("make, message", [
    (lambda: mx.rnn.FusedRNNCell(3), "FusedRNNCell doesn't support zoneout"),
    (lambda: mx.rnn.BidirectionalCell(mx.rnn.RNNCell(2, prefix="l_"),
                                      mx.rnn.RNNCell(2, prefix="r_")), "BidirectionalCell"),
    (lambda: mx.rnn.ResidualCell(mx.rnn.BidirectionalCell(
        mx.rnn.RNNCell(2, prefix="l_"), mx.rnn.RNNCell(2, prefix="r_"))), "BidirectionalCell"),
], ids=["fused", "bidirectional", "bidirectional_inside"])
def test_zoneout_refuses_cells_that_cannot_step(make, message):
    with pytest.raises(ValueError, match=message):
        mx.rnn.ZoneoutCell(make(), zoneout_outputs=0.5)


def test_zoneout_in_training_keeps_either_the_new_or_the_previous_output():
    mx.random.seed(3)
    base = mx.rnn.RNNCell(6, prefix="z_")
    cell = mx.rnn.ZoneoutCell(base, zoneout_outputs=0.5)
    outputs, _ = cell.unroll(4, mx.sym.Variable("data"), merge_outputs=False)
    plain, _ = mx.rnn.RNNCell(6, prefix="z_").unroll(4, mx.sym.Variable("data"),
                                                     merge_outputs=False)
    rng = np.random.RandomState(0)
    args = {"data": rng.uniform(-1, 1, (8, 4, 5)), "z_i2h_weight": rng.normal(0, 0.5, (6, 5)),
            "z_i2h_bias": np.zeros(6), "z_h2h_weight": rng.normal(0, 0.5, (6, 6)),
            "z_h2h_bias": np.zeros(6)}
    args = {n: mx.nd.array(v) for n, v in args.items()}
    zoned = [o.asnumpy() for o in mx.sym.Group(outputs).bind(mx.cpu(), args).forward(
        is_train=True)]
    new = [o.asnumpy() for o in mx.sym.Group(plain).bind(mx.cpu(), args).forward()]
    prev = np.zeros_like(zoned[0])
    kept = taken = 0
    for t in range(4):
        take_new = np.isclose(zoned[t], new[t])
        keep_old = np.isclose(zoned[t], prev)
        assert np.all(take_new | keep_old), f"step {t}"
        kept += int(np.sum(keep_old & ~take_new))
        taken += int(np.sum(take_new & ~keep_old))
        prev = zoned[t]
    assert kept > 20 and taken > 20  # 192 units, p = 0.5
    inference = [o.asnumpy() for o in mx.sym.Group(outputs).bind(mx.cpu(), args).forward()]
    for t in range(4):
        np.testing.assert_allclose(inference[t], new[t], rtol=1e-6)


def test_dropout_cell_over_a_merged_sequence_is_one_dropout():
    cell = mx.rnn.DropoutCell(0.3)
    out, states = cell.unroll(5, mx.sym.Variable("data"), merge_outputs=True)
    assert states == []
    ops = [n["op"] for n in __import__("json").loads(out.tojson())["nodes"]]
    assert ops.count("Dropout") == 1
    outs, _ = cell.unroll(3, mx.sym.Variable("data"), merge_outputs=False)
    assert len(outs) == 3


def test_bidirectional_states_are_nested_and_stack_steps_split_states():
    bi = mx.rnn.BidirectionalCell(mx.rnn.LSTMCell(2, prefix="l_"), mx.rnn.GRUCell(2, prefix="r_"))
    _, states = bi.unroll(2, mx.sym.Variable("data"))
    assert [len(s) for s in states] == [2, 1]
    with pytest.raises(NotImplementedError, match="cannot be stepped"):
        bi(mx.sym.Variable("x"), bi.begin_state())
    stack = mx.rnn.SequentialRNNCell()
    stack.add(mx.rnn.LSTMCell(2, prefix="a_"))
    stack.add(mx.rnn.GRUCell(2, prefix="b_"))
    out, new_states = stack(mx.sym.Variable("x"), stack.begin_state())
    assert out.name == "b_t0_out"
    assert [s.name for s in new_states] == ["a_t0_out", "a_t0_state", "b_t0_out"]


def test_rnn_unroll_is_deprecated_but_works():
    cell = mx.rnn.RNNCell(2, prefix="d_")
    with pytest.warns(DeprecationWarning, match="rnn_unroll is deprecated"):
        outputs, _ = mx.rnn.rnn_unroll(cell, 2, mx.sym.Variable("data"), input_prefix="x")
    assert [o.name for o in outputs] == ["d_t0_out", "d_t1_out"]


@pytest.mark.parametrize("call, error, message", [
    (lambda: mx.rnn.LSTMCell(0), ValueError, "num_hidden must be a positive int, got 0"),
    (lambda: mx.rnn.GRUCell(2.5), TypeError, "num_hidden must be a positive int, got 2.5"),
    (lambda: mx.rnn.RNNCell(2, params={}), TypeError, "params must be an RNNParams"),
    (lambda: mx.rnn.DropoutCell("0.5"), TypeError, "dropout probability must be a number"),
    (lambda: mx.rnn.ResidualCell("cell"), TypeError, "base_cell must be an RNN cell"),
    (lambda: mx.rnn.ZoneoutCell(mx.rnn.RNNCell(2), zoneout_states=1.0), ValueError,
     "zoneout_states must be a number in"),
    (lambda: mx.rnn.RNNCell(2).unroll(2, None), ValueError, "unroll needs inputs"),
    (lambda: mx.rnn.RNNCell(2).unroll(3, [mx.sym.Variable("a")]), ValueError,
     r"unroll\(length=3\) got a list of 1"),
    (lambda: mx.rnn.RNNCell(2).unroll(2, mx.sym.Variable("a"), layout="NC"), ValueError,
     "time axis 'T'"),
    (lambda: mx.rnn.RNNCell(2).unroll(2, mx.sym.Group([mx.sym.Variable("a"),
                                                      mx.sym.Variable("b")])),
     ValueError, "grouped Symbol"),
    (lambda: mx.rnn.SequentialRNNCell().add("cell"), TypeError, "takes an RNN cell"),
    (lambda: mx.rnn.LSTMCell(2, prefix="p_").unpack_weights({}), KeyError, "p_i2h_weight"),
], ids=["zero_hidden", "float_hidden", "params_dict", "dropout_str", "residual_str",
        "zoneout_p", "no_inputs", "short_list", "no_time_axis", "grouped", "add_str",
        "unpack_missing"])
def test_bad_input_raises_early(call, error, message):
    with pytest.raises(error, match=message):
        call()
