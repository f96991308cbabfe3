"""Fixes found running MXNet 1.9.1's Gluon unit tests: SDMLLoss (golden values from MXNet,
tools/gen_golden_sdml.py), attributes on parameter-less operators, pick with integer labels in
a Module, NDArrayIter labels longer than the data."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import mxlite as mx
from mxlite import autograd, gluon

GOLDEN = os.path.join(os.path.dirname(__file__), os.pardir, "golden", "gluon_sdml.json")
with open(GOLDEN) as _f:
    SDML = json.load(_f)["cases"]


@pytest.mark.parametrize("name", sorted(SDML))
def test_sdml_loss_matches_mxnet(name):
    case = SDML[name]
    a = mx.nd.array(case["x1"])
    b = mx.nd.array(case["x2"])
    a.attach_grad()
    b.attach_grad()
    with autograd.record():
        loss = gluon.loss.SDMLLoss(smoothing_parameter=case["smoothing"])(a, b)
    loss.backward()
    # float32 on both sides; the gradients are differences of near-equal softmax terms
    np.testing.assert_allclose(loss.asnumpy(), case["loss"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(a.grad.asnumpy(), case["grad_x1"], rtol=1e-4, atol=5e-5)
    np.testing.assert_allclose(b.grad.asnumpy(), case["grad_x2"], rtol=1e-4, atol=5e-5)


def test_sdml_loss_weight_scales_and_bad_input_raises():
    x = mx.nd.array(np.random.default_rng(0).uniform(size=(3, 2)))
    y = mx.nd.array(np.random.default_rng(1).uniform(size=(3, 2)))
    one = gluon.loss.SDMLLoss()(x, y).asnumpy()
    np.testing.assert_allclose(gluon.loss.SDMLLoss(weight=2.0)(x, y).asnumpy(), 2 * one,
                               rtol=1e-6)
    with pytest.raises(ValueError, match="smoothing_parameter"):
        gluon.loss.SDMLLoss(smoothing_parameter=1.0)
    with pytest.raises(ValueError, match=r"\(batch, dim\)"):
        gluon.loss.SDMLLoss()(x, mx.nd.ones((2, 2)))


@pytest.mark.parametrize(
    "call, expected",
    [(lambda a, b: mx.nd.broadcast_maximum(a, b, axis=1), np.maximum),
     (lambda a, b: mx.nd.broadcast_add(a, b, foo="bar"), np.add),
     (lambda a, b: mx.nd.elemwise_add(a, b, axis=0), np.add),
     (lambda a, b: mx.nd.exp(a, axis=1), lambda x, _: np.exp(x))],
    ids=["broadcast_maximum", "broadcast_add", "elemwise_add", "exp"],
)
def test_parameterless_operators_ignore_attributes_as_mxnet(call, expected):
    a, b = mx.nd.array([[0.5, -1.0]]), mx.nd.array([[2.0, 0.25]])
    np.testing.assert_allclose(call(a, b).asnumpy(), expected(a.asnumpy(), b.asnumpy()),
                               rtol=1e-6)


def test_python_functions_still_reject_unknown_keywords():
    with pytest.raises(TypeError, match="axis"):
        mx.nd.maximum(mx.nd.ones(2), 1.0, axis=1)


def test_softmax_ce_loss_symbol_trains_with_int32_labels():
    # pick's index keeps its own dtype (MXNet 1.9.1's Gluon losses in a Module, int32 labels)
    rng = np.random.default_rng(0)
    data = mx.nd.array(rng.uniform(-1, 1, (8, 4)))
    label = mx.nd.array(rng.integers(0, 3, 8), dtype="int32")
    it = mx.io.NDArrayIter(data, label, batch_size=4, label_name="label")
    net = mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=3, name="fc")
    loss = mx.sym.make_loss(gluon.loss.SoftmaxCrossEntropyLoss()(net, mx.sym.var("label")))
    mod = mx.mod.Module(loss, data_names=("data",), label_names=("label",))
    mod.bind(it.provide_data, it.provide_label)
    assert mod._exec_group.execs[0].arg_dict["label"].dtype == np.int32
    mod.init_params()
    mod.init_optimizer()
    before = mod.score(it, mx.metric.Loss())[0][1]
    for _ in range(20):
        it.reset()
        for batch in it:
            mod.forward_backward(batch)
            mod.update()
    assert mod.score(it, mx.metric.Loss())[0][1] < before


@pytest.mark.parametrize("dtype", ["int32", "int64", "float32"])
def test_pick_infers_the_output_from_data_and_keeps_the_index_type(dtype):
    sym = mx.sym.pick(mx.sym.var("d"), mx.sym.var("i"))
    args, outs, _ = sym.infer_type(d="float64", i=dtype)
    assert args == [np.float64, np.dtype(dtype).type]
    assert outs == [np.float64]


@pytest.mark.parametrize("kvstore", ["local", "device"])
def test_loading_parameters_resets_the_trainers_kvstore(kvstore, tmp_path):
    # the kvstore holds (and updates) the weights: after new values are loaded the trainer
    # starts over from them, as MXNet 1.9.1 (else its stale copy overwrites them)
    params = gluon.ParameterDict()
    x = params.get("x", shape=(4,))
    params.initialize(ctx=[mx.cpu(0), mx.cpu(1)], init="zeros")
    trainer = gluon.Trainer(params, "sgd", {"learning_rate": 0.1}, kvstore=kvstore)
    fname = str(tmp_path / "x.params")
    params.save(fname)

    def step():
        with autograd.record():
            for w in x.list_data():
                (w + 1).backward()
        trainer.step(1)

    step()
    assert trainer._update_on_kvstore
    params.load(fname)
    assert trainer._kvstore is None and not trainer._kv_initialized
    step()
    np.testing.assert_allclose(x.data(mx.cpu(0)).asnumpy(), np.full(4, -0.2), rtol=1e-6)
    np.testing.assert_allclose(x.data(mx.cpu(1)).asnumpy(), np.full(4, -0.2), rtol=1e-6)


def test_dataloader_left_early_with_large_batches_shuts_down():
    # workers blocked writing large prefetched batches held the pool's write lock, and the
    # loader's __del__ (Pool.terminate) waited for it forever; run apart, with a deadline
    import subprocess
    import sys

    code = ("import numpy as np, mxlite as mx\n"
            "for _ in range(2):\n"
            "    D = mx.gluon.data.DataLoader(np.random.rand(600, 2000), batch_size=8,"
            " num_workers=4)\n"
            "    it = iter(D); next(it); del it; del D\n"
            "print('done')\n")
    src = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "src")
    env = dict(os.environ, PYTHONPATH=os.path.abspath(src))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "done"


@pytest.mark.parametrize("workers", [0, 2])
def test_dataloader_pin_memory_context_and_auto_reload(workers):
    data = gluon.data.ArrayDataset(np.arange(10.0).reshape(10, 1), np.arange(10.0))
    plain = [x.context for x, _ in gluon.data.DataLoader(data, 4, num_workers=workers)]
    assert plain == [mx.cpu(0)] * 3
    pinned = gluon.data.DataLoader(data, 4, pin_memory=True, pin_device_id=1,
                                   num_workers=workers, auto_reload=True)
    batches = list(pinned)
    assert all(x.context == mx.context.cpu_pinned(1) and y.context == mx.context.cpu_pinned(1)
               for x, y in batches)
    assert np.concatenate([y.asnumpy() for _, y in batches]).tolist() == list(range(10))


@pytest.mark.parametrize("stype", ["default", "row_sparse", "csr"])
def test_storage_type_ids_match_the_symbol_attribute(stype):
    from mxlite.ndarray.ndarray import _STORAGE_TYPE_ID_TO_STR, _STORAGE_TYPE_STR_TO_ID

    var = mx.sym.var("w", stype=stype)
    code = var.attr("__storage_type__")
    assert code == str(_STORAGE_TYPE_STR_TO_ID[stype])
    assert _STORAGE_TYPE_ID_TO_STR[_STORAGE_TYPE_STR_TO_ID[stype]] == stype


@pytest.mark.parametrize("hybridize", [False, True], ids=["imperative", "hybridized"])
def test_layernorm_on_the_wrong_width_is_an_mxnet_error(hybridize):
    layer = gluon.nn.LayerNorm(in_channels=10)
    layer.initialize()
    if hybridize:
        layer.hybridize()
    with pytest.raises(mx.base.MXNetError, match=r"gamma .*\(11,\)"):
        layer(mx.nd.ones((2, 11)))
    assert layer(mx.nd.ones((2, 10))).shape == (2, 10)


class _ListOfDense(gluon.Block):
    def __init__(self, register):
        super().__init__()
        with self.name_scope():
            self.layers = [gluon.nn.Dense(3) for _ in range(2)]
            self.meta = {"a": "4", "b": 123}
        if register:
            for block in self.layers:
                self.register_child(block)


@pytest.mark.parametrize("register, warns", [(False, 1), (True, 0)],
                         ids=["unregistered", "registered"])
def test_collect_params_warns_about_unregistered_blocks_in_containers(register, warns):
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        params = _ListOfDense(register).collect_params()
    assert [str(w.message).split()[0] for w in caught] == ['"layers"'] * warns
    assert len(params) == (4 if register else 0)


@pytest.mark.parametrize("hybrid_children, warns", [(True, 1), (False, 0)])
def test_sequential_of_hybrid_blocks_suggests_hybrid_sequential(hybrid_children, warns):
    import warnings

    net = gluon.nn.Sequential()
    net.add(gluon.nn.Dense(2) if hybrid_children else gluon.nn.Sequential())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        net.hybridize()
    assert len([w for w in caught if "HybridSequential" in str(w.message)]) == warns


def test_reset_arrays_zeroes_in_place():
    a, b = mx.nd.ones((2, 3)), mx.nd.ones((4,), dtype="float64")
    assert mx.nd.reset_arrays(a, b, num_arrays=2) == []
    assert a.asnumpy().sum() == 0 and b.asnumpy().sum() == 0
    with pytest.raises(mx.base.MXNetError, match="num_arrays=1 but 2"):
        mx.nd.reset_arrays(a, b, num_arrays=1)
    with pytest.raises(mx.base.MXNetError, match="floating point"):
        mx.nd.reset_arrays(mx.nd.ones((2,), dtype="int32"), num_arrays=1)
