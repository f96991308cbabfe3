"""The optimizer test table: one :class:`OptimizerInfo` per registered built-in optimizer.

Every generic optimizer test reads this table (in the style of PyTorch's ``OptimizerInfo`` in
``torch/testing/_internal/common_optimizers.py``):

* ``variants``: constructor inputs, id -> kwargs (the configurations each test runs);
* ``errors``: bad constructor inputs with the exact exception and message;
* ``accepts``: unusual constructor inputs MXNet accepts that must keep working;
* ``golden``: the fixture cases of ``tools/gen_golden_optimizer.py`` that pin it to MXNet 1.9.1
  (``tests/golden/optimizer.json``, or ``optimizer_rowwise.json`` for 2-D-only optimizers), or
  ``golden_reason`` why there are none;
* ``force``: kwargs every configuration of it needs (GroupAdaGrad: no weight decay), and
  ``shapes`` (GroupAdaGrad: 2-D weights).

A new optimizer is covered by every generic test once its entry exists;
``test_every_registered_optimizer_has_an_entry`` fails until it does.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

import mxlite as mx

SHAPES = ((4, 5), (5,), (3, 2))
SHAPES_2D = ((4, 5), (3, 2), (2, 7))


class FakeSymbol:
    def attr_dict(self):
        return {"fc_weight": {"__lr_mult__": "2.0"}, "fc_bias": {"__wd_mult__": "0.5"}}

    def list_arguments(self):
        return ["fc_weight", "fc_bias", "bn_gamma"]


NAMES = {0: "fc_weight", 1: "fc_bias", 2: "bn_gamma"}

# config -> (dtype, extra kwargs): dtype, weight decay, rescale, clipping, schedule,
# multipliers, multi-precision
CONFIGS = {
    "plain": ("float64", {}),
    "wd_rescale_clip": ("float64", {"wd": 0.1, "rescale_grad": 0.5, "clip_gradient": 0.8}),
    "scheduler": ("float64", {"lr_scheduler": "factor"}),
    "multipliers": ("float64", {"wd": 0.1, "param_idx2name": NAMES, "sym": "fake"}),
    "float16_mp": ("float16", {"multi_precision": True, "wd": 0.01}),
}
CONFIG_IDS = list(CONFIGS)


@dataclass(frozen=True)
class ErrorInput:
    """Constructor kwargs that must raise ``exc`` with a message matching ``match``."""

    kwargs: dict
    exc: type
    match: str


@dataclass(frozen=True)
class OptimizerInfo:
    name: str  # registered name
    variants: dict  # variant id -> constructor kwargs
    errors: tuple = ()
    accepts: tuple = ()  # kwargs dicts that must construct and update
    golden: tuple = ()  # fixture case names (the 'optimizer' field of tests/golden/optimizer.json)
    golden_reason: str = ""  # why there are no golden cases
    force: dict = field(default_factory=dict)
    shapes: tuple = SHAPES
    list_equals_index: bool = True  # the list form and the per-index form give the same numbers


def _err(exc, match, **kwargs):
    return ErrorInput(kwargs, exc, match)


def _nan_error(name):
    return _err(ValueError, rf"{name} must be in \[0, 1\), got nan", **{name: math.nan})


# errors every optimizer raises (checked by the base class or the engine)
COMMON_ERRORS = (
    _err(ValueError, r"learning_rate must be a finite number, got inf", learning_rate=math.inf),
    _err(ValueError, r"learning_rate must be >= 0, got -0\.5", learning_rate=-0.5),
    _err(ValueError, r"rescale_grad must be a finite number, got nan", rescale_grad=math.nan),
    _err(ValueError, r"rescale_grad must be a finite number, got -inf", rescale_grad=-math.inf),
    _err(ValueError, r"clip_gradient must be a number \(< 0 or None: no clipping\), got nan",
         clip_gradient=math.nan),
    _err(ValueError, r"wd must be >= 0, got nan", wd=math.nan),
    _err(ValueError, r"wd must be a finite number, got inf", wd=math.inf),
    _err(TypeError, r"multi_precision must be a bool, got 'yes'", multi_precision="yes"),
    _err(TypeError, r"use_fused_step must be a bool, got 'no'", use_fused_step="no"),
    _err(TypeError, r"begin_num_update must be an integer, got 'x'", begin_num_update="x"),
    _err(ValueError, r"begin_num_update must be an integer, got 1\.5", begin_num_update=1.5),
)
# what MXNet accepts and works, for every optimizer
COMMON_ACCEPTS = (
    {"clip_gradient": -1.0},  # negative: no clipping
    {"clip_gradient": math.inf},
    {"rescale_grad": np.float32(0.5), "wd": np.float64(0.0)},  # NumPy scalars
    {"begin_num_update": 2.0},  # an integral float is a count
    {"begin_num_update": np.int64(3), "multi_precision": np.bool_(False)},
    {"use_fused_step": False},
)

MOMENTUM_ERRORS = (
    _err(ValueError, r"momentum must be in \[0, 1\), got 1\.0", momentum=1.0),
    _err(ValueError, r"momentum must be >= 0, got -0\.1", momentum=-0.1),
    _err(ValueError, r"momentum must be >= 0, got nan", momentum=math.nan),
)
BETA_ERRORS = (
    _nan_error("beta1"),
    _nan_error("beta2"),
    _err(ValueError, r"beta1 must be in \[0, 1\), got 1\.0", beta1=1.0),
    _err(ValueError, r"epsilon must be a finite number, got inf", epsilon=math.inf),
)

OPTIM_DB = [
    OptimizerInfo(
        "sgd",
        {"sgd": {"learning_rate": 0.1}, "sgd_momentum": {"learning_rate": 0.1, "momentum": 0.9}},
        errors=MOMENTUM_ERRORS,
        accepts=({"momentum": np.float64(0.999)},),
        golden=("sgd", "sgd_momentum"),
    ),
    OptimizerInfo(
        "ccsgd", {"ccsgd": {"learning_rate": 0.1, "momentum": 0.5}},
        errors=MOMENTUM_ERRORS[:1], golden=("ccsgd",),
    ),
    OptimizerInfo(
        "nag",
        {"nag": {"learning_rate": 0.1}, "nag_momentum": {"learning_rate": 0.1, "momentum": 0.9}},
        errors=MOMENTUM_ERRORS, golden=("nag", "nag_momentum"),
    ),
    OptimizerInfo(
        "adam", {"adam": {"learning_rate": 0.05}}, errors=BETA_ERRORS, golden=("adam",),
        accepts=({"beta1": 0.0, "beta2": 0.0, "epsilon": 0.0},),
    ),
    OptimizerInfo("adamw", {"adamw": {"learning_rate": 0.05}}, errors=BETA_ERRORS,
                  golden=("adamw",)),
    OptimizerInfo(
        "rmsprop",
        {"rmsprop": {"learning_rate": 0.01},
         "rmsprop_centered": {"learning_rate": 0.01, "centered": True, "clip_weights": 5.0}},
        errors=(_nan_error("gamma1"), _nan_error("gamma2"),
                _err(ValueError, r"clip_weights must be >= 0, got nan", clip_weights=math.nan)),
        accepts=({"clip_weights": math.inf},),
        golden=("rmsprop", "rmsprop_centered"),
    ),
    OptimizerInfo(
        "adagrad", {"adagrad": {"learning_rate": 0.3}},
        errors=(_err(ValueError, r"eps must be >= 0, got nan", eps=math.nan),),
        golden=("adagrad",),
    ),
    OptimizerInfo(
        "adadelta", {"adadelta": {"rho": 0.9, "epsilon": 1e-3}},
        errors=(_nan_error("rho"),
                _err(ValueError, r"epsilon must be a finite number, got inf", epsilon=math.inf)),
        golden=("adadelta",),
    ),
    OptimizerInfo("adamax", {"adamax": {"learning_rate": 0.05}}, errors=BETA_ERRORS[:3],
                  golden=("adamax",)),
    OptimizerInfo(
        "nadam", {"nadam": {"learning_rate": 0.05}},
        errors=(*BETA_ERRORS, _err(ValueError, r"schedule_decay must be >= 0, got nan",
                                   schedule_decay=math.nan)),
        golden=("nadam",),
    ),
    OptimizerInfo(
        "dcasgd",
        {"dcasgd": {"learning_rate": 0.1},
         "dcasgd_momentum": {"learning_rate": 0.1, "momentum": 0.9}},
        errors=(*MOMENTUM_ERRORS,
                _err(ValueError, r"lamda must be a finite number, got inf", lamda=math.inf)),
        golden=("dcasgd", "dcasgd_momentum"),
    ),
    OptimizerInfo(
        "sgld", {"sgld": {"learning_rate": 0.01}},
        golden_reason="its noise comes from mxlite's generator, not MXNet's",
    ),
    OptimizerInfo(
        "signum",
        {"signsgd": {"learning_rate": 0.02, "momentum": 0.0, "wd_lh": 0.01},
         "signum": {"learning_rate": 0.02, "momentum": 0.9, "wd_lh": 0.01}},
        errors=(*MOMENTUM_ERRORS,
                _err(ValueError, r"wd_lh must be >= 0, got nan", wd_lh=math.nan)),
        golden=("signsgd", "signum"),
    ),
    OptimizerInfo("ftml", {"ftml": {"learning_rate": 0.1}}, errors=BETA_ERRORS,
                  golden=("ftml",)),
    OptimizerInfo(
        "ftrl", {"ftrl": {"learning_rate": 0.5, "lamda1": 0.001}},
        errors=(_err(ValueError, r"lamda1 must be >= 0, got nan", lamda1=math.nan),
                _err(ValueError, r"beta must be a finite number, got inf", beta=math.inf),
                _err(ValueError, r"learning_rate must be a finite number, got inf",
                     learning_rate=math.inf)),
        accepts=({"lamda1": 0.0, "beta": 0},),
        golden=("ftrl",),
    ),
    OptimizerInfo(
        "lbsgd",
        {"lbsgd": {"learning_rate": 0.1, "momentum": 0.9},
         "lbsgd_accumulate": {"learning_rate": 0.1, "batch_scale": 2, "warmup_epochs": 1,
                              "updates_per_epoch": 3, "warmup_strategy": "power2"},
         "lbsgd_lars": {"learning_rate": 0.1, "warmup_strategy": "lars"}},
        errors=(*MOMENTUM_ERRORS,
                _err(ValueError, "warmup_strategy must be one of linear, power2, sqrt, lars, "
                     "got 'cubic'", warmup_strategy="cubic"),
                _err(ValueError, "batch_scale must be >= 1, got 0", batch_scale=0),
                _err(ValueError, r"batch_scale must be an integer, got 2\.5", batch_scale=2.5),
                _err(ValueError, r"warmup_epochs must be >= 0, got nan", warmup_epochs=math.nan)),
        accepts=({"batch_scale": 2.0, "updates_per_epoch": np.int64(4)},),
        golden=("lbsgd", "lbsgd_scaled", "lbsgd_lars"),
    ),
    OptimizerInfo(
        "lars", {"lars": {"learning_rate": 0.5, "momentum": 0.9, "eta": 0.1}},
        errors=(*MOMENTUM_ERRORS,
                _err(ValueError, r"eta must be >= 0, got nan", eta=math.nan),
                _err(ValueError, r"eps must be a finite number, got inf", eps=math.inf)),
        golden=("lars",),
        list_equals_index=False,  # its momentum correction depends on the call grouping (MXNet)
    ),
    OptimizerInfo(
        "lamb",
        {"lamb": {"learning_rate": 0.05},
         "lamb_bounded": {"learning_rate": 0.05, "bias_correction": False, "lower_bound": 0.1,
                          "upper_bound": 10.0}},
        errors=(*BETA_ERRORS,
                _err(ValueError, r"lower_bound must be <= upper_bound, got lower_bound=2\.0, "
                     r"upper_bound=1\.0", lower_bound=2.0, upper_bound=1.0),
                _err(ValueError, r"lower_bound must be >= 0, got nan", lower_bound=math.nan)),
        accepts=({"lower_bound": 1.0, "upper_bound": 1.0}, {"upper_bound": math.inf}),
        golden=("lamb", "lamb_bounded"),
    ),
    OptimizerInfo("test", {"test": {"rescale_grad": -0.5}}, golden=("test",)),
    OptimizerInfo(
        "groupadagrad", {"groupadagrad": {"learning_rate": 0.3}},
        errors=(_err(ValueError, r"eps must be >= 0, got nan", eps=math.nan),),
        force={"wd": 0.0}, shapes=SHAPES_2D,
        golden=("groupadagrad",),  # in optimizer_rowwise.json (2-D weights)
    ),
]

INFOS = {info.name: info for info in OPTIM_DB}
# variant id -> (info, constructor kwargs)
VARIANTS = {vid: (info, kw) for info in OPTIM_DB for vid, kw in info.variants.items()}
VARIANT_IDS = sorted(VARIANTS)


def make(variant, config="plain", **override):
    """The optimizer of ``variant`` in ``config``, and the config's dtype."""
    info, kwargs = VARIANTS[variant]
    dtype, extra = CONFIGS[config]
    kw = {**kwargs, **extra, **info.force, **override}
    if kw.get("lr_scheduler") == "factor":
        kw["lr_scheduler"] = mx.lr_scheduler.FactorScheduler(
            step=2, factor=0.5, base_lr=kw.get("learning_rate", 0.01))
    if kw.get("sym") == "fake":
        kw["sym"] = FakeSymbol()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mx.optimizer.create(info.name, **kw), dtype


def data(dtype, steps=4, seed=0, shapes=SHAPES):
    rng = np.random.default_rng(seed)
    w0 = [rng.standard_normal(s).astype(dtype) for s in shapes]
    grads = [[(rng.standard_normal(s) * 1.5).astype(dtype) for s in shapes] for _ in range(steps)]
    return w0, grads
