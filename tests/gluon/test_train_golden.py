"""Gluon training against MXNet 1.9.1: an MLP and a CNN with BatchNorm, each trained several
steps with Trainer (SGD momentum + wd; Adam + FactorScheduler) from MXNet's initial weights,
imperative and hybridized, must end at MXNet's parameters."""

from __future__ import annotations

import numpy as np
import pytest

import mxlite as mx
from mxlite import autograd, gluon

from ._golden import build_net, load

META, ARR = load("train")
OPTS = {o[0]: o for o in META["optimizers"]}


def _net_from_mxnet_init(key, hybridize):
    net = build_net(META["nets"][key])
    net.initialize()
    x = mx.nd.array(ARR[f"{key}/x"])
    if hybridize:
        net.hybridize()
    net(x)
    for name, p in net._collect_params_with_prefix().items():
        p.set_data(mx.nd.array(ARR[f"{key}/init/{name}"]))
    return net, x


@pytest.mark.parametrize("hybridize", [False, True], ids=["imperative", "hybridized"])
def test_predict_output_matches_mxnet(hybridize):
    for key in ("mlp", "cnn_bn"):
        net, x = _net_from_mxnet_init(key, hybridize)
        with autograd.predict_mode():
            out = net(x)
        np.testing.assert_allclose(out.asnumpy(), ARR[f"{key}/predict_out"], rtol=1e-5,
                                   atol=1e-6)


@pytest.mark.parametrize("hybridize", [False, True], ids=["imperative", "hybridized"])
@pytest.mark.parametrize("case", META["cases"], ids=[c["id"] for c in META["cases"]])
def test_training_ends_at_mxnet_parameters(case, hybridize):
    key = case["net"]
    _, oname, oparams, sched = OPTS[case["optimizer"]]
    net, x = _net_from_mxnet_init(key, hybridize)
    y = mx.nd.array(ARR[f"{key}/y"])
    params = dict(oparams)
    if sched:
        params["lr_scheduler"] = eval(sched, {"mx": mx})
    trainer = gluon.Trainer(net.collect_params(), oname, params)
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    losses = []
    for _ in range(META["steps"]):
        with autograd.record():
            loss = loss_fn(net(x), y)
        loss.backward()
        trainer.step(x.shape[0])
        losses.append(float(loss.mean().asscalar()))
    cid = case["id"]
    np.testing.assert_allclose(losses, ARR[f"{cid}/losses"], rtol=1e-4, atol=1e-5)
    for name, p in net._collect_params_with_prefix().items():
        np.testing.assert_allclose(p.data().asnumpy(), ARR[f"{cid}/final/{name}"], rtol=1e-4,
                                   atol=2e-5, err_msg=name)


@pytest.mark.parametrize("oid", [o[0] for o in META["optimizers"]])
def test_trainer_loads_mxnet_states_and_resumes_like_mxnet(oid):
    """MXNet's pickled ``Trainer.save_states`` file (read through the restricted unpickler),
    then one more step, ends where MXNet's next step ended."""
    from ._golden import GOLDEN

    _, oname, oparams, sched = OPTS[oid]
    cid = f"mlp/{oid}"
    net, x = _net_from_mxnet_init("mlp", False)
    for name, p in net._collect_params_with_prefix().items():
        p.set_data(mx.nd.array(ARR[f"{cid}/final/{name}"]))
    params = dict(oparams)
    if sched:
        params["lr_scheduler"] = eval(sched, {"mx": mx})
    trainer = gluon.Trainer(net.collect_params(), oname, params)
    trainer.load_states(str(GOLDEN / f"gluon_trainer_{oid}.states"))
    with autograd.record():
        loss = gluon.loss.SoftmaxCrossEntropyLoss()(net(x), mx.nd.array(ARR["mlp/y"]))
    loss.backward()
    trainer.step(x.shape[0])
    for name, p in net._collect_params_with_prefix().items():
        np.testing.assert_allclose(p.data().asnumpy(), ARR[f"{cid}/resumed/{name}"], rtol=1e-4,
                                   atol=2e-5, err_msg=name)
