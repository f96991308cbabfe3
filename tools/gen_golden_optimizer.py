"""Regenerate tests/golden/optimizer.{npz,json} from MXNet 1.9.1.

Run with the MXNet reference interpreter:  /tmp/mxref/bin/python tools/gen_golden_optimizer.py

For every optimizer case x configuration it records: the initial weights, the gradients of
each step, the weights after each step and the final optimizer states (flattened in MXNet's
state order), all tensors concatenated.  Steps go through ``mx.optimizer.get_updater`` with
the list form (one call per step for all tensors), as a training loop does.
"""

from __future__ import annotations

import json
import math
import os
import sys
import traceback

import mxnet as mx
import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden")
SHAPES = [(4, 5), (5,), (3, 2)]
NAMES = ["fc_weight", "fc_bias", "bn_gamma"]
STEPS = 4
SEED = 1234


# --- optimizers MXNet 1.9.1 lacks or breaks, written here on its own operators ----------------
@mx.optimizer.Optimizer.register
class GoldenAdamW(mx.optimizer.Optimizer):
    """AdamW the way MXNet 2.0 drives contrib.adamw_update: lr=1, eta=bias-corrected lr."""

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta1, self.beta2, self.epsilon = beta1, beta2, epsilon

    def create_state(self, index, weight):
        return (mx.nd.zeros(weight.shape, weight.context, dtype=weight.dtype),
                mx.nd.zeros(weight.shape, weight.context, dtype=weight.dtype))

    def update(self, index, weight, grad, state):
        self._update_count(index)
        lr, wd = self._get_lr(index), self._get_wd(index)
        t = self._index_update_count[index]
        eta = lr * math.sqrt(1.0 - self.beta2**t) / (1.0 - self.beta1**t)
        kw = {"beta1": self.beta1, "beta2": self.beta2, "epsilon": self.epsilon}
        if self.clip_gradient:
            kw["clip_gradient"] = self.clip_gradient
        mean, var = state
        rs = mx.nd.full((1,), self.rescale_grad, weight.context, dtype="float32")
        mx.nd.contrib.adamw_update(weight, grad, mean, var, rs, lr=1.0, eta=eta, wd=wd,
                                   out=weight, **kw)


@mx.optimizer.Optimizer.register
class GoldenDCASGD(mx.optimizer.DCASGD):
    """MXNet 1.9.1's DCASGD with its momentum crash fixed (`if mom:` -> `is not None`)."""

    def update(self, index, weight, grad, state):
        self._update_count(index)
        lr, wd = self._get_lr(index), self._get_wd(index)
        grad = grad * self.rescale_grad
        if self.clip_gradient is not None:
            grad = mx.nd.clip(grad, -self.clip_gradient, self.clip_gradient)
        mom, previous_weight = state
        step = -lr * (grad + wd * weight + self.lamda * grad * grad * (weight - previous_weight))
        if mom is not None:
            mom[:] *= self.momentum
            mom[:] += step
            step = mom
        previous_weight[:] = weight
        weight[:] += step


# name in mxlite, MXNet optimizer name, kwargs.  Each name is claimed by one entry's ``golden`` in
# tests/optimizer/optim_db.py (test_every_golden_case_belongs_to_an_entry checks both ways).
CASES = [
    ("sgd", "sgd", {"learning_rate": 0.1}),
    ("sgd_momentum", "sgd", {"learning_rate": 0.1, "momentum": 0.9}),
    ("ccsgd", "ccsgd", {"learning_rate": 0.1, "momentum": 0.9}),
    ("nag", "nag", {"learning_rate": 0.1}),
    ("nag_momentum", "nag", {"learning_rate": 0.1, "momentum": 0.9}),
    ("adam", "adam", {"learning_rate": 0.01}),
    ("adamw", "goldenadamw", {"learning_rate": 0.01}),
    ("rmsprop", "rmsprop", {"learning_rate": 0.01}),
    ("rmsprop_centered", "rmsprop", {"learning_rate": 0.01, "centered": True,
                                     "clip_weights": 1.5}),
    ("adagrad", "adagrad", {"learning_rate": 0.1}),
    ("adadelta", "adadelta", {"learning_rate": 1.0}),
    ("adamax", "adamax", {"learning_rate": 0.02}),
    ("nadam", "nadam", {"learning_rate": 0.01}),
    ("dcasgd", "dcasgd", {"learning_rate": 0.1}),
    ("dcasgd_momentum", "goldendcasgd", {"learning_rate": 0.1, "momentum": 0.9}),
    ("signsgd", "signum", {"learning_rate": 0.01, "momentum": 0.0}),
    ("signum", "signum", {"learning_rate": 0.01, "momentum": 0.9, "wd_lh": 0.01}),
    ("ftml", "ftml", {"learning_rate": 0.05}),
    ("ftrl", "ftrl", {"learning_rate": 0.1, "lamda1": 0.01}),
    ("lbsgd", "lbsgd", {"learning_rate": 0.1, "momentum": 0.9}),
    ("lbsgd_scaled", "lbsgd", {"learning_rate": 0.1, "batch_scale": 2, "warmup_epochs": 1,
                               "updates_per_epoch": 4, "warmup_strategy": "sqrt"}),
    ("lbsgd_lars", "lbsgd", {"learning_rate": 0.1, "warmup_strategy": "lars"}),
    ("lars", "lars", {"learning_rate": 0.1, "momentum": 0.9, "eta": 0.01}),
    ("lamb", "lamb", {"learning_rate": 0.01}),
    ("lamb_bounded", "lamb", {"learning_rate": 0.01, "bias_correction": False,
                              "lower_bound": 0.5, "upper_bound": 2.0}),
    ("test", "test", {}),
]

# config name -> (dtype, extra optimizer kwargs, multipliers?)
CONFIGS = {
    "plain": ("float32", {}, False),
    "wd_rescale_clip": ("float32", {"wd": 0.1, "rescale_grad": 0.5, "clip_gradient": 0.8},
                        False),
    "scheduler": ("float32", {"lr_scheduler": "factor"}, False),
    "multipliers": ("float32", {"wd": 0.1}, True),
    "float16_mp": ("float16", {"multi_precision": True, "wd": 0.01}, False),
    "float64": ("float64", {"wd": 0.01, "clip_gradient": 1.0}, False),
}


# cases whose MXNet-pickled Updater states (after 2 of the 4 steps) are stored too, as uint8
# arrays, to test Updater.set_states on MXNet's format (read with mxlite's restricted unpickler)
PICKLED_STATES = {("adam", "plain"), ("sgd_momentum", "wd_rescale_clip"), ("nadam", "plain"),
                  ("rmsprop_centered", "plain"), ("sgd_momentum", "float16_mp")}


def symbol():
    return mx.sym.Group([mx.sym.Variable("fc_weight", lr_mult=2.0),
                         mx.sym.Variable("fc_bias", wd_mult=0.5),
                         mx.sym.Variable("bn_gamma")])


def flatten_state(state, out):
    if state is None:
        return
    if isinstance(state, mx.nd.NDArray):
        out.append(state.asnumpy().astype(np.float64).ravel())
        return
    for s in state:
        flatten_state(s, out)


def run_case(name, mx_name, kwargs, config, states_at=None):
    dtype, extra, mults = CONFIGS[config]
    rng = np.random.RandomState(abs(hash((name, config))) % (2**31) if False else SEED)
    weights0 = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    grads = [[(rng.standard_normal(s) * 1.5).astype(dtype) for s in SHAPES]
             for _ in range(STEPS)]
    kw = dict(kwargs)
    kw.update(extra)
    if kw.get("lr_scheduler") == "factor":
        kw["lr_scheduler"] = mx.lr_scheduler.FactorScheduler(
            step=2, factor=0.5, base_lr=kw.get("learning_rate", 0.01))
    if mults:
        kw["param_idx2name"] = dict(enumerate(NAMES))
        kw["sym"] = symbol()
    opt = mx.optimizer.create(mx_name, **kw)
    if mults:
        opt.set_lr_mult({"bn_gamma": 0.3})
        opt.set_wd_mult({"bn_gamma": 2.0})
    upd = mx.optimizer.get_updater(opt)
    ws = [mx.nd.array(w, dtype=dtype) for w in weights0]
    traj = []
    saved = {}
    for step in range(STEPS):
        if step == states_at:  # MXNet's own pickled states, mid-trajectory
            for dump in (False, True):
                raw = upd.get_states(dump_optimizer=dump)
                saved[f"mxnet_states_{int(dump)}"] = np.frombuffer(raw, dtype=np.uint8).copy()
        gs = [mx.nd.array(g, dtype=dtype) for g in grads[step]]
        upd(list(range(len(ws))), gs, ws)
        traj.append(np.concatenate([w.asnumpy().astype(np.float64).ravel() for w in ws]))
    states = []
    for i in range(len(ws)):
        flatten_state(upd.states[i], states)
    return {
        **saved,
        "init": np.concatenate([w.astype(np.float64).ravel() for w in weights0]),
        "grads": np.stack([np.concatenate([g.astype(np.float64).ravel() for g in gs])
                           for gs in grads]),
        "weights": np.stack(traj),
        "states": np.concatenate(states) if states else np.zeros(0),
    }


# --- the NDArray update operators, one call each -------------------------------------------
def ops_golden():
    """Inputs and outputs of one call of each update operator (float32, 7 elements)."""
    r = np.random.RandomState(3)
    w0 = r.randn(7).astype("f")
    g0 = (r.randn(7) * 2).astype("f")
    s = [np.abs(r.randn(7)).astype("f") * 0.3 for _ in range(3)]
    A = mx.nd.array
    f16 = "float16"

    def sgd():
        w = A(w0)
        o = mx.nd.sgd_update(w, A(g0), lr=0.1, wd=0.01, rescale_grad=0.5, clip_gradient=0.7)
        return [o, w]

    def sgd_mom():
        w, m = A(w0), A(s[0])
        mx.nd.sgd_mom_update(w, A(g0), m, lr=0.1, momentum=0.9, wd=0.01, out=w)
        return [w, m]

    def nag_out():
        w, m = A(w0), A(s[0])
        o = mx.nd.nag_mom_update(w, A(g0), m, lr=0.1, momentum=0.9, wd=0.1)
        return [o, m, w]

    def nag_inplace():
        w, m = A(w0), A(s[0])
        mx.nd.nag_mom_update(w, A(g0), m, lr=0.1, momentum=0.9, wd=0.1, out=w)
        return [w, m]

    def adam():
        w, m, v = A(w0), A(s[0]), A(s[1])
        mx.nd.adam_update(w, A(g0), m, v, lr=0.01, wd=0.01, clip_gradient=1.0, out=w)
        return [w, m, v]

    def adamw():
        w, m, v = A(w0), A(s[0]), A(s[1])
        mx.nd.contrib.adamw_update(w, A(g0), m, v, A([0.5]), lr=0.01, eta=0.7, wd=0.01, out=w)
        return [w, m, v]

    def rmsprop():
        w, n = A(w0), A(s[0])
        mx.nd.rmsprop_update(w, A(g0), n, lr=0.01, clip_weights=0.5, out=w)
        return [w, n]

    def rmspropalex():
        w, n, g, d = A(w0), A(s[0] + 1), A(s[1] * 0.1), A(s[2])
        mx.nd.rmspropalex_update(w, A(g0), n, g, d, lr=0.01, out=w)
        return [w, n, g, d]

    def ftrl():
        w, z, n = A(w0), A(s[0]), A(s[1])
        mx.nd.ftrl_update(w, A(g0), z, n, lr=0.1, wd=0.01, out=w)
        return [w, z, n]

    def ftml():
        w, d, v, z = A(w0), A(s[0]), A(s[1]), A(s[2])
        mx.nd.ftml_update(w, A(g0), d, v, z, lr=0.1, t=3, out=w)
        return [w, d, v, z]

    def signsgd():
        w = A(w0)
        mx.nd.signsgd_update(w, A(g0), lr=0.1, wd=0.1, out=w)
        return [w]

    def signum():
        w, m = A(w0), A(s[0])
        mx.nd.signum_update(w, A(g0), m, lr=0.1, momentum=0.9, wd_lh=0.1, out=w)
        return [w, m]

    def lamb():
        w, m, v = A(w0), A(s[0]), A(s[1])
        g = mx.nd.lamb_update_phase1(w, A(g0), m, v, t=2, wd=0.01)
        o = mx.nd.lamb_update_phase2(w, g, A([2.0]), A([3.0]), lr=0.1, upper_bound=1.5)
        return [g, o, m, v]

    def mp_sgd_mom():
        w, w32, m = A(w0, dtype=f16), A(w0), A(s[0])
        mx.nd.mp_sgd_mom_update(w, A(g0, dtype=f16), m, w32, lr=0.1, momentum=0.9, out=w)
        return [w, w32, m]

    def multi_sgd_mom():
        w1, w2, m1, m2 = A(w0), A(w0 * 2), A(s[0]), A(s[1])
        mx.nd.multi_sgd_mom_update(w1, A(g0), m1, w2, A(g0 * 0.5), m2, lrs=[0.1, 0.2],
                                   wds=[0.0, 0.01], momentum=0.9, num_weights=2, out=[w1, w2])
        return [w1, w2, m1, m2]

    def multi_lars():
        return [mx.nd.multi_lars(A([0.1, 0.2, 0.3]), A([4.0, 0.0, 9.0]), A([1.0, 1.0, 16.0]),
                                 A([0.01, 0.0, 0.02]), eta=0.5, eps=0.1, rescale_grad=0.5)]

    def multi_sum_sq():
        return [mx.nd.multi_sum_sq(A(w0), A(g0), num_arrays=2)]

    def group_adagrad():
        opt = mx.optimizer.create("groupadagrad", learning_rate=0.1, rescale_grad=0.5,
                                  clip_gradient=0.9)
        upd = mx.optimizer.get_updater(opt)
        w = A(np.concatenate([w0, w0[:5]]).reshape(3, 4))
        for k in range(3):
            upd(0, A((np.concatenate([g0, g0[:5]]) * (k + 1)).reshape(3, 4)), w)
        return [w, upd.states[0]]

    cases = [group_adagrad, sgd, sgd_mom, nag_out, nag_inplace, adam, adamw, rmsprop,
             rmspropalex, ftrl, ftml, signsgd, signum, lamb, mp_sgd_mom, multi_sgd_mom,
             multi_lars, multi_sum_sq]
    results = {f.__name__: [o.asnumpy().astype(np.float64).tolist() for o in f()]
               for f in cases}
    return {"mxnet_version": mx.__version__, "w0": w0.tolist(), "g0": g0.tolist(),
            "s": [x.tolist() for x in s], "results": results}


# --- row-wise optimizers (2-D weights only), written to optimizer_rowwise.json --------------
ROWWISE_SHAPES = [(4, 5), (3, 2)]
ROWWISE_CASES = [("groupadagrad", "groupadagrad", {"learning_rate": 0.3})]
# no weight decay: GroupAdaGrad does not support it
ROWWISE_CONFIGS = {
    "plain": ("float32", {}),
    "rescale_clip": ("float32", {"rescale_grad": 0.5, "clip_gradient": 0.8}),
    "scheduler": ("float32", {"lr_scheduler": "factor"}),
    "float64": ("float64", {"clip_gradient": 1.0}),
    "float16_mp": ("float16", {"multi_precision": True}),
}


def rowwise_golden():
    """Trajectories (list form, STEPS steps) of the row-wise optimizers on 2-D weights."""
    out = {"mxnet_version": mx.__version__, "shapes": ROWWISE_SHAPES, "steps": STEPS,
           "configs": {k: {"dtype": v[0], "kwargs": v[1]} for k, v in ROWWISE_CONFIGS.items()},
           "scheduler": {"kind": "FactorScheduler", "step": 2, "factor": 0.5}, "cases": {}}
    for name, mx_name, kwargs in ROWWISE_CASES:
        for config, (dtype, extra) in ROWWISE_CONFIGS.items():
            rng = np.random.RandomState(SEED)
            w0 = [rng.standard_normal(s).astype(dtype) for s in ROWWISE_SHAPES]
            grads = [[(rng.standard_normal(s) * 1.5).astype(dtype) for s in ROWWISE_SHAPES]
                     for _ in range(STEPS)]
            kw = {**kwargs, **extra}
            if kw.get("lr_scheduler") == "factor":
                kw["lr_scheduler"] = mx.lr_scheduler.FactorScheduler(
                    step=2, factor=0.5, base_lr=kw.get("learning_rate", 0.01))
            entry = {"optimizer": name, "mxnet_optimizer": mx_name, "kwargs": kwargs,
                     "config": config, "status": "ok",
                     "init": [float(x) for w in w0 for x in w.ravel()],
                     "grads": [[float(x) for g in gs for x in g.ravel()] for gs in grads]}
            try:
                upd = mx.optimizer.get_updater(mx.optimizer.create(mx_name, **kw))
                ws = [mx.nd.array(w, dtype=dtype) for w in w0]
                traj = []
                for step in range(STEPS):
                    upd(list(range(len(ws))),
                        [mx.nd.array(g, dtype=dtype) for g in grads[step]], ws)
                    traj.append([float(x) for w in ws for x in w.asnumpy().ravel()])
                states = []
                for i in range(len(ws)):
                    flatten_state(upd.states[i], states)
            except Exception as err:  # record what MXNet cannot do
                lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
                entry["status"] = "error"
                entry["error"] = f"{type(err).__name__}: {(lines or [''])[-1][:300]}"
            else:
                entry["weights"] = traj
                entry["states"] = [float(x) for x in np.concatenate(states)]
            out["cases"][f"{name}/{config}"] = entry
            print(f"{name}/{config}", entry["status"], entry.get("error", ""))
    return out


def write_rowwise():
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "optimizer_rowwise.json"), "w") as f:
        json.dump(rowwise_golden(), f, indent=1, sort_keys=True)
        f.write("\n")


def main():
    if sys.argv[1:] == ["--only", "rowwise"]:  # just the row-wise fixture
        write_rowwise()
        return
    write_rowwise()
    arrays = {}
    meta = {"mxnet_version": mx.__version__, "shapes": SHAPES, "names": NAMES, "steps": STEPS,
            "configs": {k: {"dtype": v[0], "kwargs": {kk: vv for kk, vv in v[1].items()},
                            "multipliers": v[2]} for k, v in CONFIGS.items()},
            "symbol": {"attr_dict": symbol().attr_dict(),
                       "list_arguments": symbol().list_arguments()},
            "extra_mults": {"lr_mult": {"bn_gamma": 0.3}, "wd_mult": {"bn_gamma": 2.0}},
            "scheduler": {"kind": "FactorScheduler", "step": 2, "factor": 0.5},
            "cases": {}}
    for name, mx_name, kwargs in CASES:
        for config in CONFIGS:
            key = f"{name}/{config}"
            entry = {"optimizer": name, "mxnet_optimizer": mx_name, "kwargs": kwargs,
                     "config": config}
            try:
                at = 2 if (name, config) in PICKLED_STATES else None
                res = run_case(name, mx_name, kwargs, config, states_at=at)
            except Exception as err:  # record what MXNet cannot do
                entry["status"] = "error"
                lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
                entry["error"] = f"{type(err).__name__}: {(lines or [''])[-1][:300]}"
                traceback.print_exc(limit=1, file=sys.stderr)
            else:
                entry["status"] = "ok"
                for k, v in res.items():
                    arrays[f"{key}/{k}"] = v
            meta["cases"][key] = entry
            print(key, entry["status"], entry.get("error", ""))
    os.makedirs(OUT, exist_ok=True)
    np.savez_compressed(os.path.join(OUT, "optimizer.npz"), **arrays)
    with open(os.path.join(OUT, "optimizer.json"), "w") as f:
        json.dump(meta, f, indent=1, sort_keys=True)
        f.write("\n")
    with open(os.path.join(OUT, "optimizer_ops.json"), "w") as f:
        json.dump(ops_golden(), f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
