"""Module API: binding, parameters, optimizer, computation, checkpoints, errors."""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pytest

import mxlite as mx
from mxlite.base import MXNetError

from ._nets import data, final_params, init_params, mlp, seed_symbol


def _bound(batch=8, for_training=True, **bind_kwargs):
    mod = mx.mod.Module(seed_symbol())
    mod.bind(data_shapes=[("data", (batch, 20))], label_shapes=[("softmax_label", (batch,))],
             for_training=for_training, **bind_kwargs)
    return mod


def _batch(n=8, dim=20, seed=0):
    rng = np.random.default_rng(seed)
    return mx.io.DataBatch([mx.nd.array(rng.normal(size=(n, dim)))],
                           [mx.nd.array(rng.integers(0, 10, n))], pad=0)


def _ready(batch=8, **opt):
    mod = _bound(batch)
    mod.init_params(mx.init.Xavier())
    mod.init_optimizer(**opt)
    return mod


# ---------------------------------------------------------------------------- state errors
@pytest.mark.parametrize(
    "call, match",
    [
        (lambda m: m.forward(_batch()), "bind"),
        (lambda m: m.backward(), "bind"),
        (lambda m: m.init_params(), "bind"),
        (lambda m: m.init_optimizer(), "bind"),
        (lambda m: m.get_outputs(), "bind"),
        (lambda m: m.data_shapes, "bind"),
        (lambda m: m.get_params(), "init_params"),
        (lambda m: m.score(data("adam")[1], "acc"), "bind"),
        (lambda m: m.predict(data("adam")[1]), "bind"),
        (lambda m: m.save_optimizer_states("x.states"), "init_optimizer"),
    ],
    ids=["forward", "backward", "init_params", "init_optimizer", "get_outputs", "data_shapes",
         "get_params", "score", "predict", "save_optimizer_states"],
)
def test_use_before_bind(call, match):
    mod = mx.mod.Module(seed_symbol())
    with pytest.raises(MXNetError, match=match):
        call(mod)


@pytest.mark.parametrize(
    "call, match",
    [(lambda m: m.forward(_batch()), "init_params"),
     (lambda m: m.init_optimizer(), "init_params"),
     (lambda m: m.update(), "init_params")],
    ids=["forward", "init_optimizer", "update"],
)
def test_use_before_init_params(call, match):
    with pytest.raises(MXNetError, match=match):
        call(_bound())


def test_update_before_init_optimizer():
    mod = _bound()
    mod.init_params()
    mod.forward_backward(_batch())
    with pytest.raises(MXNetError, match="init_optimizer"):
        mod.update()


# ---------------------------------------------------------------------------- shape errors
@pytest.mark.parametrize(
    "batch, match",
    [(_batch(8, dim=30), r"has shape \(8, 30\).*bound with \(8, 20\)"),
     # another rank that would change fc_weight's shape (MXNet reshapes when it would not)
     (mx.io.DataBatch([mx.nd.zeros((8, 20, 2))], [mx.nd.zeros(8)]), "only the batch axis"),
     (mx.io.DataBatch([mx.nd.zeros((8, 20)), mx.nd.zeros((8, 20))], [mx.nd.zeros(8)]),
      "1 data input"),
     (mx.io.DataBatch([mx.nd.zeros((8, 20))], [mx.nd.zeros(7)]), "label of shape")],
    ids=["feature-dim", "rank", "two-inputs", "label-size"],
)
def test_forward_rejects_mismatched_shapes(batch, match):
    mod = _bound()
    mod.init_params()
    with pytest.raises(ValueError, match=match):
        mod.forward(batch)


@pytest.mark.parametrize(
    "data_shapes, match",
    [([("x", (8, 20))], "don't match names"),
     ([("data", (8, 20)), ("extra", (8, 2))], "don't match names"),
     ("data", "list of DataDesc"),
     ([("data",)], "DataDesc or \\(name, shape\\)")],
    ids=["wrong-name", "extra-input", "string", "no-shape"],
)
def test_bind_errors(data_shapes, match):
    mod = mx.mod.Module(seed_symbol())
    with pytest.raises(ValueError, match=match):
        mod.bind(data_shapes=data_shapes)


def test_bind_batch_sizes_must_agree():
    mod = mx.mod.Module(seed_symbol())
    with pytest.raises(ValueError, match="same batch size"):
        mod.bind([("data", (8, 20))], [("softmax_label", (4,))])


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [({"data_names": ("x",)}, ValueError, "not found in symbol.list_arguments"),
     ({"fixed_param_names": ["nope"]}, ValueError, "fixed_param_names"),
     # several contexts are supported (issue 15); a work load per context is required
     ({"context": [mx.cpu(), mx.cpu(1)], "work_load_list": [1]}, ValueError,
      "one entry per context"),
     ({"context": mx.gpu()}, MXNetError, "GPU")],
    ids=["data-name", "fixed-name", "work-load-per-context", "gpu"],
)
def test_constructor_errors(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        mx.mod.Module(seed_symbol(), **kwargs)


def test_unknown_label_name_warns():
    with pytest.warns(UserWarning, match="label_names"):
        mx.mod.Module(seed_symbol(), label_names=("lbl",))


# ---------------------------------------------------------------------------- binding
def test_bind_with_datadesc_and_properties():
    mod = mx.mod.Module(seed_symbol())
    mod.bind([mx.io.DataDesc("data", (4, 20))], [mx.io.DataDesc("softmax_label", (4,))])
    assert mod.binded and mod.for_training and not mod.inputs_need_grad
    assert mod.data_names == ["data"] and mod.label_names == ["softmax_label"]
    assert mod.output_names == ["softmax_output"]
    assert mod.data_shapes[0].shape == (4, 20)
    assert mod.output_shapes == [("softmax_output", (4, 10))]


def test_bind_twice_warns_and_force_rebind(caplog):
    mod = _bound()
    with caplog.at_level(logging.WARNING):
        mod.bind([("data", (8, 20))], [("softmax_label", (8,))])
    assert "Already bound, ignoring bind()" in caplog.text
    mod.bind([("data", (3, 20))], [("softmax_label", (3,))], force_rebind=True)
    assert mod.data_shapes[0].shape == (3, 20)


def test_predict_only_module_without_labels():
    mod = mx.mod.Module(seed_symbol())
    with pytest.warns(UserWarning, match="label_shapes don't match"):
        mod.bind([("data", (5, 20))], for_training=False)
    mod.init_params()
    out = mod.predict(mx.nd.ones((5, 20)))
    np.testing.assert_allclose(out.asnumpy().sum(axis=1), 1.0, rtol=1e-5)
    with pytest.raises(MXNetError, match="for_training"):
        mod.backward()


def test_reshape_on_new_batch_size_keeps_parameters():
    mod = _ready(8)
    arg_before = {k: v.asnumpy().copy() for k, v in mod.get_params()[0].items()}
    mod.forward(_batch(3), is_train=False)
    assert mod.get_outputs()[0].shape == (3, 10)
    assert mod.data_shapes[0].shape == (3, 20)
    mod.reshape([("data", (6, 20))], [("softmax_label", (6,))])
    mod.forward(_batch(6), is_train=False)
    assert mod.get_outputs()[0].shape == (6, 10)
    for k, v in mod.get_params()[0].items():
        np.testing.assert_array_equal(v.asnumpy(), arg_before[k])


def test_shared_module_shares_parameters():
    a = _ready(8)
    b = mx.mod.Module(seed_symbol())
    b.bind([("data", (2, 20))], [("softmax_label", (2,))], shared_module=a)
    assert b.params_initialized and b.optimizer_initialized
    batch = _batch(2)
    b.forward(batch, is_train=False)
    a.forward(batch, is_train=False)
    np.testing.assert_allclose(a.get_outputs()[0].asnumpy(), b.get_outputs()[0].asnumpy())


def test_inputs_need_grad():
    mod = _bound(inputs_need_grad=True)
    mod.init_params(mx.init.Xavier())
    mod.forward_backward(_batch())
    (grad,) = mod.get_input_grads()
    assert grad.shape == (8, 20) and float(np.abs(grad.asnumpy()).sum()) > 0
    plain = _bound()
    plain.init_params()
    with pytest.raises(MXNetError, match="inputs_need_grad"):
        plain.get_input_grads()
    with pytest.raises(ValueError, match="inputs_need_grad"):
        mx.mod.Module(seed_symbol()).bind([("data", (8, 20))], for_training=False,
                                          inputs_need_grad=True)


def test_grad_req_add_accumulates():
    mod = _bound(grad_req="add")
    mod.init_params(mx.init.Xavier())
    batch = _batch()
    mod.forward_backward(batch)
    once = mod._exec_group.grad_arrays[0][0].asnumpy().copy()
    mod.forward_backward(batch)
    np.testing.assert_allclose(mod._exec_group.grad_arrays[0][0].asnumpy(), 2 * once, rtol=1e-5)


# ---------------------------------------------------------------------------- parameters
def test_init_params_passes_symbol_attributes():
    seen = {}

    class Spy(mx.init.Initializer):
        def __call__(self, desc, arr):
            seen[str(desc)] = dict(desc.attrs)
            arr[:] = 0.25

    data_ = mx.sym.Variable("data")
    w = mx.sym.Variable("fc_weight", lr_mult=2.0, init=mx.init.Constant(0.5))
    net = mx.sym.SoftmaxOutput(mx.sym.FullyConnected(data_, weight=w, name="fc", num_hidden=3),
                               name="softmax")
    mod = mx.mod.Module(net)
    mod.bind([("data", (2, 4))], [("softmax_label", (2,))])
    mod.init_params(Spy())
    assert seen["fc_weight"]["__lr_mult__"] == "2.0"
    assert "__init__" in seen["fc_weight"]
    assert seen["fc_bias"] == net.attr_dict()["fc_bias"]  # {'num_hidden': '3'}, as MXNet
    mod.init_params(mx.init.Uniform(), force_init=True)  # the __init__ attribute wins
    np.testing.assert_allclose(mod.get_params()[0]["fc_weight"].asnumpy(), 0.5)


def test_init_params_from_arg_params_and_allow_missing():
    mod = _bound()
    partial = {"fc_weight": mx.nd.ones((10, 20))}
    with pytest.raises(MXNetError, match="fc_bias is not presented"):
        mod.init_params(arg_params=partial)
    mod.init_params(mx.init.Constant(0.5), arg_params=partial, allow_missing=True)
    arg, _ = mod.get_params()
    np.testing.assert_array_equal(arg["fc_weight"].asnumpy(), 1.0)
    np.testing.assert_array_equal(arg["fc_bias"].asnumpy(), 0.0)  # bias rule: zeros
    with pytest.warns(UserWarning, match="already initialized"):
        mod.init_params()
    with pytest.raises(ValueError, match="has shape"):
        mod.init_params(arg_params={"fc_weight": mx.nd.ones((3, 3)), "fc_bias": mx.nd.ones(10)},
                        force_init=True)


def test_set_params_allow_missing_and_extra():
    mod = _bound()
    mod.init_params()
    mod.set_params({"fc_bias": mx.nd.ones(10)}, {}, allow_missing=True)
    np.testing.assert_array_equal(mod.get_params()[0]["fc_bias"].asnumpy(), 1.0)
    with pytest.raises(ValueError, match="not in the arguments"):
        mod.set_params({"zzz": mx.nd.ones(1)}, {}, allow_missing=True)
    mod.set_params({"zzz": mx.nd.ones(1)}, {}, allow_missing=True, allow_extra=True)


def test_fixed_params_do_not_change():
    train, _ = data("adam")
    mod = mx.mod.Module(mlp(), fixed_param_names=["fc1_weight"])
    start = init_params("adam")
    mod.fit(train, num_epoch=1, optimizer="sgd", arg_params=start, aux_params={})
    arg, _ = mod.get_params()
    np.testing.assert_array_equal(arg["fc1_weight"].asnumpy(), start["fc1_weight"].asnumpy())
    assert not np.array_equal(arg["fc2_weight"].asnumpy(), start["fc2_weight"].asnumpy())


# ---------------------------------------------------------------------------- optimizer
@pytest.mark.parametrize(
    "params",
    [(("learning_rate", 0.1),), {"learning_rate": 0.1}, [("learning_rate", 0.1)]],
    ids=["tuple-of-pairs", "dict", "list-of-pairs"],
)
def test_init_optimizer_params_forms(params):
    mod = _ready(8, optimizer="sgd", optimizer_params=params)
    opt = mod._optimizer
    assert isinstance(opt, mx.optimizer.SGD)
    assert opt.lr == 0.1 and opt.rescale_grad == pytest.approx(1 / 8)
    assert opt.idx2name == {0: "fc_weight", 1: "fc_bias"}
    assert mod._update_on_kvstore is False and mod._kvstore is None


def test_init_optimizer_instance_and_warnings(caplog):
    opt = mx.optimizer.SGD(learning_rate=0.2)
    mod = _bound(8)
    mod.init_params()
    with pytest.warns(UserWarning, match="rescale_grad"):
        mod.init_optimizer(optimizer=opt)
    assert mod._optimizer is opt and opt.idx2name == {0: "fc_weight", 1: "fc_bias"}
    with caplog.at_level(logging.WARNING):
        mod.init_optimizer(optimizer="adam")
    assert "optimizer already initialized, ignoring..." in caplog.text
    mod.init_optimizer(optimizer="adam", force_init=True)
    assert isinstance(mod._optimizer, mx.optimizer.Adam)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [({"optimizer": 3}, TypeError, "optimizer must be"),
     ({"optimizer_params": 5}, TypeError, "optimizer_params"),
     ({"optimizer": "nosuchopt"}, ValueError, "nosuchopt"),
     ({"kvstore": 1.5}, TypeError, "kvstore"),
     ({"kvstore": "dist_sync"}, ValueError, "dist_sync")],
    ids=["optimizer-int", "params-int", "unknown-optimizer", "kvstore-float", "dist"],
)
def test_init_optimizer_errors(kwargs, exc, match):
    mod = _bound()
    mod.init_params()
    with pytest.raises(exc, match=match):
        mod.init_optimizer(**kwargs)


def test_update_on_kvstore_equals_local_updater():
    results = []
    for kvstore in ("local", mx.kv.create("local")):
        train, _ = data("adam")
        mod = mx.mod.Module(mlp())
        mod.fit(train, num_epoch=2, optimizer="adam", kvstore=kvstore,
                optimizer_params={"learning_rate": 0.01, "wd": 1e-3},
                arg_params=init_params("adam"), aux_params={})
        results.append(mod)
    assert results[1]._update_on_kvstore is True and results[0]._update_on_kvstore is False
    for name, value in results[0].get_params()[0].items():
        np.testing.assert_allclose(results[1].get_params()[0][name].asnumpy(), value.asnumpy(),
                                   rtol=1e-6, atol=1e-7)


def test_update_on_kvstore_env_off(monkeypatch):
    monkeypatch.setenv("MXNET_UPDATE_ON_KVSTORE", "0")
    kv = mx.kv.create("local")
    mod = _ready(8, kvstore=kv)
    assert mod._kvstore is kv and mod._update_on_kvstore is False and mod._updater is not None
    mod.forward_backward(_batch())
    mod.update()


# ---------------------------------------------------------------------------- computation
def test_forward_backward_update_changes_parameters_and_metric():
    mod = _ready(8, optimizer_params={"learning_rate": 0.5})
    before = mod.get_params()[0]["fc_weight"].asnumpy().copy()
    batch = _batch()
    mod.forward_backward(batch)
    mod.update()
    assert not np.array_equal(mod.get_params()[0]["fc_weight"].asnumpy(), before)
    metric = mx.metric.create("acc")
    mod.update_metric(metric, batch.label)
    assert metric.num_inst == 8


def test_predict_variants_and_iter_predict():
    _, val = data("adam")  # 50 validation examples in batches of 32: the last is padded
    mod = mx.mod.Module(mlp())
    mod.bind(val.provide_data, val.provide_label, for_training=False)
    mod.init_params(arg_params=init_params("adam"), aux_params={})
    merged = mod.predict(val)
    assert merged.shape == (50, 4)
    per_batch = mod.predict(val, merge_batches=False)
    assert [b[0].shape for b in per_batch] == [(32, 4), (18, 4)]
    assert isinstance(mod.predict(val, always_output_list=True), list)
    assert mod.predict(val, num_batch=1).shape == (32, 4)
    pieces = list(mod.iter_predict(val))
    assert [p[0][0].shape[0] for p in pieces] == [32, 18] and [p[1] for p in pieces] == [0, 1]
    np.testing.assert_allclose(
        np.concatenate([p[0][0].asnumpy() for p in pieces]), merged.asnumpy())
    with pytest.raises(ValueError, match="NDArray or DataIter"):
        mod.predict([1, 2, 3])


def test_score_callbacks():
    _, val = data("adam")
    mod = mx.mod.Module(mlp())
    mod.bind(val.provide_data, val.provide_label, for_training=False)
    mod.init_params(arg_params=init_params("adam"), aux_params={})
    seen = []
    res = mod.score(val, ["acc", "ce"], batch_end_callback=lambda p: seen.append(p.nbatch),
                    score_end_callback=lambda p: seen.append(("end", p.nbatch)))
    assert [n for n, _ in res] == ["accuracy", "cross-entropy"]
    assert seen == [0, 1, ("end", 2)]


# ---------------------------------------------------------------------------- checkpoints
def test_checkpoint_continue_equals_straight_through(tmp_path):
    """3 epochs, checkpoint with optimizer states, reload, 3 more == 6 straight (== MXNet)."""
    prefix = str(tmp_path / "mlp")
    train, _ = data("adam")
    params = {"learning_rate": 0.01, "wd": 1e-3,
              "lr_scheduler": mx.lr_scheduler.FactorScheduler(step=15, factor=0.5)}
    straight = mx.mod.Module(mlp())
    straight.fit(train, num_epoch=6, optimizer="adam", optimizer_params=dict(params),
                 arg_params=init_params("adam"), aux_params={})
    train.reset()
    first = mx.mod.Module(mlp())
    params["lr_scheduler"] = mx.lr_scheduler.FactorScheduler(step=15, factor=0.5)
    first.fit(train, num_epoch=3, optimizer="adam", optimizer_params=dict(params),
              arg_params=init_params("adam"), aux_params={},
              epoch_end_callback=mx.callback.module_checkpoint(first, prefix, period=3,
                                                               save_optimizer_states=True))
    train.reset()
    resumed = mx.mod.Module.load(prefix, 3, load_optimizer_states=True)
    params["lr_scheduler"] = mx.lr_scheduler.FactorScheduler(step=15, factor=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        resumed.fit(train, begin_epoch=3, num_epoch=6, optimizer="adam",
                    optimizer_params=dict(params))
    for name, value in straight.get_params()[0].items():
        np.testing.assert_allclose(resumed.get_params()[0][name].asnumpy(), value.asnumpy(),
                                   rtol=1e-6, atol=1e-7, err_msg=name)


def test_checkpoint_continue_matches_mxnet_golden(tmp_path):
    prefix = str(tmp_path / "ck")
    params = {"learning_rate": 0.01, "wd": 1e-3}
    train, _ = data("adam")
    mod = mx.mod.Module(mlp())
    mod.fit(train, num_epoch=3, optimizer="adam", optimizer_params=params,
            arg_params=init_params("adam"), aux_params={})
    mod.save_checkpoint(prefix, 3, save_optimizer_states=True)
    train.reset()
    resumed = mx.mod.Module.load(prefix, 3, load_optimizer_states=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        resumed.fit(train, begin_epoch=3, num_epoch=6, optimizer="adam", optimizer_params=params)
    for name, want in final_params("adam").items():
        np.testing.assert_allclose(resumed.get_params()[0][name].asnumpy(), want, rtol=1e-4,
                                   atol=5e-5, err_msg=name)


def test_save_load_params_and_optimizer_states(tmp_path):
    mod = _ready(8, optimizer="adam")
    for seed in range(3):
        mod.forward_backward(_batch(seed=seed))
        mod.update()
    fname = str(tmp_path / "m.params")
    mod.save_params(fname)
    states = str(tmp_path / "m.states")
    mod.save_optimizer_states(states)
    other = _ready(8, optimizer="adam")
    other.load_params(fname)
    other.load_optimizer_states(states)
    for k, v in mod.get_params()[0].items():
        np.testing.assert_array_equal(other.get_params()[0][k].asnumpy(), v.asnumpy())
    batch = _batch(seed=9)
    for m in (mod, other):
        m.forward_backward(batch)
        m.update()
    for k, v in mod.get_params()[0].items():
        np.testing.assert_array_equal(other.get_params()[0][k].asnumpy(), v.asnumpy())
    loaded = mx.nd.load(fname)
    assert sorted(loaded) == ["arg:fc_bias", "arg:fc_weight"]


def test_load_checkpoint_missing_states(tmp_path):
    mod = _ready(8)
    mod.save_checkpoint(str(tmp_path / "p"), 1)
    assert (tmp_path / "p-symbol.json").exists() and (tmp_path / "p-0001.params").exists()
    with pytest.raises(FileNotFoundError, match="states"):
        mx.mod.Module.load(str(tmp_path / "p"), 1, load_optimizer_states=True)
    loaded = mx.mod.Module.load(str(tmp_path / "p"), 1)
    assert loaded.params_initialized and not loaded.binded
    loaded.bind([("data", (8, 20))], [("softmax_label", (8,))])
    batch = _batch()
    for m in (mod, loaded):
        m.forward(batch, is_train=False)
    np.testing.assert_allclose(loaded.get_outputs()[0].asnumpy(), mod.get_outputs()[0].asnumpy())


def test_fit_requires_num_epoch_and_data_iter():
    mod = mx.mod.Module(seed_symbol())
    with pytest.raises(ValueError, match="num_epoch"):
        mod.fit(data("seed")[0])
    with pytest.raises(TypeError, match="DataIter"):
        mod.fit(np.zeros((4, 20)), num_epoch=1)


def test_predict_on_arrays_of_another_batch_size():
    mod = _bound(128, for_training=False)
    mod.init_params(mx.init.Xavier())
    with pytest.warns(UserWarning, match="label_shapes don't match"):  # as MXNet: no labels
        out = mod.predict(np.ones((50, 20), dtype=np.float32))
        full = mod.predict(mx.io.NDArrayIter(np.ones((50, 20)), batch_size=10))
    assert out.shape == (50, 10)
    np.testing.assert_allclose(full.asnumpy(), out.asnumpy(), rtol=1e-6)


def test_forward_accepts_a_one_element_list_of_batches():
    mod = _ready(8)
    batch = _batch()
    mod.forward([batch], is_train=False)
    first = mod.get_outputs()[0].asnumpy().copy()
    mod.forward(batch, is_train=False)
    np.testing.assert_array_equal(mod.get_outputs()[0].asnumpy(), first)
    with pytest.raises(ValueError, match="several devices"):
        mod.forward([batch, batch])


def test_fit_with_monitor_and_speedometer(caplog):
    events = []

    class Monitor:
        def install(self, exe):
            events.append(("install", type(exe).__name__))

        def tic(self):
            events.append("tic")

        def toc_print(self):
            events.append("toc")

    train, _ = data("adam")  # 10 batches per epoch
    mod = mx.mod.Module(mlp())
    with caplog.at_level(logging.INFO):
        mod.fit(train, num_epoch=1, monitor=Monitor(), optimizer="adam",
                batch_end_callback=mx.callback.Speedometer(32, frequent=5),
                arg_params=init_params("adam"), aux_params={})
    assert events[0] == ("install", "Executor")
    assert events[1:] == ["tic", "toc"] * 10
    assert "Epoch[0] Batch [0-5]\tSpeed: " in caplog.text


@pytest.mark.parametrize(
    "grad_req",
    [{"fc_bias": "null"}, ["null", "write", "null", "null"]],
    ids=["dict", "list"],
)
def test_grad_req_per_argument_freezes_bias(grad_req):
    # list order follows list_arguments(): data, fc_weight, fc_bias, softmax_label
    mod = _bound(grad_req=grad_req)
    mod.init_params(mx.init.Xavier(), arg_params={"fc_bias": mx.nd.ones(10),
                                                  "fc_weight": mx.nd.ones((10, 20))})
    mod.init_optimizer(optimizer_params={"learning_rate": 1.0})
    mod.forward_backward(_batch())
    mod.update()
    arg, _ = mod.get_params()
    np.testing.assert_array_equal(arg["fc_bias"].asnumpy(), 1.0)
    assert not np.array_equal(arg["fc_weight"].asnumpy(), np.ones((10, 20)))


@pytest.mark.parametrize(
    "grad_req, match",
    [("sometimes", "grad_req must be one of"), (["write"], "one entry per argument"),
     ({"fc_bias": "maybe"}, "grad_req values"), (3, "str, list, tuple or dict")],
    ids=["bad-string", "short-list", "bad-value", "int"],
)
def test_grad_req_errors(grad_req, match):
    with pytest.raises(ValueError, match=match):
        _bound(grad_req=grad_req)


def test_grad_req_dict_unknown_names_are_ignored_with_a_warning(caplog):
    """As MXNet: names that are not arguments are passed over -- and mxlite says so."""
    with caplog.at_level(logging.WARNING, logger="mxlite.module.executor_group"):
        mod = _bound(grad_req={"nope": "add", "fc_bias": "null"})
    assert "nope" in caplog.text and "ignored" in caplog.text
    reqs = dict(zip(mod._exec_group.execs[0]._arg_names,
                    mod._exec_group.execs[0]._grad_reqs, strict=True))
    assert "nope" not in reqs and reqs["fc_bias"] == "null" and reqs["fc_weight"] == "write"
