"""BucketingModule, SequentialModule, PythonLossModule, mx.model.FeedForward and mx.mon.Monitor."""

import numpy as np
import pytest

import mxlite as mx


def _fc(num_hidden, name, data="data"):
    return mx.sym.FullyConnected(mx.sym.var(data), num_hidden=num_hidden, name=name)


# ----------------------------------------------------------------------------- bucketing
def _sym_gen(key):
    # the key is the input width seen by a shared fc (weights must not depend on it): sum it
    data = mx.sym.var("data")
    pooled = mx.sym.sum(data, axis=1, keepdims=True)
    out = mx.sym.FullyConnected(pooled, num_hidden=2, name="fc")
    return mx.sym.SoftmaxOutput(out, name="softmax"), ("data",), ("softmax_label",)


def _bucket_batch(key, n=4, seed=0):
    rng = np.random.default_rng(seed + key)
    return mx.io.DataBatch([mx.nd.array(rng.normal(size=(n, key)))],
                           [mx.nd.array(rng.integers(0, 2, n))], bucket_key=key,
                           provide_data=[mx.io.DataDesc("data", (n, key))],
                           provide_label=[mx.io.DataDesc("softmax_label", (n,))])


def test_bucketing_shares_parameters_between_buckets():
    mod = mx.mod.BucketingModule(_sym_gen, default_bucket_key=5)
    mod.bind([("data", (4, 5))], [("softmax_label", (4,))])
    mod.init_params(mx.init.Xavier())
    mod.init_optimizer(optimizer_params={"learning_rate": 0.5})
    before = mod.get_params()[0]["fc_weight"].asnumpy().copy()
    for key in (3, 5, 7, 3):
        mod.forward_backward(_bucket_batch(key))
        mod.update()
        assert mod.get_outputs()[0].shape == (4, 2)
    assert sorted(mod._buckets) == [3, 5, 7]
    weights = {k: m._exec_group.param_arrays[0][0] for k, m in mod._buckets.items()}
    np.testing.assert_array_equal(weights[3].asnumpy(), weights[7].asnumpy())
    assert not np.allclose(mod.get_params()[0]["fc_weight"].asnumpy(), before)


def test_bucketing_matches_module_on_one_bucket():
    batch = _bucket_batch(5)
    results = []
    for make in (lambda: mx.mod.BucketingModule(_sym_gen, default_bucket_key=5),
                 lambda: mx.mod.Module(_sym_gen(5)[0])):
        mod = make()
        mod.bind([("data", (4, 5))], [("softmax_label", (4,))])
        mod.init_params(mx.init.Constant(0.1))
        mod.init_optimizer(optimizer_params={"learning_rate": 0.5})
        mod.forward_backward(batch)
        mod.update()
        results.append(mod.get_params()[0]["fc_weight"].asnumpy())
    np.testing.assert_array_equal(results[0], results[1])


def test_bucketing_checkpoint_round_trip(tmp_path):
    mod = mx.mod.BucketingModule(_sym_gen, default_bucket_key=5)
    mod.bind([("data", (4, 5))], [("softmax_label", (4,))])
    mod.init_params(mx.init.Xavier())
    mod.forward(_bucket_batch(3), is_train=False)
    prefix = str(tmp_path / "bk")
    mod.save_checkpoint(prefix, 2)
    assert (tmp_path / "bk-3-symbol.json").exists() and (tmp_path / "bk.buckets").exists()
    loaded = mx.mod.BucketingModule.load(prefix, 2, sym_gen=_sym_gen, default_bucket_key=5)
    loaded.bind([("data", (4, 5))], [("softmax_label", (4,))], for_training=False)
    for name, value in mod.get_params()[0].items():
        np.testing.assert_array_equal(loaded.get_params()[0][name].asnumpy(), value.asnumpy())


def test_bucketing_requires_default_key():
    with pytest.raises(ValueError, match="default_bucket_key"):
        mx.mod.BucketingModule(_sym_gen)


# ----------------------------------------------------------------------------- sequential
def test_sequential_equals_one_module():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(6, 4)).astype("f4"), rng.integers(0, 3, 6).astype("f4")
    h = mx.sym.Activation(_fc(5, "fc1"), act_type="tanh", name="act")
    whole = mx.sym.SoftmaxOutput(mx.sym.FullyConnected(h, num_hidden=3, name="fc2"),
                                 name="softmax")
    tail = mx.sym.SoftmaxOutput(_fc(3, "fc2", data="hidden"), name="softmax")
    seq = mx.mod.SequentialModule()
    seq.add(mx.mod.Module(h, label_names=None))
    seq.add(mx.mod.Module(tail, data_names=("hidden",)), take_labels=True, auto_wiring=True)
    one = mx.mod.Module(whole)
    batch = mx.io.DataBatch([mx.nd.array(x)], [mx.nd.array(y)])
    outs = []
    for mod in (seq, one):
        mod.bind([("data", (6, 4))], [("softmax_label", (6,))])
        mod.init_params(mx.init.Constant(0.05))
        mod.init_optimizer(optimizer_params={"learning_rate": 1.0})
        mod.forward_backward(batch)
        mod.update()
        mod.forward(batch, is_train=False)
        outs.append((mod.get_outputs()[0].asnumpy(),
                     {k: v.asnumpy() for k, v in mod.get_params()[0].items()}))
    np.testing.assert_allclose(outs[0][0], outs[1][0], rtol=1e-6)
    for name, value in outs[1][1].items():
        np.testing.assert_allclose(outs[0][1][name], value, rtol=1e-6, err_msg=name)
    metric = mx.metric.create("acc")
    seq.update_metric(metric, batch.label)
    assert metric.num_inst == 6


def test_sequential_rejects_duplicate_parameters_and_unknown_meta():
    seq = mx.mod.SequentialModule()
    with pytest.raises(ValueError, match="unknown meta"):
        seq.add(mx.mod.Module(_fc(2, "fc"), label_names=None), take_label=True)
    seq.add(mx.mod.Module(_fc(2, "fc"), label_names=None))
    seq.add(mx.mod.Module(_fc(2, "fc", data="d2"), data_names=("d2",), label_names=None),
            auto_wiring=True)
    seq.bind([("data", (3, 4))])
    with pytest.raises(ValueError, match="Duplicated parameter name 'fc_weight'"):
        seq.init_params()


# ----------------------------------------------------------------------------- python modules
def test_python_loss_module_gradient_and_errors():
    loss = mx.mod.PythonLossModule(grad_func=lambda s, lab: 2 * (s - lab))
    loss.bind([("data", (3, 1))], [("softmax_label", (3, 1))])
    loss.init_params()
    assert loss.output_shapes == [("pyloss_output", (3, 1))]
    batch = mx.io.DataBatch([mx.nd.array([[1.0], [2.0], [3.0]])], [mx.nd.ones((3, 1))])
    loss.forward(batch, is_train=True)
    loss.backward()
    np.testing.assert_allclose(loss.get_input_grads()[0].asnumpy().ravel(), [0.0, 2.0, 4.0])
    with pytest.raises(ValueError, match="no out_grads"):
        loss.backward(out_grads=[mx.nd.ones((3, 1))])
    bare = mx.mod.PythonLossModule()
    bare.bind([("data", (3, 1))], [("softmax_label", (3, 1))])
    bare.forward(batch, is_train=True)
    with pytest.raises(mx.MXNetError, match="grad_func"):
        bare.backward()


def test_sequential_with_python_loss_trains():
    net = _fc(1, "fc")
    seq = mx.mod.SequentialModule()
    seq.add(mx.mod.Module(net, label_names=None))
    seq.add(mx.mod.PythonLossModule(grad_func=lambda s, lab: s - lab.reshape(s.shape)),
            take_labels=True, auto_wiring=True)
    x = np.random.default_rng(1).normal(size=(8, 2)).astype("f4")
    y = x @ np.array([1.5, -2.0], dtype="f4")
    it = mx.io.NDArrayIter(x, y, batch_size=8, label_name="softmax_label")
    seq.fit(it, num_epoch=60, eval_metric="mse", optimizer_params={"learning_rate": 1.0},
            initializer=mx.init.Zero())
    w = seq.get_params()[0]["fc_weight"].asnumpy().ravel()
    np.testing.assert_allclose(w, [1.5, -2.0], atol=0.05)


# ----------------------------------------------------------------------------- FeedForward
def test_feedforward_create_predict_score_save_load(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3)).astype("f4")
    y = (x[:, 0] > 0).astype("f4")
    net = mx.sym.SoftmaxOutput(_fc(2, "fc"), name="softmax")
    mx.random.seed(0)
    model = mx.model.FeedForward.create(net, x, y, num_epoch=20, learning_rate=0.5,
                                        numpy_batch_size=10, initializer=mx.init.Xavier())
    assert model.score(mx.io.NDArrayIter(x, y, 10)) > 0.9
    probs = model.predict(x)
    assert probs.shape == (40, 2)
    prefix = str(tmp_path / "ff")
    model.save(prefix)
    again = mx.model.FeedForward.load(prefix, 20)
    np.testing.assert_array_equal(again.predict(x), probs)
    out, data, label = model.predict(mx.io.NDArrayIter(x, y, 7), return_data=True)
    assert out.shape == (40, 2) and data.shape == (40, 3) and label.shape == (40,)


def test_feedforward_errors():
    net = mx.sym.SoftmaxOutput(_fc(2, "fc"), name="softmax")
    with pytest.raises(ValueError, match="num_epoch"):
        mx.model.FeedForward(net).fit(np.ones((4, 3)), np.zeros(4))
    with pytest.raises(ValueError, match="no parameters"):
        mx.model.FeedForward(net).predict(np.ones((4, 3)))


# ----------------------------------------------------------------------------- Monitor
# MXNet 1.9.1's records for this net (read from mx.mon.Monitor there): forward outputs, backward
# outputs, then the arguments
MXNET_MONITOR_NAMES = [
    "fc_0_output", "act_0_output", "fc_1_output", "act_1_output", "softmax_output",
    "softmax_backward_output0", "softmax_backward_output1", "act_1_backward_output",
    "fc_1_backward_output0", "fc_1_backward_output1", "fc_1_backward_output2",
    "act_0_backward_output", "fc_0_backward_output0", "fc_0_backward_output1",
    "fc_0_backward_output2", "data", "fc_0_weight", "fc_0_bias", "fc_1_weight", "fc_1_bias",
    "softmax_label",
]


def _monitored(sort=False, pattern=".*", interval=1):
    x = mx.sym.var("data")
    for i in range(2):
        x = mx.sym.Activation(mx.sym.FullyConnected(x, num_hidden=2, name=f"fc_{i}"),
                              act_type="sigmoid", name=f"act_{i}")
    x = mx.sym.LinearRegressionOutput(x, name="softmax", grad_scale=2)
    it = mx.io.NDArrayIter(mx.nd.array([[0.05, 0.10]]), mx.nd.array([[0.01, 0.99]]), 1)
    mod = mx.mod.Module(x)
    mod.bind(it.provide_data, it.provide_label)
    mon = mx.mon.Monitor(interval, pattern=pattern, sort=sort)
    mod.install_monitor(mon)
    mod.init_params()
    return mod, mon, next(iter(it))


def test_monitor_records_as_mxnet():
    mod, mon, batch = _monitored()
    mon.tic()
    mod.forward_backward(batch)
    assert [name for _, name, _ in mon.toc()] == MXNET_MONITOR_NAMES
    mod, mon, batch = _monitored(sort=True, pattern="fc_1.*")
    mon.tic()
    mod.forward_backward(batch)
    names = [name for _, name, _ in mon.toc()]
    assert names == sorted(n for n in MXNET_MONITOR_NAMES if n.startswith("fc_1"))


def test_monitor_interval_and_stat():
    mod, mon, batch = _monitored(interval=2)
    results = []
    for _ in range(3):
        mon.tic()
        mod.forward_backward(batch)
        results.append(mon.toc())
    assert [bool(r) for r in results] == [True, False, True]
    text = dict((n, v) for _, n, v in results[0])["data"]
    # default statistic: norm / sqrt(size) of [0.05, 0.10]
    assert float(text.strip().strip("[]")) == pytest.approx(np.sqrt((0.05**2 + 0.1**2) / 2))
    with pytest.raises(ValueError, match="interval"):
        mx.mon.Monitor(0)
