"""Module.fit from fixed parameters and data order ends where MXNet 1.9.1 ends (golden)."""

from __future__ import annotations

import logging
import pathlib
import warnings

import numpy as np
import pytest

import mxlite as mx

from ._nets import GOLDEN, data, final_params, init_params, mlp, seed_symbol

MLP_CASES = {
    "adam": ("adam", {"learning_rate": 0.01, "wd": 1e-3}),
    "mult": ("sgd", {"learning_rate": 0.05, "momentum": 0.9, "wd": 1e-3}),
}
ATOL = {"seed": 1e-6, "adam": 5e-5, "mult": 1e-6}


class _Recorder:
    def __init__(self, train):
        self.last = train.num_data // train.batch_size - 1
        self.train_acc, self.val_acc = [], []

    def batch_end(self, param):
        if param.nbatch == self.last:
            self.train_acc.append(param.eval_metric.get_global()[1])

    def eval_end(self, param):
        self.val_acc.append(param.eval_metric.get()[1])


def _seed_module():
    """The seed's flow, verbatim, then the fixture's initial parameters."""
    mod = mx.mod.Module(seed_symbol())
    mod.bind(data_shapes=[('data', (128, 20))], label_shapes=[('softmax_label', (128,))])
    mod.init_params(mx.initializer.Uniform(scale=1.0))
    lr_sch = mx.lr_scheduler.FactorScheduler(step=100, factor=0.9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        mod.init_optimizer(
            optimizer='sgd', optimizer_params=(('learning_rate', 0.1), ('lr_scheduler', lr_sch)))
    mod.set_params(init_params("seed"), {})
    return mod


def _fit(case):
    train, val = data(case)
    rec = _Recorder(train)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        if case == "seed":
            mod = _seed_module()
            mod.fit(train, eval_data=val, num_epoch=15, batch_end_callback=rec.batch_end,
                    eval_end_callback=rec.eval_end)
        else:
            optimizer, params = MLP_CASES[case]
            mod = mx.mod.Module(mlp(with_mult=case == "mult"))
            mod.fit(train, eval_data=val, num_epoch=6, optimizer=optimizer,
                    optimizer_params=params, arg_params=init_params(case), aux_params={},
                    batch_end_callback=rec.batch_end, eval_end_callback=rec.eval_end)
    return mod, val, rec


@pytest.fixture(scope="module", params=["seed", "adam", "mult"],
                ids=["seed-sgd-factor", "mlp-adam-wd", "mlp-sgd-mom-lr_wd_mult"])
def trained(request):
    mx.random.seed(0)
    return (request.param, *_fit(request.param))


def test_final_parameters_match_mxnet(trained):
    case, mod, _, _ = trained
    arg, aux = mod.get_params()
    expected = final_params(case)
    assert sorted(arg) == sorted(expected) and aux == {}
    for name, want in expected.items():
        np.testing.assert_allclose(arg[name].asnumpy(), want, rtol=1e-4, atol=ATOL[case],
                                   err_msg=name)
    if case == "seed":  # FactorScheduler(step=100, factor=0.9) after 120 updates
        assert mod._optimizer._get_lr(0) == pytest.approx(float(GOLDEN["seed_final_lr"]))


def test_per_epoch_accuracy_matches_mxnet(trained):
    case, _, _, rec = trained
    np.testing.assert_allclose(rec.train_acc, GOLDEN[f"{case}_train_acc"], atol=1e-9)
    np.testing.assert_allclose(rec.val_acc, GOLDEN[f"{case}_val_acc"], atol=1e-9)


def test_predict_and_score_match_mxnet(trained):
    case, mod, val, _ = trained
    pred = mod.predict(val)
    assert pred.shape == GOLDEN[f"{case}_pred"].shape  # padding of the last batch removed
    np.testing.assert_allclose(pred.asnumpy(), GOLDEN[f"{case}_pred"], rtol=1e-4, atol=1e-5)
    assert mod.score(val, "acc")[0][1] == pytest.approx(float(GOLDEN[f"{case}_score"]))


def test_fit_log_lines(caplog):
    train, val = data("adam")
    mod = mx.mod.Module(mlp())
    with caplog.at_level(logging.INFO):
        mod.fit(train, eval_data=val, num_epoch=1, optimizer="adam",
                arg_params=init_params("adam"), aux_params={})
    lines = [r.getMessage() for r in caplog.records]
    acc = GOLDEN["adam_train_acc"][0]
    assert lines[0] == f"Epoch[0] Train-accuracy={acc:f}"
    assert lines[1].startswith("Epoch[0] Time cost=")
    assert lines[2] == f"Epoch[0] Validation-accuracy={GOLDEN['adam_val_acc'][0]:f}"


def test_resume_from_mxnet_checkpoint_matches_mxnet():
    """MXNet's own checkpoint (symbol JSON, .params, pickled .states) resumes as in MXNet."""
    prefix = str(pathlib.Path(__file__).parent.parent / "golden" / "module_ckpt")
    mod = mx.mod.Module.load(prefix, 3, load_optimizer_states=True)
    train, _ = data("adam")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        mod.fit(train, begin_epoch=3, num_epoch=6, optimizer="adam",
                optimizer_params={"learning_rate": 0.01, "wd": 1e-3})
    arg, _ = mod.get_params()
    prefix = "resumed_final_"
    expected = {k[len(prefix):]: GOLDEN[k] for k in GOLDEN.files if k.startswith(prefix)}
    assert sorted(arg) == sorted(expected)
    for name, want in expected.items():
        np.testing.assert_allclose(arg[name].asnumpy(), want, rtol=1e-4, atol=5e-5,
                                   err_msg=name)
