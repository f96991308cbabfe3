"""The Gluon part of ``mxlite demo``: a HybridSequential CNN on the 8x8 digits, trained with
``autograd`` and ``Trainer``, hybridized, exported, reloaded into ``mx.mod.Module`` and scored."""

from __future__ import annotations

import os

import numpy as np

import mxlite as mx
from mxlite import autograd, gluon
from mxlite.gluon import nn

__all__ = ["run_gluon"]


def build_cnn():
    net = nn.HybridSequential()
    with net.name_scope():
        net.add(nn.Conv2D(16, 3, padding=1), nn.BatchNorm(), nn.Activation("relu"),
                nn.MaxPool2D(2), nn.Conv2D(32, 3, padding=1), nn.BatchNorm(),
                nn.Activation("relu"), nn.MaxPool2D(2), nn.Flatten(), nn.Dense(64, "relu"),
                nn.Dropout(0.2), nn.Dense(10))
    return net


def run_gluon(x_train, y_train, x_val, y_val, folder, epochs, batch, say):
    """Train, export, reload into Module and score; returns ``(accuracy, module accuracy,
    identical predictions)``."""
    img_train = x_train.reshape(-1, 1, 8, 8)
    img_val = x_val.reshape(-1, 1, 8, 8)
    loader = gluon.data.DataLoader(gluon.data.ArrayDataset(img_train, y_train),
                                   batch_size=batch, shuffle=True, last_batch="rollover")
    net = build_cnn()
    net.initialize(mx.init.Xavier())
    net.hybridize()
    trainer = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": 3e-3, "wd": 1e-4})
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    for epoch in range(epochs):
        total, count = 0.0, 0
        for xb, yb in loader:
            with autograd.record():
                loss = loss_fn(net(xb), yb)
            loss.backward()
            trainer.step(xb.shape[0])
            total += float(loss.sum().asscalar())
            count += xb.shape[0]
        say(f"  Epoch[{epoch}] Train-loss={total / max(count, 1):.6f}")
    val = mx.nd.array(img_val)
    pred = net(val).asnumpy()
    acc = float((pred.argmax(axis=1) == y_val).mean())
    prefix = os.path.join(folder, "demo-gluon-cnn")
    net.export(prefix, epoch=epochs)
    sym, args, auxs = mx.model.load_checkpoint(prefix, epochs)
    mod = mx.mod.Module(sym, data_names=["data"], label_names=None)
    it = mx.io.NDArrayIter(img_val, y_val, batch_size=len(y_val))
    mod.bind(data_shapes=it.provide_data, for_training=False)
    mod.set_params(args, auxs)
    mod_pred = mod.predict(it).asnumpy()
    mod_acc = float((mod_pred.argmax(axis=1) == y_val).mean())
    same = bool(np.allclose(mod_pred, pred, rtol=1e-5, atol=1e-6))
    return acc, mod_acc, same, prefix
