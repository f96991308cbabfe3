"""Row-wise optimizers (GroupAdaGrad, 2-D weights) reproduce MXNet 1.9.1 step by step
(fixture ``tests/golden/optimizer_rowwise.json`` from ``tools/gen_golden_optimizer.py``)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import mxlite as mx

from .test_golden import _close

with open(os.path.join(os.path.dirname(__file__), "..", "golden", "optimizer_rowwise.json")) as f:
    META = json.load(f)
CASES = sorted(META["cases"])


def _split(flat, dtype):
    out, pos = [], 0
    for shape in META["shapes"]:
        n = int(np.prod(shape))
        out.append(np.asarray(flat[pos:pos + n]).reshape(shape).astype(dtype))
        pos += n
    return out


@pytest.mark.parametrize("key", CASES, ids=CASES)
def test_matches_mxnet(key):
    case = META["cases"][key]
    if case["status"] != "ok":
        pytest.skip(f"MXNet 1.9.1 fails this case: {case['error']}")
    config = META["configs"][case["config"]]
    dtype = config["dtype"]
    kw = {**case["kwargs"], **config["kwargs"]}
    if kw.get("lr_scheduler") == "factor":
        sched = META["scheduler"]
        kw["lr_scheduler"] = mx.lr_scheduler.FactorScheduler(
            step=sched["step"], factor=sched["factor"], base_lr=kw.get("learning_rate", 0.01))
    upd = mx.optimizer.get_updater(mx.optimizer.create(case["optimizer"], **kw))
    ws = [mx.nd.array(w, dtype=dtype) for w in _split(case["init"], dtype)]
    for step in range(META["steps"]):
        gs = [mx.nd.array(g, dtype=dtype) for g in _split(case["grads"][step], dtype)]
        upd(list(range(len(ws))), gs, ws)
        got = np.concatenate([w.asnumpy().astype(np.float64).ravel() for w in ws])
        _close(got, np.asarray(case["weights"][step]), dtype, f"weights after step {step + 1}")
    states = []
    for i in range(len(ws)):
        state = upd.states[i]
        for s in (state if isinstance(state, tuple) else (state,)):
            states.append(s.asnumpy().astype(np.float64).ravel())
    _close(np.concatenate(states), np.asarray(case["states"]), "float32", "final states")
