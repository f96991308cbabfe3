"""``SequentialModule``: modules chained so that each one's outputs feed the next one's data
(MXNet 1.9.1 semantics: ``add(module, take_labels=..., auto_wiring=...)``).

>>> import mxlite as mx
>>> net1 = mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=4, name="fc1")
>>> net2 = mx.sym.SoftmaxOutput(mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=2,
...                                                   name="fc2"), name="softmax")
>>> seq = mx.mod.SequentialModule()
>>> _ = seq.add(mx.mod.Module(net1, label_names=None))
>>> _ = seq.add(mx.mod.Module(net2), take_labels=True, auto_wiring=True)
>>> seq.bind([("data", (3, 5))], [("softmax_label", (3,))])
>>> seq.init_params()
>>> sorted(seq.get_params()[0])
['fc1_bias', 'fc1_weight', 'fc2_bias', 'fc2_weight']
"""

from __future__ import annotations

import copy
import logging

from ..initializer import Uniform
from ..io import DataBatch, DataDesc
from .base_module import BaseModule, bound_property

__all__ = ["SequentialModule"]


class SequentialModule(BaseModule):
    """A chain of modules; ``take_labels`` gives a module the batch's labels, ``auto_wiring``
    renames the previous outputs to its data names."""

    META_TAKE_LABELS = "take_labels"
    META_AUTO_WIRING = "auto_wiring"

    def __init__(self, logger=logging):
        super().__init__(logger=logger)
        self._modules: list = []
        self._metas: list = []
        self._label_shapes = None
        self._data_shapes = None
        self._meta_keys = {self.META_TAKE_LABELS, self.META_AUTO_WIRING}

    def add(self, module, **kwargs):
        """Append ``module`` (returns self, so calls chain); adding resets binding and
        initialization."""
        unknown = set(kwargs) - self._meta_keys
        if unknown:
            raise ValueError(f"SequentialModule.add: unknown meta {sorted(unknown)}; "
                             f"known: {sorted(self._meta_keys)}")
        self._modules.append(module)
        self._metas.append(kwargs)
        self.binded = False
        self.params_initialized = False
        self.optimizer_initialized = False
        return self

    def _need(self):
        if not self._modules:
            raise ValueError("SequentialModule has no modules; add() some first")

    @property
    def data_names(self):
        self._need()
        return self._modules[0].data_names

    @property
    def output_names(self):
        self._need()
        return self._modules[-1].output_names

    data_shapes = bound_property("data_shapes", lambda self: self._modules[0].data_shapes)
    #: as given to bind (MXNet's SequentialModule keeps them so)
    label_shapes = bound_property("label_shapes", lambda self: self._label_shapes)
    output_shapes = bound_property("output_shapes",
                                   lambda self: self._modules[-1].output_shapes)

    def get_params(self):
        """Every module's parameters, merged."""
        self._require("get_params", params=True)
        arg_params, aux_params = {}, {}
        for module in self._modules:
            arg, aux = module.get_params()
            arg_params.update(arg)
            aux_params.update(aux)
        return arg_params, aux_params

    def init_params(self, initializer=Uniform(0.01), arg_params=None, aux_params=None,
                    allow_missing=False, force_init=False, allow_extra=False):
        """Initialize each module; parameter names must be unique across modules."""
        if self.params_initialized and not force_init:
            return
        self._require("init_params")
        for module in self._modules:
            module.init_params(initializer=initializer, arg_params=arg_params,
                               aux_params=aux_params, allow_missing=allow_missing,
                               force_init=force_init, allow_extra=True)
        seen: dict = {}
        for i, module in enumerate(self._modules):
            arg, aux = module.get_params()
            for name in list(arg) + list(aux):
                if name in seen:
                    raise ValueError(
                        f"Duplicated parameter name {name!r}: layer {i} ({type(module).__name__})"
                        f" and layer {seen[name]}"
                    )
                seen[name] = i
        self.params_initialized = True

    def bind(self, data_shapes, label_shapes=None, for_training=True, inputs_need_grad=False,
             force_rebind=False, shared_module=None, grad_req="write"):
        """Bind each module on the previous one's output shapes."""
        self._need()
        if self.binded and not force_rebind:
            self.logger.warning("Already bound, ignoring bind()")
            return
        if inputs_need_grad and not for_training:
            raise ValueError("bind: inputs_need_grad=True needs for_training=True")
        if shared_module is not None:
            raise ValueError("SequentialModule.bind: shared_module is not supported")
        self.binded = True
        self.for_training = for_training
        self.inputs_need_grad = inputs_need_grad
        self._label_shapes = label_shapes
        my_data_shapes = data_shapes
        any_takes_labels = False
        for i, (module, meta) in enumerate(zip(self._modules, self._metas, strict=True)):
            takes_labels = meta.get(self.META_TAKE_LABELS, False)
            my_label_shapes = label_shapes if takes_labels else None
            any_takes_labels |= bool(takes_labels)
            if meta.get(self.META_AUTO_WIRING, False):
                names = module.data_names
                if len(names) != len(my_data_shapes):
                    raise ValueError(
                        f"auto_wiring: module {i} has data names {names} for "
                        f"{len(my_data_shapes)} inputs"
                    )
                my_data_shapes = [DataDesc(n, tuple(s[1] if isinstance(s, tuple) else s.shape))
                                  for n, s in zip(names, my_data_shapes, strict=True)]
            module.bind(data_shapes=my_data_shapes, label_shapes=my_label_shapes,
                        for_training=for_training,
                        inputs_need_grad=bool(inputs_need_grad or (for_training and i > 0)),
                        force_rebind=force_rebind, shared_module=None, grad_req=grad_req)
            my_data_shapes = module.output_shapes
        if not any_takes_labels:
            self._label_shapes = None

    def init_optimizer(self, kvstore="local", optimizer="sgd",
                       optimizer_params=(("learning_rate", 0.01),), force_init=False):
        """One optimizer per module (a copy of ``optimizer`` when it is an instance)."""
        if self._skip_init_optimizer(force_init):
            return
        for module in self._modules:
            opt = optimizer if isinstance(optimizer, str) else copy.deepcopy(optimizer)
            module.init_optimizer(kvstore=kvstore, optimizer=opt,
                                  optimizer_params=optimizer_params, force_init=force_init)
        self.optimizer_initialized = True

    def forward(self, data_batch, is_train=None):
        """Run the modules in order, each on the previous one's outputs."""
        self._require("forward", params=True)
        batch = copy.copy(data_batch)
        for i, module in enumerate(self._modules):
            module.forward(batch, is_train=is_train)
            if i + 1 == len(self._modules):
                break
            outputs = module.get_outputs()
            nxt = self._modules[i + 1]
            label = data_batch.label if self._metas[i + 1].get(self.META_TAKE_LABELS) else None
            batch = DataBatch(outputs, label, pad=getattr(data_batch, "pad", 0),
                              provide_data=[DataDesc(n, o.shape) for n, o in
                                            zip(nxt.data_names, outputs, strict=False)])

    def backward(self, out_grads=None):
        """Back-propagate from the last module to the first."""
        self._require("backward", params=True)
        for i in range(len(self._modules) - 1, -1, -1):
            module = self._modules[i]
            module.backward(out_grads=out_grads)
            if i == 0:
                break
            out_grads = module.get_input_grads()

    def update(self):
        self._require("update", params=True, optimizer=True)
        for module in self._modules:
            module.update()

    def get_outputs(self, merge_multi_context=True):
        self._require("get_outputs", params=True)
        return self._modules[-1].get_outputs(merge_multi_context=merge_multi_context)

    def get_input_grads(self, merge_multi_context=True):
        self._require("get_input_grads", params=True)
        if not self.inputs_need_grad:
            raise ValueError("bind with inputs_need_grad=True to get input gradients")
        return self._modules[0].get_input_grads(merge_multi_context=merge_multi_context)

    def update_metric(self, eval_metric, labels, pre_sliced=False):
        """Update ``eval_metric`` from every module that takes the labels."""
        self._require("update_metric", params=True)
        for module, meta in zip(self._modules, self._metas, strict=True):
            if meta.get(self.META_TAKE_LABELS, False):
                module.update_metric(eval_metric, labels, pre_sliced)

    def install_monitor(self, mon):
        self._require("install_monitor")
        for module in self._modules:
            module.install_monitor(mon)
