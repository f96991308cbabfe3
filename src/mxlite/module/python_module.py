"""Modules computed in Python: ``PythonModule`` (no parameters; subclass it) and
``PythonLossModule`` (a loss whose gradient is a Python function), MXNet 1.9.1 semantics.

>>> import mxlite as mx
>>> loss = mx.mod.PythonLossModule(grad_func=lambda scores, labels: scores - labels)
>>> loss.bind([("data", (2, 1))], [("softmax_label", (2, 1))])
>>> loss.init_params()
>>> batch = mx.io.DataBatch([mx.nd.array([[3.0], [1.0]])], [mx.nd.array([[1.0], [1.0]])])
>>> loss.forward(batch, is_train=True)
>>> loss.backward()
>>> loss.get_input_grads()[0].asnumpy().ravel().tolist()
[2.0, 0.0]
"""

from __future__ import annotations

import logging

from .. import ndarray as nd
from ..base import MXNetError
from ..initializer import Uniform
from .base_module import BaseModule, _parse_data_desc

__all__ = ["PythonLossModule", "PythonModule"]


class PythonModule(BaseModule):
    """A parameterless module written in Python.

    Subclasses implement ``forward``, ``backward``, ``get_outputs``, ``get_input_grads`` and
    ``_compute_output_shapes`` (the ``(name, shape)`` of each output for the bound shapes).
    """

    def __init__(self, data_names, label_names, output_names, logger=logging):
        super().__init__(logger=logger)
        self._data_names = list(data_names)
        self._label_names = list(label_names) if label_names is not None else []
        self._output_names = list(output_names)
        self._data_shapes = None
        self._label_shapes = None
        self._output_shapes = None

    @property
    def data_names(self):
        return self._data_names

    @property
    def output_names(self):
        return self._output_names

    @property
    def data_shapes(self):
        return self._data_shapes

    @property
    def label_shapes(self):
        return self._label_shapes

    @property
    def output_shapes(self):
        return self._output_shapes

    def get_params(self):
        """No parameters: ``({}, {})``."""
        return {}, {}

    def init_params(self, initializer=Uniform(0.01), arg_params=None, aux_params=None,
                    allow_missing=False, force_init=False, allow_extra=False):
        """Nothing to initialize."""
        self.params_initialized = True

    def set_params(self, arg_params, aux_params, allow_missing=False, force_init=True,
                   allow_extra=False):
        self.params_initialized = True

    def update(self):
        """No parameters to update."""

    def update_metric(self, eval_metric, labels, pre_sliced=False):
        """Update ``eval_metric`` with ``labels`` and the outputs (when labels are bound)."""
        if self._label_shapes is None:
            return
        if pre_sliced:
            raise ValueError("PythonModule does not support pre-sliced labels")
        eval_metric.update(labels, self.get_outputs())

    def bind(self, data_shapes, label_shapes=None, for_training=True, inputs_need_grad=False,
             force_rebind=False, shared_module=None, grad_req="write"):
        """Record the input shapes and compute the output shapes."""
        if self.binded and not force_rebind:
            self.logger.warning("Already bound, ignoring bind()")
            return
        if grad_req != "write":
            raise ValueError(f"PythonModule supports grad_req='write' only, got {grad_req!r}")
        self.for_training = for_training
        self.inputs_need_grad = inputs_need_grad
        self._data_shapes, self._label_shapes = _parse_data_desc(
            self._data_names, self._label_names or None, data_shapes, label_shapes)
        self._output_shapes = self._compute_output_shapes()
        self.binded = True

    def _compute_output_shapes(self):
        raise MXNetError(f"{type(self).__name__} must define _compute_output_shapes()")

    def init_optimizer(self, kvstore="local", optimizer="sgd",
                       optimizer_params=(("learning_rate", 0.01),), force_init=False):
        """No parameters, so no optimizer."""
        self.optimizer_initialized = True

    def install_monitor(self, mon):
        """Nothing to monitor (no executor)."""


class PythonLossModule(PythonModule):
    """Passes its input through as the output; backward gives ``grad_func(scores, labels)``
    as the input gradient (a subclass may override ``_backward_impl`` instead)."""

    def __init__(self, name="pyloss", data_names=("data",), label_names=("softmax_label",),
                 logger=logging, grad_func=None):
        super().__init__(data_names, label_names, [name + "_output"], logger=logger)
        if len(self._data_names) != 1 or len(self._label_names) != 1:
            raise ValueError("PythonLossModule takes exactly one data and one label input")
        if grad_func is not None and not callable(grad_func):
            raise TypeError(f"grad_func must be callable, got {grad_func!r}")
        self._name = name
        self._scores = None
        self._labels = None
        self._scores_grad = None
        self._grad_func = grad_func

    def _compute_output_shapes(self):
        return [(self._name + "_output", tuple(self._data_shapes[0].shape))]

    def forward(self, data_batch, is_train=None):
        """Keep the scores (and, when training, the labels)."""
        self._scores = data_batch.data[0]
        if is_train is None:
            is_train = self.for_training
        if is_train:
            self._labels = data_batch.label[0]

    def get_outputs(self, merge_multi_context=True):
        if not merge_multi_context:
            return [[self._scores]]
        return [self._scores]

    def backward(self, out_grads=None):
        """Compute the input gradient (a loss takes no head gradient)."""
        if out_grads is not None:
            raise ValueError("PythonLossModule.backward: a loss takes no out_grads")
        if not self.for_training:
            raise MXNetError("re-bind with for_training=True to run backward")
        self._backward_impl()

    def _backward_impl(self):
        if self._grad_func is None:
            raise MXNetError("PythonLossModule needs grad_func (or a subclass overriding "
                             "_backward_impl) to compute gradients")
        grad = self._grad_func(self._scores, self._labels)
        if not isinstance(grad, nd.NDArray):
            grad = nd.array(grad)
        self._scores_grad = grad

    def get_input_grads(self, merge_multi_context=True):
        if not merge_multi_context:
            return [[self._scores_grad]]
        return [self._scores_grad]
