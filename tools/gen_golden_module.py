"""Regenerate ``tests/golden/module_*`` from MXNet 1.9.1.

Run with the reference interpreter (not mxlite's venv)::

    /tmp/mxref/bin/python tools/gen_golden_module.py

Writes

* ``module_io.json``: the batches (first column of data, labels, pad) ``NDArrayIter`` yields over
  three epochs for each ``last_batch_handle`` and several batch sizes, and ``provide_data`` /
  ``provide_label`` of list and dict inputs;
* ``module_metric.json``: metric values (``get``, ``get_global`` after every update, with a
  ``reset_local`` half-way) on fixed inputs stored in the file;
* ``module_fit.npz``: training runs of ``Module.fit`` from fixed initial parameters (generated
  here and stored), no shuffling: ``seed_*`` (the seed's example: FullyConnected + SoftmaxOutput,
  SGD 0.1 with FactorScheduler(step=100, factor=0.9), 15 epochs of 8 batches of 128),
  ``adam_*`` (a 3-layer MLP, Adam with weight decay, 6 epochs) and ``mult_*`` (SGD with momentum
  and per-variable ``lr_mult`` / ``wd_mult`` attributes on the symbol).  For each: the data,
  the initial and final parameters, the per-epoch training and validation accuracy, the
  ``predict`` output on a validation set whose size is not a multiple of the batch size, and
  the ``score``;
* ``module_ckpt-symbol.json``, ``module_ckpt-0003.params``, ``module_ckpt-0003.states``: an
  MXNet checkpoint of the Adam MLP after 3 epochs, and in ``module_fit.npz`` (``resumed_*``)
  the parameters MXNet reaches by resuming from it for 3 more epochs.
"""

from __future__ import annotations

import json
import logging
import os

import mxnet as mx
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "golden")


# ---------------------------------------------------------------------------------------- io
def gen_io():
    data = np.arange(40, dtype=np.float32).reshape(10, 4)
    label = np.arange(10, dtype=np.float32)
    cases = []
    for handle in ("pad", "discard", "roll_over"):
        # MXNet 1.9.1 crashes on roll_over with batch_size > num_data; those are not recorded
        sizes = (3, 4, 10) if handle == "roll_over" else (3, 4, 10, 12, 25)
        for bs in sizes:
            it = mx.io.NDArrayIter(data, label, batch_size=bs, last_batch_handle=handle)
            epochs = []
            for _ in range(3):
                batches = []
                for b in it:
                    batches.append({
                        "pad": int(b.pad),
                        "data_col0": b.data[0].asnumpy()[:, 0].tolist(),
                        "label": b.label[0].asnumpy().tolist(),
                    })
                it.reset()
                epochs.append(batches)
            cases.append({"handle": handle, "batch_size": bs, "epochs": epochs})
    descs = {}
    it = mx.io.NDArrayIter([np.zeros((6, 3)), np.zeros((6, 2, 2))], [np.zeros(6)], batch_size=4)
    descs["list"] = {
        "data": [[d.name, list(d.shape)] for d in it.provide_data],
        "label": [[d.name, list(d.shape)] for d in it.provide_label],
    }
    it = mx.io.NDArrayIter({"b": np.zeros((6, 3)), "a": np.zeros((6, 5))},
                           {"lab": np.zeros((6, 1))}, batch_size=2)
    descs["dict"] = {
        "data": [[d.name, list(d.shape)] for d in it.provide_data],
        "label": [[d.name, list(d.shape)] for d in it.provide_label],
    }
    with open(os.path.join(OUT, "module_io.json"), "w") as f:
        json.dump({"data": data.tolist(), "label": label.tolist(), "cases": cases,
                   "descs": descs}, f, indent=0)


# ------------------------------------------------------------------------------------ metric
def _softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def gen_metric():
    rng = np.random.RandomState(0)
    n = 12

    def batches(kind, nb=4):
        out = []
        for _ in range(nb):
            if kind == "multiclass":
                pred = _softmax(rng.randn(n, 5)).astype(np.float32)
                label = rng.randint(0, 5, size=n).astype(np.float32)
            elif kind == "binary":
                pred = _softmax(rng.randn(n, 2)).astype(np.float32)
                label = rng.randint(0, 2, size=n).astype(np.float32)
            elif kind == "labels":
                pred = rng.randint(0, 4, size=n).astype(np.float32)
                label = rng.randint(0, 4, size=n).astype(np.float32)
            elif kind == "regression":
                label = rng.randn(n).astype(np.float32)
                pred = (label + 0.5 * rng.randn(n)).astype(np.float32).reshape(n, 1)
            elif kind == "regression_flat":
                label = rng.randn(n).astype(np.float32)
                pred = (label + 0.5 * rng.randn(n)).astype(np.float32)
            elif kind == "loss":
                pred = rng.rand(n).astype(np.float32)
                label = np.zeros(n, dtype=np.float32)
            out.append({"label": label.tolist(), "pred": pred.tolist()})
        return out

    specs = [
        ("acc", {}, "multiclass"),
        ("acc", {}, "labels"),
        ("top_k_acc", {"top_k": 3}, "multiclass"),
        ("f1", {}, "binary"),
        ("f1", {"average": "micro"}, "binary"),
        ("mcc", {}, "binary"),
        ("mcc", {"average": "micro"}, "binary"),
        ("perplexity", {"ignore_label": None}, "multiclass"),
        ("perplexity", {"ignore_label": 1}, "multiclass"),
        ("mae", {}, "regression"),
        ("mse", {}, "regression"),
        ("rmse", {}, "regression_flat"),
        ("ce", {}, "multiclass"),
        ("ce", {"eps": 1e-3}, "multiclass"),
        ("nll_loss", {}, "multiclass"),
        ("pearsonr", {}, "regression_flat"),
        ("pearsonr", {"average": "micro"}, "regression_flat"),
        ("loss", {}, "loss"),
        ("pcc", {}, "multiclass"),
        (["acc", "ce"], {}, "multiclass"),
    ]
    cases = []
    for name, kwargs, kind in specs:
        inputs = batches(kind)
        metric = mx.metric.create(name, **kwargs)
        steps = []
        for i, b in enumerate(inputs):
            metric.update([mx.nd.array(b["label"])], [mx.nd.array(b["pred"])])
            steps.append({
                "get": [list(x) for x in metric.get_name_value()],
                "get_global": [list(x) for x in metric.get_global_name_value()],
            })
            if i == 1:
                metric.reset_local()
        cases.append({"name": name, "kwargs": kwargs, "inputs": inputs, "steps": steps})

    def clean(x):
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [clean(v) for v in x]
        if isinstance(x, (np.floating, np.integer)):
            return float(x)
        return x

    with open(os.path.join(OUT, "module_metric.json"), "w") as f:
        json.dump(clean({"cases": cases}), f)


# --------------------------------------------------------------------------------------- fit
def _record_fit(mod, train, val, fit_kwargs, num_epoch):
    train_acc, val_acc = [], []

    def batch_end(param):
        if param.nbatch == train.num_data // train.batch_size - 1:
            train_acc.append(param.eval_metric.get_global()[1])

    def eval_end(param):
        val_acc.append(param.eval_metric.get()[1])

    mod.fit(train, eval_data=val, num_epoch=num_epoch, batch_end_callback=batch_end,
            eval_end_callback=eval_end, **fit_kwargs)
    arg, aux = mod.get_params()
    pred = mod.predict(val).asnumpy()
    score = mod.score(val, "acc")[0][1]
    return arg, aux, np.array(train_acc), np.array(val_acc), pred, score


def gen_fit():
    out = {}
    rng = np.random.RandomState(42)

    # the seed's example, verbatim, then fit on learnable synthetic data
    n_train, n_val, dim, classes, batch = 1024, 300, 20, 10, 128
    w_true = rng.randn(dim, classes).astype(np.float32)
    x = rng.randn(n_train + n_val, dim).astype(np.float32)
    y = np.argmax(x @ w_true + 0.5 * rng.randn(n_train + n_val, classes), axis=1)
    y = y.astype(np.float32)
    init = {"fc_weight": rng.uniform(-1, 1, (classes, dim)).astype(np.float32),
            "fc_bias": rng.uniform(-1, 1, (classes,)).astype(np.float32)}
    data = mx.symbol.Variable('data')
    label = mx.symbol.Variable('softmax_label')
    fc = mx.symbol.FullyConnected(data, name='fc', num_hidden=10)
    loss = mx.symbol.SoftmaxOutput(fc, label, name='softmax')
    mod = mx.mod.Module(loss)
    mod.bind(data_shapes=[('data', (128, 20))], label_shapes=[('softmax_label', (128,))])
    mod.init_params(mx.initializer.Uniform(scale=1.0))
    lr_sch = mx.lr_scheduler.FactorScheduler(step=100, factor=0.9)
    mod.init_optimizer(
        optimizer='sgd', optimizer_params=(('learning_rate', 0.1), ('lr_scheduler', lr_sch)))
    mod.set_params({k: mx.nd.array(v) for k, v in init.items()}, {})
    train = mx.io.NDArrayIter(x[:n_train], y[:n_train], batch_size=batch)
    val = mx.io.NDArrayIter(x[n_train:], y[n_train:], batch_size=batch)
    arg, _, tacc, vacc, pred, score = _record_fit(mod, train, val, {}, 15)
    out.update({"seed_x": x, "seed_y": y, "seed_n_train": n_train,
                "seed_train_acc": tacc, "seed_val_acc": vacc, "seed_pred": pred,
                "seed_score": score, "seed_final_lr": mod._optimizer._get_lr(0)})
    for k, v in init.items():
        out[f"seed_init_{k}"] = v
    for k, v in arg.items():
        out[f"seed_final_{k}"] = v.asnumpy()

    # a deeper MLP with Adam and weight decay
    n_train, n_val, dim, classes, batch = 320, 50, 16, 4, 32
    centers = rng.randn(classes, dim).astype(np.float32) * 1.5
    y = rng.randint(0, classes, n_train + n_val)
    x = (centers[y] + rng.randn(n_train + n_val, dim)).astype(np.float32)
    y = y.astype(np.float32)
    net = mlp(mx, with_mult=False)
    shapes = {"fc1_weight": (32, dim), "fc1_bias": (32,), "fc2_weight": (16, 32),
              "fc2_bias": (16,), "fc3_weight": (classes, 16), "fc3_bias": (classes,)}
    init = {k: (rng.uniform(-0.3, 0.3, s)).astype(np.float32) for k, s in shapes.items()}
    for prefix, net, optimizer, params in (
        ("adam", mlp(mx, with_mult=False), "adam",
         {"learning_rate": 0.01, "wd": 1e-3}),
        ("mult", mlp(mx, with_mult=True), "sgd",
         {"learning_rate": 0.05, "momentum": 0.9, "wd": 1e-3}),
    ):
        mod = mx.mod.Module(net)
        train = mx.io.NDArrayIter(x[:n_train], y[:n_train], batch_size=batch)
        val = mx.io.NDArrayIter(x[n_train:], y[n_train:], batch_size=batch)
        fit_kwargs = {"optimizer": optimizer, "optimizer_params": params,
                      "arg_params": {k: mx.nd.array(v) for k, v in init.items()},
                      "aux_params": {}}
        arg, _, tacc, vacc, pred, score = _record_fit(mod, train, val, fit_kwargs, 6)
        out.update({f"{prefix}_train_acc": tacc, f"{prefix}_val_acc": vacc,
                    f"{prefix}_pred": pred, f"{prefix}_score": score})
        for k, v in arg.items():
            out[f"{prefix}_final_{k}"] = v.asnumpy()
    out.update({"mlp_x": x, "mlp_y": y, "mlp_n_train": n_train})
    for k, v in init.items():
        out[f"mlp_init_{k}"] = v

    # an MXNet checkpoint after 3 Adam epochs (symbol, params, pickled states), and where MXNet
    # gets by resuming from it for 3 more epochs (its states carry no update counts: Adam's
    # bias correction restarts)
    prefix = os.path.join(OUT, "module_ckpt")
    params = {"learning_rate": 0.01, "wd": 1e-3}
    train = mx.io.NDArrayIter(x[:n_train], y[:n_train], batch_size=batch)
    mod = mx.mod.Module(mlp(mx, with_mult=False))
    mod.fit(train, num_epoch=3, optimizer="adam", optimizer_params=params,
            arg_params={k: mx.nd.array(v) for k, v in init.items()}, aux_params={})
    mod.save_checkpoint(prefix, 3, save_optimizer_states=True)
    train.reset()
    resumed = mx.mod.Module.load(prefix, 3, load_optimizer_states=True)
    resumed.fit(train, begin_epoch=3, num_epoch=6, optimizer="adam", optimizer_params=params)
    for k, v in resumed.get_params()[0].items():
        out[f"resumed_final_{k}"] = v.asnumpy()
    np.savez_compressed(os.path.join(OUT, "module_fit.npz"), **out)


def mlp(mx, with_mult):
    """fc1(32) relu fc2(16) relu fc3(4) softmax; with_mult puts lr/wd multipliers on fc1."""
    data = mx.sym.Variable("data")
    if with_mult:
        w1 = mx.sym.Variable("fc1_weight", lr_mult=0.5, wd_mult=2.0)
        h = mx.sym.FullyConnected(data, weight=w1, name="fc1", num_hidden=32)
    else:
        h = mx.sym.FullyConnected(data, name="fc1", num_hidden=32)
    h = mx.sym.Activation(h, act_type="relu", name="relu1")
    h = mx.sym.FullyConnected(h, name="fc2", num_hidden=16)
    h = mx.sym.Activation(h, act_type="relu", name="relu2")
    h = mx.sym.FullyConnected(h, name="fc3", num_hidden=4)
    return mx.sym.SoftmaxOutput(h, name="softmax")


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    os.makedirs(OUT, exist_ok=True)
    gen_io()
    gen_metric()
    gen_fit()
    print("wrote", OUT)
