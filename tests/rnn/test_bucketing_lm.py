"""An LSTM language model trained with BucketingModule (MXNet's lstm_bucketing.py structure)
ends with MXNet 1.9.1's parameters; RNN checkpoints round-trip."""

import numpy as np
import pytest

import mxlite as mx

from ._golden import META, arrays, spec


def _init(key="lm"):
    return arrays(f"{key}/init")


@pytest.mark.filterwarnings("ignore:NTC layout detected")
@pytest.mark.parametrize("key", ["lm", "lm_fused"])
def test_lm_training_matches_mxnet(key):
    """Two epochs of SGD with momentum over bucketed batches (lstm_bucketing.py's model; with
    'lm_fused' cudnn_rnn_bucketing.py's FusedRNNCell, time-major)."""
    if key == "lm_fused" and not hasattr(mx.sym, "RNN"):
        pytest.skip("needs the fused RNN operator (branch rnnop)")
    sentences, vocab = spec.lm_data(mx)
    assert len(vocab) + 1 == META[key]["vocab_size"]
    params, perplexity = spec.train_lm(mx, sentences, META[key]["vocab_size"], _init(key),
                                       fused=key == "lm_fused")
    want = arrays(f"{key}/final")
    assert sorted(params) == META[key]["arg_names"] == sorted(want)
    for name, value in params.items():
        assert not np.allclose(value, _init(key)[name]), f"{name} did not train"
        np.testing.assert_allclose(value, want[name], rtol=1e-4, atol=1e-5, err_msg=name)
    assert perplexity == pytest.approx(META[key]["perplexity"], rel=1e-4)


def _lm_module(vocab_size, init):
    stack, sym_gen = spec.lm_sym_gen(mx, vocab_size)
    mod = mx.mod.BucketingModule(sym_gen, default_bucket_key=8, context=mx.cpu())
    mod.bind([("data", (4, 8))], [("softmax_label", (4, 8))], for_training=False)
    mod.set_params({n: mx.nd.array(v) for n, v in init.items()}, {})
    return stack, sym_gen, mod


def test_rnn_checkpoint_round_trip_unpacks_gates(tmp_path):
    init = _init()
    vocab_size = META["lm"]["vocab_size"]
    stack, sym_gen, mod = _lm_module(vocab_size, init)
    arg, aux = mod.get_params()
    net = sym_gen(8)[0]
    prefix = str(tmp_path / "lm")
    mx.rnn.save_rnn_checkpoint(stack, prefix, 3, net, arg, aux)
    saved = mx.nd.load(f"{prefix}-0003.params")
    gate_names = sorted(k for k in saved if k.startswith("arg:lstm_l0_i2h"))
    assert gate_names == [f"arg:lstm_l0_i2h_{g}_{kind}" for g in "cfio"
                          for kind in ("bias", "weight")]
    np.testing.assert_array_equal(saved["arg:lstm_l1_h2h_f_weight"].asnumpy(),
                                  init["lstm_l1_h2h_weight"][8:16])
    sym, arg2, aux2 = mx.rnn.load_rnn_checkpoint(stack, prefix, 3)
    assert sym.tojson() == net.tojson()
    assert sorted(arg2) == sorted(arg) and aux2 == {}
    for name in arg:
        np.testing.assert_array_equal(arg2[name].asnumpy(), arg[name].asnumpy(), err_msg=name)


def test_do_rnn_checkpoint_saves_every_period(tmp_path):
    init = _init()
    stack, sym_gen, mod = _lm_module(META["lm"]["vocab_size"], init)
    arg, aux = mod.get_params()
    callback = mx.rnn.do_rnn_checkpoint([stack], str(tmp_path / "cb"), period=2)
    for epoch in range(4):
        callback(epoch, sym_gen(8)[0], arg, aux)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "cb-0002.params", "cb-0004.params", "cb-symbol.json"]
    _, arg2, _ = mx.rnn.load_rnn_checkpoint(stack, str(tmp_path / "cb"), 4)
    np.testing.assert_array_equal(arg2["lstm_l0_i2h_weight"].asnumpy(),
                                  init["lstm_l0_i2h_weight"])


def test_fused_checkpoint_holds_unfused_names_an_unfused_stack_loads(tmp_path):
    """A FusedRNNCell checkpoint, read back by its unfuse()-d stack (the MXNet recipe for
    running a fused-trained model where the fused operator is unavailable)."""
    cid = "fused_lstm_2layer_bi"
    fused = spec.fused_cell(mx, spec.FUSED_CASES[0])
    packed = mx.nd.array(arrays(cid)["packed"])
    mx.rnn.save_rnn_checkpoint(fused, str(tmp_path / "f"), 1, mx.sym.Variable("data"),
                               {"lstm_parameters": packed}, {})
    stack = fused.unfuse()
    _, arg, _ = mx.rnn.load_rnn_checkpoint(stack, str(tmp_path / "f"), 1)
    assert "lstm_l1_i2h_weight" in arg and "lstm_r0_h2h_bias" in arg
    _, arg_fused, _ = mx.rnn.load_rnn_checkpoint(fused, str(tmp_path / "f"), 1)
    np.testing.assert_array_equal(arg_fused["lstm_parameters"].asnumpy(), packed.asnumpy())


def test_checkpoint_rejects_non_cells(tmp_path):
    with pytest.raises(TypeError, match="cells must be an RNN cell"):
        mx.rnn.save_rnn_checkpoint(["x"], str(tmp_path / "p"), 0, None, {}, {})


def test_bucketing_module_names_every_bucket_alike():
    """sym_gen runs in a fresh NameManager (MXNet 1.9.1): unnamed layers get the same automatic
    names in every bucket, so the buckets share their parameters."""

    def sym_gen(seq_len):
        embed = mx.sym.Embedding(mx.sym.Variable("data"), input_dim=10, output_dim=4)
        cell = mx.rnn.GRUCell(3, prefix="g_")
        out, _ = cell.unroll(seq_len, embed, merge_outputs=True)
        return mx.sym.MakeLoss(mx.sym.sum(out)), ("data",), None

    mod = mx.mod.BucketingModule(sym_gen, default_bucket_key=5)
    mod.bind([("data", (2, 5))], for_training=True)
    mod.init_params(mx.init.Xavier())
    assert mod.symbol.list_arguments()[1] == "embedding0_weight"
    mod.switch_bucket(3, [("data", (2, 3))])
    assert mod.symbol.list_arguments() == ["data", "embedding0_weight", "g_i2h_weight",
                                           "g_i2h_bias", "g_h2h_weight", "g_h2h_bias"]
    mod.forward(mx.io.DataBatch([mx.nd.ones((2, 3))], bucket_key=3,
                                provide_data=[mx.io.DataDesc("data", (2, 3))]))
    assert mod.get_outputs()[0].shape == (1,)
