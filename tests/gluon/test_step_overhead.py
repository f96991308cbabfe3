"""The Gluon step's fast paths (issue 14, speed) give the same numbers as the general ones:

- ``SoftmaxCrossEntropyLoss``'s hybridized graph runs fused (``gluon/_fused.py``): bitwise the
  executor's loss and gradient, and the executor still runs every other configuration;
- hybridized blocks keep the executor memory plan: outputs of earlier calls are not
  overwritten, several recorded calls of one block back-propagate correctly;
- ``Trainer.step``'s cached update plan follows re-initialized parameters and ``grad_req``.
"""

from __future__ import annotations

import numpy as np
import pytest

import mxlite as mx
from mxlite import autograd, gluon, nd
from mxlite.gluon import _fused, nn


def _loss_and_grad(loss, pred, label, head, fused, sample_weight=None):
    loss.hybridize()
    if not fused:
        loss._fused_graph = lambda args: None
    p = nd.array(pred, dtype=pred.dtype)
    p.attach_grad()
    args = [p, nd.array(label, dtype=pred.dtype)]
    if sample_weight is not None:
        args.append(nd.array(sample_weight, dtype=pred.dtype))
    with autograd.record():
        out = loss(*args)
    if head is None:  # a fixed random head gradient of the loss's shape
        head = np.random.default_rng(9).standard_normal(out.shape)
    out.backward(nd.array(head, dtype=pred.dtype))
    return out.asnumpy(), p.grad.asnumpy(), type(loss._cached_op)


# (id, pred shape, axis, dtype)
CASES = [
    ("batch_classes", (16, 10), -1, "float32"),
    ("batch_classes_axis1", (7, 3), 1, "float32"),
    ("float64", (5, 4), -1, "float64"),
    ("sequence", (4, 3, 6), -1, "float32"),
    ("channels_axis1", (4, 6, 3), 1, "float32"),
    ("classes_first", (5, 4), 0, "float32"),
]


@pytest.mark.parametrize("shape, axis, dtype", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_fused_softmax_ce_is_bitwise_the_executor(shape, axis, dtype):
    rng = np.random.default_rng(sum(shape))
    pred = (rng.standard_normal(shape) * 3).astype(dtype)
    lab_shape = tuple(d for i, d in enumerate(shape) if i != axis % len(shape))
    label = rng.integers(-1, shape[axis] + 1, lab_shape).astype(dtype)  # clip mode at edges
    fused = _loss_and_grad(gluon.loss.SoftmaxCrossEntropyLoss(axis=axis), pred, label, None,
                           True)
    ref = _loss_and_grad(gluon.loss.SoftmaxCrossEntropyLoss(axis=axis), pred, label, None,
                         False)
    assert fused[2] is _fused.SoftmaxCrossEntropy and ref[2] is not _fused.SoftmaxCrossEntropy
    np.testing.assert_array_equal(fused[0], ref[0])
    np.testing.assert_array_equal(fused[1], ref[1])


@pytest.mark.parametrize("shape, axis, dtype", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_imperative_softmax_ce_is_fused_and_bitwise_the_operators(shape, axis, dtype):
    rng = np.random.default_rng(sum(shape) + 1)
    pred = (rng.standard_normal(shape) * 3).astype(dtype)
    lab_shape = tuple(d for i, d in enumerate(shape) if i != axis % len(shape))
    label = rng.integers(0, shape[axis], lab_shape).astype(dtype)
    got = []
    for fused in (True, False):
        loss = gluon.loss.SoftmaxCrossEntropyLoss(axis=axis)
        if not fused:
            loss._fused_graph = lambda args: None
        p = nd.array(pred, dtype=dtype)
        p.attach_grad()
        with autograd.record():
            out = loss(p, nd.array(label, dtype=dtype))
        out.backward(nd.array(np.random.default_rng(9).standard_normal(out.shape), dtype=dtype))
        got.append((out.asnumpy(), p.grad.asnumpy(), loss.__dict__.get("_fused_call")))
    assert isinstance(got[0][2], _fused.SoftmaxCrossEntropy) and got[1][2] is None
    np.testing.assert_array_equal(got[0][0], got[1][0])
    np.testing.assert_array_equal(got[0][1], got[1][1])


@pytest.mark.parametrize("kwargs, with_weight", [
    ({"sparse_label": False}, False), ({"from_logits": True}, False), ({"weight": 0.5}, False),
    ({}, True),
], ids=["dense_label", "from_logits", "weight", "sample_weight"])
def test_other_softmax_ce_configurations_run_the_graph(kwargs, with_weight):
    rng = np.random.default_rng(3)
    pred = rng.standard_normal((4, 3)).astype("float32")
    label = (rng.random((4, 3)) if kwargs.get("sparse_label") is False
             else rng.integers(0, 3, (4,))).astype("float32")
    weight = rng.random((4, 1)).astype("float32") if with_weight else None
    out, grad, kind = _loss_and_grad(gluon.loss.SoftmaxCrossEntropyLoss(**kwargs), pred, label,
                                     np.ones(4, "float32"), True, weight)
    assert kind is not _fused.SoftmaxCrossEntropy
    net = gluon.loss.SoftmaxCrossEntropyLoss(**kwargs)  # imperative: the reference
    p = nd.array(pred)
    p.attach_grad()
    with autograd.record():
        args = [p, nd.array(label)] + ([nd.array(weight)] if with_weight else [])
        ref = net(*args)
    ref.backward()
    np.testing.assert_allclose(out, ref.asnumpy(), rtol=1e-6)
    np.testing.assert_allclose(grad, p.grad.asnumpy(), rtol=1e-6, atol=1e-7)


def _mlp(hybridize):
    mx.random.seed(4)
    net = nn.HybridSequential()
    net.add(nn.Dense(6, activation="relu", in_units=5), nn.Dense(3, in_units=6))
    net.initialize(mx.init.Xavier())
    if hybridize:
        net.hybridize()
    return net


def test_hybridized_outputs_survive_later_calls():
    net = _mlp(True)
    x1, x2 = nd.ones((2, 5)), nd.ones((2, 5)) * -2
    y1 = net(x1)
    keep = y1.asnumpy().copy()
    net(x2)
    with autograd.record():
        net(x2)
    np.testing.assert_array_equal(y1.asnumpy(), keep)


@pytest.mark.parametrize("retain", [False, True], ids=["once", "retain_graph_twice"])
def test_two_recorded_calls_of_one_hybridized_block(retain):
    rng = np.random.default_rng(5)
    xa, xb = (nd.array(rng.standard_normal((3, 5)).astype("float32")) for _ in range(2))
    grads = []
    for hyb in (False, True):
        net = _mlp(hyb)
        with autograd.record():
            z = (net(xa) * net(xb)).sum() + (net(xa) ** 2).sum()
        z.backward(retain_graph=retain)
        if retain:
            z.backward()
        grads.append({k: p.grad().asnumpy().copy() for k, p in net.collect_params().items()})
    for (k, a), b in zip(grads[0].items(), grads[1].values(), strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6, err_msg=k)


def test_trainer_plan_follows_reinit_and_grad_req():
    net = _mlp(True)
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.5})
    x = nd.ones((2, 5))

    def step():
        with autograd.record():
            loss = net(x).sum()
        loss.backward()
        trainer.step(1)

    step()
    net.initialize(mx.init.Constant(0.25), force_reinit=True)  # new arrays
    w = net[0].weight
    before = w.data().asnumpy().copy()
    step()
    assert not np.allclose(w.data().asnumpy(), before), "the new weight array was not updated"
    w.grad_req = "null"
    frozen = w.data().asnumpy().copy()
    step()
    np.testing.assert_array_equal(w.data().asnumpy(), frozen)
    with autograd.record():
        net(x).sum()  # no backward: every gradient is stale now
    with pytest.raises(UserWarning, match="has not been updated by backward"):
        trainer.step(1)
    trainer.step(1, ignore_stale_grad=True)


def test_fused_softmax_ce_supports_create_graph_like_the_graph():
    """Higher-order gradients through the fused loss equal those through the unfused ops."""
    rng = np.random.default_rng(6)
    pred = rng.standard_normal((5, 4)).astype("float64")
    label = rng.integers(0, 4, (5,)).astype("float64")
    got = []
    for fused in (True, False):
        loss = gluon.loss.SoftmaxCrossEntropyLoss()
        if fused:
            loss.hybridize()
        else:
            loss._fused_graph = lambda args: None  # the four recorded operators
        p = nd.array(pred, dtype="float64")
        p.attach_grad()
        with autograd.record():
            out = loss(p, nd.array(label, dtype="float64"))
            (g,) = autograd.grad(out, [p], create_graph=True)
            penalty = (g * g).sum()
        penalty.backward()
        got.append((type(loss._cached_op) if fused else None, g.asnumpy(), p.grad.asnumpy()))
    assert got[0][0] is _fused.SoftmaxCrossEntropy
    np.testing.assert_allclose(got[0][1], got[1][1], rtol=1e-12)
    np.testing.assert_allclose(got[0][2], got[1][2], rtol=1e-10, atol=1e-14)
    assert np.abs(got[0][2]).max() > 0
