"""Loader for tests/golden/optimizer.{npz,json} (see tools/gen_golden_optimizer.py)."""

from __future__ import annotations

import json
import os
from functools import lru_cache

import numpy as np

import mxlite as mx

GOLDEN = os.path.join(os.path.dirname(__file__), "..", "golden")

# fixture case -> mxlite optimizer name (the generator's stand-ins map to our classes)
MXLITE_NAME = {"goldenadamw": "adamw", "goldendcasgd": "dcasgd"}


@lru_cache(maxsize=1)
def load():
    with open(os.path.join(GOLDEN, "optimizer.json")) as f:
        meta = json.load(f)
    with np.load(os.path.join(GOLDEN, "optimizer.npz"), allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    return meta, arrays


class FakeSymbol:
    """The two methods of a Symbol the optimizer reads."""

    def __init__(self, attr_dict, arguments):
        self._attr = attr_dict
        self._args = arguments

    def attr_dict(self):
        return self._attr

    def list_arguments(self):
        return list(self._args)


def build(meta, case):
    """Optimizer and config of fixture ``case`` (a meta['cases'] entry), as the generator did."""
    config = meta["configs"][case["config"]]
    kw = dict(case["kwargs"])
    kw.update(config["kwargs"])
    if kw.get("lr_scheduler") == "factor":
        sched = meta["scheduler"]
        kw["lr_scheduler"] = mx.lr_scheduler.FactorScheduler(
            step=sched["step"], factor=sched["factor"], base_lr=kw.get("learning_rate", 0.01))
    if config["multipliers"]:
        kw["param_idx2name"] = dict(enumerate(meta["names"]))
        kw["sym"] = FakeSymbol(meta["symbol"]["attr_dict"], meta["symbol"]["list_arguments"])
    name = MXLITE_NAME.get(case["mxnet_optimizer"], case["mxnet_optimizer"])
    opt = mx.optimizer.create(name, **kw)
    if config["multipliers"]:
        opt.set_lr_mult(dict(meta["extra_mults"]["lr_mult"]))
        opt.set_wd_mult(dict(meta["extra_mults"]["wd_mult"]))
    return opt, config["dtype"]


def split(flat, shapes, dtype):
    out, pos = [], 0
    for s in shapes:
        n = int(np.prod(s))
        out.append(flat[pos:pos + n].reshape(s).astype(dtype))
        pos += n
    return out


def flatten_state(state, out):
    if state is None:
        return
    if isinstance(state, mx.nd.NDArray):
        out.append(state.asnumpy().astype(np.float64).ravel())
        return
    for s in state:
        flatten_state(s, out)
