"""``Module``: a symbol bound to data, with parameters and an optimizer (MXNet 1.9.1 semantics).

>>> import mxlite as mx
>>> data = mx.symbol.Variable('data')
>>> label = mx.symbol.Variable('softmax_label')
>>> fc = mx.symbol.FullyConnected(data, name='fc', num_hidden=10)
>>> loss = mx.symbol.SoftmaxOutput(fc, label, name='softmax')
>>> mod = mx.mod.Module(loss)
>>> mod.bind(data_shapes=[('data', (128, 20))], label_shapes=[('softmax_label', (128,))])
>>> mod.init_params(mx.initializer.Uniform(scale=1.0))
>>> lr_sch = mx.lr_scheduler.FactorScheduler(step=100, factor=0.9)
>>> mod.init_optimizer(
...     optimizer='sgd', optimizer_params=(('learning_rate', 0.1), ('lr_scheduler', lr_sch)))

Then ``mod.fit(train_iter, num_epoch=...)`` trains.

The optimizer: ``init_optimizer`` creates it by name with ``rescale_grad = 1/batch_size`` (unless
given), ``param_idx2name`` (parameter index -> name, in ``list_arguments`` order) and
``sym=self.symbol`` (so ``lr_mult`` / ``wd_mult`` attributes of variables apply).  An
optimizer instance is used as given (with a warning if its ``rescale_grad`` is not
1/batch_size).  Updates run through the optimizer's :class:`~mxlite.optimizer.Updater`, or on a
:class:`~mxlite.kvstore.KVStore` when one is passed as ``kvstore`` (``update_on_kvstore`` is
decided as MXNet does: strings like ``'local'`` on one device mean no kvstore at all, and the
environment variable ``MXNET_UPDATE_ON_KVSTORE=0`` keeps updates off the kvstore).

Difference from MXNet 1.9.1: ``save_optimizer_states`` also stores the optimizer (its update
counts and learning-rate schedule), so ``save_checkpoint(..., save_optimizer_states=True)`` ->
``Module.load(..., load_optimizer_states=True)`` -> ``fit(begin_epoch=...)`` continues exactly as
uninterrupted training would (MXNet restarts Adam's bias correction and the schedule).
"""

from __future__ import annotations

import logging
import os
import warnings

import numpy as np

from .. import ndarray as nd
from ..base import MXNetError
from ..context import Context, check_usable, cpu
from ..initializer import InitDesc, Uniform
from ..io import DataDesc
from .base_module import BaseModule, _check_input_names, _parse_data_desc, bound_property
from .executor_group import DataParallelExecutorGroup, ExecutorGroup

__all__ = ["Module"]


def _create_kvstore(kvstore, num_device, arg_params):
    """``(kvstore or None, update_on_kvstore)`` as MXNet 1.9.1 decides them."""
    from .. import kvstore as kvs

    env = os.getenv("MXNET_UPDATE_ON_KVSTORE", "1")
    try:
        update_on_kvstore = bool(int(env))
    except ValueError:
        raise ValueError(f"MXNET_UPDATE_ON_KVSTORE must be 0 or 1, got {env!r}") from None
    if kvstore is None:
        kv = None
    elif isinstance(kvstore, kvs.KVStore):
        kv = kvstore
    elif isinstance(kvstore, str):
        if num_device == 1 and "dist" not in kvstore:
            kv = None  # one device, one machine: no kvstore needed
        else:
            kv = kvs.create(kvstore)
            if kvstore == "local":
                max_size = max(int(np.prod(p.shape)) for p in arg_params.values())
                if max_size > 1024 * 1024 * 16:
                    update_on_kvstore = False
    else:
        raise TypeError(f"kvstore must be KVStore, str or None, got {kvstore!r}")
    if kv is None:
        update_on_kvstore = False
    else:
        update_on_kvstore &= kv.is_capable(kv.OPTIMIZER)
    return kv, update_on_kvstore


class Module(BaseModule):
    """A module computing ``symbol``; see the module docstring for an example.

    ``data_names`` / ``label_names`` name the inputs fed from data batches; every other
    argument of the symbol is a parameter, learned unless listed in ``fixed_param_names``.
    mxlite computes on one CPU device: ``context`` is ``mx.cpu()`` (or a one-element list).
    """

    def __init__(self, symbol, data_names=("data",), label_names=("softmax_label",),
                 logger=logging, context=cpu(), work_load_list=None, fixed_param_names=None,
                 state_names=None, group2ctxs=None, compression_params=None):
        super().__init__(logger=logger)
        if isinstance(context, Context):
            context = [context]
        if not isinstance(context, (list, tuple)) or not context \
                or not all(isinstance(c, Context) for c in context):
            raise ValueError(f"context must be a Context or a list of Contexts, got {context!r}")
        for c in context:
            check_usable(c)
        self._context = list(context)
        if work_load_list is None:
            work_load_list = [1] * len(self._context)
        if not isinstance(work_load_list, (list, tuple)) \
                or len(work_load_list) != len(self._context):
            raise ValueError(
                f"work_load_list needs one entry per context ({len(self._context)}), got "
                f"{work_load_list!r}"
            )
        self._work_load_list = list(work_load_list)
        self._group2ctxs = group2ctxs
        if not hasattr(symbol, "list_arguments"):
            raise TypeError(f"symbol must be an mx.sym.Symbol, got {type(symbol).__name__}")
        self._symbol = symbol

        data_names = list(data_names) if data_names is not None else []
        label_names = list(label_names) if label_names is not None else []
        state_names = list(state_names) if state_names is not None else []
        fixed_param_names = list(fixed_param_names) if fixed_param_names is not None else []
        _check_input_names(symbol, data_names, "data", True)
        _check_input_names(symbol, label_names, "label", False)
        _check_input_names(symbol, state_names, "state", True)
        _check_input_names(symbol, fixed_param_names, "fixed_param", True)

        arg_names = symbol.list_arguments()
        input_names = data_names + label_names + state_names
        self._param_names = [x for x in arg_names if x not in input_names]
        self._fixed_param_names = fixed_param_names
        self._aux_names = symbol.list_auxiliary_states()
        self._data_names = data_names
        self._label_names = label_names
        self._state_names = state_names
        self._output_names = symbol.list_outputs()

        self._arg_params = None
        self._aux_params = None
        self._params_dirty = False
        self._compression_params = compression_params
        self._optimizer = None
        self._kvstore = None
        self._update_on_kvstore = None
        self._updater = None
        self._preload_opt_states = None
        self._grad_req = None
        self._exec_group = None
        self._data_shapes = None
        self._label_shapes = None

    # ------------------------------------------------------------------ checkpoints
    @staticmethod
    def load(prefix, epoch, load_optimizer_states=False, **kwargs):
        """A module from ``save_checkpoint`` files; ``kwargs`` go to ``Module(...)``.

        With ``load_optimizer_states`` the states in ``prefix-%04d.states`` are loaded when the
        optimizer is initialized (``init_optimizer`` or ``fit``).
        """
        from ..model import load_checkpoint

        sym, args, auxs = load_checkpoint(prefix, epoch)
        mod = Module(symbol=sym, **kwargs)
        mod._arg_params = args
        mod._aux_params = auxs
        mod.params_initialized = True
        if load_optimizer_states:
            fname = f"{prefix}-{epoch:04d}.states"
            if not os.path.isfile(fname):
                raise FileNotFoundError(f"Module.load: optimizer states file {fname!r} not found")
            mod._preload_opt_states = fname
        return mod

    def save_checkpoint(self, prefix, epoch, save_optimizer_states=False, remove_amp_cast=True,
                        mxnet_states=False):
        """Write ``prefix-symbol.json``, ``prefix-%04d.params`` and, optionally,
        ``prefix-%04d.states`` (the optimizer states; ``mxnet_states=True``: in MXNet's pickled
        format, see :meth:`save_optimizer_states`)."""
        self._symbol.save(f"{prefix}-symbol.json")
        param_name = f"{prefix}-{epoch:04d}.params"
        self.save_params(param_name)
        logging.info('Saved checkpoint to "%s"', param_name)
        if save_optimizer_states:
            state_name = f"{prefix}-{epoch:04d}.states"
            self.save_optimizer_states(state_name, mxnet_format=mxnet_states)
            logging.info('Saved optimizer state to "%s"', state_name)

    def _reset_bind(self):
        self.binded = False
        self._exec_group = None
        self._data_shapes = None
        self._label_shapes = None

    # ------------------------------------------------------------------ properties
    @property
    def data_names(self):
        return self._data_names

    @property
    def label_names(self):
        return self._label_names

    @property
    def output_names(self):
        return self._output_names

    data_shapes = bound_property("data_shapes", lambda self: self._data_shapes)
    label_shapes = bound_property("label_shapes", lambda self: self._label_shapes)
    output_shapes = bound_property("output_shapes",
                                   lambda self: self._exec_group.get_output_shapes())

    # ------------------------------------------------------------------ parameters
    def get_params(self):
        """``(arg_params, aux_params)``: dicts name -> NDArray of the current values."""
        self._require("get_params", bound=False, params=True)
        if self._params_dirty:
            self._sync_params_from_devices()
        return self._arg_params, self._aux_params

    def init_params(self, initializer=Uniform(0.01), arg_params=None, aux_params=None,
                    allow_missing=False, force_init=False, allow_extra=False):
        """Initialize the parameters: values from ``arg_params`` / ``aux_params`` where given,
        else ``initializer(InitDesc(name, attrs), array)`` with the variable's attributes.

        A name in ``arg_params`` / ``aux_params`` that the symbol does not have is a ValueError
        unless ``allow_extra=True`` (as MXNet documents; MXNet 1.9.1 ignores such names here
        and raises only through ``set_params(..., allow_missing=True)``)."""
        if self.params_initialized and not force_init:
            warnings.warn("Parameters already initialized and force_init=False. "
                          "init_params call ignored.", stacklevel=2)
            return
        self._require("init_params")
        # checked before anything changes, in MXNet 1.9.1's order: a missing name first
        # (MXNetError, a RuntimeError), then an extra one (ValueError)
        for given, known, what in ((arg_params, self._arg_params, "arg_params"),
                                   (aux_params, self._aux_params, "aux_params")):
            missing = sorted(set(known) - set(given)) if given is not None else []
            if missing and not allow_missing:
                raise MXNetError(
                    f"{missing[0]} is not presented in {what} (pass allow_missing=True to "
                    "initialize missing parameters with the initializer)"
                )
        if not allow_extra:
            for given, known, what in ((arg_params, self._arg_params, "arg_params"),
                                       (aux_params, self._aux_params, "aux_params")):
                extra = sorted(set(given or {}) - set(known))
                if extra:
                    raise ValueError(
                        f"init_params: {what} has {extra[:5]} that the symbol does not have "
                        "(pass allow_extra=True to ignore extra parameters)"
                    )

        def _impl(desc, arr, cache, what):
            if cache is not None:
                if desc in cache:
                    src = cache[desc]
                    if src is not arr:
                        data = src._data if hasattr(src, "_data") else np.asarray(src)
                        if data.shape != arr.shape:
                            raise ValueError(
                                f"init_params: {what}[{str(desc)!r}] has shape {data.shape}, "
                                f"the module expects {arr.shape}"
                            )
                        if type(arr) is nd.NDArray:
                            arr._data[...] = data
                        else:  # a row_sparse parameter keeps its storage
                            arr[:] = nd.NDArray(np.asarray(data, arr.dtype), arr.context)
                    return
                if not allow_missing:
                    raise MXNetError(
                        f"{desc} is not presented in {what} (pass allow_missing=True to "
                        "initialize missing parameters with the initializer)"
                    )
            if initializer is not None:
                initializer(desc, arr)

        attrs = self._symbol.attr_dict()
        for name, arr in sorted(self._arg_params.items()):
            _impl(InitDesc(name, attrs.get(name, None)), arr, arg_params, "arg_params")
        for name, arr in sorted(self._aux_params.items()):
            _impl(InitDesc(name, attrs.get(name, None)), arr, aux_params, "aux_params")
        self.params_initialized = True
        self._params_dirty = False
        self._exec_group.set_params(self._arg_params, self._aux_params, allow_extra=allow_extra)

    def set_params(self, arg_params, aux_params, allow_missing=False, force_init=True,
                   allow_extra=False):
        """Assign parameter values; with ``allow_missing`` only the given ones change."""
        if self._set_params_by_init(arg_params, aux_params, allow_missing, force_init,
                                    allow_extra):
            return
        self._require("set_params")
        self._exec_group.set_params(arg_params, aux_params or {}, allow_extra=allow_extra)
        self._params_dirty = True
        self.params_initialized = True

    def _sync_params_from_devices(self):
        self._exec_group.get_params(self._arg_params, self._aux_params)
        if self._kvstore and self._update_on_kvstore:
            # a row_sparse parameter holds only the rows last pulled: read it from the kvstore
            for name, block in zip(self._exec_group.param_names, self._exec_group.param_arrays,
                                   strict=True):
                if block[0].stype == "row_sparse":
                    dst = self._arg_params[name]
                    if dst.stype == "row_sparse":  # every row, as MXNet's Module
                        self._kvstore.row_sparse_pull(
                            name, out=dst, row_ids=nd.arange(0, dst.shape[0], dtype="int64"))
                    else:
                        self._kvstore.pull(name, out=dst)
        self._params_dirty = False

    # ------------------------------------------------------------------ binding
    def bind(self, data_shapes, label_shapes=None, for_training=True, inputs_need_grad=False,
             force_rebind=False, shared_module=None, grad_req="write"):
        """Allocate the executor for inputs of ``data_shapes`` / ``label_shapes`` (lists of
        :class:`~mxlite.io.DataDesc` or ``(name, shape)``)."""
        if force_rebind:
            self._reset_bind()
        if self.binded:
            self.logger.warning("Already bound, ignoring bind()")
            return
        if not for_training and inputs_need_grad:
            raise ValueError("bind: inputs_need_grad=True needs for_training=True")
        data_shapes, label_shapes = _parse_data_desc(
            self.data_names, self.label_names, data_shapes, label_shapes)
        if shared_module is not None:
            if not isinstance(shared_module, Module):
                raise TypeError(
                    f"shared_module must be a Module, got {type(shared_module).__name__}"
                )
            if not (shared_module.binded and shared_module.params_initialized):
                raise MXNetError("bind: shared_module must be bound and have its parameters "
                                 "initialized")
            shared_group = shared_module._exec_group
        else:
            shared_group = None

        if len(self._context) == 1:
            from .data_parallel import per_device_group2ctx

            self._exec_group = ExecutorGroup(
                self._symbol, self._context[0], data_shapes, label_shapes, self._param_names,
                for_training, inputs_need_grad, shared_group, logger=self.logger,
                fixed_param_names=self._fixed_param_names, grad_req=grad_req,
                state_names=self._state_names,
                group2ctx=per_device_group2ctx(self._group2ctxs, 1)[0],
            )
        else:
            self._exec_group = DataParallelExecutorGroup(
                self._symbol, self._context, self._work_load_list, data_shapes, label_shapes,
                self._param_names, for_training, inputs_need_grad, shared_group,
                logger=self.logger, fixed_param_names=self._fixed_param_names,
                grad_req=grad_req, state_names=self._state_names, group2ctxs=self._group2ctxs,
            )
        self.for_training = for_training
        self.inputs_need_grad = inputs_need_grad
        self._grad_req = grad_req
        self._data_shapes, self._label_shapes = data_shapes, label_shapes

        if shared_module is not None:
            self.params_initialized = True
            self._arg_params = shared_module._arg_params
            self._aux_params = shared_module._aux_params
        elif self.params_initialized:
            # e.g. after Module.load: push the loaded values into the new executor
            self._exec_group.set_params(self._arg_params, self._aux_params)
        else:
            self._arg_params = {  # in the bound arrays' storage (row_sparse weights stay so)
                name: nd.zeros(arr[0].shape, dtype=arr[0].dtype, stype=arr[0].stype)
                for name, arr in zip(self._param_names, self._exec_group.param_arrays,
                                     strict=True)
            }
            self._aux_params = {
                name: nd.zeros(arr[0].shape, dtype=arr[0].dtype)
                for name, arr in zip(self._aux_names, self._exec_group.aux_arrays, strict=True)
            }
        if shared_module is not None and shared_module.optimizer_initialized:
            self.borrow_optimizer(shared_module)
        self.binded = True

    def reshape(self, data_shapes, label_shapes=None):
        """Rebind for new input shapes (e.g. another batch size), keeping the parameters."""
        self._require("reshape")
        self._data_shapes, self._label_shapes = _parse_data_desc(
            self.data_names, self.label_names, data_shapes, label_shapes)
        self._exec_group.reshape(self._data_shapes, self._label_shapes)

    # ------------------------------------------------------------------ optimizer
    def init_optimizer(self, kvstore="local", optimizer="sgd",
                       optimizer_params=(("learning_rate", 0.01),), force_init=False):
        """Create the optimizer (by name or instance) and its updater; see the module doc."""
        from .. import optimizer as opt

        if self._skip_init_optimizer(force_init, "optimizer already initialized, ignoring..."):
            return
        if self._params_dirty:
            self._sync_params_from_devices()

        kvstore, update_on_kvstore = _create_kvstore(kvstore, len(self._context),
                                                     self._arg_params)
        batch_size = self._exec_group.batch_size
        if kvstore and "dist" in kvstore.type and "_async" not in kvstore.type:
            # synchronous workers' gradients are summed: normalize by the combined batch
            # (MXNet 1.9.1 tests '_sync' in the type and so misses plain 'dist', also sync)
            batch_size *= kvstore.num_workers
        rescale_grad = 1.0 / batch_size
        idx2name = dict(enumerate(self._exec_group.param_names))

        if isinstance(optimizer, str):
            try:
                params = dict(optimizer_params)
            except (TypeError, ValueError):
                raise TypeError(
                    "optimizer_params must be a dict or a sequence of (name, value) pairs, got "
                    f"{optimizer_params!r}"
                ) from None
            params.setdefault("rescale_grad", rescale_grad)
            optimizer = opt.create(optimizer, sym=self.symbol, param_idx2name=idx2name,
                                   **params)
        elif isinstance(optimizer, opt.Optimizer):
            if optimizer.rescale_grad != rescale_grad:
                warnings.warn(
                    "Optimizer created manually outside Module but rescale_grad is not "
                    f"normalized to 1.0/batch_size/num_workers ({optimizer.rescale_grad} vs. "
                    f"{rescale_grad}). Is this intended?", stacklevel=2)
            if not optimizer.idx2name:
                optimizer.idx2name = idx2name.copy()
        else:
            raise TypeError(
                f"optimizer must be a name or an mx.optimizer.Optimizer, got {optimizer!r}"
            )

        self._optimizer = optimizer
        self._kvstore = kvstore
        self._update_on_kvstore = update_on_kvstore
        self._updater = None
        if kvstore:
            if self._compression_params:
                kvstore.set_gradient_compression(self._compression_params)
            if update_on_kvstore:
                kvstore.set_optimizer(self._optimizer)
            for idx, name in enumerate(self._param_names):
                if update_on_kvstore:
                    kvstore.broadcast(name, self._arg_params[name],
                                      out=self._exec_group.param_arrays[idx])
                else:
                    kvstore.init(name, self._arg_params[name])
        if not update_on_kvstore:
            self._updater = opt.get_updater(optimizer)
        self.optimizer_initialized = True
        if self._preload_opt_states is not None:
            self.load_optimizer_states(self._preload_opt_states)
            self._preload_opt_states = None

    def borrow_optimizer(self, shared_module):
        """Share ``shared_module``'s optimizer, kvstore and updater."""
        if not shared_module.optimizer_initialized:
            raise MXNetError("borrow_optimizer: the shared module has no optimizer yet")
        self._optimizer = shared_module._optimizer
        self._kvstore = shared_module._kvstore
        self._update_on_kvstore = shared_module._update_on_kvstore
        self._updater = shared_module._updater
        self.optimizer_initialized = True

    # ------------------------------------------------------------------ computation
    def _check_batch_shapes(self, data_batch):
        """Raise ValueError unless the batch's data differ from the bound ones only along the
        batch axis; return the new data shapes."""
        data = data_batch.data
        if data is None or len(data) != len(self._data_shapes):
            raise ValueError(
                f"forward: the module was bound with {len(self._data_shapes)} data input(s) "
                f"{[d.name for d in self._data_shapes]}, the batch has "
                f"{0 if data is None else len(data)}"
            )
        new_shapes = []
        for desc, arr in zip(self._data_shapes, data, strict=True):
            shape = tuple(arr.shape)
            axis = DataDesc.get_batch_axis(desc.layout)
            bound = tuple(desc.shape)
            same_rank = len(shape) == len(bound)
            other_dims_match = same_rank and all(
                s == b for i, (s, b) in enumerate(zip(shape, bound, strict=True)) if i != axis
            )
            if not other_dims_match and not self._params_fit(data_batch):
                raise ValueError(
                    f"forward: data {desc.name!r} has shape {shape}, but the module was bound "
                    f"with {bound}; only the batch axis may differ (bind with "
                    "force_rebind=True for other shapes)"
                )
            new_shapes.append(shape)
        return tuple(new_shapes)

    def _params_fit(self, data_batch) -> bool:
        """Whether the batch's data shapes leave every parameter's shape as bound (then a
        forward with them reshapes the module, as MXNet's does)."""
        shapes = {d.name: tuple(a.shape) for d, a in zip(self._data_shapes, data_batch.data,
                                                          strict=True)}
        if getattr(data_batch, "label", None) and self._label_shapes:
            shapes.update({d.name: tuple(a.shape) for d, a in zip(self._label_shapes,
                                                                   data_batch.label,
                                                                   strict=False)})
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                arg_shapes, _, aux_shapes = self._symbol.infer_shape_partial(**shapes)
        except (MXNetError, ValueError, TypeError):
            return False
        bound = dict(zip(self._param_names, (a[0].shape for a in self._exec_group.param_arrays),
                         strict=True))
        for name, shape in zip(self._symbol.list_arguments(), arg_shapes, strict=True):
            if name in bound and tuple(shape) != tuple(bound[name]):
                return False
        bound_aux = [a[0].shape for a in self._exec_group.aux_arrays]
        return all(tuple(s) == tuple(b) for s, b in zip(aux_shapes, bound_aux, strict=True))

    def forward(self, data_batch, is_train=None):
        """Compute the outputs for ``data_batch``; a batch of other data shapes reshapes the
        module first (as MXNet), provided the parameters keep their shapes."""
        self._require("forward", params=True)
        if isinstance(data_batch, (list, tuple)) and not hasattr(data_batch, "data"):
            if len(data_batch) != 1:
                raise ValueError(
                    "forward: a list of batches (one per device) needs several devices; "
                    f"mxlite has one, got {len(data_batch)} batches"
                )
            data_batch = data_batch[0]
        new_data_shapes = self._check_batch_shapes(data_batch)
        if tuple(tuple(d.shape) for d in self._data_shapes) != new_data_shapes:
            if getattr(data_batch, "provide_data", None):
                new_dshape = data_batch.provide_data
            else:
                new_dshape = [DataDesc(d.name, shape, d.dtype, d.layout)
                              for d, shape in zip(self._data_shapes, new_data_shapes,
                                                  strict=True)]
            if getattr(data_batch, "provide_label", None):
                new_lshape = data_batch.provide_label
            elif getattr(data_batch, "label", None) and self._label_shapes:
                new_lshape = [DataDesc(d.name, lab.shape, d.dtype, d.layout)
                              for d, lab in zip(self._label_shapes, data_batch.label,
                                                strict=False)]
            else:
                new_lshape = None
            self.reshape(new_dshape, new_lshape)
        self._exec_group.forward(data_batch, is_train)

    def backward(self, out_grads=None):
        """Back-propagate (``out_grads`` for outputs that are not loss layers)."""
        self._require("backward", params=True)
        self._exec_group.backward(out_grads=out_grads)

    def update(self):
        """Apply the optimizer to the parameters with the gradients of the last backward."""
        self._require("update", params=True, optimizer=True)
        self._params_dirty = True
        group = self._exec_group
        if group.grad_arrays is None:
            raise MXNetError("update: the module was bound with for_training=False")
        names, grad_lists, arg_lists, params = [], [], [], []
        for index, (arg_list, grad_list) in enumerate(
                zip(group.param_arrays, group.grad_arrays, strict=True)):
            if grad_list[0] is None:
                continue
            names.append(group.param_names[index])
            grad_lists.append(grad_list)
            arg_lists.append(arg_list)
            params.append(index)
        if not params:
            return
        # all keys in one list call: one round trip per server on a dist store
        if self._update_on_kvstore:
            self._kvstore.pushpull(names, grad_lists, out=arg_lists, priority=-params[0])
            return
        if self._kvstore:  # sums the devices' gradients into each of them
            self._kvstore.pushpull(names, grad_lists, priority=-params[0])
        num_device = len(self._context)
        indices, grads, weights = [], [], []
        for index, grad_list, arg_list in zip(params, grad_lists, arg_lists, strict=True):
            for k in range(num_device):  # MXNet's updater index: one slot per device copy
                indices.append(index * num_device + k)
                grads.append(grad_list[k])
                weights.append(arg_list[k])
        self._updater(indices, grads, weights)

    def get_outputs(self, merge_multi_context=True):
        """The outputs of the last forward (a list of NDArrays)."""
        self._require("get_outputs", params=True)
        return self._exec_group.get_outputs(merge_multi_context=merge_multi_context)

    def get_input_grads(self, merge_multi_context=True):
        """Gradients of the data inputs (bind with ``inputs_need_grad=True``)."""
        self._require("get_input_grads", params=True)
        if not self.inputs_need_grad:
            raise MXNetError("get_input_grads: bind with inputs_need_grad=True first")
        return self._exec_group.get_input_grads(merge_multi_context=merge_multi_context)

    def get_states(self, merge_multi_context=True):
        self._require("get_states", params=True)
        return self._exec_group.get_states(merge_multi_context=merge_multi_context)

    def set_states(self, states=None, value=None):
        self._require("set_states", params=True)
        self._exec_group.set_states(states, value)

    def update_metric(self, eval_metric, labels, pre_sliced=False):
        """Update ``eval_metric`` with the last outputs and ``labels``."""
        self._require("update_metric")
        self._exec_group.update_metric(eval_metric, labels, pre_sliced)

    # ------------------------------------------------------------------ optimizer states
    def save_optimizer_states(self, fname, mxnet_format=False):
        """Write the optimizer states (and the optimizer itself, see the module doc).

        ``mxnet_format=True`` writes MXNet 1.9.1's pickled ``.states`` instead (states only;
        MXNet's ``Module.load(..., load_optimizer_states=True)`` reads it, see
        :mod:`mxlite._mxnet_states`); the default is mxlite's safe format."""
        from ..base import atomic_write

        self._require("save_optimizer_states", bound=False, optimizer=True)
        if mxnet_format:
            from .._mxnet_states import dumps

            updater = self._kvstore._updater if self._update_on_kvstore else self._updater
            atomic_write(fname, dumps(updater.states))
        elif self._update_on_kvstore:
            self._kvstore.save_optimizer_states(fname, dump_optimizer=True)
        else:
            atomic_write(fname, self._updater.get_states(dump_optimizer=True))

    def load_optimizer_states(self, fname):
        """Load states written by :meth:`save_optimizer_states` (or MXNet's ``.states``)."""
        self._require("load_optimizer_states", bound=False, optimizer=True)
        if self._update_on_kvstore:
            self._kvstore.load_optimizer_states(fname)
            updater = self._kvstore._updater
            if updater is None:  # a dist store: the states went to its servers
                return
        else:
            with open(fname, "rb") as f:
                data = f.read()
            self._updater._set_states_from(data, os.fspath(fname))  # errors name the file
            updater = self._updater
        # states saved with the optimizer bring its update counts and schedule along
        self._optimizer = updater.optimizer

    def install_monitor(self, mon):
        """Install a monitor (an object with ``install(executor)``) on the executor."""
        self._require("install_monitor")
        self._exec_group.install_monitor(mon)

    def prepare(self, data_batch, sparse_row_id_fn=None):
        """Before a batch: with the parameters updated on a kvstore, pull the rows of the
        row_sparse parameters that ``sparse_row_id_fn(data_batch)`` (a dict name -> row ids)
        names, with ``kvstore.row_sparse_pull`` (MXNet 1.9.1's sparse training loop)."""
        self._require("prepare")
        if sparse_row_id_fn is None:
            return
        if not self._kvstore or not self._update_on_kvstore:
            warnings.warn("Parameters are not updated in the KVStore. No need to call "
                          "sparse_row_id_fn.", UserWarning, stacklevel=2)
            return
        row_ids = sparse_row_id_fn(data_batch)
        if not isinstance(row_ids, dict):
            raise TypeError(f"sparse_row_id_fn must return a dict name -> row ids, got "
                            f"{type(row_ids).__name__}")
        group = self._exec_group
        for name, rows in row_ids.items():
            idx = group.param_names.index(name)
            arrays = group.param_arrays[idx]
            if arrays[0].stype != "row_sparse":
                warnings.warn(f"{name}.stype is not 'row_sparse'. No need to perform "
                              "row_sparse_pull.", UserWarning, stacklevel=2)
                continue
            self._kvstore.row_sparse_pull(name, arrays, row_ids=rows, priority=-idx)
