"""mx.model: checkpoints through mx.nd.save/load and mx.sym.load; BatchEndParam."""

from __future__ import annotations

import logging

import numpy as np
import pytest

import mxlite as mx


def _net():
    data = mx.sym.Variable("data")
    fc = mx.sym.FullyConnected(data, name="fc", num_hidden=3)
    bn = mx.sym.BatchNorm(fc, name="bn")
    return mx.sym.SoftmaxOutput(bn, name="softmax")


def _params():
    rng = np.random.default_rng(1)
    arg = {"fc_weight": mx.nd.array(rng.normal(size=(3, 4))), "fc_bias": mx.nd.zeros(3)}
    aux = {"bn_moving_mean": mx.nd.array(rng.normal(size=3)), "bn_moving_var": mx.nd.ones(3)}
    return arg, aux


def test_save_and_load_checkpoint_roundtrip(tmp_path, caplog):
    prefix = str(tmp_path / "net")
    arg, aux = _params()
    net = _net()
    with caplog.at_level(logging.INFO):
        mx.model.save_checkpoint(prefix, 7, net, arg, aux)
    assert f'Saved checkpoint to "{prefix}-0007.params"' in caplog.text
    sym, arg2, aux2 = mx.model.load_checkpoint(prefix, 7)
    assert sym.list_arguments() == net.list_arguments()
    assert sym.list_auxiliary_states() == net.list_auxiliary_states()
    for src, dst in ((arg, arg2), (aux, aux2)):
        assert sorted(src) == sorted(dst)
        for k in src:
            np.testing.assert_array_equal(dst[k].asnumpy(), src[k].asnumpy())
    raw = mx.nd.load(f"{prefix}-0007.params")
    assert sorted(raw) == ["arg:fc_bias", "arg:fc_weight", "aux:bn_moving_mean",
                           "aux:bn_moving_var"]
    arg3, aux3 = mx.model.load_params(prefix, 7)
    assert sorted(arg3) == sorted(arg) and sorted(aux3) == sorted(aux)


def test_do_checkpoint_callback_period(tmp_path):
    prefix = str(tmp_path / "cb")
    arg, aux = _params()
    cb = mx.callback.do_checkpoint(prefix, period=2)
    for epoch in range(4):
        cb(epoch, _net(), arg, aux)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["cb-0002.params", "cb-0004.params", "cb-symbol.json"]


def test_checkpoint_without_symbol(tmp_path):
    prefix = str(tmp_path / "nosym")
    arg, aux = _params()
    mx.model.save_checkpoint(prefix, 1, None, arg, aux)
    assert not (tmp_path / "nosym-symbol.json").exists()
    arg2, _ = mx.model.load_params(prefix, 1)
    np.testing.assert_array_equal(arg2["fc_weight"].asnumpy(), arg["fc_weight"].asnumpy())


def test_load_params_rejects_foreign_keys(tmp_path):
    fname = tmp_path / "bad-0001.params"
    mx.nd.save(str(fname), {"weight": mx.nd.ones(2)})
    with pytest.raises(ValueError, match="'arg:' or 'aux:'"):
        mx.model.load_params(str(tmp_path / "bad"), 1)
    mx.nd.save(str(fname), [mx.nd.ones(2)])
    with pytest.raises(ValueError, match="named arrays"):
        mx.model.load_params(str(tmp_path / "bad"), 1)


@pytest.mark.parametrize("epoch", [-1, 1.5, "3"], ids=["negative", "float", "string"])
def test_epoch_must_be_an_int(tmp_path, epoch):
    arg, aux = _params()
    with pytest.raises(ValueError, match="epoch"):
        mx.model.save_checkpoint(str(tmp_path / "x"), epoch, None, arg, aux)


def test_batch_end_param_fields():
    p = mx.model.BatchEndParam(epoch=1, nbatch=2, eval_metric=None, locals={})
    assert p._fields == ("epoch", "nbatch", "eval_metric", "locals")
    assert type(p).__name__ == "BatchEndParams"
