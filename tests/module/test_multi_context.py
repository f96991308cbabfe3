"""Modules on several contexts: the batch split by work load, gradients summed, numbers equal to
one context."""

import numpy as np
import pytest

import mxlite as mx
from mxlite.module.data_parallel import split_input_slice


@pytest.mark.parametrize(
    "batch, loads, sizes",
    [(10, [1, 1], [5, 5]), (10, [1, 2, 1], [2, 5, 3]), (7, [1, 1], [4, 3]), (3, [1, 1, 1],
                                                                              [1, 1, 1])],
    ids=["even", "weighted", "odd", "one-each"],
)
def test_split_input_slice(batch, loads, sizes):
    slices = split_input_slice(batch, loads)
    assert [s.stop - s.start for s in slices] == sizes
    assert slices[0].start == 0 and slices[-1].stop == batch


def test_split_input_slice_rejects_empty_slices():
    with pytest.raises(ValueError, match="empty"):
        split_input_slice(2, [1, 1, 1])


def _net():
    d = mx.sym.var("data")
    h = mx.sym.Activation(mx.sym.FullyConnected(d, num_hidden=8, name="fc1"), act_type="relu")
    return mx.sym.SoftmaxOutput(mx.sym.FullyConnected(h, num_hidden=3, name="fc2"),
                                name="softmax")


def _train(ctx, work_load_list=None, kvstore="local"):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 5)).astype("f4")
    y = rng.integers(0, 3, 40).astype("f4")
    mx.random.seed(1)
    it = mx.io.NDArrayIter(x, y, batch_size=10)
    mod = mx.mod.Module(_net(), context=ctx, work_load_list=work_load_list)
    # kvstore "local": the devices' gradients are summed (on the kvstore or before the updater)
    mod.fit(it, num_epoch=2, kvstore=kvstore, optimizer="sgd",
            optimizer_params={"learning_rate": 0.1, "momentum": 0.9},
            initializer=mx.init.Xavier())
    params = {k: v.asnumpy() for k, v in mod.get_params()[0].items()}
    return mod, it, params


@pytest.mark.parametrize("on_kvstore", ["1", "0"], ids=["update-on-kvstore", "local-updater"])
@pytest.mark.parametrize(
    "ctx, loads",
    [([mx.cpu(0), mx.cpu(1)], None), ([mx.cpu(0), mx.cpu(1), mx.cpu(2)], [1, 2, 1])],
    ids=["two", "three-weighted"],
)
def test_several_contexts_train_like_one(ctx, loads, on_kvstore, monkeypatch):
    monkeypatch.setenv("MXNET_UPDATE_ON_KVSTORE", on_kvstore)
    _, it, ref = _train([mx.cpu(0)])
    mod, _, got = _train(ctx, loads)
    for name in ref:
        np.testing.assert_allclose(got[name], ref[name], rtol=1e-5, atol=1e-6, err_msg=name)
    assert mod.predict(it).shape == (40, 3)
    assert len(mod._exec_group.param_arrays[0]) == len(ctx)


def test_outputs_and_input_grads_merge_along_batch():
    mod = mx.mod.Module(mx.sym.var("data") * 2, label_names=None,
                        context=[mx.cpu(0), mx.cpu(1)])
    mod.bind([("data", (6, 2))], inputs_need_grad=True)
    mod.init_params()
    x = np.arange(12, dtype="f4").reshape(6, 2)
    mod.forward(mx.io.DataBatch([mx.nd.array(x)]), is_train=True)
    np.testing.assert_allclose(mod.get_outputs()[0].asnumpy(), 2 * x)
    per_device = mod.get_outputs(merge_multi_context=False)[0]
    assert [o.shape for o in per_device] == [(3, 2), (3, 2)]
    assert per_device[1].context == mx.cpu(1)
    mod.backward([mx.nd.ones((6, 2))])
    np.testing.assert_allclose(mod.get_input_grads()[0].asnumpy(), np.full((6, 2), 2.0))


def test_reshape_resplits():
    mod = mx.mod.Module(_net(), context=[mx.cpu(0), mx.cpu(1)])
    mod.bind([("data", (8, 5))], [("softmax_label", (8,))])
    mod.init_params()
    mod.forward(mx.io.DataBatch([mx.nd.ones((4, 5))], [mx.nd.zeros(4)]), is_train=False)
    assert mod.get_outputs()[0].shape == (4, 3)
    assert [s.stop - s.start for s in mod._exec_group.slices] == [2, 2]


@pytest.mark.parametrize(
    "ctxs, group2ctxs, where",
    [([mx.cpu(0)], {"dev1": mx.cpu(1), "dev2": mx.cpu(2)}, [mx.cpu(1), mx.cpu(2)]),
     ([mx.cpu(0), mx.cpu(1)], [{"dev1": mx.cpu(2), "dev2": mx.cpu(3)},
                               {"dev1": mx.cpu(4), "dev2": mx.cpu(5)}], None),
     ([mx.cpu(0), mx.cpu(1)], {"dev1": mx.cpu(2), "dev2": [mx.cpu(3)]}, None)],
    ids=["one-device", "per-device-dicts", "shared-list"],
)
def test_group2ctxs_places_ctx_group_arrays(ctxs, group2ctxs, where):
    with mx.AttrScope(ctx_group="dev1"):
        a = mx.sym.var("a") * 2
    with mx.AttrScope(ctx_group="dev2"):
        c = a + mx.sym.var("b")
    grads = []
    for g2c in (group2ctxs, None):
        mod = mx.mod.Module(c, data_names=["a", "b"], label_names=None, context=ctxs,
                            group2ctxs=g2c)
        mod.bind([("a", (2, 5)), ("b", (2, 5))], inputs_need_grad=True)
        mod.init_params()
        mod.forward(mx.io.DataBatch([mx.nd.ones((2, 5)), mx.nd.ones((2, 5))]), is_train=True)
        mod.backward([mx.nd.ones((2, 5))])
        grads.append(mod.get_input_grads())
    if where is not None:
        assert [g.context for g in grads[0]] == where
    for with_groups, without in zip(*grads, strict=True):
        np.testing.assert_array_equal(with_groups.asnumpy(), without.asnumpy())


def test_group2ctxs_errors():
    from mxlite.module.data_parallel import per_device_group2ctx

    with pytest.raises(ValueError, match="2 contexts for 3 devices"):
        per_device_group2ctx({"g": [mx.cpu(1), mx.cpu(2)]}, 3)
    with pytest.raises(ValueError, match="1 dicts for 2 contexts"):
        per_device_group2ctx([{"g": mx.cpu(1)}], 2)
