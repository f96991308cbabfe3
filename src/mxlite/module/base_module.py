"""``BaseModule``: the training loop (``fit``), ``score``, ``predict`` on top of the abstract
computation interface (``bind``, ``init_params``, ``init_optimizer``, ``forward``,
``backward``, ``update``, ...) that :class:`~mxlite.module.Module` implements.

``fit`` follows MXNet 1.9.1 step by step: bind to the iterator's ``provide_data`` /
``provide_label``, ``init_params``, ``init_optimizer`` (each of which does nothing, with a
warning, when already done), then per epoch: forward/backward/update/update_metric over the
batches, batch-end callbacks, the log lines ``Epoch[e] Train-<metric>=<value>`` and
``Epoch[e] Time cost=<seconds>``, epoch-end callbacks with the parameters, and, given
``eval_data``, ``score`` and ``Epoch[e] Validation-<metric>=<value>``.
"""

from __future__ import annotations

import logging
import time
import warnings

import numpy as np

from .. import metric as _metric
from .. import ndarray as nd
from ..base import MXNetError, check_count
from ..initializer import Uniform
from ..io import DataBatch, DataDesc, DataIter
from ..model import BatchEndParam

__all__ = ["BaseModule"]


def _as_list(obj):
    return obj if isinstance(obj, list) else [obj]


def _check_input_names(symbol, names, typename, throw):
    """Every name must be an argument of ``symbol``: raise (or warn) naming the candidates."""
    args = symbol.list_arguments()
    for name in names:
        if name in args:
            continue
        candidates = [a for a in args if not a.endswith(("_weight", "_bias", "_gamma", "_beta"))]
        msg = (
            f"You created Module with Module(..., {typename}_names={list(names)}) but input with "
            f"name {name!r} is not found in symbol.list_arguments(). Did you mean one of: "
            f"{', '.join(candidates)}?"
        )
        if throw:
            raise ValueError(msg)
        warnings.warn(msg, stacklevel=3)


def _check_names_match(data_names, data_shapes, name, throw):
    actual = [x[0] for x in data_shapes]
    if sorted(data_names) != sorted(actual):
        msg = (
            f"Data provided by {name}_shapes don't match names specified by {name}_names "
            f"({[tuple(d) for d in data_shapes]} vs. {list(data_names)})"
        )
        if throw:
            raise ValueError(msg)
        warnings.warn(msg, stacklevel=3)


def _to_desc(x, what):
    if isinstance(x, DataDesc):
        return x
    if isinstance(x, (tuple, list)) and len(x) >= 2 and not isinstance(x[1], (tuple, list)):
        # MXNet raises TypeError for a shape that is not a tuple (an NDArray, a number)
        raise TypeError(f"{what} entry {x[0]!r}: shape must be a tuple of ints, got {x[1]!r}")
    if not isinstance(x, (list, tuple)) or not 2 <= len(x) <= 4 or not isinstance(x[0], str):
        raise ValueError(
            f"{what} entries must be DataDesc or (name, shape) tuples, got {x!r}"
        )
    try:
        return DataDesc(*x)
    except TypeError as err:
        raise ValueError(
            f"{what} entries must be DataDesc or (name, shape) tuples, got {x!r} ({err})"
        ) from None


def _parse_data_desc(data_names, label_names, data_shapes, label_shapes):
    """Normalize ``(name, shape)`` tuples to :class:`DataDesc` and check the names."""
    if data_shapes is None or isinstance(data_shapes, (str, DataDesc)):
        raise ValueError(
            f"data_shapes must be a list of DataDesc or (name, shape) tuples, got {data_shapes!r}"
        )
    if isinstance(data_shapes, (list, tuple)) and data_shapes and isinstance(data_shapes[0], str):
        raise ValueError(
            f"data_shapes must be a list of (name, shape) pairs, got the single pair "
            f"{data_shapes!r}; did you mean [{data_shapes!r}]?"
        )
    data_shapes = [_to_desc(x, "data_shapes") for x in data_shapes]
    _check_names_match(data_names, data_shapes, "data", True)
    if label_shapes is not None:
        if isinstance(label_shapes, (str, DataDesc)) or (
                isinstance(label_shapes, (list, tuple)) and label_shapes
                and isinstance(label_shapes[0], str)):
            raise ValueError(
                f"label_shapes must be a list of (name, shape) pairs, got {label_shapes!r}"
            )
        label_shapes = [_to_desc(x, "label_shapes") for x in label_shapes]
        _check_names_match(label_names, label_shapes, "label", False)
    else:
        _check_names_match(label_names, [], "label", False)
    return data_shapes, label_shapes


def _call_back(callbacks, epoch, nbatch, eval_metric, scope) -> None:
    """Call each of ``callbacks`` (None, one or a list) with a ``BatchEndParam``."""
    if callbacks is None:
        return
    params = BatchEndParam(epoch=epoch, nbatch=nbatch, eval_metric=eval_metric, locals=scope)
    for callback in _as_list(callbacks):
        callback(params)


def bound_property(what: str, getter, doc: str | None = None) -> property:
    """A module property that needs a bound module (``MXNetError`` naming ``what`` before
    ``bind()``) and then reads ``getter(module)``: every Module flavour's ``data_shapes`` /
    ``label_shapes`` / ``output_shapes`` follow this one rule."""

    def get(self):
        self._require(what)
        return getter(self)

    return property(get, doc=doc or f"``{what}`` of the bound module (needs ``bind()``).")


def _abstract_property(what: str) -> property:
    """A property each subclass defines; BaseModule's raises naming the class and ``what``."""

    def get(self):
        raise self._not_implemented(what)

    return property(get, doc=f"``{what}``: defined by each kind of module.")


class BaseModule:
    """The computation interface every module implements, and the loops built on it.

    State flags: ``binded``, ``params_initialized``, ``optimizer_initialized``,
    ``for_training``, ``inputs_need_grad``.  Using a module before the step an operation needs
    raises :class:`~mxlite.base.MXNetError` saying which call is missing.
    """

    def __init__(self, logger=logging):
        self.logger = logger
        self.binded = False
        self.for_training = False
        self.inputs_need_grad = False
        self.params_initialized = False
        self.optimizer_initialized = False
        self._symbol = None
        self._total_exec_bytes = 0

    # ------------------------------------------------------------------ state checks
    def _skip_init_optimizer(self, force_init: bool,
                             message: str = "optimizer already initialized, ignoring.") -> bool:
        """The start every ``init_optimizer`` shares: parameters must be initialized; a second
        call without ``force_init`` only logs MXNet's warning and changes nothing (True)."""
        self._require("init_optimizer", params=True)
        if self.optimizer_initialized and not force_init:
            self.logger.warning(message)
            return True
        return False

    def _require(self, what, bound=True, params=False, optimizer=False):
        if bound and not self.binded:
            raise MXNetError(f"{what}: the module is not bound yet; call bind() first")
        if params and not self.params_initialized:
            raise MXNetError(
                f"{what}: the parameters are not initialized yet; call init_params() first"
            )
        if optimizer and not self.optimizer_initialized:
            raise MXNetError(
                f"{what}: the optimizer is not initialized yet; call init_optimizer() first"
            )

    # ------------------------------------------------------------------ high level
    def forward_backward(self, data_batch):
        """``forward(data_batch, is_train=True)`` then ``backward()``."""
        self.forward(data_batch, is_train=True)
        self.backward()

    def score(self, eval_data, eval_metric, num_batch=None, batch_end_callback=None,
              score_end_callback=None, reset=True, epoch=0, sparse_row_id_fn=None):
        """Run ``eval_data`` through the model and return ``eval_metric.get_name_value()``.

        As in MXNet 1.9.1, the padded examples of the last batch are included in the metric.
        """
        self._require("score", params=True)
        if reset:
            eval_data.reset()
        if not isinstance(eval_metric, _metric.EvalMetric):
            eval_metric = _metric.create(eval_metric)
        eval_metric.reset()
        actual_num_batch = 0
        for nbatch, eval_batch in enumerate(eval_data):
            if num_batch is not None and nbatch == num_batch:
                break
            self.prepare(eval_batch, sparse_row_id_fn=sparse_row_id_fn)
            self.forward(eval_batch, is_train=False)
            if isinstance(eval_batch, list):
                self.update_metric(eval_metric, [eb.label for eb in eval_batch], pre_sliced=True)
            else:
                self.update_metric(eval_metric, eval_batch.label)
            _call_back(batch_end_callback, epoch, nbatch, eval_metric, locals())
            actual_num_batch += 1
        _call_back(score_end_callback, epoch, actual_num_batch, eval_metric, locals())
        return eval_metric.get_name_value()

    def iter_predict(self, eval_data, num_batch=None, reset=True, sparse_row_id_fn=None):
        """Yield ``(outputs, nbatch, batch)`` per batch, padding removed from the outputs."""
        self._require("iter_predict", params=True)
        if reset:
            eval_data.reset()
        for nbatch, eval_batch in enumerate(eval_data):
            if num_batch is not None and nbatch == num_batch:
                break
            self.prepare(eval_batch, sparse_row_id_fn=sparse_row_id_fn)
            self.forward(eval_batch, is_train=False)
            pad = eval_batch.pad or 0
            outputs = [out[0:out.shape[0] - pad] for out in self.get_outputs()]
            yield outputs, nbatch, eval_batch

    def predict(self, eval_data, num_batch=None, merge_batches=True, reset=True,
                always_output_list=False, sparse_row_id_fn=None):
        """Outputs for all of ``eval_data`` (a DataIter, or one NDArray / numpy batch).

        Padded examples of the last batch are dropped.  With ``merge_batches`` the batches are
        concatenated (one array per output; a bare array when there is one output and not
        ``always_output_list``); otherwise a list per batch is returned.
        """
        self._require("predict", params=True)
        if isinstance(eval_data, (nd.NDArray, np.ndarray)):
            if isinstance(eval_data, np.ndarray):
                eval_data = nd.array(eval_data)
            self.forward(DataBatch([eval_data]))
            return self.get_outputs()[0]
        if not isinstance(eval_data, DataIter):
            raise ValueError(
                f"eval_data must be of type NDArray or DataIter, got {type(eval_data).__name__}"
            )
        output_list = [[out.copy() for out in outputs] for outputs, _, _ in
                       self.iter_predict(eval_data, num_batch, reset, sparse_row_id_fn)]
        if not output_list:
            return output_list
        if not merge_batches:
            return output_list
        num_outputs = len(output_list[0])
        if any(len(out) != num_outputs for out in output_list):
            raise ValueError(
                "Cannot merge batches, as num of outputs is not the same in mini-batches. "
                "Maybe bucketing is used?"
            )
        merged = [nd.concatenate([out[i] for out in output_list]) for i in range(num_outputs)]
        if num_outputs == 1 and not always_output_list:
            return merged[0]
        return merged

    def fit(self, train_data, eval_data=None, eval_metric="acc", epoch_end_callback=None,
            batch_end_callback=None, kvstore="local", optimizer="sgd",
            optimizer_params=(("learning_rate", 0.01),), eval_end_callback=None,
            eval_batch_end_callback=None, initializer=Uniform(0.01), arg_params=None,
            aux_params=None, allow_missing=False, force_rebind=False, force_init=False,
            begin_epoch=0, num_epoch=None, validation_metric=None, monitor=None,
            sparse_row_id_fn=None):
        """Train on ``train_data`` for epochs ``begin_epoch .. num_epoch - 1`` (see module doc).

        ``batch_end_callback`` / ``eval_batch_end_callback`` / ``eval_end_callback`` get a
        :class:`~mxlite.model.BatchEndParam`; ``epoch_end_callback`` gets ``(epoch, symbol,
        arg_params, aux_params)``.  ``mx.callback.TqdmProgressBar()`` shows a progress bar.
        """
        if num_epoch is None:
            raise ValueError("fit: please specify number of epochs (num_epoch)")
        num_epoch = check_count("fit: num_epoch", num_epoch, 0)
        begin_epoch = check_count("fit: begin_epoch", begin_epoch, 0)
        if begin_epoch > num_epoch:
            raise ValueError(
                f"fit: begin_epoch ({begin_epoch}) is after num_epoch ({num_epoch}): epochs "
                "begin_epoch .. num_epoch - 1 are trained"
            )
        if not all(hasattr(train_data, a) for a in ("provide_data", "provide_label", "reset")):
            raise TypeError(
                "train_data must be a DataIter (with provide_data, provide_label, reset), got "
                f"{type(train_data).__name__}"
            )
        self.bind(data_shapes=train_data.provide_data, label_shapes=train_data.provide_label,
                  for_training=True, force_rebind=force_rebind)
        if monitor is not None:
            self.install_monitor(monitor)
        # fit has no allow_extra argument: parameters the symbol lacks are ignored, as in MXNet
        self.init_params(initializer=initializer, arg_params=arg_params, aux_params=aux_params,
                         allow_missing=allow_missing, force_init=force_init, allow_extra=True)
        self.init_optimizer(kvstore=kvstore, optimizer=optimizer,
                            optimizer_params=optimizer_params)
        if validation_metric is None:
            validation_metric = eval_metric
        if not isinstance(eval_metric, _metric.EvalMetric):
            eval_metric = _metric.create(eval_metric)

        for epoch in range(begin_epoch, num_epoch):
            tic = time.time()
            eval_metric.reset()
            nbatch = 0
            data_iter = iter(train_data)
            end_of_batch = False
            try:
                next_data_batch = next(data_iter)
            except StopIteration:
                raise ValueError(
                    f"fit: train_data yielded no batch in epoch {epoch} (fewer examples than "
                    "batch_size with last_batch_handle='discard'?)"
                ) from None
            eval_name_vals = []
            while not end_of_batch:
                data_batch = next_data_batch
                if monitor is not None:
                    monitor.tic()
                self.forward_backward(data_batch)
                self.update()
                if isinstance(data_batch, list):
                    self.update_metric(eval_metric, [db.label for db in data_batch],
                                       pre_sliced=True)
                else:
                    self.update_metric(eval_metric, data_batch.label)
                try:
                    next_data_batch = next(data_iter)
                    self.prepare(next_data_batch, sparse_row_id_fn=sparse_row_id_fn)
                except StopIteration:
                    end_of_batch = True
                if monitor is not None:
                    monitor.toc_print()
                if end_of_batch:
                    eval_name_vals = eval_metric.get_global_name_value()
                _call_back(batch_end_callback, epoch, nbatch, eval_metric, locals())
                nbatch += 1

            for name, val in eval_name_vals:
                self.logger.info("Epoch[%d] Train-%s=%f", epoch, name, val)
            toc = time.time()
            self.logger.info("Epoch[%d] Time cost=%.3f", epoch, toc - tic)

            arg_params_, aux_params_ = self.get_params()
            self.set_params(arg_params_, aux_params_)
            if epoch_end_callback is not None:
                for callback in _as_list(epoch_end_callback):
                    callback(epoch, self.symbol, arg_params_, aux_params_)

            if eval_data is not None:
                res = self.score(eval_data, validation_metric,
                                 score_end_callback=eval_end_callback,
                                 batch_end_callback=eval_batch_end_callback, epoch=epoch)
                for name, val in res:
                    self.logger.info("Epoch[%d] Validation-%s=%f", epoch, name, val)
            train_data.reset()

    def _not_implemented(self, what: str) -> NotImplementedError:
        """The error an abstract member ``what`` raises when a subclass lacks it."""
        return NotImplementedError(f"{type(self).__name__} does not implement {what}")

    # ------------------------------------------------------------------ symbol information
    data_names = _abstract_property("data_names")
    output_names = _abstract_property("output_names")
    data_shapes = _abstract_property("data_shapes")
    label_shapes = _abstract_property("label_shapes")
    output_shapes = _abstract_property("output_shapes")

    @property
    def symbol(self):
        """The symbol of this module."""
        return self._symbol

    # ------------------------------------------------------------------ parameters
    def get_params(self):
        raise self._not_implemented("get_params")

    def init_params(self, initializer=Uniform(0.01), arg_params=None, aux_params=None,
                    allow_missing=False, force_init=False, allow_extra=False):
        raise self._not_implemented("init_params")

    def set_params(self, arg_params, aux_params, allow_missing=False, force_init=True,
                   allow_extra=False):
        """Assign parameter values (``init_params`` with ``initializer=None``)."""
        self.init_params(initializer=None, arg_params=arg_params, aux_params=aux_params,
                         allow_missing=allow_missing, force_init=force_init,
                         allow_extra=allow_extra)

    def _set_params_by_init(self, arg_params, aux_params, allow_missing, force_init,
                            allow_extra) -> bool:
        """The part of ``set_params`` every module shares, as MXNet: without ``allow_missing``
        it is ``init_params``; with it, an initialized module and ``force_init=False`` keep
        their values (with MXNet's warning).  True when nothing is left to do."""
        if not allow_missing:
            self.init_params(initializer=None, arg_params=arg_params, aux_params=aux_params,
                             allow_missing=allow_missing, force_init=force_init,
                             allow_extra=allow_extra)
            return True
        if self.params_initialized and not force_init:
            warnings.warn("Parameters already initialized and force_init=False. "
                          "set_params call ignored.", stacklevel=3)
            return True
        return False

    def save_params(self, fname):
        """Write the parameters to ``fname`` (``arg:`` / ``aux:`` names, MXNet's format)."""
        from ..model import save_params

        arg_params, aux_params = self.get_params()
        save_params(fname, arg_params, aux_params)

    def load_params(self, fname):
        """Load parameters written by :meth:`save_params` (or MXNet) and ``set_params``."""
        from ..model import split_params

        arg_params, aux_params = split_params(nd.load(fname), fname)
        self.set_params(arg_params, aux_params)

    def get_states(self, merge_multi_context=True):
        self._require("get_states", params=True)
        if merge_multi_context:
            raise ValueError("this module has no states to merge")
        return []

    def set_states(self, states=None, value=None):
        self._require("set_states", params=True)
        if states or value:
            raise ValueError("this module has no states to set")

    def install_monitor(self, mon):
        raise self._not_implemented("install_monitor")

    # ------------------------------------------------------------------ computations
    def prepare(self, data_batch, sparse_row_id_fn=None):
        """Get ready for ``data_batch`` (nothing to do for dense parameters)."""
        if sparse_row_id_fn is not None:
            warnings.warn("sparse_row_id_fn is not invoked for BaseModule.", UserWarning,
                          stacklevel=2)

    def forward(self, data_batch, is_train=None):
        raise self._not_implemented("forward")

    def backward(self, out_grads=None):
        raise self._not_implemented("backward")

    def get_outputs(self, merge_multi_context=True):
        raise self._not_implemented("get_outputs")

    def get_input_grads(self, merge_multi_context=True):
        raise self._not_implemented("get_input_grads")

    def update(self):
        raise self._not_implemented("update")

    def update_metric(self, eval_metric, labels, pre_sliced=False):
        raise self._not_implemented("update_metric")

    # ------------------------------------------------------------------ modules
    def bind(self, data_shapes, label_shapes=None, for_training=True, inputs_need_grad=False,
             force_rebind=False, shared_module=None, grad_req="write"):
        raise self._not_implemented("bind")

    def init_optimizer(self, kvstore="local", optimizer="sgd",
                       optimizer_params=(("learning_rate", 0.01),), force_init=False):
        raise self._not_implemented("init_optimizer")
