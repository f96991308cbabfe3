"""Callbacks for :meth:`mxlite.module.BaseModule.fit`.

Batch-end callbacks receive a :class:`mxlite.model.BatchEndParam` (``epoch``, ``nbatch``,
``eval_metric``, ``locals``); epoch-end callbacks receive ``(epoch, symbol, arg_params,
aux_params)``.  Log lines go through :mod:`logging` in MXNet 1.9.1's wording, e.g.
``Epoch[0] Batch [50-100]	Speed: 1234.56 samples/sec	accuracy=0.912500``.

>>> import mxlite as mx
>>> cb = mx.callback.Speedometer(batch_size=32, frequent=10)
>>> bar = mx.callback.TqdmProgressBar(total=50)     # needs the `progress` extra (tqdm)
"""

from __future__ import annotations

import logging
import math
import time

from .base import check_count

__all__ = [
    "LogValidationMetricsCallback", "ProgressBar", "Speedometer", "TqdmProgressBar",
    "do_checkpoint", "log_train_metric", "module_checkpoint",
]


def _period(period) -> int:
    try:
        return int(max(1, period))
    except (TypeError, ValueError):
        raise ValueError(f"period must be a number, got {period!r}") from None


def module_checkpoint(mod, prefix, period=1, save_optimizer_states=False):
    """Epoch-end callback calling ``mod.save_checkpoint(prefix, epoch + 1, ...)`` every
    ``period`` epochs (optionally with the optimizer states)."""
    period = _period(period)

    def _callback(iter_no, sym=None, arg=None, aux=None):
        if (iter_no + 1) % period == 0:
            mod.save_checkpoint(prefix, iter_no + 1, save_optimizer_states)

    return _callback


def do_checkpoint(prefix, period=1):
    """Epoch-end callback writing ``prefix-symbol.json`` and ``prefix-%04d.params`` (epoch + 1)
    every ``period`` epochs through :func:`mxlite.model.save_checkpoint`."""
    period = _period(period)

    def _callback(iter_no, sym, arg, aux):
        if (iter_no + 1) % period == 0:
            from .model import save_checkpoint

            save_checkpoint(prefix, iter_no + 1, sym, arg, aux)

    return _callback


def log_train_metric(period, auto_reset=False):
    """Batch-end callback logging ``Iter[e] Batch[b] Train-name=value`` every ``period``
    batches, optionally resetting the local metric afterwards."""
    period = _period(period)

    def _callback(param):
        if param.nbatch % period == 0 and param.eval_metric is not None:
            for name, value in param.eval_metric.get_name_value():
                logging.info("Iter[%d] Batch[%d] Train-%s=%f", param.epoch, param.nbatch,
                             name, value)
            if auto_reset:
                param.eval_metric.reset_local()

    return _callback


class Speedometer:
    """Log the training speed and the metric every ``frequent`` batches.

    With ``auto_reset`` (default) the metric is reset (locally) after each log line, so each
    line shows the metric over the last ``frequent`` batches: ``Epoch[e] Batch [a-b]``;
    otherwise it is cumulative over the epoch: ``Epoch[e] Batch [0-b]``.
    """

    def __init__(self, batch_size, frequent=50, auto_reset=True):
        frequent = check_count("frequent", frequent, 1)
        self.batch_size = batch_size
        self.frequent = frequent
        self.init = False
        self.tic = 0.0
        self.last_count = 0
        self.auto_reset = auto_reset

    def __call__(self, param):
        count = param.nbatch
        if self.last_count > count:  # a new epoch started
            self.init = False
        self.last_count = count
        if not self.init:
            self.init = True
            self.tic = time.time()
            return
        if count % self.frequent != 0:
            return
        try:
            speed = self.frequent * self.batch_size / (time.time() - self.tic)
        except ZeroDivisionError:
            speed = float("inf")
        if param.eval_metric is not None:
            name_value = param.eval_metric.get_name_value()
            flat = [x for pair in name_value for x in pair]
            if self.auto_reset:
                param.eval_metric.reset_local()
                msg = "Epoch[%d] Batch [%d-%d]\tSpeed: %.2f samples/sec" + "\t%s=%f" * len(
                    name_value)
                logging.info(msg, param.epoch, count - self.frequent, count, speed, *flat)
            else:
                msg = "Epoch[%d] Batch [0-%d]\tSpeed: %.2f samples/sec" + "\t%s=%f" * len(
                    name_value)
                logging.info(msg, param.epoch, count, speed, *flat)
        else:
            logging.info("Iter[%d] Batch [%d]\tSpeed: %.2f samples/sec", param.epoch, count,
                         speed)
        self.tic = time.time()


class ProgressBar:
    """Log a text progress bar ``[=====-----] 50%`` of ``total`` batches after each batch."""

    def __init__(self, total, length=80):
        total = check_count("total", total, 1)
        self.bar_len = length
        self.total = total

    def __call__(self, param):
        count = param.nbatch
        filled_len = round(self.bar_len * count / float(self.total))
        percents = math.ceil(100.0 * count / float(self.total))
        prog_bar = "=" * filled_len + "-" * (self.bar_len - filled_len)
        logging.info("[%s] %s%s\r", prog_bar, percents, "%")


class LogValidationMetricsCallback:
    """Eval-end callback logging ``Epoch[e] Validation-name=value`` for each metric value."""

    def __call__(self, param):
        if not param.eval_metric:
            return
        for name, value in param.eval_metric.get_name_value():
            logging.info("Epoch[%d] Validation-%s=%f", param.epoch, name, value)


class TqdmProgressBar:
    """A tqdm progress bar per epoch, as a batch-end callback of ``fit``::

        mod.fit(train, num_epoch=5, batch_end_callback=mx.callback.TqdmProgressBar(total=n))

    ``total`` is the number of batches per epoch (None: unknown, tqdm shows a counter).  The bar
    shows the training metric as a postfix and is closed when an epoch's last batch is seen
    (``total`` known) or when the next epoch starts.  tqdm is imported on first use; install it
    with the ``progress`` extra (``pip install mxlite[progress]``).  Extra keyword arguments go
    to ``tqdm.tqdm`` (``file=``, ``leave=``, ``disable=``, ...).
    """

    def __init__(self, total=None, show_metric=True, **tqdm_kwargs):
        if total is not None:
            total = check_count("total", total, 1)
        self.total = total
        self.show_metric = show_metric
        self.tqdm_kwargs = tqdm_kwargs
        self._bar = None
        self._epoch = None
        self._last = -1

    @staticmethod
    def _tqdm():
        try:
            from tqdm import tqdm
        except ImportError:
            raise ImportError(
                "TqdmProgressBar needs tqdm: pip install 'mxlite[progress]' (or tqdm)"
            ) from None
        return tqdm

    def __call__(self, param):
        tqdm = self._tqdm()
        if self._bar is not None and (param.epoch != self._epoch or param.nbatch < self._last):
            self.close()
        if self._bar is None:
            kwargs = {"desc": f"Epoch[{param.epoch}]", "unit": "batch"}
            kwargs.update(self.tqdm_kwargs)
            self._bar = tqdm(total=self.total, **kwargs)
            self._epoch = param.epoch
            self._last = -1
        self._bar.update(param.nbatch - self._last)
        self._last = param.nbatch
        if self.show_metric and param.eval_metric is not None:
            self._bar.set_postfix(
                {name: f"{value:.4f}" for name, value in param.eval_metric.get_name_value()},
                refresh=False,
            )
        if self.total is not None and param.nbatch + 1 >= self.total:
            self.close()

    def close(self):
        """Close the current bar (if any)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
