"""Sparse storage through symbols, executors and Module: ``stype`` variables, row_sparse
gradients of Embedding(sparse_grad=True) and of dot(csr, w), training against MXNet 1.9.1."""

from __future__ import annotations

import numpy as np
import pytest

import mxlite as mx

from ._golden import ARRAYS, META, close


def _embedding_module(opt_name, kw, kvstore="local"):
    x, y, w0 = ARRAYS["mod/emb/x"], ARRAYS["mod/emb/y"], ARRAYS["mod/emb/w0"]
    vocab, dim = w0.shape
    data, label = mx.sym.Variable("data"), mx.sym.Variable("label")
    emb = mx.sym.Embedding(data, input_dim=vocab, output_dim=dim, sparse_grad=True, name="emb")
    loss = mx.sym.LinearRegressionOutput(mx.sym.sum(emb, axis=1), label, name="out")
    mod = mx.mod.Module(loss, data_names=["data"], label_names=["label"])
    it = mx.io.NDArrayIter(x, y, batch_size=5, label_name="label")
    mod.bind(data_shapes=it.provide_data, label_shapes=it.provide_label)
    mod.init_params(arg_params={"emb_weight": mx.nd.array(w0)})
    mod.init_optimizer(kvstore=kvstore, optimizer=opt_name, optimizer_params=kw)
    return mod, it


@pytest.mark.parametrize("opt_name", ["sgd", "adam"])
def test_sparse_embedding_training_matches_mxnet(opt_name):
    mod, it = _embedding_module(opt_name, META["module"][f"emb_{opt_name}"])
    assert mod._exec_group.grad_arrays[0][0].stype == META["module"][f"emb_{opt_name}_grad_stype"]
    for _ in range(2):
        it.reset()
        for batch in it:
            mod.forward_backward(batch)
            mod.update()
    weight = mod.get_params()[0]["emb_weight"].asnumpy()
    close(weight, ARRAYS[f"mod/emb/{opt_name}"], what=opt_name)
    # rows never looked up are untouched (lazy update, weight decay included)
    np.testing.assert_array_equal(weight[10:], ARRAYS["mod/emb/w0"][10:])


def test_sparse_embedding_through_a_kvstore_instance():
    """update_on_kvstore: the row_sparse gradient is pushed, the kvstore updates lazily."""
    kw = META["module"]["emb_sgd"]
    mod, it = _embedding_module("sgd", kw, kvstore=mx.kv.create("local"))
    assert mod._update_on_kvstore
    for _ in range(2):
        it.reset()
        for batch in it:
            mod.forward_backward(batch)
            mod.update()
    close(mod.get_params()[0]["emb_weight"].asnumpy(), ARRAYS["mod/emb/sgd"])


def test_linear_model_on_csr_data_matches_mxnet():
    x, y, w0 = ARRAYS["mod/lin/x"], ARRAYS["mod/lin/y"], ARRAYS["mod/lin/w0"]
    data = mx.sym.Variable("data", stype="csr")
    weight = mx.sym.Variable("weight", shape=w0.shape)
    out = mx.sym.LinearRegressionOutput(mx.sym.sparse.dot(data, weight),
                                        mx.sym.Variable("label"), name="out")
    it = mx.io.NDArrayIter(mx.nd.array(x).tostype("csr"), y, batch_size=4, label_name="label",
                           last_batch_handle="discard")
    mod = mx.mod.Module(out, data_names=["data"], label_names=["label"])
    mod.bind(data_shapes=it.provide_data, label_shapes=it.provide_label)
    assert mod._exec_group.execs[0].arg_dict["data"].stype == "csr"
    mod.init_params(arg_params={"weight": mx.nd.array(w0)})
    mod.init_optimizer(optimizer="sgd", optimizer_params={"learning_rate": 0.1, "wd": 0.01})
    for batch in it:
        mod.forward_backward(batch)
        assert mod._exec_group.grad_arrays[0][0].stype == META["module"]["lin_grad_stype"]
        mod.update()
    close(mod.get_params()[0]["weight"].asnumpy(), ARRAYS["mod/lin/w"])


def test_executor_dot_csr_gradient_rows():
    """The rhs gradient of dot(csr, w) stores the rows of the columns the csr holds."""
    x = mx.sym.Variable("x", stype="csr")
    y = mx.sym.sparse.dot(x, mx.sym.Variable("w"))
    exe = y.simple_bind(mx.cpu(), x=(2, 5), w=(5, 3))
    csr = mx.nd.sparse.csr_matrix(([1.0, 2.0], [4, 1], [0, 1, 2]), shape=(2, 5))
    w = mx.nd.array(np.arange(15, dtype=np.float32).reshape(5, 3))
    exe.forward(is_train=True, x=csr, w=w)
    np.testing.assert_allclose(exe.outputs[0].asnumpy(), csr.asnumpy() @ w.asnumpy())
    exe.backward(mx.nd.ones((2, 3)))
    g = exe.grad_dict["w"]
    assert g.stype == "row_sparse" and g.indices.asnumpy().tolist() == [1, 4]
    np.testing.assert_allclose(g.asnumpy(), csr.asnumpy().T @ np.ones((2, 3)))


def test_embedding_sparse_grad_rows_and_add_req():
    data = mx.sym.Variable("data")
    emb = mx.sym.Embedding(data, input_dim=6, output_dim=2, sparse_grad=True, name="e")
    exe = emb.simple_bind(mx.cpu(), grad_req="add", data=(3,))
    exe.arg_dict["e_weight"][:] = mx.nd.ones((6, 2))
    for ids in ([0, 2, 2], [5, 0, 0]):
        exe.forward(is_train=True, data=mx.nd.array(ids))
        exe.backward(mx.nd.ones((3, 2)))
    g = exe.grad_dict["e_weight"]
    assert g.stype == "row_sparse" and g.indices.asnumpy().tolist() == [0, 2, 5]
    np.testing.assert_array_equal(g.asnumpy()[:, 0], [3, 0, 2, 0, 0, 1])


def test_variable_stype_and_stype_dict():
    w = mx.sym.Variable("w", stype="row_sparse")
    exe = (w * 2).simple_bind(mx.cpu(), w=(3, 2))
    assert exe.arg_dict["w"].stype == "row_sparse"
    # MXNet 1.9.1 (checked on the reference): * scalar's gradient keeps the row_sparse storage
    assert exe.grad_dict["w"].stype == "row_sparse"
    exe.arg_dict["w"][:] = mx.nd.ones((3, 2))
    exe.forward(is_train=True)
    exe.backward(mx.nd.ones((3, 2)))
    np.testing.assert_array_equal(exe.grad_dict["w"].asnumpy(), np.full((3, 2), 2.0))
    exe = (w * 2).simple_bind(mx.cpu(), stype_dict={"w": "default"}, w=(3, 2))
    assert exe.arg_dict["w"].stype == "default"
    with pytest.raises(ValueError, match="unknown argument"):
        (w * 2).simple_bind(mx.cpu(), stype_dict={"v": "csr"}, w=(3, 2))
    assert mx.sym.sparse.Embedding is mx.sym.Embedding


def test_row_sparse_weight_pulled_from_kvstore():
    """MXNet's sparse linear-model loop: a row_sparse weight updated on the kvstore, the rows
    each batch needs pulled by Module.prepare(sparse_row_id_fn) -- the numbers of the dense
    weight trained lazily (MXNet's fixture)."""
    x, y, w0 = ARRAYS["mod/lin/x"], ARRAYS["mod/lin/y"], ARRAYS["mod/lin/w0"]
    data = mx.sym.Variable("data", stype="csr")
    weight = mx.sym.Variable("weight", shape=w0.shape, stype="row_sparse")
    out = mx.sym.LinearRegressionOutput(mx.sym.sparse.dot(data, weight),
                                        mx.sym.Variable("label"), name="out")
    it = mx.io.NDArrayIter(mx.nd.array(x).tostype("csr"), y, batch_size=4, label_name="label",
                           last_batch_handle="discard")
    mod = mx.mod.Module(out, data_names=["data"], label_names=["label"])
    mod.bind(data_shapes=it.provide_data, label_shapes=it.provide_label)
    mod.init_params(arg_params={"weight": mx.nd.array(w0)})
    mod.init_optimizer(kvstore=mx.kv.create("local"), optimizer="sgd",
                       optimizer_params={"learning_rate": 0.1, "wd": 0.01})
    assert mod._update_on_kvstore
    exe_weight = mod._exec_group.param_arrays[0][0]
    assert exe_weight.stype == "row_sparse"

    def row_ids(batch):
        return {"weight": batch.data[0].indices}

    for batch in it:
        mod.prepare(batch, sparse_row_id_fn=row_ids)
        assert exe_weight.indices.asnumpy().tolist() == \
            np.unique(batch.data[0].indices.asnumpy()).tolist()
        mod.forward_backward(batch)
        mod.update()
    close(mod.get_params()[0]["weight"].asnumpy(), ARRAYS["mod/lin/w"])


def test_symbolic_cast_storage_matches_mxnet():
    x = mx.sym.Variable("x")
    exe = (mx.sym.cast_storage(x, stype="row_sparse") * 3).simple_bind(
        mx.cpu(), type_dict={"x": "float64"}, x=(4, 3))
    exe.forward(is_train=True, x=mx.nd.array(ARRAYS["sym/x"], dtype="float64"))
    close(exe.outputs[0].asnumpy(), ARRAYS["sym/cast_storage/out"], "float64")
    exe.backward(mx.nd.array(ARRAYS["sym/og"], dtype="float64"))
    close(exe.grad_dict["x"].asnumpy(), ARRAYS["sym/cast_storage/grad"], "float64")
    assert mx.nd.cast_storage(mx.nd.ones((2, 2)), "row_sparse").stype == "row_sparse"


def test_symbolic_retain_forward_and_numerical_gradient():
    """``mx.sym.sparse.retain`` (MXNet's ``_sparse_retain`` cannot be bound in MXNet 1.9.1, so
    no golden case): the rows kept, and the gradient checked numerically in float64."""
    x, i = mx.sym.Variable("x"), mx.sym.Variable("i")
    sym = mx.sym.sum(mx.sym.sparse.retain(x, i) * mx.sym.sparse.retain(x, i))
    exe = sym.simple_bind(mx.cpu(), type_dict={"x": "float64", "i": "float64"},
                          grad_req={"x": "write"}, x=(4, 3), i=(2,))
    rng = np.random.default_rng(5)
    x0 = rng.normal(size=(4, 3))
    ids = mx.nd.array([3, 1], dtype="float64")
    exe.forward(is_train=True, x=mx.nd.array(x0, dtype="float64"), i=ids)
    assert exe.outputs[0].asscalar() == pytest.approx((x0[[1, 3]] ** 2).sum())
    exe.backward()
    analytic = exe.grad_dict["x"].asnumpy()
    eps, numeric = 1e-6, np.zeros_like(x0)
    for k in np.ndindex(x0.shape):
        for sign in (1, -1):
            xp = x0.copy()
            xp[k] += sign * eps
            exe.forward(x=mx.nd.array(xp, dtype="float64"), i=ids)
            numeric[k] += sign * exe.outputs[0].asscalar() / (2 * eps)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)
    assert (analytic[[0, 2]] == 0).all()
