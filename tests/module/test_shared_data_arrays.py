"""Executor groups share memory as MXNet 1.9.1's do: ``shared_data_arrays`` (the
non-parameter arguments by name, one dict per device) and the parameters of ``shared_group``."""

from __future__ import annotations

import numpy as np
import pytest

import mxlite as mx
from mxlite.module.executor_group import DataParallelExecutorGroup, ExecutorGroup
from mxlite.test_utils import same_array


def _net(layers, sparse=False):
    data = mx.sym.var("data")
    if sparse:
        weight = mx.sym.var("embed_weight", stype="row_sparse")
        x = mx.sym.contrib.SparseEmbedding(data, weight=weight, input_dim=20, output_dim=6,
                                           name="embed")
    else:
        x = mx.sym.Embedding(data, input_dim=20, output_dim=6, name="embed")
    x = mx.sym.Reshape(x, shape=(-1, 6))
    for i in range(layers):
        x = mx.sym.FullyConnected(x, num_hidden=6, name=f"fc{i}")
    label = mx.sym.Reshape(mx.sym.var("softmax_label"), shape=(-1,))
    return mx.sym.SoftmaxOutput(x, label, name="softmax")


def _params(sym):
    return [n for n in sym.list_arguments() if n not in ("data", "softmax_label")]


def _group(sym, param_names, batch=4, shared=None, contexts=(mx.cpu(0), mx.cpu(1))):
    return DataParallelExecutorGroup(
        symbol=sym, contexts=list(contexts), workload=[1] * len(contexts),
        data_shapes=[("data", (batch, 3))], label_shapes=[("softmax_label", (batch, 3))],
        param_names=param_names, for_training=True, inputs_need_grad=False,
        shared_group=shared)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "row_sparse_embedding"])
def test_a_shared_group_shares_inputs_parameters_and_gradients(sparse):
    small = _net(2, sparse)
    names = _params(small)
    first = _group(small, names)
    for k in range(2):
        assert sorted(first.shared_data_arrays[k]) == ["data", "softmax_label"]
    big = _net(4, sparse)
    second = _group(big, names, shared=first)
    extra = [n for n in big.list_arguments() if n not in names]
    for k in range(2):
        # one dict per device, filled by both groups: the bigger net's unshared weights too
        assert second.shared_data_arrays[k] is first.shared_data_arrays[k]
        assert sorted(first.shared_data_arrays[k]) == sorted(extra)
        a, b = first.execs[k], second.execs[k]
        for name in ("data", "softmax_label"):
            assert same_array(a.arg_dict[name], b.arg_dict[name]), name
        for name in names:
            assert same_array(a.arg_dict[name], b.arg_dict[name]), name
            if not (sparse and name == "embed_weight"):
                assert same_array(a.grad_dict[name], b.grad_dict[name]), name
    assert all(second.grad_req[n] == req for n, req in first.grad_req.items())
    assert second.grad_req["fc3_weight"] == "null"  # not a parameter of the second group


def test_a_smaller_batch_is_a_view_and_a_bigger_one_replaces_the_buffer():
    sym = _net(1)
    names = _params(sym)
    base = _group(sym, names, batch=4, contexts=(mx.cpu(0),))
    smaller = _group(sym, names, batch=2, shared=base, contexts=(mx.cpu(0),))
    small_data = smaller.execs[0].arg_dict["data"]
    assert small_data.shape == (2, 3)
    assert np.shares_memory(small_data.handle, base.execs[0].arg_dict["data"].handle)
    bigger = _group(sym, names, batch=8, shared=base, contexts=(mx.cpu(0),))
    assert base.shared_data_arrays[0]["data"] is bigger.execs[0].arg_dict["data"]
    assert not np.shares_memory(bigger.execs[0].arg_dict["data"].handle,
                                base.execs[0].arg_dict["data"].handle)


def test_the_one_device_group_and_bucketing_share_input_memory():
    sym = _net(1)
    data = [mx.io.DataDesc("data", (4, 3))]
    label = [mx.io.DataDesc("softmax_label", (4, 3))]
    one = ExecutorGroup(sym, mx.cpu(), data, label, _params(sym), True, False)
    assert sorted(one.shared_data_arrays[0]) == ["data", "softmax_label"]
    assert one.shared_data_arrays[0]["data"] is one.execs[0].arg_dict["data"]

    def sym_gen(length):
        d = mx.sym.var("data")
        x = mx.sym.Reshape(mx.sym.Embedding(d, input_dim=20, output_dim=6, name="embed"),
                           shape=(-1, 6))
        x = mx.sym.FullyConnected(x, num_hidden=6, name="fc")
        y = mx.sym.Reshape(mx.sym.var("softmax_label"), shape=(-1,))
        return mx.sym.SoftmaxOutput(x, y, name="softmax"), ("data",), ("softmax_label",)

    mod = mx.mod.BucketingModule(sym_gen, default_bucket_key=5)
    mod.bind([("data", (2, 5))], [("softmax_label", (2, 5))])
    mod.init_params()
    mod.switch_bucket(3, [("data", (2, 3))], [("softmax_label", (2, 3))])
    default = mod._buckets[5]._exec_group.execs[0].arg_dict["data"]
    short = mod._buckets[3]._exec_group.execs[0].arg_dict["data"]
    assert np.shares_memory(default.handle, short.handle)
    batch = mx.io.DataBatch([mx.nd.array([[1, 2, 3], [4, 5, 6]])],
                            [mx.nd.zeros((2, 3))], bucket_key=3,
                            provide_data=[mx.io.DataDesc("data", (2, 3))],
                            provide_label=[mx.io.DataDesc("softmax_label", (2, 3))])
    mod.forward(batch, is_train=False)
    assert mod.get_outputs()[0].shape == (6, 6)


def test_same_array_of_sparse_arrays_is_identity():
    a = mx.nd.sparse.zeros("row_sparse", (3, 2))
    assert same_array(a, a)
    assert not same_array(a, mx.nd.sparse.zeros("row_sparse", (3, 2)))
    d = mx.nd.zeros((3, 2))
    assert same_array(d, d[:]) and not same_array(d, d.copy())
