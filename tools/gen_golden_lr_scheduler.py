"""Record MXNet 1.9.1's learning-rate schedules into tests/golden/lr_scheduler.json.

Run with the MXNet reference interpreter (numpy<1.24, mxnet==1.9.1):

    /tmp/mxref/bin/python tools/gen_golden_lr_scheduler.py

Each case builds one scheduler, optionally sets ``base_lr`` afterwards (what an optimizer given
``learning_rate`` does), calls it on a sequence of ``num_update`` values (with jumps, repeats and
steps back) and records the lrs returned, the ``logging`` messages emitted, and the scheduler's
state afterwards. ``errors`` records which constructor arguments MXNet rejects (and how).
tests/test_lr_scheduler.py replays the same table against mxlite.
"""

from __future__ import annotations

import json
import logging
import os
import sys

import mxnet as mx

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "golden", "lr_scheduler.json")

def seq(*parts):
    """Concatenate ints and ranges given as (start, stop[, step]) tuples."""
    out = []
    for p in parts:
        out.extend(range(*p) if isinstance(p, tuple) else [p])
    return out


WARM_LIN = {"warmup_steps": 4, "warmup_begin_lr": 0.01, "warmup_mode": "linear"}
WARM_CONST = {"warmup_steps": 4, "warmup_begin_lr": 0.01, "warmup_mode": "constant"}

# (id, class, kwargs, calls, set_base_lr or None)
CASES = [
    # FactorScheduler: stateful, first decay at step + 1, clamp at stop_factor_lr
    ("factor-basic", "FactorScheduler", {"step": 2, "factor": 0.5, "base_lr": 1.0},
     seq((0, 13)), None),
    ("factor-default-factor", "FactorScheduler", {"step": 3}, seq((0, 11)), None),
    ("factor-stop", "FactorScheduler",
     {"step": 2, "factor": 0.1, "stop_factor_lr": 1e-3, "base_lr": 1.0},
     [0, 1, 2, 3, 4, 5, 9, 3, 12, 20], None),
    ("factor-default-stop", "FactorScheduler", {"step": 1, "factor": 0.5, "base_lr": 1e-6},
     seq((1, 13)), None),
    ("factor-jumps", "FactorScheduler", {"step": 10, "factor": 0.9, "base_lr": 0.1},
     [1, 5, 50, 50, 10, 51, 100, 1000, 1001, 1010, 1011], None),
    ("factor-float-step", "FactorScheduler", {"step": 2.5, "factor": 0.5, "base_lr": 1.0},
     seq((0, 12)), None),
    ("factor-int-base-lr", "FactorScheduler", {"step": 2, "factor": 0.5, "base_lr": 1},
     seq((0, 6)), None),
    ("factor-warmup-linear", "FactorScheduler",
     {"step": 5, "factor": 0.5, "base_lr": 0.1, **WARM_LIN}, seq((0, 16), 2, 20), None),
    ("factor-warmup-constant", "FactorScheduler",
     {"step": 5, "factor": 0.5, "base_lr": 0.1, **WARM_CONST}, seq((0, 16), 2, 20), None),
    ("factor-warmup-jump", "FactorScheduler",
     {"step": 3, "factor": 0.7, "base_lr": 0.2, "warmup_steps": 5}, [0, 3, 40, 1, 41], None),
    ("factor-set-base-lr", "FactorScheduler", {"step": 3, "factor": 0.5, "base_lr": 0.01},
     seq((1, 11)), 0.4),
    ("factor-set-base-lr-warmup", "FactorScheduler",
     {"step": 3, "factor": 0.5, "base_lr": 0.01, "warmup_steps": 4},
     seq((0, 11)), 0.4),
    # MultiFactorScheduler
    ("multifactor-basic", "MultiFactorScheduler",
     {"step": [3, 5, 9], "factor": 0.1, "base_lr": 1.0}, seq((0, 13)), None),
    ("multifactor-default-factor", "MultiFactorScheduler", {"step": [2, 4]}, seq((0, 7)), None),
    ("multifactor-jumps", "MultiFactorScheduler",
     {"step": [3, 5, 9], "factor": 0.5, "base_lr": 0.3}, [1, 10, 4, 11, 3, 100], None),
    ("multifactor-boundaries", "MultiFactorScheduler",
     {"step": [3, 4, 6], "factor": 0.25, "base_lr": 2.0}, [3, 3, 4, 4, 5, 6, 6, 7, 7], None),
    ("multifactor-single", "MultiFactorScheduler",
     {"step": [1], "factor": 0.9, "base_lr": 0.05}, [0, 1, 2, 3], None),
    ("multifactor-warmup-linear", "MultiFactorScheduler",
     {"step": [6, 8], "factor": 0.5, "base_lr": 0.1, **WARM_LIN}, seq((0, 12), 1, 13), None),
    ("multifactor-warmup-constant", "MultiFactorScheduler",
     {"step": [6, 8], "factor": 0.5, "base_lr": 0.1, **WARM_CONST}, seq((0, 12), 1, 13), None),
    ("multifactor-set-base-lr", "MultiFactorScheduler",
     {"step": [2, 5], "factor": 0.1, "base_lr": 0.01}, seq((1, 8)), 0.5),
    # PolyScheduler
    ("poly-default", "PolyScheduler", {"max_update": 10, "base_lr": 1.0}, seq((0, 13)), None),
    ("poly-pwr1-final", "PolyScheduler",
     {"max_update": 10, "base_lr": 1.0, "pwr": 1, "final_lr": 0.1}, seq((0, 13)), None),
    ("poly-pwr-half-warmup-linear", "PolyScheduler",
     {"max_update": 12, "base_lr": 0.1, "pwr": 0.5, "final_lr": 0.001, **WARM_LIN},
     seq((0, 15)), None),
    ("poly-pwr3-warmup-constant", "PolyScheduler",
     {"max_update": 12, "base_lr": 0.1, "pwr": 3, **WARM_CONST}, seq((0, 15)), None),
    ("poly-jumps-within", "PolyScheduler",
     {"max_update": 10, "base_lr": 0.5, "final_lr": 0.05}, [0, 7, 3, 10, 10, 2], None),
    ("poly-long", "PolyScheduler",
     {"max_update": 1000, "base_lr": 0.1, "pwr": 2, "final_lr": 1e-4, "warmup_steps": 50},
     seq((0, 1001, 37), 1000), None),
    ("poly-past-max-first", "PolyScheduler",
     {"max_update": 10, "base_lr": 1.0, "final_lr": 0.1}, [20, 5, 20], None),
    ("poly-past-max-after-warmup", "PolyScheduler",
     {"max_update": 10, "base_lr": 1.0, "warmup_steps": 3}, [1, 2, 30], None),
    ("poly-set-base-lr", "PolyScheduler",
     {"max_update": 8, "base_lr": 0.01, "warmup_steps": 2}, seq((0, 10)), 0.4),
    # CosineScheduler
    ("cosine-default", "CosineScheduler", {"max_update": 10, "base_lr": 1.0}, seq((0, 13)),
     None),
    ("cosine-final", "CosineScheduler",
     {"max_update": 10, "base_lr": 1.0, "final_lr": 0.1}, seq((0, 13)), None),
    ("cosine-warmup-linear", "CosineScheduler",
     {"max_update": 12, "base_lr": 0.1, "final_lr": 0.001, **WARM_LIN}, seq((0, 15)), None),
    ("cosine-warmup-constant", "CosineScheduler",
     {"max_update": 12, "base_lr": 0.1, **WARM_CONST}, seq((0, 15)), None),
    ("cosine-warmup-zero-begin", "CosineScheduler",
     {"max_update": 9, "base_lr": 0.3, "warmup_steps": 3}, seq((0, 11)), None),
    ("cosine-jumps-within", "CosineScheduler",
     {"max_update": 10, "base_lr": 0.5, "final_lr": 0.05}, [0, 7, 3, 10, 10, 2], None),
    ("cosine-long", "CosineScheduler",
     {"max_update": 1000, "base_lr": 0.1, "final_lr": 1e-4, "warmup_steps": 50},
     seq((0, 1001, 37), 1000), None),
    ("cosine-past-max-first", "CosineScheduler",
     {"max_update": 10, "base_lr": 1.0, "final_lr": 0.1}, [20, 5, 20], None),
    ("cosine-set-base-lr", "CosineScheduler",
     {"max_update": 8, "base_lr": 0.01, "warmup_steps": 2}, seq((0, 10)), 0.4),
]

# (id, class, kwargs): constructor calls; MXNet's outcome is recorded
ERRORS = [
    ("factor-step-0", "FactorScheduler", {"step": 0}),
    ("factor-step-half", "FactorScheduler", {"step": 0.5}),
    ("factor-factor-above-1", "FactorScheduler", {"step": 2, "factor": 1.5}),
    ("factor-factor-0", "FactorScheduler", {"step": 2, "factor": 0.0}),
    ("factor-factor-negative", "FactorScheduler", {"step": 2, "factor": -0.5}),
    ("factor-base-lr-negative", "FactorScheduler", {"step": 2, "base_lr": -0.1}),
    ("factor-stop-above-base", "FactorScheduler", {"step": 2, "stop_factor_lr": 0.5}),
    ("warmup-begin-above-base", "FactorScheduler",
     {"step": 2, "base_lr": 0.1, "warmup_begin_lr": 0.2}),
    ("warmup-steps-negative", "FactorScheduler", {"step": 2, "warmup_steps": -1}),
    ("warmup-steps-float", "FactorScheduler", {"step": 2, "warmup_steps": 2.0}),
    ("warmup-mode-unknown", "FactorScheduler", {"step": 2, "warmup_mode": "cosine"}),
    ("multifactor-empty", "MultiFactorScheduler", {"step": []}),
    ("multifactor-not-list", "MultiFactorScheduler", {"step": 5}),
    ("multifactor-decreasing", "MultiFactorScheduler", {"step": [5, 3]}),
    ("multifactor-repeated", "MultiFactorScheduler", {"step": [3, 3]}),
    ("multifactor-step-0", "MultiFactorScheduler", {"step": [0, 3]}),
    ("multifactor-factor-above-1", "MultiFactorScheduler", {"step": [2], "factor": 2.0}),
    ("multifactor-factor-0", "MultiFactorScheduler", {"step": [2], "factor": 0}),
    ("poly-max-update-0", "PolyScheduler", {"max_update": 0}),
    ("poly-max-update-float", "PolyScheduler", {"max_update": 10.0}),
    ("poly-pwr-0", "PolyScheduler", {"max_update": 10, "pwr": 0}),
    ("poly-pwr-negative", "PolyScheduler", {"max_update": 10, "pwr": -1}),
    ("poly-warmup-equals-max", "PolyScheduler", {"max_update": 5, "warmup_steps": 5}),
    ("poly-final-negative", "PolyScheduler", {"max_update": 5, "final_lr": -0.1}),
    ("cosine-max-update-0", "CosineScheduler", {"max_update": 0}),
    ("cosine-warmup-above-max", "CosineScheduler", {"max_update": 5, "warmup_steps": 7}),
    ("cosine-base-lr-negative", "CosineScheduler", {"max_update": 5, "base_lr": -1.0}),
]


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def run_case(cid, cls, kwargs, calls, set_base_lr):
    handler = _Collect()
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        sched = getattr(mx.lr_scheduler, cls)(**kwargs)
        if set_base_lr is not None:
            sched.base_lr = set_base_lr
        lrs = [float(sched(n)) for n in calls]
    finally:
        root.removeHandler(handler)
    state = {"base_lr": float(sched.base_lr)}
    for attr in ("count", "cur_step_ind"):
        if hasattr(sched, attr):
            state[attr] = getattr(sched, attr)
    return {
        "id": cid, "cls": cls, "kwargs": kwargs, "set_base_lr": set_base_lr, "calls": calls,
        "lrs": lrs, "logs": handler.messages, "state": state,
    }


def run_error(cid, cls, kwargs):
    try:
        getattr(mx.lr_scheduler, cls)(**kwargs)
    except Exception as err:  # record what MXNet raises, whatever it is
        return {"id": cid, "cls": cls, "kwargs": kwargs,
                "mxnet": type(err).__name__, "message": str(err)}
    return {"id": cid, "cls": cls, "kwargs": kwargs, "mxnet": None, "message": None}


def main():
    data = {
        "mxnet_version": mx.__version__,
        "cases": [run_case(*c) for c in CASES],
        "errors": [run_error(*e) for e in ERRORS],
    }
    lines = ['{"mxnet_version": ' + json.dumps(data["mxnet_version"]) + ",", ' "cases": [']
    lines.append(",\n".join("  " + json.dumps(c) for c in data["cases"]))
    lines.append(' ],\n "errors": [')
    lines.append(",\n".join("  " + json.dumps(e) for e in data["errors"]))
    lines.append(" ]\n}\n")
    text = "\n".join(lines)
    json.loads(text)  # well-formed
    with open(OUT, "w") as f:
        f.write(text)
    print(f"wrote {os.path.normpath(OUT)}: {len(data['cases'])} cases, "
          f"{len(data['errors'])} error cases", file=sys.stderr)


if __name__ == "__main__":
    main()
