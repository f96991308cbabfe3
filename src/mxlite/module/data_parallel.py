"""Data parallelism over several contexts: MXNet's ``DataParallelExecutorGroup``.

``Module(sym, context=[mx.cpu(0), mx.cpu(1)], work_load_list=[1, 1])`` splits every batch along
its batch axis into one slice per context (sizes proportional to ``work_load_list``), runs one
:class:`~mxlite.module.executor_group.ExecutorGroup` per slice, and keeps per-device copies of
the parameters.  The module's update sums the devices' gradients through the kvstore (as MXNet
does), so training on ``n`` contexts gives the numbers of training on one.

Outputs and input gradients are merged back along the batch axis
(``merge_multi_context=True``) or returned per device (``[[dev0, dev1], ...]``).
"""

from __future__ import annotations

import logging

import numpy as np

from ..base import MXNetError
from ..io import DataDesc
from ..ndarray import NDArray
from .executor_group import ExecutorGroup, _grad_req_dict, _GroupStates, _with_batch_size

__all__ = ["DataParallelExecutorGroup", "per_device_group2ctx", "split_input_slice"]


def per_device_group2ctx(group2ctxs, n: int) -> list:
    """MXNet's ``group2ctxs`` (None, one dict, or a list of dicts) as one dict per device; a
    dict value may be a Context, a one-element list (all devices) or one Context per device."""
    from ..context import Context

    if group2ctxs is None:
        return [None] * n
    if isinstance(group2ctxs, (list, tuple)):
        if len(group2ctxs) != n:
            raise ValueError(f"group2ctxs: {len(group2ctxs)} dicts for {n} contexts")
        return list(group2ctxs)
    if not isinstance(group2ctxs, dict):
        raise TypeError(f"group2ctxs must be a dict or a list of dicts, got {group2ctxs!r}")
    out: list[dict] = [{} for _ in range(n)]
    for group, where in group2ctxs.items():
        if isinstance(where, Context):
            where = [where] * n
        elif len(where) == 1:
            where = list(where) * n
        elif len(where) != n:
            raise ValueError(f"group2ctxs[{group!r}]: {len(where)} contexts for {n} devices")
        for i in range(n):
            out[i][group] = where[i]
    return out


def split_input_slice(batch_size: int, work_load_list) -> list[slice]:
    """Slices of ``range(batch_size)`` proportional to ``work_load_list`` (MXNet's rule: rounded
    shares, the remainder to the last device); raises ValueError when a slice would be empty."""
    if not work_load_list or any(w <= 0 for w in work_load_list):
        raise ValueError(f"work_load_list must hold positive numbers, got {work_load_list!r}")
    total = float(sum(work_load_list))
    sizes = [round(w * batch_size / total) for w in work_load_list]
    sizes[-1] += batch_size - sum(sizes)
    if any(s <= 0 for s in sizes):
        raise ValueError(
            f"Too many slices: batch size {batch_size} cannot be split over work loads "
            f"{list(work_load_list)} without empty slices ({sizes})"
        )
    slices, begin = [], 0
    for s in sizes:
        slices.append(slice(begin, begin + s))
        begin += s
    return slices


class _Slice:
    """The part of a data batch one device computes (what ExecutorGroup.forward reads)."""

    def __init__(self, data, label):
        self.data = data
        self.label = label


def _values(x):
    return x._data if isinstance(x, NDArray) else np.asarray(x)


def _take(arr, axis: int, sl: slice):
    data = _values(arr)
    if axis < 0:
        return data
    index = [slice(None)] * data.ndim
    index[axis] = sl
    return data[tuple(index)]


class DataParallelExecutorGroup(_GroupStates):
    """One :class:`ExecutorGroup` per context, each on its slice of the batch.

    Arrays are laid out as MXNet's: ``param_arrays[i]`` lists parameter ``i``'s copy on each
    device, ``grad_arrays[i]`` its gradients, ``aux_arrays[i]`` the auxiliary states,
    ``shared_data_arrays[k]`` the non-parameter arguments of device ``k`` by name (shared with
    the groups bound with ``shared_group=self``, see :class:`ExecutorGroup`).  ``grad_req`` is
    the per-argument dict.
    """

    def __init__(self, symbol, contexts, workload, data_shapes, label_shapes, param_names,
                 for_training, inputs_need_grad, shared_group=None, logger=logging,
                 fixed_param_names=None, grad_req="write", state_names=None, group2ctxs=None):
        self.contexts = list(contexts)
        if not self.contexts:
            raise ValueError("DataParallelExecutorGroup: contexts is empty")
        self.workload = list(workload) if workload is not None else [1] * len(self.contexts)
        if len(self.workload) != len(self.contexts):
            raise ValueError(
                f"work_load_list needs one entry per context ({len(self.contexts)}), got "
                f"{self.workload!r}"
            )
        self.symbol = symbol
        self.param_names = list(param_names)
        self.arg_names = symbol.list_arguments()
        self.aux_names = symbol.list_auxiliary_states()
        self.output_names = symbol.list_outputs()
        self.for_training = for_training
        self.inputs_need_grad = inputs_need_grad
        self.logger = logger
        self.fixed_param_names = list(fixed_param_names or [])
        self.state_names = list(state_names or [])
        data_names = [d[0] if isinstance(d, (list, tuple)) else d.name for d in data_shapes]
        self.grad_req = _grad_req_dict("null" if not for_training else grad_req,
                                       self.arg_names, self.param_names,
                                       self.fixed_param_names, data_names, inputs_need_grad)
        self.group2ctxs = group2ctxs
        self.output_layouts = [
            DataDesc.get_batch_axis(symbol[i].attr("__layout__"))
            for i in range(len(self.output_names))
        ]
        self.groups: list[ExecutorGroup] = []
        self._bind(data_shapes, label_shapes, shared_group)

    # ------------------------------------------------------------------ binding
    @staticmethod
    def _descs(shapes):
        return [d if isinstance(d, DataDesc) else DataDesc(*d) for d in shapes]

    def _batch_size_of(self, shapes) -> int | None:
        for d in shapes:
            axis = DataDesc.get_batch_axis(d.layout)
            if axis >= 0:
                return int(d.shape[axis])
        return None

    def _sliced(self, shapes, sl: slice):
        out = []
        for d in shapes:
            axis = DataDesc.get_batch_axis(d.layout)
            shape = list(d.shape)
            if axis >= 0:
                shape[axis] = sl.stop - sl.start
            out.append(DataDesc(d.name, tuple(shape), d.dtype, d.layout))
        return out

    def _bind(self, data_shapes, label_shapes, shared_group=None, reshape=False):
        data_shapes = self._descs(data_shapes)
        label_shapes = None if label_shapes is None else self._descs(label_shapes)
        self.batch_size = self._batch_size_of(data_shapes)
        if self.batch_size is None:
            raise ValueError("DataParallelExecutorGroup: no input has a batch axis to split")
        self.slices = split_input_slice(self.batch_size, self.workload)
        groups = []
        for i, (ctx, sl) in enumerate(zip(self.contexts, self.slices, strict=True)):
            d = self._sliced(data_shapes, sl)
            lab = None if label_shapes is None else self._sliced(label_shapes, sl)
            if reshape:
                self.groups[i].reshape(d, lab)
                groups.append(self.groups[i])
                continue
            shared = None if shared_group is None else shared_group.groups[i]
            groups.append(ExecutorGroup(
                self.symbol, ctx, d, lab, self.param_names, self.for_training,
                self.inputs_need_grad, shared, logger=self.logger,
                fixed_param_names=self.fixed_param_names, grad_req=self.grad_req,
                state_names=self.state_names,
                group2ctx=per_device_group2ctx(self.group2ctxs, len(self.contexts))[i],
            ))
        self.groups = groups
        self.shared_data_arrays = [grp.shared_data_arrays[0] for grp in groups]
        self.data_shapes = data_shapes
        self.label_shapes = label_shapes
        self.data_names = [d.name for d in data_shapes]
        self.label_names = None if label_shapes is None else [d.name for d in label_shapes]
        self._collect_arrays()

    def _collect_arrays(self):
        g = self.groups
        self.execs = [grp.execs[0] for grp in g]
        self.param_arrays = [[grp.param_arrays[i][0] for grp in g]
                             for i in range(len(g[0].param_arrays))]
        self.grad_arrays = None if not self.for_training else [
            [grp.grad_arrays[i][0] for grp in g] for i in range(len(g[0].grad_arrays))
        ]
        self.aux_arrays = [[grp.aux_arrays[i][0] for grp in g]
                           for i in range(len(g[0].aux_arrays))]
        self.state_arrays = [[grp.state_arrays[i][0] for grp in g]
                             for i in range(len(g[0].state_arrays))]
        self.data_arrays = [[(sl, grp.data_arrays[i]) for sl, grp in zip(self.slices, g,
                                                                            strict=True)]
                            for i in range(len(self.data_names))]
        self.label_arrays = None if self.label_names is None else [
            [(sl, grp.label_arrays[i]) for sl, grp in zip(self.slices, g, strict=True)]
            for i in range(len(self.label_names))
        ]
        self.input_grad_arrays = None if not self.inputs_need_grad else [
            [grp.input_grad_arrays[i][0] for grp in g]
            for i in range(len(g[0].input_grad_arrays))
        ]

    def reshape(self, data_shapes, label_shapes):
        """Re-slice and rebind every device for new input shapes, keeping the parameters."""
        if data_shapes == self.data_shapes and label_shapes == self.label_shapes:
            return
        self._bind(data_shapes, label_shapes, reshape=True)

    # ------------------------------------------------------------------ parameters
    def set_params(self, arg_params, aux_params, allow_extra=False):
        """Copy the parameters onto every device."""
        for grp in self.groups:
            grp.set_params(arg_params, aux_params, allow_extra=allow_extra)

    def get_params(self, arg_params, aux_params):
        """The devices' parameters averaged into ``arg_params`` / ``aux_params`` (in place)."""
        for name, block in zip(self.param_names, self.param_arrays, strict=True):
            arg_params[name]._data[...] = sum(w._data for w in block) / len(block)
        for name, block in zip(self.aux_names, self.aux_arrays, strict=True):
            aux_params[name]._data[...] = sum(w._data for w in block) / len(block)

    # ------------------------------------------------------------------ computation
    def _axis(self, name, descs):
        for d in descs or []:
            if d.name == name:
                return DataDesc.get_batch_axis(d.layout)
        return 0

    def _batch_part(self, data_batch, k: int) -> _Slice:
        sl = self.slices[k]
        data = [_take(arr, DataDesc.get_batch_axis(d.layout), sl)
                for arr, d in zip(data_batch.data, self.data_shapes, strict=True)]
        label = None
        if self.label_shapes is not None and data_batch.label:
            label = [_take(arr, DataDesc.get_batch_axis(d.layout), sl)
                     for arr, d in zip(data_batch.label, self.label_shapes, strict=False)]
        return _Slice(data, label)

    def forward(self, data_batch, is_train=None):
        """Each device computes its slice of ``data_batch``."""
        if len(data_batch.data) != len(self.data_shapes):
            raise ValueError(
                f"expected {len(self.data_shapes)} data arrays, got {len(data_batch.data)}"
            )
        for k, grp in enumerate(self.groups):
            grp.forward(self._batch_part(data_batch, k), is_train)

    def backward(self, out_grads=None):
        """Back-propagate on every device; ``out_grads`` (whole batch) are sliced likewise."""
        if not self.for_training:
            raise MXNetError("re-bind with for_training=True to run backward")
        for k, grp in enumerate(self.groups):
            if out_grads:
                part = [NDArray(np.ascontiguousarray(_take(g, axis, self.slices[k])),
                                self.contexts[k])
                        for g, axis in zip(out_grads, self.output_layouts, strict=False)]
                grp.backward(part)
            else:
                grp.backward(None)

    def _merge(self, per_device, axes):
        merged = []
        for arrays, axis in zip(per_device, axes, strict=True):
            if axis < 0:
                merged.append(arrays[0])
            else:
                merged.append(NDArray(np.concatenate([a._data for a in arrays], axis=axis),
                                      self.contexts[0]))
        return merged

    def get_outputs(self, merge_multi_context=True, begin=0, end=None):
        """Outputs merged along the batch axis, or per device ``[[dev0, dev1], ...]``."""
        per_output = [list(t) for t in zip(*[grp.execs[0].outputs[begin:end]
                                             for grp in self.groups], strict=True)]
        if not merge_multi_context:
            return per_output
        return self._merge(per_output, self.output_layouts[begin:end])

    def get_output_shapes(self):
        return _with_batch_size(self.groups[0].get_output_shapes(), self.output_layouts,
                                self.batch_size)

    def get_input_grads(self, merge_multi_context=True):
        if self.input_grad_arrays is None:
            raise MXNetError("bind with inputs_need_grad=True to get input gradients")
        if not merge_multi_context:
            return self.input_grad_arrays
        axes = [DataDesc.get_batch_axis(d.layout) for d in self.data_shapes]
        return self._merge(self.input_grad_arrays, axes)

    def update_metric(self, eval_metric, labels, pre_sliced=False):
        """Each device's outputs against its slice of ``labels``."""
        for k, grp in enumerate(self.groups):
            if pre_sliced:
                part = labels[k]
            else:
                descs = self.label_shapes or []
                part = [NDArray(np.ascontiguousarray(
                    _take(lab, self._axis(d.name, descs), self.slices[k])))
                    for lab, d in zip(labels, descs, strict=False)]
            grp.update_metric(eval_metric, part)

    def install_monitor(self, mon):
        for grp in self.groups:
            grp.install_monitor(mon)
