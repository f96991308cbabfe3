"""Gluon worker scripts of the launcher tests: ``python _gluon_jobs.py MODE OUT_DIR`` under
``mxlite launch``, and the training loop the in-process tests share.

``gluon-sync``: a Trainer with ``kvstore='dist_sync'`` (by name, as an MXNet script) trains the
MLP on this worker's shard, stepping with the combined batch; rank 0 writes the parameters and the
trainer states gathered from the servers.  ``gluon-async``: ``dist_async`` from a KVStore
object; every rank writes the accuracy of the final weights on the whole training set.
"""

from __future__ import annotations

import os
import sys

import numpy as np

import mxlite as mx
from mxlite import autograd, gluon

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _jobs import BATCH, dataset, shard

OPT = ("sgd", {"learning_rate": 0.1, "momentum": 0.9})


def mlp(seed=42):
    net = gluon.nn.HybridSequential()
    # layers named inside the net's scope (``..._dense0_``, ``..._dense1_``): the Trainer's
    # keys follow the sorted names, which global counters (``dense9_`` after ``dense10_``)
    # would reorder between two nets made at different times in one process
    with net.name_scope():
        net.add(gluon.nn.Dense(16, activation="relu", in_units=6),
                gluon.nn.Dense(3, in_units=16))
    mx.random.seed(seed)
    net.initialize(mx.init.Xavier())
    net(mx.nd.zeros((1, 6)))  # the operators' lazy imports happen here, not in rank threads
    return net


def params_of(net):
    """The parameters by position (``p0_bias``...; the name prefixes count the nets made)."""
    return {f"p{i}_{k.rsplit('_', 1)[-1]}": v.data().asnumpy()
            for i, (k, v) in enumerate(sorted(net.collect_params().items()))}


def train(net, trainer, x, y, batch, step_size, epochs, split=False):
    """Epochs of forward/backward over ``x`` in order; ``trainer.step(step_size)`` (or, with
    ``split``, ``allreduce_grads()`` then ``update(step_size)``)."""
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    for _ in range(epochs):
        for i in range(0, len(x), batch):
            data, label = mx.nd.array(x[i:i + batch]), mx.nd.array(y[i:i + batch])
            with autograd.record():
                loss = loss_fn(net(data), label)
            loss.backward()
            if split:
                trainer.allreduce_grads()
                trainer.update(step_size)
            else:
                trainer.step(step_size)


def accuracy(net, x, y):
    return float((net(mx.nd.array(x)).asnumpy().argmax(axis=1) == y).mean())


def main(mode, out_dir):
    if mode == "gluon-sync":
        kv = mx.kv.create("dist_sync")  # only to learn rank and num_workers
        x, y = shard(*dataset(kv.num_workers), kv.rank, kv.num_workers)
        net = mlp()
        trainer = gluon.Trainer(net.collect_params(), *OPT, kvstore="dist_sync")
        train(net, trainer, x, y, BATCH, BATCH * kv.num_workers, epochs=3)
        assert trainer._kvstore.type == "dist_sync" and trainer._update_on_kvstore
        if kv.rank == 0:
            np.savez(os.path.join(out_dir, "params.npz"), **params_of(net))
            trainer.save_states(os.path.join(out_dir, "trainer.states"))
        trainer._kvstore.barrier()
    elif mode == "gluon-async":
        kv = mx.kv.create("dist_async")
        x_all, y_all = dataset(kv.num_workers)
        x, y = shard(x_all, y_all, kv.rank, kv.num_workers)
        net = mlp()
        trainer = gluon.Trainer(net.collect_params(), "sgd",
                                {"learning_rate": 0.1, "momentum": 0.5}, kvstore=kv)
        train(net, trainer, x, y, BATCH, BATCH, epochs=8)
        kv.barrier()
        assert trainer._kvstore is kv and trainer._update_on_kvstore
        kv.pull(list(range(4)), out=[p.data() for _, p in sorted(net.collect_params().items())])
        acc = accuracy(net, x_all, y_all)  # the servers' final weights on all the data
        with open(os.path.join(out_dir, f"acc-{kv.rank}.txt"), "w") as f:
            f.write(repr(acc))
        print(f"accuracy {acc:.3f}")
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
