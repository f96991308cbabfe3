"""The executor behind a :class:`~mxlite.module.Module`: one bound graph on one device.

MXNet's ``DataParallelExecutorGroup`` splits each batch over several devices; mxlite computes on
one CPU, so the group holds a single :class:`~mxlite.executor.Executor` and keeps MXNet's
layout of its arrays (``param_arrays[i]`` / ``grad_arrays[i]`` are one-element lists, one per
device) so that the update code reads as MXNet's.
"""

from __future__ import annotations

import logging
from collections import OrderedDict

import numpy as np

from ..base import MXNetError
from ..executor import _assign
from ..io import DataDesc
from ..ndarray import NDArray

__all__ = ["DataParallelExecutorGroup", "ExecutorGroup"]

_DTYPE_CODES = {0: np.float32, 1: np.float64, 2: np.float16, 3: np.uint8, 4: np.int32,
                5: np.int8, 6: np.int64, 7: np.bool_}


def _grad_req_dict(grad_req, arg_names, param_names, fixed_param_names, data_names,
                   inputs_need_grad):
    """Per-argument gradient requests from a string, a list or a dict (MXNet's rules)."""
    valid = ("write", "add", "null")
    if isinstance(grad_req, str):
        if grad_req not in valid:
            raise ValueError(f"grad_req must be one of {valid}, got {grad_req!r}")
        reqs = {}
        for k in arg_names:
            if k in param_names:
                reqs[k] = "null" if k in fixed_param_names else grad_req
            elif k in data_names:
                reqs[k] = grad_req if inputs_need_grad else "null"
            else:
                reqs[k] = "null"
        return reqs
    if isinstance(grad_req, (list, tuple)):
        if len(grad_req) != len(arg_names):
            raise ValueError(
                f"grad_req list needs one entry per argument ({len(arg_names)}: {arg_names}), "
                f"got {len(grad_req)}"
            )
        reqs = dict(zip(arg_names, grad_req, strict=True))
    elif isinstance(grad_req, dict):
        reqs = {}
        for k in arg_names:
            if k in param_names:
                reqs[k] = "null" if k in fixed_param_names else "write"
            elif k in data_names:
                reqs[k] = "write" if inputs_need_grad else "null"
            else:
                reqs[k] = "null"
        # MXNet binds only the symbol's arguments and passes over other names (a dict made
        # for a fused RNN's ``parameters`` used with its unfused cells); said, not dropped
        unknown = sorted(set(grad_req) - set(arg_names))
        if unknown:
            logging.getLogger(__name__).warning(
                "grad_req names %s, which are not arguments of the symbol %s: ignored",
                unknown, arg_names)
        reqs.update({k: v for k, v in grad_req.items() if k not in unknown})
    else:
        raise ValueError(f"grad_req must be a str, list, tuple or dict, got {grad_req!r}")
    bad = {k: v for k, v in reqs.items() if v not in valid}
    if bad:
        raise ValueError(f"grad_req values must be one of {valid}, got {bad}")
    return reqs


def _with_batch_size(shapes, layouts, batch_size) -> list:
    """``(name, shape)`` pairs with the batch axis of each output (from its ``__layout__``; -1:
    none) set to ``batch_size``: the output shapes a group reports for the whole batch."""
    result = []
    for (name, shape), axis in zip(shapes, layouts, strict=True):
        shape = list(shape)
        if axis >= 0:
            shape[axis] = batch_size
        result.append((name, tuple(shape)))
    return result


class _GroupStates:
    """``get_states`` / ``set_states`` of the executor groups, over ``state_arrays``: one list
    per state, one array per device (MXNet's layout, the same for one device and several)."""

    state_arrays: list

    def get_states(self, merge_multi_context=True):
        """The state arrays, per device (``merge_multi_context=True`` is refused, as MXNet)."""
        if merge_multi_context:
            raise ValueError("merge_multi_context=True is not supported for get_states")
        return self.state_arrays

    def set_states(self, states=None, value=None):
        """Copy ``states`` (one array, or a list per device, for each state) into the state
        arrays, or fill every state array with the scalar ``value``: exactly one of the two."""
        if (states is None) == (value is None):
            raise ValueError("set_states: give exactly one of states and value")
        if value is not None:
            for per_device in self.state_arrays:
                for dst in per_device:
                    dst._data[...] = value
            return
        if len(states) != len(self.state_arrays):
            raise ValueError(f"set_states: {len(states)} states given, the module has "
                             f"{len(self.state_arrays)}")
        for src, per_device in zip(states, self.state_arrays, strict=True):
            for k, dst in enumerate(per_device):
                part = src[k] if isinstance(src, (list, tuple)) else src
                dst._data[...] = part._data if isinstance(part, NDArray) else part


class ExecutorGroup(_GroupStates):
    """One executor for ``symbol`` bound to ``data_shapes`` / ``label_shapes`` on ``context``.

    ``shared_data_arrays`` is MXNet's list (one dict per device; here one) of the arrays of
    the arguments that are not parameters (data, labels, ...), by name.  A group bound with
    ``shared_group`` takes that group's dicts: its non-parameter arguments of the same name and
    dtype are views of the arrays there (when they fit; else new arrays that replace them),
    and its parameters are the shared group's arrays -- how the buckets of a BucketingModule
    share their memory.
    """

    def __init__(self, symbol, context, data_shapes, label_shapes, param_names, for_training,
                 inputs_need_grad, shared_group=None, logger=None, fixed_param_names=None,
                 grad_req="write", state_names=None, group2ctx=None):
        self.shared_data_arrays = ([{}] if shared_group is None
                                   else shared_group.shared_data_arrays)
        self.param_names = list(param_names)
        self.arg_names = symbol.list_arguments()
        self.aux_names = symbol.list_auxiliary_states()
        self.symbol = symbol
        self.context = context
        self.contexts = [context]
        self.for_training = for_training
        self.inputs_need_grad = inputs_need_grad
        self.logger = logger
        self.fixed_param_names = list(fixed_param_names or [])
        self.state_names = list(state_names or [])
        self.group2ctx = group2ctx  # ctx_group name -> Context (arrays' placement)
        if not for_training:
            grad_req = "null"
        data_names = [x.name for x in data_shapes]
        self.grad_req = _grad_req_dict(grad_req, self.arg_names, self.param_names,
                                       self.fixed_param_names, data_names, inputs_need_grad)
        self.batch_size = None
        self.execs: list = []
        self._default_exec = None
        self.output_names = symbol.list_outputs()
        self.num_outputs = len(self.output_names)
        self.output_layouts = [
            DataDesc.get_batch_axis(symbol[i].attr("__layout__")) for i in range(self.num_outputs)
        ]
        self.data_shapes = None
        self.label_shapes = None
        self._bind(data_shapes, label_shapes, shared_group)

    # ------------------------------------------------------------------ binding
    def _decide_batch_size(self, shapes):
        for desc in shapes:
            axis = DataDesc.get_batch_axis(desc.layout)
            if axis == -1:
                continue
            if axis >= len(desc.shape):
                raise ValueError(
                    f"{desc.name!r} of shape {desc.shape} has no batch axis {axis} "
                    f"(layout {desc.layout!r})"
                )
            size = desc.shape[axis]
            if self.batch_size is None:
                self.batch_size = size
            elif size != self.batch_size:
                raise ValueError(
                    f"all data must have the same batch size: batch_size = {self.batch_size}, "
                    f"but {desc.name} has shape {desc.shape}"
                )

    def _input_types(self, data_shapes, label_shapes):
        types = {x.name: x.dtype for x in data_shapes}
        attrs = self.symbol.attr_dict()
        for name in self.symbol.list_inputs():
            code = attrs.get(name, {}).get("__dtype__")
            if name in types and code not in (None, "-1"):
                types[name] = _DTYPE_CODES.get(int(code), types[name])
        if label_shapes is not None:
            types.update({x.name: x.dtype for x in label_shapes})
        return types

    def _bind(self, data_shapes, label_shapes, shared_group=None, reshape=False):
        self.batch_size = None
        self._decide_batch_size(data_shapes)
        if label_shapes is not None:
            self._decide_batch_size(label_shapes)
        shapes = {d.name: tuple(d.shape) for d in data_shapes}
        if label_shapes is not None:
            shapes.update({d.name: tuple(d.shape) for d in label_shapes})
        if reshape:
            # partial_shaping: labels left out of a prediction batch follow the data's batch
            # size (MXNet's module reshapes them the same way)
            # (outputs not shared with the default executor: get_outputs() stays fresh
            # arrays per forward, whatever the batch shape)
            exe = self._default_exec._reshaped(shapes, partial_shaping=True,
                                               allow_up_sizing=True, share_outputs=False)
            self.execs = [exe]
        else:
            shared_exec = None if shared_group is None else shared_group.execs[0]
            exe = self.symbol.simple_bind(
                ctx=self.context, grad_req=self.grad_req,
                type_dict=self._input_types(data_shapes, label_shapes),
                shared_arg_names=self.param_names, shared_exec=shared_exec,
                shared_buffer=self.shared_data_arrays[0],
                group2ctx=self.group2ctx, **shapes,
            )
            self.execs = [exe]
        self.data_shapes = list(data_shapes)
        self.label_shapes = None if label_shapes is None else list(label_shapes)
        self.data_names = [d.name for d in self.data_shapes]
        self.label_names = None if label_shapes is None else [d.name for d in label_shapes]
        self._collect_arrays()

    def _collect_arrays(self):
        exe = self.execs[0]
        self.data_arrays = [exe.arg_dict[name] for name in self.data_names]
        self.label_arrays = (
            None if self.label_names is None else [exe.arg_dict[n] for n in self.label_names]
        )
        self.state_arrays = [[exe.arg_dict[name]] for name in self.state_names]
        self.param_arrays = [
            [exe.arg_arrays[i]] for i, name in enumerate(self.arg_names)
            if name in self.param_names
        ]
        if self.for_training:
            self.grad_arrays = [
                [exe.grad_arrays[i]] for i, name in enumerate(self.arg_names)
                if name in self.param_names
            ]
        else:
            self.grad_arrays = None
        if self.inputs_need_grad:
            self.input_grad_arrays = [
                [exe.grad_arrays[self.arg_names.index(name)]]
                for name in self.data_names if name in self.arg_names
            ]
        else:
            self.input_grad_arrays = None
        self.aux_arrays = [[exe.aux_arrays[i]] for i in range(len(self.aux_names))]

    def reshape(self, data_shapes, label_shapes):
        """Rebind for new input shapes, sharing the parameters (MXNet's ``reshape``)."""
        if data_shapes == self.data_shapes and label_shapes == self.label_shapes:
            return
        if self._default_exec is None:
            self._default_exec = self.execs[0]
        self._bind(data_shapes, label_shapes, reshape=True)

    # ------------------------------------------------------------------ parameters
    def set_params(self, arg_params, aux_params, allow_extra=False):
        """Copy ``arg_params`` / ``aux_params`` into the executor's arrays."""
        exe = self.execs[0]
        for params, targets, kind in ((arg_params, exe.arg_dict, "arguments"),
                                      (aux_params or {}, exe.aux_dict, "auxiliary states")):
            for name, value in params.items():
                if name in targets:
                    dst = targets[name]
                    shape = tuple(value.shape) if hasattr(value, "shape") else np.shape(value)
                    if shape != dst.shape:
                        raise ValueError(
                            f"parameter {name!r} has shape {shape}, but the module expects "
                            f"{dst.shape}"
                        )
                    _assign(dst, value)
                elif not allow_extra:
                    raise ValueError(
                        f"Find name {name!r} that is not in the {kind} (pass allow_extra=True "
                        "to ignore extra parameters)"
                    )

    def get_params(self, arg_params, aux_params):
        """Copy the executor's parameters into ``arg_params`` / ``aux_params`` (in place)."""
        for name, block in zip(self.param_names, self.param_arrays, strict=True):
            arg_params[name]._data[...] = block[0]._data
        for name, block in zip(self.aux_names, self.aux_arrays, strict=True):
            aux_params[name]._data[...] = block[0]._data

    # ------------------------------------------------------------------ computation
    @staticmethod
    def _load(sources, targets, what):
        if len(sources) != len(targets):
            raise ValueError(f"expected {len(targets)} {what} arrays, got {len(sources)}")
        for src, dst in zip(sources, targets, strict=True):
            if type(src) is not NDArray or type(dst) is not NDArray:  # row_sparse / csr
                shape = tuple(src.shape) if hasattr(src, "shape") else np.shape(src)
                if shape != dst.shape:
                    raise ValueError(
                        f"{what} of shape {shape} does not match the bound shape {dst.shape}")
                _assign(dst, src)
                continue
            data = src._data if hasattr(src, "_data") else np.asarray(src)
            if data.shape != dst.shape:
                raise ValueError(
                    f"{what} of shape {data.shape} does not match the bound shape {dst.shape}"
                )
            dst._data[...] = data

    def forward(self, data_batch, is_train=None):
        self._load(data_batch.data, self.data_arrays, "data")
        if is_train is None:
            is_train = self.for_training
        if self.label_arrays is not None and data_batch.label:
            self._load(data_batch.label, self.label_arrays, "label")
        self.execs[0].forward(is_train=is_train)

    def backward(self, out_grads=None):
        if not self.for_training:
            raise MXNetError("re-bind with for_training=True to run backward")
        # an empty list means "no head gradients" (loss outputs), as None does
        self.execs[0].backward(out_grads=out_grads or None)

    def get_outputs(self, merge_multi_context=True, begin=0, end=None):
        outputs = list(self.execs[0].outputs[begin:end])
        return outputs if merge_multi_context else [[o] for o in outputs]

    def get_output_shapes(self):
        shapes = {d.name: tuple(d.shape) for d in self.data_shapes}
        if self.label_shapes is not None:
            shapes.update({d.name: tuple(d.shape) for d in self.label_shapes})
        _, out_shapes, _ = self.symbol.infer_shape(**shapes)
        return _with_batch_size(zip(self.output_names, out_shapes, strict=True),
                                self.output_layouts, self.batch_size)

    def get_input_grads(self, merge_multi_context=True):
        if merge_multi_context:
            return [g[0] for g in self.input_grad_arrays]
        return self.input_grad_arrays

    def update_metric(self, eval_metric, labels, pre_sliced=False):
        if pre_sliced:
            labels = labels[0]
        labels_ = OrderedDict(zip(self.label_names or [], labels, strict=False))
        preds = OrderedDict(zip(self.output_names, self.execs[0].outputs, strict=True))
        eval_metric.update_dict(labels_, preds)

    def install_monitor(self, mon):
        for exe in self.execs:
            mon.install(exe)


# MXNet's multi-context group (several devices, the batch split between them)
from .data_parallel import DataParallelExecutorGroup  # noqa: E402
