"""``BucketingModule``: one :class:`Module` per bucket key (e.g. a sequence length), all sharing
the parameters of the default bucket's module (MXNet 1.9.1 semantics).

``sym_gen(bucket_key)`` returns ``(symbol, data_names, label_names)``.  Each batch's
``bucket_key`` (with its ``provide_data`` / ``provide_label``) selects the module; a new key binds
a new module sharing the default one's arrays and optimizer.

>>> import mxlite as mx
>>> def sym_gen(key):
...     data = mx.sym.var("data")
...     fc = mx.sym.FullyConnected(data, num_hidden=2, name="fc")
...     return mx.sym.SoftmaxOutput(fc, name="softmax"), ("data",), ("softmax_label",)
>>> mod = mx.mod.BucketingModule(sym_gen, default_bucket_key=4)
>>> mod.bind([("data", (3, 4))], [("softmax_label", (3,))])
>>> mod.init_params()
>>> sorted(mod.get_params()[0])
['fc_bias', 'fc_weight']
"""

from __future__ import annotations

import logging
import os

import numpy as np

from .. import ndarray as nd
from ..context import cpu
from ..initializer import Uniform
from .base_module import BaseModule, bound_property
from .module import Module

__all__ = ["BucketingModule"]


class BucketingModule(BaseModule):
    """Modules bound per bucket key, sharing parameters; see the module docstring."""

    def __init__(self, sym_gen, default_bucket_key=None, logger=logging, context=cpu(),
                 work_load_list=None, fixed_param_names=None, state_names=None,
                 group2ctxs=None, compression_params=None):
        super().__init__(logger=logger)
        if default_bucket_key is None:
            raise ValueError("BucketingModule: default_bucket_key is required")
        if not callable(sym_gen):
            raise TypeError(f"BucketingModule: sym_gen must be callable, got {sym_gen!r}")
        self._default_bucket_key = default_bucket_key
        self._sym_gen = sym_gen
        self._call_sym_gen(default_bucket_key)  # fails early on a bad sym_gen
        state_names = list(state_names) if state_names is not None else []
        fixed_param_names = list(fixed_param_names) if fixed_param_names is not None else []
        self._fixed_param_names = fixed_param_names
        self._state_names = state_names
        self._context = context
        self._work_load_list = work_load_list
        self._group2ctxs = group2ctxs
        self._compression_params = compression_params
        self._buckets: dict = {}
        self._curr_module = None
        self._curr_bucket_key = None
        self._params_dirty = False
        self._monitor = None
        self._grad_req = None
        self._preloaded = None  # (arg_params, aux_params) read by load(), used at bind
        self._saved_keys: list = []

    def _call_sym_gen(self, bucket_key):
        from ..symbol.name import NameManager

        with NameManager():  # automatic names (embedding0_weight) the same for every bucket
            result = self._sym_gen(bucket_key)
        if not (isinstance(result, (tuple, list)) and len(result) == 3):
            raise ValueError(
                "sym_gen must return (symbol, data_names, label_names), got "
                f"{type(result).__name__}"
            )
        return result

    def _new_module(self, bucket_key, symbol=None):
        sym, data_names, label_names = self._call_sym_gen(bucket_key)
        return Module(symbol if symbol is not None else sym, data_names, label_names,
                      logger=self.logger, context=self._context,
                      work_load_list=self._work_load_list,
                      fixed_param_names=self._fixed_param_names,
                      state_names=self._state_names, group2ctxs=self._group2ctxs,
                      compression_params=self._compression_params)

    def _reset_bind(self):
        self.binded = False
        self._buckets = {}
        self._curr_module = None
        self._curr_bucket_key = None

    # ------------------------------------------------------------------ properties
    @property
    def data_names(self):
        if self.binded:
            return self._curr_module.data_names
        return list(self._call_sym_gen(self._default_bucket_key)[1])

    @property
    def output_names(self):
        if self.binded:
            return self._curr_module.output_names
        return self._call_sym_gen(self._default_bucket_key)[0].list_outputs()

    data_shapes = bound_property("data_shapes", lambda self: self._curr_module.data_shapes)
    label_shapes = bound_property("label_shapes", lambda self: self._curr_module.label_shapes)
    output_shapes = bound_property("output_shapes",
                                   lambda self: self._curr_module.output_shapes)

    @property
    def symbol(self):
        self._require("symbol")
        return self._curr_module.symbol

    # ------------------------------------------------------------------ parameters
    def get_params(self):
        """The parameters (``arg_params``, ``aux_params``) shared by every bucket."""
        if self._preloaded is not None and not self.binded:
            return self._preloaded
        self._require("get_params", params=True)
        self._curr_module._params_dirty = self._params_dirty
        params = self._curr_module.get_params()
        self._params_dirty = False
        return params

    def set_params(self, arg_params, aux_params, allow_missing=False, force_init=True,
                   allow_extra=False):
        """Assign parameter values (see :meth:`Module.set_params`)."""
        if self._set_params_by_init(arg_params, aux_params, allow_missing, force_init,
                                    allow_extra):
            return
        self._curr_module.set_params(arg_params, aux_params, allow_missing=allow_missing,
                                     force_init=force_init, allow_extra=allow_extra)
        self._params_dirty = True
        self.params_initialized = True

    def init_params(self, initializer=Uniform(0.01), arg_params=None, aux_params=None,
                    allow_missing=False, force_init=False, allow_extra=False):
        """Initialize the shared parameters through the current bucket's module."""
        if self.params_initialized and not force_init:
            return
        self._require("init_params")
        self._curr_module.init_params(initializer=initializer, arg_params=arg_params,
                                      aux_params=aux_params, allow_missing=allow_missing,
                                      force_init=force_init, allow_extra=allow_extra)
        self._params_dirty = False
        self.params_initialized = True

    def get_states(self, merge_multi_context=True):
        self._require("get_states", params=True)
        return self._curr_module.get_states(merge_multi_context=merge_multi_context)

    def set_states(self, states=None, value=None):
        self._require("set_states", params=True)
        self._curr_module.set_states(states, value)

    # ------------------------------------------------------------------ binding
    def bind(self, data_shapes, label_shapes=None, for_training=True, inputs_need_grad=False,
             force_rebind=False, shared_module=None, grad_req="write"):
        """Bind the default bucket's module (other buckets bind on first use)."""
        if self.params_initialized:
            arg_params, aux_params = self.get_params()
        if force_rebind:
            self._reset_bind()
        if self.binded:
            self.logger.warning("Already bound, ignoring bind()")
            return
        if shared_module is not None:
            raise ValueError("BucketingModule.bind: shared_module is not supported")
        self.for_training = for_training
        self.inputs_need_grad = inputs_need_grad
        self._grad_req = grad_req
        module = self._new_module(self._default_bucket_key)
        module.bind(data_shapes, label_shapes, for_training, inputs_need_grad,
                    force_rebind=False, shared_module=None, grad_req=grad_req)
        self.binded = True
        self._curr_module = module
        self._curr_bucket_key = self._default_bucket_key
        self._buckets[self._default_bucket_key] = module
        if self.params_initialized:
            self.set_params(arg_params, aux_params)
            self._preloaded = None

    def switch_bucket(self, bucket_key, data_shapes, label_shapes=None):
        """Make ``bucket_key``'s module current, binding it (sharing the default one's
        parameters) the first time."""
        self._require("switch_bucket")
        if bucket_key not in self._buckets:
            module = self._new_module(bucket_key)
            module.bind(data_shapes, label_shapes, self._curr_module.for_training,
                        self._curr_module.inputs_need_grad, force_rebind=False,
                        shared_module=self._buckets[self._default_bucket_key],
                        grad_req=self._grad_req)
            if self._monitor is not None:
                module.install_monitor(self._monitor)
            self._buckets[bucket_key] = module
        elif data_shapes is not None and self._buckets[bucket_key].binded:
            module = self._buckets[bucket_key]
            if [tuple(d[1] if isinstance(d, tuple) else d.shape) for d in data_shapes] != \
                    [tuple(d.shape) for d in module.data_shapes]:
                module.reshape(data_shapes, label_shapes)
        self._curr_module = self._buckets[bucket_key]
        self._curr_bucket_key = bucket_key

    # ------------------------------------------------------------------ optimizer
    def init_optimizer(self, kvstore="local", optimizer="sgd",
                       optimizer_params=(("learning_rate", 0.01),), force_init=False):
        """One optimizer, shared by every bucket's module."""
        if self._skip_init_optimizer(force_init):
            return
        self._curr_module.init_optimizer(kvstore, optimizer, optimizer_params,
                                         force_init=force_init)
        for mod in self._buckets.values():
            if mod is not self._curr_module:
                mod.borrow_optimizer(self._curr_module)
        self.optimizer_initialized = True

    # ------------------------------------------------------------------ computation
    def prepare(self, data_batch, sparse_row_id_fn=None):
        """Bind the batch's bucket if new, prepare it, and switch back."""
        self._require("prepare", params=True)
        original = self._curr_bucket_key
        self.switch_bucket(data_batch.bucket_key, data_batch.provide_data,
                           data_batch.provide_label)
        self._curr_module.prepare(data_batch, sparse_row_id_fn=sparse_row_id_fn)
        self.switch_bucket(original, None, None)

    def forward(self, data_batch, is_train=None):
        """Switch to the batch's bucket and compute its outputs."""
        self._require("forward", params=True)
        key = getattr(data_batch, "bucket_key", None)
        if key is None:
            key = self._curr_bucket_key
        self.switch_bucket(key, getattr(data_batch, "provide_data", None),
                           getattr(data_batch, "provide_label", None))
        self._curr_module.forward(data_batch, is_train=is_train)

    def backward(self, out_grads=None):
        self._require("backward", params=True)
        self._curr_module.backward(out_grads=out_grads)

    def update(self):
        self._require("update", params=True, optimizer=True)
        self._params_dirty = True
        self._curr_module.update()

    def get_outputs(self, merge_multi_context=True):
        self._require("get_outputs", params=True)
        return self._curr_module.get_outputs(merge_multi_context=merge_multi_context)

    def get_input_grads(self, merge_multi_context=True):
        self._require("get_input_grads", params=True)
        return self._curr_module.get_input_grads(merge_multi_context=merge_multi_context)

    def update_metric(self, eval_metric, labels, pre_sliced=False):
        self._require("update_metric", params=True)
        self._curr_module.update_metric(eval_metric, labels, pre_sliced)

    def install_monitor(self, mon):
        self._require("install_monitor")
        self._monitor = mon
        for mod in self._buckets.values():
            mod.install_monitor(mon)

    # ------------------------------------------------------------------ checkpoints
    def save_checkpoint(self, prefix, epoch, remove_amp_cast=False):
        """``prefix-EPOCH.params``, one ``prefix-KEY-symbol.json`` per bucket and
        ``prefix.buckets`` (the keys), as MXNet writes them."""
        if not self._buckets:
            raise ValueError("an empty BucketingModule cannot be saved")
        self.save_params(f"{prefix}-{epoch:04d}.params")
        for key in self._buckets:
            symbol, _, _ = self._call_sym_gen(key)
            symbol.save(f"{prefix}-{key}-symbol.json", remove_amp_cast=remove_amp_cast)
        nd.save(f"{prefix}.buckets", nd.array(list(self._buckets), dtype=np.int32))

    @staticmethod
    def load(prefix, epoch, sym_gen=None, default_bucket_key=None, **kwargs):
        """A BucketingModule from :meth:`save_checkpoint`'s files (bind it, then train or
        predict; the parameters are loaded on bind)."""
        from ..model import load_params

        if sym_gen is None or default_bucket_key is None:
            raise ValueError("BucketingModule.load needs sym_gen and default_bucket_key")
        keys_file = f"{prefix}.buckets"
        if not os.path.exists(keys_file):
            raise ValueError(f"BucketingModule.load: {keys_file!r} not found")
        keys = [int(k) for k in nd.load(keys_file)[0].asnumpy().astype(np.int32)]
        mod = BucketingModule(sym_gen, default_bucket_key, **kwargs)
        mod._preloaded = load_params(prefix, epoch)
        mod._saved_keys = keys
        mod.params_initialized = True
        return mod
