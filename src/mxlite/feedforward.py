"""``mx.model.FeedForward``: MXNet's pre-Module training API, still found in old scripts.

It wraps a :class:`~mxlite.module.Module`: ``fit`` trains it (NumPy arrays are batched by an
``NDArrayIter`` of ``numpy_batch_size``), ``predict`` and ``score`` run it, ``save``/``load``
use the ``prefix-symbol.json`` / ``prefix-EPOCH.params`` checkpoint files.  Extra keyword
arguments are optimizer parameters (``learning_rate``, ``momentum``, ``wd``, ...).

>>> import numpy as np, mxlite as mx
>>> net = mx.sym.SoftmaxOutput(mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=2),
...                            name="softmax")
>>> X = np.random.rand(20, 3).astype("f4"); y = (X[:, 0] > 0.5).astype("f4")
>>> model = mx.model.FeedForward(net, num_epoch=2, learning_rate=0.1, numpy_batch_size=10)
>>> model.fit(X, y)
>>> model.predict(X).shape
(20, 2)
"""

from __future__ import annotations

import logging

import numpy as np

from . import ndarray as nd
from .context import Context, cpu
from .initializer import Uniform
from .io import DataIter, NDArrayIter
from .metric import create as _metric
from .model import load_checkpoint, save_checkpoint

__all__ = ["FeedForward"]


class FeedForward:
    """A symbol with its parameters and training settings; see the module docstring."""

    def __init__(self, symbol, ctx=None, num_epoch=None, epoch_size=None, optimizer="sgd",
                 initializer=Uniform(0.01), numpy_batch_size=128, arg_params=None,
                 aux_params=None, allow_extra_params=False, begin_epoch=0, **kwargs):
        if not hasattr(symbol, "list_arguments"):
            raise TypeError(f"FeedForward: symbol must be a Symbol, got {type(symbol).__name__}")
        if ctx is None:
            ctx = [cpu()]
        elif isinstance(ctx, Context):
            ctx = [ctx]
        if not isinstance(numpy_batch_size, int) or numpy_batch_size < 1:
            raise ValueError(f"numpy_batch_size must be a positive int, got {numpy_batch_size!r}")
        self.symbol = symbol
        self.ctx = list(ctx)
        self.num_epoch = num_epoch
        self.epoch_size = epoch_size
        self.optimizer = optimizer
        self.initializer = initializer
        self.numpy_batch_size = numpy_batch_size
        self.arg_params = arg_params
        self.aux_params = aux_params
        self.allow_extra_params = allow_extra_params
        self.begin_epoch = begin_epoch
        self.kwargs = dict(kwargs)
        self._module = None
        self._pred_module = None

    # ------------------------------------------------------------------ data
    def _init_iter(self, X, y, is_train: bool) -> DataIter:
        if isinstance(X, DataIter):
            return X
        if isinstance(X, (np.ndarray, nd.NDArray)):
            if y is None:
                if is_train:
                    raise ValueError("FeedForward.fit: y is required with array input X")
                y = np.zeros(X.shape[0], dtype=np.float32)
            y = y.asnumpy() if isinstance(y, nd.NDArray) else np.asarray(y)
            if y.ndim != 1 or y.shape[0] != X.shape[0]:
                raise ValueError(f"y must be 1-D with {X.shape[0]} labels, got shape {y.shape}")
            batch = min(X.shape[0], self.numpy_batch_size)
            return NDArrayIter(X, y, batch, shuffle=is_train,
                               last_batch_handle="roll_over" if is_train else "pad")
        raise TypeError(f"X must be a DataIter, a numpy array or an NDArray, got {type(X)}")

    def _make_module(self, data_iter, logger=logging, work_load_list=None):
        from .module import Module

        data_names = [d[0] if isinstance(d, tuple) else d.name for d in data_iter.provide_data]
        label_names = [d[0] if isinstance(d, tuple) else d.name
                       for d in (data_iter.provide_label or [])]
        label_names = [n for n in label_names if n in self.symbol.list_arguments()]
        return Module(self.symbol, data_names=data_names, label_names=label_names or None,
                      logger=logger, context=self.ctx, work_load_list=work_load_list)

    # ------------------------------------------------------------------ training
    def fit(self, X, y=None, eval_data=None, eval_metric="acc", epoch_end_callback=None,
            batch_end_callback=None, kvstore="local", logger=None, work_load_list=None,
            monitor=None, eval_end_callback=None, eval_batch_end_callback=None):
        """Train for epochs ``begin_epoch .. num_epoch - 1`` (callbacks as ``Module.fit``)."""
        if self.num_epoch is None:
            raise ValueError("FeedForward.fit: num_epoch must be set")
        data = self._init_iter(X, y, is_train=True)
        if isinstance(eval_data, tuple) and len(eval_data) == 2:
            eval_data = self._init_iter(eval_data[0], eval_data[1], is_train=False)
        mod = self._make_module(data, logger or logging, work_load_list)
        mod.fit(data, eval_data=eval_data, eval_metric=eval_metric,
                epoch_end_callback=epoch_end_callback, batch_end_callback=batch_end_callback,
                kvstore=kvstore, optimizer=self.optimizer, optimizer_params=self.kwargs,
                eval_end_callback=eval_end_callback,
                eval_batch_end_callback=eval_batch_end_callback, initializer=self.initializer,
                arg_params=self.arg_params, aux_params=self.aux_params,
                allow_missing=True, begin_epoch=self.begin_epoch, num_epoch=self.num_epoch,
                monitor=monitor)
        self.arg_params, self.aux_params = mod.get_params()
        self._module = mod
        self._pred_module = None

    def _predictor(self, data_iter):
        if self.arg_params is None:
            raise ValueError("FeedForward: no parameters yet; fit() or load() first")
        shapes = [tuple(d[1] if isinstance(d, tuple) else d.shape)
                  for d in data_iter.provide_data]
        mod = self._pred_module
        if mod is None or [tuple(d.shape) for d in mod.data_shapes] != shapes:
            mod = self._make_module(data_iter)
            mod.bind(data_iter.provide_data, data_iter.provide_label or None,
                     for_training=False)
            mod.set_params(self.arg_params, self.aux_params or {}, allow_missing=False,
                           allow_extra=self.allow_extra_params)
            self._pred_module = mod
        return mod

    def predict(self, X, num_batch=None, return_data=False, reset=True):
        """Outputs for ``X`` as NumPy arrays (one array for one output); with ``return_data``
        also the data and labels seen, ``(outputs, data, label)``."""
        data = self._init_iter(X, None, is_train=False)
        if reset:
            data.reset()
        mod = self._predictor(data)
        outputs, datas, labels = None, [], []
        for i, batch in enumerate(data):
            if num_batch is not None and i == num_batch:
                break
            mod.forward(batch, is_train=False)
            keep = batch.data[0].shape[0] - (batch.pad or 0)
            outs = [o.asnumpy()[:keep] for o in mod.get_outputs()]
            outputs = [[o] for o in outs] if outputs is None else \
                [[*acc, o] for acc, o in zip(outputs, outs, strict=True)]
            if return_data:
                datas.append([d.asnumpy()[:keep] for d in batch.data])
                labels.append([lab.asnumpy()[:keep] for lab in (batch.label or [])])
        if outputs is None:
            raise ValueError("FeedForward.predict: the data iterator gave no batch")
        merged = [np.concatenate(o) for o in outputs]
        result = merged[0] if len(merged) == 1 else merged
        if not return_data:
            return result
        data_out = [np.concatenate(d) for d in zip(*datas, strict=True)]
        label_out = [np.concatenate(lab) for lab in zip(*labels, strict=True)]
        return (result, data_out[0] if len(data_out) == 1 else data_out,
                label_out[0] if len(label_out) == 1 else label_out)

    def score(self, X, eval_metric="acc", num_batch=None, batch_end_callback=None, reset=True):
        """The value of ``eval_metric`` over ``X`` (a DataIter with labels)."""
        data = self._init_iter(X, None, is_train=False)
        metric = _metric(eval_metric)
        metric.reset()
        if reset:
            data.reset()
        mod = self._predictor(data)
        for i, batch in enumerate(data):
            if num_batch is not None and i == num_batch:
                break
            mod.forward(batch, is_train=False)
            mod.update_metric(metric, batch.label)
            if batch_end_callback is not None:
                callbacks = batch_end_callback if isinstance(batch_end_callback, list) \
                    else [batch_end_callback]
                from .model import BatchEndParam

                for cb in callbacks:
                    cb(BatchEndParam(epoch=0, nbatch=i, eval_metric=metric, locals=locals()))
        return metric.get()[1]

    # ------------------------------------------------------------------ files
    def save(self, prefix, epoch=None):
        """Write ``prefix-symbol.json`` and ``prefix-EPOCH.params`` (default: ``num_epoch``)."""
        if epoch is None:
            epoch = self.num_epoch
        if epoch is None:
            raise ValueError("FeedForward.save: give epoch (num_epoch is not set)")
        if self.arg_params is None:
            raise ValueError("FeedForward.save: no parameters yet; fit() first")
        save_checkpoint(prefix, epoch, self.symbol, self.arg_params, self.aux_params or {})

    @staticmethod
    def load(prefix, epoch, ctx=None, **kwargs):
        """A FeedForward from checkpoint files; training continues from ``epoch``."""
        symbol, arg_params, aux_params = load_checkpoint(prefix, epoch)
        return FeedForward(symbol, ctx=ctx, arg_params=arg_params, aux_params=aux_params,
                           begin_epoch=epoch, **kwargs)

    @staticmethod
    def create(symbol, X, y=None, ctx=None, num_epoch=None, epoch_size=None, optimizer="sgd",
               initializer=Uniform(0.01), eval_data=None, eval_metric="acc",
               epoch_end_callback=None, batch_end_callback=None, kvstore="local", logger=None,
               work_load_list=None, eval_end_callback=None, eval_batch_end_callback=None,
               **kwargs):
        """Construct and ``fit`` in one call; returns the trained model."""
        model = FeedForward(symbol, ctx=ctx, num_epoch=num_epoch, epoch_size=epoch_size,
                            optimizer=optimizer, initializer=initializer, **kwargs)
        model.fit(X, y, eval_data=eval_data, eval_metric=eval_metric,
                  epoch_end_callback=epoch_end_callback, batch_end_callback=batch_end_callback,
                  kvstore=kvstore, logger=logger, work_load_list=work_load_list,
                  eval_end_callback=eval_end_callback,
                  eval_batch_end_callback=eval_batch_end_callback)
        return model
