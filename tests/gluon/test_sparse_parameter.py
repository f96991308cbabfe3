"""Gluon row_sparse Parameters: reading rows through the Trainer's kvstore, lazy updates,
save/load and the error cases (MXNet 1.9.1's rules)."""

import numpy as np
import pytest

import mxlite as mx
from mxlite import gluon
from mxlite.gluon.parameter import ParameterStypeError

CTX2 = [mx.cpu(0), mx.cpu(1)]


def _sparse_param(shape=(6, 3), ctx=None, init="xavier", grad_stype="row_sparse", **kw):
    p = gluon.Parameter("w", shape=shape, stype="row_sparse", grad_stype=grad_stype, **kw)
    p.initialize(init=init, ctx=ctx or [mx.cpu(0)])
    return p


@pytest.mark.parametrize("arg,value", [("stype", "invalid"), ("grad_stype", "invalid"),
                                       ("stype", "dense"), ("grad_stype", "csr ")],
                         ids=["stype", "grad_stype", "stype-dense", "grad_stype-space"])
def test_bad_stype_names_the_argument(arg, value):
    with pytest.raises(ParameterStypeError, match=f"{arg} must be one of") as err:
        gluon.Parameter("w", shape=(2, 2), **{arg: value})
    assert isinstance(err.value, AssertionError) and isinstance(err.value, ValueError)
    assert repr(value) in str(err.value)


@pytest.mark.parametrize("call", [
    lambda p, r: p.data(), lambda p, r: p.list_data(),
], ids=["data", "list_data"])
def test_dense_access_of_sparse_parameter_raises(call):
    p = _sparse_param()
    with pytest.raises(RuntimeError, match="row_sparse_data"):
        call(p, None)


@pytest.mark.parametrize("method", ["row_sparse_data", "list_row_sparse_data"])
def test_sparse_access_of_dense_parameter_raises(method):
    p = gluon.Parameter("w", shape=(4, 2))
    p.initialize()
    with pytest.raises(RuntimeError, match=r"data\(\) instead"):
        getattr(p, method)(mx.nd.arange(0, 4))


@pytest.mark.parametrize("method", ["row_sparse_data", "list_row_sparse_data"])
def test_rows_need_a_trainer(method):
    p = _sparse_param()
    with pytest.raises(RuntimeError, match="no Trainer"):
        getattr(p, method)(mx.nd.arange(0, 6))
    gluon.Trainer([p], "sgd")
    getattr(p, method)(mx.nd.arange(0, 6))


def test_row_id_must_be_an_ndarray():
    p = _sparse_param()
    gluon.Trainer([p], "sgd")
    with pytest.raises(TypeError, match="row_id must be an NDArray"):
        p.row_sparse_data([0, 1])


def test_one_trainer_per_sparse_parameter():
    p = _sparse_param()
    t0 = gluon.Trainer([p], "sgd")
    assert p._trainer is t0
    p._set_trainer(None)
    assert p._trainer is None
    p._set_trainer(t0)
    with pytest.raises(RuntimeError, match="already set"):
        gluon.Trainer([p], "sgd")
    d = gluon.Parameter("d", shape=(2,))  # a dense one may have several
    d.initialize()
    gluon.Trainer([d], "sgd")
    gluon.Trainer([d], "sgd")


@pytest.mark.parametrize("rows", [[0, 1], [3, 1, 3], [0, 1, 2, 3, 4, 5], []],
                         ids=["prefix", "unsorted-dup", "all", "none"])
@pytest.mark.parametrize("ctx", [[mx.cpu(0)], CTX2], ids=["1ctx", "2ctx"])
def test_row_sparse_data_gives_the_rows(rows, ctx):
    p = _sparse_param(ctx=ctx)
    full = p._data[0].asnumpy()
    gluon.Trainer([p], "sgd")
    row_id = mx.nd.array(rows, ctx=ctx[-1])
    got = p.row_sparse_data(row_id)
    assert got.stype == "row_sparse" and got.context == ctx[-1]
    assert got is p._data[-1]  # the parameter's own array (autograd follows it)
    want = np.zeros_like(full)
    want[sorted(set(rows))] = full[sorted(set(rows))]
    np.testing.assert_array_equal(got.asnumpy(), want)
    assert sorted(got.indices.asnumpy().tolist()) == sorted(set(rows))
    assert len(p.list_row_sparse_data(row_id)) == len(ctx)


@pytest.mark.parametrize("optimizer,params", [
    ("sgd", {"learning_rate": 0.1}),
    ("sgd", {"learning_rate": 0.1, "momentum": 0.9, "wd": 0.01}),
    ("adam", {"learning_rate": 0.01}),
    ("adagrad", {"learning_rate": 0.1}),
], ids=["sgd", "sgd-momentum-wd", "adam", "adagrad"])
@pytest.mark.parametrize("ctx", [[mx.cpu(0)], CTX2], ids=["1ctx", "2ctx"])
def test_lazy_update_matches_dense_reference_on_touched_rows(optimizer, params, ctx):
    """Embedding rows touched by the batch move as a dense parameter trained on the same
    rows would; untouched rows keep their value (lazy update)."""
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((8, 3)).astype(np.float32)
    sparse = gluon.Parameter("s", shape=(8, 3), stype="row_sparse", grad_stype="row_sparse")
    sparse.initialize(init=mx.init.Constant(w0), ctx=ctx)
    dense = gluon.Parameter("d", shape=(8, 3))
    dense.initialize(init=mx.init.Constant(w0), ctx=ctx)
    ts = gluon.Trainer([sparse], optimizer, dict(params))
    td = gluon.Trainer([dense], optimizer, dict(params), kvstore=None)
    batches = [[1, 2], [2, 5], [1, 2]]
    for step, rows in enumerate(batches):
        coef = float(step + 1)
        idx = mx.nd.array(rows)
        ws = sparse.list_row_sparse_data(idx)
        with mx.autograd.record():
            ys = [(mx.nd.Embedding(idx.as_in_context(w.context), w, 8, 3, sparse_grad=True)
                   * coef).sum() for w in ws]
        mx.autograd.backward(ys)
        ts.step(1)
        with mx.autograd.record():
            ys = [(mx.nd.Embedding(idx.as_in_context(w.context), w, 8, 3) * coef).sum()
                  for w in dense.list_data()]
        mx.autograd.backward(ys)
        if len(ctx) > 1:  # the dense reference: the summed gradient on every context
            total = sum(g.asnumpy() for g in dense.list_grad())
            for g in dense.list_grad():
                g[:] = total
        td.step(1)
    touched = sorted({r for rows in batches for r in rows})
    got = sparse.row_sparse_data(mx.nd.arange(0, 8)).asnumpy()
    ref = dense.data(ctx[0]).asnumpy()
    # rows touched at every step follow the dense rule exactly; rows skipped at some step
    # differ where the dense optimizer also moves rows without gradient (wd, momentum, moments)
    always = [r for r in touched if all(r in rows for rows in batches)]
    assert always == [2]
    np.testing.assert_allclose(got[always], ref[always], rtol=1e-5, atol=1e-6)
    if optimizer == "sgd" and len(params) == 1:  # plain SGD: every touched row agrees
        np.testing.assert_allclose(got[touched], ref[touched], rtol=1e-5, atol=1e-6)
    untouched = [r for r in range(8) if r not in touched]
    np.testing.assert_array_equal(got[untouched], w0[untouched])
    assert not np.allclose(got[touched], w0[touched])


def test_save_load_sparse_and_into_dense(tmp_path):
    ctx = mx.cpu(1)
    params = gluon.ParameterDict("net_")
    params.get("w0", shape=(5, 2))
    params.get("w1", shape=(5, 2), stype="row_sparse")
    params.initialize(ctx=ctx)
    gluon.Trainer(params, "sgd")
    rows = mx.nd.arange(0, 5, ctx=ctx)
    before = params.get("w1").row_sparse_data(rows).asnumpy()
    fname = str(tmp_path / "p.params")
    params.save(fname)
    loaded = mx.nd.load(fname)
    assert loaded["net_w1"].stype == "row_sparse"
    for stype in ("row_sparse", "default"):
        again = gluon.ParameterDict("net_")
        again.get("w0", shape=(5, 2))
        again.get("w1", shape=(5, 2), stype=stype)
        again.load(fname, ctx)
        w1 = again.get("w1")
        if stype == "row_sparse":
            gluon.Trainer(again, "sgd")
            got = w1.row_sparse_data(rows)
        else:
            got = w1.data(ctx)
            assert got.stype == "default"
        np.testing.assert_array_equal(got.asnumpy(), before)


def test_trainer_states_and_lr_mult_after_load(tmp_path):
    x = gluon.Parameter("x", shape=(10, 1), stype="row_sparse", grad_stype="row_sparse")
    x.initialize(ctx=[mx.cpu(0)], init="zeros")
    trainer = gluon.Trainer([x], "sgd", {"learning_rate": 0.1, "momentum": 0.5})
    rows = mx.nd.arange(0, 10)
    with mx.autograd.record():
        for w in x.list_row_sparse_data(rows):
            (w * 1).backward()
    trainer.step(1)
    fname = str(tmp_path / "t.states")
    trainer.save_states(fname)
    trainer.load_states(fname)
    x.lr_mult = 2.0
    assert trainer._kvstore._updater.optimizer._get_lr(0) == pytest.approx(0.2)
    np.testing.assert_allclose(x.row_sparse_data(rows).asnumpy(), -0.1)


@pytest.mark.parametrize("kv", ["local", "device"])
@pytest.mark.parametrize("stype,grad_stype,update_on_kv,expected", [
    ("default", "default", True, True),
    ("default", "default", False, False),
    ("default", "row_sparse", None, False),
    ("default", "row_sparse", True, True),
    ("default", "row_sparse", False, False),
    ("row_sparse", "row_sparse", None, True),
], ids=["dense-on", "dense-off", "sgrad-default", "sgrad-on", "sgrad-off", "sweight"])
def test_kvstore_choice_and_update(kv, stype, grad_stype, update_on_kv, expected):
    params = gluon.ParameterDict()
    x = params.get("x", shape=(10, 1), stype=stype, grad_stype=grad_stype)
    params.initialize(ctx=CTX2, init="zeros")
    trainer = gluon.Trainer(params, "sgd", {"learning_rate": 0.1}, kvstore=kv,
                            update_on_kvstore=update_on_kv)
    rows = mx.nd.arange(0, 10)
    ws = x.list_data() if stype == "default" else x.list_row_sparse_data(rows)
    with mx.autograd.record():
        for w in ws:
            (w + 1).backward()
    trainer.step(1)
    assert trainer._kvstore.type == kv
    assert trainer._update_on_kvstore is expected
    got = x.data(mx.cpu(0)) if stype == "default" else x.row_sparse_data(rows)
    np.testing.assert_allclose(got.asnumpy(), -0.2)  # both contexts' gradients summed


@pytest.mark.parametrize("kv", ["local", "device"])
def test_sparse_weight_refuses_update_off_kvstore(kv):
    x = _sparse_param(ctx=CTX2)
    trainer = gluon.Trainer([x], "sgd", kvstore=kv, update_on_kvstore=False)
    with pytest.raises(ValueError, match="update_on_kvstore=False"):
        x.row_sparse_data(mx.nd.arange(0, 6))
    assert not trainer._kv_initialized


def test_one_context_still_gets_a_kvstore():
    x = _sparse_param(ctx=[mx.cpu(0)])
    trainer = gluon.Trainer([x], "sgd", kvstore="device")
    x.row_sparse_data(mx.nd.arange(0, 6))
    assert trainer._kvstore is not None and trainer._update_on_kvstore is True


def test_deferred_dense_parameter_joins_the_kvstore_later():
    class Net(gluon.Block):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            with self.name_scope():
                self.embed = self.params.get("embed", stype="row_sparse", shape=(4, 3),
                                             grad_stype="row_sparse")
                self.dense0 = gluon.nn.Dense(2)

        def forward(self, x):
            w = self.embed.row_sparse_data(x)
            return self.dense0(mx.nd.Embedding(x, w, 4, 3, sparse_grad=True))

    for ctx in ([mx.cpu(1), mx.cpu(2)], [mx.cpu(1)]):
        net = Net(prefix="net_")
        net.initialize(mx.init.One(), ctx=ctx)
        trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 1})
        xs = gluon.utils.split_and_load(mx.nd.array([[0, 2], [1, 2]]), ctx)
        with mx.autograd.record():
            ys = [net(x) for x in xs]
        assert trainer._params_to_init  # dense0 was deferred when the kvstore was made
        mx.autograd.backward(ys)
        trainer.step(1)
        assert not trainer._params_to_init
        w = net.embed.row_sparse_data(mx.nd.arange(0, 4, ctx=mx.cpu(1))).asnumpy()
        np.testing.assert_array_equal(w, [[-1] * 3, [-1] * 3, [-3] * 3, [1] * 3])


def test_sparse_parameter_symbol_and_reset_ctx():
    p = _sparse_param(ctx=CTX2)
    assert p.var().attr("__storage_type__") == "1"
    assert gluon.Parameter("d", shape=(2,)).var().attr("__storage_type__") is None
    gluon.Trainer([p], "sgd")
    before = p.row_sparse_data(mx.nd.arange(0, 6)).asnumpy()
    p.reset_ctx([mx.cpu(1), mx.cpu(2)])
    assert p.list_ctx() == [mx.cpu(1), mx.cpu(2)]
    assert all(d.stype == "row_sparse" for d in p._data)
    np.testing.assert_array_equal(p._data[1].asnumpy(), before)
