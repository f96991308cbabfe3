"""``Optimizer.dumps()``: the constructor arguments as ``'["name", {kwargs}]'``, read back by
``mx.optimizer.create`` into an equal optimizer, for every registered built-in and for
user-registered optimizers; arguments without a JSON form raise a ValueError naming them."""

from __future__ import annotations

import json
import math
import pickle

import numpy as np
import pytest

import mxlite as mx

# registry name -> a few non-default hyperparameters (plus base-class ones)
CASES = {
    "adadelta": {"rho": 0.8, "epsilon": 1e-6, "wd": 0.01},
    "adagrad": {"eps": 1e-6, "learning_rate": 0.05, "clip_gradient": 2.0},
    "adam": {"learning_rate": 0.01, "beta1": 0.8, "beta2": 0.99, "lazy_update": False},
    "adamw": {"learning_rate": 0.01, "beta1": 0.85, "wd": 0.1},
    "adamax": {"learning_rate": 0.003, "beta2": 0.95, "rescale_grad": 0.5},
    "ccsgd": {"momentum": 0.7, "learning_rate": 0.2},
    "dcasgd": {"momentum": 0.5, "lamda": 0.1, "wd": 0.001},
    "ftml": {"beta1": 0.5, "beta2": 0.99, "epsilon": 1e-7},
    "ftrl": {"lamda1": 0.02, "learning_rate": 0.2, "beta": 2},
    "groupadagrad": {"eps": 1e-4, "learning_rate": 0.3},
    "lamb": {"beta1": 0.8, "lower_bound": 0.1, "upper_bound": 5.0, "bias_correction": False},
    "lars": {"momentum": 0.9, "eta": 0.01, "eps": 1e-8, "momentum_correction": False},
    "lbsgd": {"momentum": 0.9, "warmup_strategy": "power2", "warmup_epochs": 3,
              "batch_scale": 2, "multi_precision": True},
    "nadam": {"learning_rate": 0.002, "schedule_decay": 0.01},
    "nag": {"momentum": 0.8, "clip_gradient": 1.0, "begin_num_update": 3},
    "rmsprop": {"gamma1": 0.8, "gamma2": 0.7, "centered": True, "clip_weights": 3.0},
    "sgd": {"momentum": 0.9, "lazy_update": False, "wd": 1e-4, "multi_precision": True},
    "sgld": {"learning_rate": 0.05, "wd": 0.02},
    "signum": {"learning_rate": 0.02, "momentum": 0.8, "wd_lh": 0.01},
    "test": {"learning_rate": 0.5, "rescale_grad": 2.0},
}


def _attrs(opt) -> dict:
    """The optimizer's attributes that describe it (not the recorded arguments, not caches)."""
    return {k: v for k, v in vars(opt).items() if k not in ("_ctor_args", "_ctor_dump", "_tables")}


def _same(a, b) -> None:
    assert type(a) is type(b)
    assert _attrs(a) == _attrs(b)


def test_every_registered_builtin_has_a_case():
    builtins = {name for name, cls in mx.optimizer.Optimizer.opt_registry.items()
                if getattr(mx.optimizer, cls.__name__, None) is cls}  # not ones tests register
    assert set(CASES) == builtins


@pytest.mark.parametrize("name", sorted(CASES), ids=sorted(CASES))
def test_round_trip(name):
    kwargs = CASES[name]
    opt = mx.optimizer.create(name, **kwargs)
    text = opt.dumps()
    assert json.loads(text) == [name, kwargs]
    again = mx.optimizer.create(text)
    _same(opt, again)
    for key, value in kwargs.items():  # the hyperparameters themselves came back
        attr = {"learning_rate": "lr", "eps": "float_stable_eps"}.get(key, key)
        if hasattr(opt, attr):
            assert getattr(again, attr) == value
    assert again.dumps() == text


@pytest.mark.parametrize("name", sorted(CASES), ids=sorted(CASES))
def test_defaults_dump_empty(name):
    opt = mx.optimizer.create(name)
    assert opt.dumps() == json.dumps([name, {}])
    _same(opt, mx.optimizer.create(opt.dumps()))


def test_positional_arguments_are_named():
    opt = mx.optimizer.SGD(0.9, False, learning_rate=0.3)
    assert json.loads(opt.dumps()) == ["sgd", {"momentum": 0.9, "lazy_update": False,
                                               "learning_rate": 0.3}]
    _same(opt, mx.optimizer.create(opt.dumps()))


def test_numpy_scalars_become_numbers():
    opt = mx.optimizer.Adam(learning_rate=np.float32(0.5), beta1=np.float64(0.8))
    assert json.loads(opt.dumps()) == ["adam", {"learning_rate": 0.5, "beta1": 0.8}]


def test_create_kwargs_override_the_dump():
    text = mx.optimizer.Adam(learning_rate=0.01, beta1=0.8).dumps()
    opt = mx.optimizer.create(text, beta1=0.7)
    assert (opt.lr, opt.beta1) == (0.01, 0.7)


@pytest.mark.parametrize(
    "idx2name",
    [{0: "fc_weight", 1: "fc_bias"}, {"fc_weight": "fc_weight", "b": "fc_bias"},
     {0: "fc_weight", "x": "fc_bias"}],
    ids=["int_keys", "str_keys", "mixed_keys"],
)
def test_param_idx2name_keys_survive(idx2name):
    opt = mx.optimizer.SGD(param_idx2name=idx2name, wd=0.1)
    again = mx.optimizer.create(opt.dumps())
    assert again.idx2name == idx2name
    assert [type(k) for k in again.idx2name] == [type(k) for k in idx2name]
    assert again.wd_mult == opt.wd_mult == {"fc_bias": 0.0}


def test_user_registered_optimizer_gets_dumps():
    @mx.optimizer.Optimizer.register
    class DumpsUserOpt(mx.optimizer.Optimizer):
        def __init__(self, alpha=1.0, mode="fast", **kwargs):
            super().__init__(**kwargs)
            self.alpha, self.mode = alpha, mode

        def update(self, index, weight, grad, state):
            weight[:] = weight - self.alpha * grad

    try:
        opt = DumpsUserOpt(2.5, mode="slow", wd=0.3)
        text = opt.dumps()
        assert json.loads(text) == ["dumpsuseropt", {"alpha": 2.5, "mode": "slow", "wd": 0.3}]
        again = mx.optimizer.create(text)
        _same(opt, again)
        assert (again.alpha, again.mode, again.wd) == (2.5, "slow", 0.3)
    finally:
        del mx.optimizer.Optimizer.opt_registry["dumpsuseropt"]


def test_unregistered_subclass_raises():
    class NotRegistered(mx.optimizer.SGD):
        pass

    with pytest.raises(ValueError, match="cannot dump optimizer NotRegistered: it is not regist"):
        NotRegistered().dumps()


def test_lr_scheduler_raises_naming_it():
    sched = mx.lr_scheduler.FactorScheduler(step=10, factor=0.5, base_lr=0.1)
    opt = mx.optimizer.SGD(lr_scheduler=sched, momentum=0.9)
    with pytest.raises(ValueError, match=r"cannot dump optimizer argument lr_scheduler=.*"
                                         r"schedulers have no JSON form"):
        opt.dumps()
    # the documented way back: dump without the scheduler, hand it to create() again
    again = mx.optimizer.create(mx.optimizer.SGD(momentum=0.9).dumps(), lr_scheduler=sched)
    assert again.lr_scheduler is sched and again.momentum == 0.9


class _FakeSymbol:
    def attr_dict(self):
        return {}

    def list_arguments(self):
        return []


class _Param:
    lr_mult = 1.0
    wd_mult = 1.0


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"sym": _FakeSymbol()}, r"cannot dump optimizer argument sym=.*_FakeSymbol has no JSON"),
        ({"param_dict": {0: _Param()}},
         r"cannot dump optimizer argument param_dict: dict keys \[0\] are not strings"),
        ({"param_dict": {"w": _Param()}},
         r"cannot dump optimizer argument param_dict=.*_Param has no JSON form"),
        ({"param_idx2name": {(0, 1): "w_weight"}},
         r"cannot dump optimizer argument param_idx2name: dict keys \[\(0, 1\)\] are not"),
    ],
    ids=["sym", "param_dict_int_keys", "param_dict_str_keys", "param_idx2name_tuple_key"],
)
def test_unrepresentable_arguments_raise(kwargs, message):
    opt = mx.optimizer.SGD(**kwargs)
    with pytest.raises(ValueError, match=message):
        opt.dumps()


def test_empty_param_dict_and_none_sym_dump():
    opt = mx.optimizer.SGD(param_dict={}, sym=None)
    assert json.loads(opt.dumps()) == ["sgd", {"param_dict": {}, "sym": None}]


def test_infinite_hyperparameter_round_trips():
    opt = mx.optimizer.SGD(clip_gradient=math.inf)
    assert mx.optimizer.create(opt.dumps()).clip_gradient == math.inf


def test_dumps_survives_pickle_and_saved_states():
    opt = mx.optimizer.Adam(learning_rate=0.01, beta1=0.8, param_idx2name={0: "w_weight"})
    text = opt.dumps()
    assert pickle.loads(pickle.dumps(opt)).dumps() == text
    upd = mx.optimizer.get_updater(opt)
    upd(0, mx.nd.ones((2,)), mx.nd.ones((2,)))
    other = mx.optimizer.get_updater(mx.optimizer.SGD())
    other.set_states(upd.get_states(dump_optimizer=True))
    assert other.optimizer.dumps() == text
    # an argument without a JSON form keeps raising after a round trip through saved states
    bad = mx.optimizer.get_updater(mx.optimizer.SGD(sym=_FakeSymbol()))
    other.set_states(bad.get_states(dump_optimizer=True))
    with pytest.raises(ValueError, match="argument sym="):
        other.optimizer.dumps()


def test_malformed_json_still_reports():
    with pytest.raises(ValueError, match="malformed optimizer JSON"):
        mx.optimizer.create('["adam", {"beta1": }]')
    with pytest.raises(ValueError, match="param_idx2name must be a list of"):
        mx.optimizer.create('["sgd", {"param_idx2name": [[0, "a", 1]]}]')
