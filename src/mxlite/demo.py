"""``mxlite demo``: the seed's example on real data, then a deeper MLP, on UCI handwritten digits.

1. The seed's example as it is written (FullyConnected + SoftmaxOutput, ``Uniform(1.0)``, SGD at
   0.1 with ``FactorScheduler(step=100, factor=0.9)``), bound to the digits' 64 pixels.
2. A deeper MLP (64-128-64-10, ReLU, Xavier) trained with Adam on a cosine schedule, which must
   reach ``target`` validation accuracy (0.95 by default).
3. A checkpoint of the MLP (symbol, parameters, optimizer states), reloaded into a new module
   that must score the same.
4. A PNG with the loss and accuracy curves of both models and their learning-rate schedules.

The digits come with scikit-learn (``pip install 'mxlite[demo]'``); the plot needs matplotlib.
Per-epoch lines are MXNet's log lines (``Epoch[0] Train-accuracy=...``), printed to stdout.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import warnings

import numpy as np

import mxlite as mx

__all__ = ["load_digits", "run"]

BATCH = 128


def load_digits(seed: int = 0):
    """``(x_train, y_train, x_val, y_val)``: the 1797 8x8 digits scaled to [0, 1], 80/20 split."""
    try:
        from sklearn.datasets import load_digits as _load
    except ImportError:
        raise ImportError(
            "the demo needs scikit-learn for the UCI digits: pip install 'mxlite[demo]'"
        ) from None
    digits = _load()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.float32)
    order = np.random.default_rng(seed).permutation(len(x))
    x, y = x[order], y[order]
    n_train = int(0.8 * len(x))
    return x[:n_train], y[:n_train], x[n_train:], y[n_train:]


class _History:
    """Callbacks collecting per-epoch metrics and the per-update learning rate."""

    def __init__(self, module):
        self.module = module
        self.train: dict[str, list] = {}
        self.val: dict[str, list] = {}
        self.lr: list[float] = []

    def batch_end(self, param):
        self.lr.append(float(self.module._optimizer.learning_rate))
        if param.locals.get("end_of_batch"):
            for name, value in param.eval_metric.get_global_name_value():
                self.train.setdefault(name, []).append(float(value))

    def eval_end(self, param):
        for name, value in param.eval_metric.get_name_value():
            self.val.setdefault(name, []).append(float(value))


def _seed_model(x_train, y_train, x_val, y_val, epochs):
    # the seed's example, with the digits' 64 features in place of its 20
    data = mx.symbol.Variable('data')
    label = mx.symbol.Variable('softmax_label')
    fc = mx.symbol.FullyConnected(data, name='fc', num_hidden=10)
    loss = mx.symbol.SoftmaxOutput(fc, label, name='softmax')
    mod = mx.mod.Module(loss)
    mod.bind(data_shapes=[('data', (BATCH, 64))], label_shapes=[('softmax_label', (BATCH,))])
    mod.init_params(mx.initializer.Uniform(scale=1.0))
    lr_sch = mx.lr_scheduler.FactorScheduler(step=100, factor=0.9)
    mod.init_optimizer(
        optimizer='sgd', optimizer_params=(('learning_rate', 0.1), ('lr_scheduler', lr_sch)))
    train = mx.io.NDArrayIter(x_train, y_train, batch_size=BATCH, shuffle=True)
    val = mx.io.NDArrayIter(x_val, y_val, batch_size=BATCH)
    hist = _History(mod)
    mod.fit(train, eval_data=val, eval_metric=["acc", "ce"], num_epoch=epochs,
            batch_end_callback=hist.batch_end, eval_end_callback=hist.eval_end)
    return mod, hist


def _mlp_symbol():
    data = mx.sym.Variable("data")
    h = mx.sym.FullyConnected(data, num_hidden=128, name="fc1")
    h = mx.sym.Activation(h, act_type="relu", name="relu1")
    h = mx.sym.FullyConnected(h, num_hidden=64, name="fc2")
    h = mx.sym.Activation(h, act_type="relu", name="relu2")
    h = mx.sym.FullyConnected(h, num_hidden=10, name="fc3")
    return mx.sym.SoftmaxOutput(h, name="softmax")


def _mlp_model(x_train, y_train, x_val, y_val, epochs, batch):
    train = mx.io.NDArrayIter(x_train, y_train, batch_size=batch, shuffle=True)
    val = mx.io.NDArrayIter(x_val, y_val, batch_size=batch)
    steps = epochs * -(-len(x_train) // batch)
    mod = mx.mod.Module(_mlp_symbol())
    hist = _History(mod)
    schedule = mx.lr_scheduler.CosineScheduler(max_update=steps, base_lr=3e-3, final_lr=1e-4)
    mod.fit(train, eval_data=val, eval_metric=["acc", "ce"], num_epoch=epochs,
            optimizer="adam",
            optimizer_params={"learning_rate": 3e-3, "wd": 1e-4, "lr_scheduler": schedule},
            initializer=mx.init.Xavier(magnitude=2.0),
            batch_end_callback=hist.batch_end, eval_end_callback=hist.eval_end)
    return mod, hist, val


def _plot(path, seed_hist, mlp_hist):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    runs = (("seed example (SGD + FactorScheduler)", seed_hist, "tab:blue"),
            ("MLP (Adam + cosine)", mlp_hist, "tab:orange"))
    for label, hist, color in runs:
        epochs = np.arange(1, len(hist.train["cross-entropy"]) + 1)
        axes[0].plot(epochs, hist.train["cross-entropy"], color=color, label=f"{label} train")
        axes[0].plot(epochs, hist.val["cross-entropy"], color=color, ls="--",
                     label=f"{label} val")
        axes[1].plot(epochs, hist.train["accuracy"], color=color, label=f"{label} train")
        axes[1].plot(epochs, hist.val["accuracy"], color=color, ls="--", label=f"{label} val")
        axes[2].plot(np.arange(1, len(hist.lr) + 1), hist.lr, color=color, label=label)
    axes[0].set(title="loss (cross-entropy)", xlabel="epoch", yscale="log")
    axes[1].set(title="accuracy", xlabel="epoch", ylim=(0, 1.01))
    axes[1].axhline(0.95, color="gray", lw=0.8, ls=":")
    axes[2].set(title="learning rate", xlabel="update", yscale="log")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle("mxlite on UCI handwritten digits")
    fig.tight_layout()
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    mx.base.atomic_write(path, buf.getvalue())


def run(epochs: int = 20, seed_epochs: int = 30, out: str = "out/demo.png",
        target: float = 0.95, batch: int = 32, plot: bool = True, stream=None) -> int:
    """Run the demo; return 0 when the MLP reaches ``target`` validation accuracy, else 1."""
    stream = sys.stdout if stream is None else stream
    for name, value in (("epochs", epochs), ("seed_epochs", seed_epochs), ("batch", batch)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"{name} must be a positive int, got {value!r}")

    def say(text=""):
        print(text, file=stream, flush=True)

    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("  %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    # mxlite.lr_scheduler logs every rate change: keep the output to the epoch lines
    sched_log = logging.getLogger("mxlite.lr_scheduler")
    old_sched_level = sched_log.level
    sched_log.setLevel(logging.WARNING)
    start = time.perf_counter()
    try:
        mx.random.seed(0)
        x_train, y_train, x_val, y_val = load_digits()
        say(f"UCI digits: {len(x_train)} training and {len(x_val)} validation images of 8x8 "
            "pixels, 10 classes")
        say()
        say(f"1) the seed's example: FullyConnected + SoftmaxOutput, Uniform(1.0), SGD 0.1 with "
            f"FactorScheduler(step=100, factor=0.9), {seed_epochs} epochs")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "already bound / initialized"
            _, seed_hist = _seed_model(x_train, y_train, x_val, y_val, seed_epochs)
        say(f"   -> validation accuracy {seed_hist.val['accuracy'][-1]:.4f}")
        say()
        say(f"2) MLP 64-128-64-10 (ReLU), Adam 3e-3 with a cosine schedule, weight decay 1e-4, "
            f"batch {batch}, {epochs} epochs")
        mlp_mod, mlp_hist, val = _mlp_model(x_train, y_train, x_val, y_val, epochs, batch)
        # exact accuracy over the validation images (the per-epoch lines count the padding
        # of the last batch, as MXNet's score does)
        pred = mlp_mod.predict(val).asnumpy()
        acc = float((pred.argmax(axis=1) == y_val).mean())
        say(f"   -> validation accuracy {acc:.4f} on {len(y_val)} images (target {target})")
        say()
        folder = os.path.dirname(os.path.abspath(out))
        os.makedirs(folder, exist_ok=True)
        prefix = os.path.join(folder, "demo-mlp")
        mlp_mod.save_checkpoint(prefix, epochs, save_optimizer_states=True)
        loaded = mx.mod.Module.load(prefix, epochs, load_optimizer_states=True)
        loaded.bind(val.provide_data, val.provide_label, for_training=False)
        reloaded_pred = loaded.predict(val).asnumpy()
        reloaded_acc = float((reloaded_pred.argmax(axis=1) == y_val).mean())
        same = np.array_equal(reloaded_pred, pred)
        say(f"3) checkpoint {prefix}-symbol.json / -{epochs:04d}.params / -{epochs:04d}.states "
            f"reloaded: validation accuracy {reloaded_acc:.4f}, predictions identical: {same}")
        from .demo_gluon import run_gluon

        say(f"4) Gluon: HybridSequential CNN (Conv-BN-ReLU-Pool x2, Dense), Adam 3e-3, "
            f"{epochs} epochs, hybridized")
        g_acc, g_mod_acc, g_same, g_prefix = run_gluon(x_train, y_train, x_val, y_val, folder,
                                                       epochs, batch, say)
        say(f"   -> validation accuracy {g_acc:.4f}; exported to {g_prefix}-symbol.json, "
            f"reloaded into mx.mod.Module: accuracy {g_mod_acc:.4f}, same outputs: {g_same}")
        if plot:
            _plot(out, seed_hist, mlp_hist)
            say(f"5) wrote {out} (loss and accuracy curves, learning-rate schedules)")
        say()
        elapsed = time.perf_counter() - start
        ok = acc >= target and same and reloaded_acc == acc and g_same and g_mod_acc == g_acc \
            and g_acc >= 0.9
        say(f"{'done' if ok else 'FAILED'} in {elapsed:.1f} s")
        return 0 if ok else 1
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        sched_log.setLevel(old_sched_level)
