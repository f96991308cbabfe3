"""Executor: a Symbol bound to arrays, running forward and backward on NumPy.

At bind time the graph is flattened once into a plan of steps (one per operator node, in
topological order) over integer value slots; ``forward`` walks the plan storing every output and
each operator's ``saved`` state, ``backward`` walks it in reverse summing the gradients of values
consumed several times and writes into the bound gradient arrays in place (``write`` assigns,
``add`` accumulates, ``null`` skips).

The arrays in ``arg_dict``/``aux_dict`` are the NDArrays given or created at bind; their ``_data``
is read at every forward, so in-place parameter updates by an optimizer are seen by the next one.
Executors created with ``shared_exec`` (or by :meth:`Executor.reshape`) use the very same
parameter NDArrays.
"""

from __future__ import annotations

import numpy as np

from . import _fusion
from . import _storage_inference as _si
from .base import MXNetError
from .context import Context, current_context
from .ndarray.ndarray import NDArray
from .symbol._cse import eliminate_common_expr
from .symbol._cse import enabled as cse_enabled

__all__ = ["Executor"]


# ---------------------------------------------------------------------- sparse values
# Values in the plan are NumPy arrays, except that a bound row_sparse / csr argument stays a
# sparse NDArray (operators with ``sparse_inputs`` take it as is, the others get its dense
# equivalent), a step whose inferred output storage is sparse produces a sparse NDArray
# (mxlite._storage_inference: ``plan`` at bind, ``forward_step`` for those steps; heads keep
# that storage in ``outputs``) and an operator may return a row_sparse gradient
# (Embedding(sparse_grad=True), dot with a csr lhs).
def _dense(x):
    return x if x is None or isinstance(x, np.ndarray) else x._dense()


def _add_grads(a, b):
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return a + b
    if not isinstance(a, np.ndarray) and not isinstance(b, np.ndarray) \
            and a.stype == b.stype == "row_sparse":
        from .ndarray.sparse import add_n

        return add_n(a, b)
    return _dense(a) + _dense(b)


class _DenseValues:
    """The plan's values with sparse ones densified on first use (backward)."""

    __slots__ = ("cache", "vals")

    def __init__(self, vals):
        self.vals = vals
        self.cache: dict[int, np.ndarray] = {}

    def __getitem__(self, slot):
        v = self.vals[slot]
        if v is None or isinstance(v, np.ndarray):
            return v
        d = self.cache.get(slot)
        if d is None:
            d = self.cache[slot] = v._dense()
        return d


def _assign(dst: NDArray, src) -> None:
    """``dst[...] = src`` for a dense or sparse ``dst`` (src: NumPy or NDArray, any storage)."""
    if type(dst) is NDArray:
        dst._data[...] = _dense(src) if not isinstance(src, NDArray) else src._data
        return
    if not isinstance(src, NDArray):
        src = NDArray(np.asarray(src), dst.context)
    dst[:] = src


def _write_grad(garr: NDArray, g, req: str) -> None:
    if req == "write":
        if g is None:
            if type(garr) is NDArray:
                garr._data[...] = 0
            else:
                garr[:] = NDArray(np.zeros(garr.shape, garr.dtype), garr.context)
        else:
            _assign(garr, g)
    elif g is not None:
        if type(garr) is NDArray:
            garr._data += _dense(g)
        else:  # req 'add' into a sparse gradient array
            _assign(garr, _add_grads(garr.copy(), g) if not isinstance(g, np.ndarray)
                    else garr._dense() + g)

_REQS = ("write", "add", "null")


class _Step:
    __slots__ = ("aux_idx", "direct", "gbufs", "grad_needed", "in_slots", "inplace",
                 "keeps_outputs", "loss", "mode", "name", "need", "node", "obufs", "op",
                 "out_names", "out_slots", "out_stypes", "params", "parts", "sparse",
                 "zero_ogs")

    def __init__(self, node, in_slots, aux_idx, out_slots):
        self.node = node
        self.op = node.op
        self.params = node.params
        self.name = node.name
        self.in_slots = in_slots  # value slots of the arguments
        self.aux_idx = aux_idx  # indices into the executor's aux arrays
        self.out_slots = out_slots
        self.out_names = node.output_names()
        self.grad_needed = False
        self.need = None  # per input: is its gradient needed (for ops with ``skips_grads``)
        self.loss = node.op.is_loss(node.params)
        # memory plan: the output arrays of the previous forward (``writes_outputs`` ops), the
        # gradient arrays of the previous backward (``writes_grads`` ops), the argument
        # positions whose gradient goes straight into the bound gradient array
        self.obufs = None
        self.gbufs = None
        self.direct = None
        self.zero_ogs = None
        # storage inference (mxlite._storage_inference.plan): a step with a sparse input or
        # output runs through _storage_inference.forward_step
        self.sparse = False
        self.out_stypes = None
        self.mode = "dense"
        self.inplace = False  # forward writes its output over its first input (memory plan)
        # forward keeps its output arrays for the next batch: ``writes_outputs`` operators
        # whose outputs are not heads (callers keep those, e.g. iter_predict's slices)
        self.keeps_outputs = False
        self.parts = None  # a fused step (mxlite._fusion): the steps it runs


#: operators whose backward reads their inputs and saved state but never their outputs (nor do
#: they keep their output in the saved state): an in-place operator after one of them may
#: overwrite that output
_OUTPUT_FREE_BACKWARD = frozenset({"Convolution", "BatchNorm", "FullyConnected", "elemwise_add",
                                   "elemwise_sub", "broadcast_add", "broadcast_sub"})

# operators whose output shares their input's memory in MXNet's plan (for debug_str)
_IN_PLACE = frozenset({"BlockGrad", "_identity_with_attr_like_rhs", "Reshape", "Flatten",
                       "expand_dims"})


def _monitor_input_names(step: _Step) -> list[str]:
    """The names MXNet 1.9.1's monitors and op hooks give the inputs of ``step``:
    ``<node>_<input name>`` where the operator names its inputs there, else
    ``<node>_input<i>``."""
    from ._mxnet_input_names import NAMED_INPUT_OPS

    inputs = step.op.arguments(step.params) + step.op.aux_states(step.params)
    if step.op.name in NAMED_INPUT_OPS:
        return [f"{step.name}_{arg}" for arg in inputs]
    return [f"{step.name}_input{i}" for i in range(len(inputs))]


def _as_ctx(ctx) -> Context:
    if ctx is None:
        return current_context()
    if isinstance(ctx, (list, tuple)):
        if len(ctx) != 1:
            raise ValueError(f"ctx: one context expected, got {ctx!r}")
        ctx = ctx[0]
    if not isinstance(ctx, Context):
        raise TypeError(f"ctx must be a Context, got {ctx!r}")
    return ctx


def _normalize_reqs(grad_req, names: list[str], dict_default: str) -> list[str]:
    if isinstance(grad_req, str):
        reqs = [grad_req] * len(names)
    elif isinstance(grad_req, (list, tuple)):
        if len(grad_req) != len(names):
            raise ValueError(f"grad_req: {len(grad_req)} entries for {len(names)} arguments "
                             f"{names}")
        reqs = list(grad_req)
    elif isinstance(grad_req, dict):
        unknown = set(grad_req) - set(names)
        if unknown:
            raise ValueError(f"grad_req: unknown argument(s) {sorted(unknown)}; arguments are "
                             f"{names}")
        reqs = [grad_req.get(n, dict_default) for n in names]
    else:
        raise TypeError(f"grad_req must be a str, list or dict, got {grad_req!r}")
    for n, r in zip(names, reqs, strict=False):
        if r not in _REQS:
            raise ValueError(f"grad_req for {n!r} must be one of {_REQS}, got {r!r}")
    return reqs


def _arrays(given, names: list[str], what: str, allow_missing: bool) -> list:
    """``given`` (list in ``names`` order or dict) as a list aligned with ``names``."""
    if given is None:
        if allow_missing or not names:
            return [None] * len(names)
        raise ValueError(f"{what} must be given for {names}")
    if isinstance(given, dict):
        out = []
        for n in names:
            if n not in given:
                if allow_missing:
                    out.append(None)
                    continue
                raise ValueError(f"{what}: no array given for {n!r}")
            out.append(given[n])
    elif isinstance(given, (list, tuple)):
        if len(given) != len(names):
            raise ValueError(f"{what}: {len(given)} arrays given for {len(names)} names {names}")
        out = list(given)
    else:
        raise TypeError(f"{what} must be a list or dict of NDArrays, got {type(given).__name__}")
    for n, a in zip(names, out, strict=True):
        if a is None and not allow_missing:
            raise ValueError(f"{what}: no array given for {n!r}")
        if a is not None and not isinstance(a, NDArray):
            raise TypeError(f"{what}: {n!r} must be an NDArray, got {type(a).__name__}")
    return out


class Executor:
    """A bound symbol; create it with :meth:`Symbol.simple_bind` or :meth:`Symbol.bind`."""

    def __init__(self, symbol, ctx, arg_arrays, grad_arrays, grad_reqs, aux_arrays):
        self._symbol = symbol
        self._ctx = _as_ctx(ctx)
        self._arg_names = symbol.list_arguments()
        self._aux_names = symbol.list_auxiliary_states()
        self._out_names = symbol.list_outputs()
        for what, names in (("argument", self._arg_names), ("auxiliary state", self._aux_names)):
            dups = sorted({n for n in names if names.count(n) > 1})
            if dups:
                raise ValueError(f"Duplicate names detected: {what}s {dups} belong to different "
                                 "variables of the symbol")
        self.arg_arrays = list(arg_arrays)
        pairs = list(zip(grad_arrays, grad_reqs, strict=True))
        self.grad_arrays = [g if r != "null" else None for g, r in pairs]
        self._grad_reqs = [r if g is not None else "null" for g, r in pairs]
        self.aux_arrays = list(aux_arrays)
        self._monitor = None
        self._monitor_all = False
        #: memory plan on: operator outputs and gradients are written into the arrays of the
        #: previous batch (MXNet's executor also overwrites its outputs at every forward).
        #: Gluon's cached graphs run with it on too.  Off, every array is allocated anew: the
        #: reference side of the memory-plan tests.
        self._reuse = True
        self._accum: dict[int, np.ndarray] = {}  # slot -> buffer of its summed gradients
        #: the graph that runs: ``symbol`` after common-subexpression elimination (as MXNet)
        self._plan_symbol = eliminate_common_expr(symbol) if cse_enabled() else symbol
        self._build_plan()
        self._settle_created_shapes()
        #: the fused plan (mxlite._fusion; None: nothing fuses or ``MXLITE_FUSION=0``) and its
        #: backward order; a forward without a monitor runs it (an inference forward the
        #: inference plan, where there is one), ``_ran`` is what ran last
        self._fused = self._fused_infer = None
        if _fusion.enabled():
            plans = _fusion.plan(self._steps, self._head_set, self._wants, self._slot_stypes)
            self._fused, self._fused_infer = (
                None if fused is None else (fused, [(i, st) for i, st in reversed(list(
                    enumerate(fused))) if st.grad_needed]) for fused in plans)
        self._ran = None
        self._ran_train = False
        self._values: list | None = None
        self._saved: list | None = None
        self._outputs: list[NDArray] = self._initial_outputs()
        self._arg_dict = self._aux_dict = self._grad_dict = None
        #: output memory shared with the executors made by :meth:`reshape` (None: not shared)
        self._out_pool: list | None = None

    # ------------------------------------------------------------------ construction
    @classmethod
    def _from_bind(cls, symbol, ctx, args, args_grad, grad_req, aux_states):
        arg_names = symbol.list_arguments()
        aux_names = symbol.list_auxiliary_states()
        arg_arrays = _arrays(args, arg_names, "args", False)
        grad_arrays = _arrays(args_grad, arg_names, "args_grad", True)
        aux_arrays = _arrays(aux_states, aux_names, "aux_states", False)
        reqs = _normalize_reqs(grad_req, arg_names, "null")
        for n, a, g in zip(arg_names, arg_arrays, grad_arrays, strict=False):
            if g is not None and g.shape != a.shape:
                raise ValueError(f"args_grad: gradient of {n!r} has shape {g.shape}, the "
                                 f"argument {a.shape}")
        return cls(symbol, ctx, arg_arrays, grad_arrays, reqs, aux_arrays)

    def _build_plan(self) -> None:
        sym = self._plan_symbol
        order = sym._topo()
        arg_pos = {n: i for i, n in enumerate(self._arg_names)}
        aux_pos = {n: i for i, n in enumerate(self._aux_names)}
        slot_of: dict[tuple[int, int], int] = {}
        self._arg_slots: list[int] = [0] * len(self._arg_names)
        steps: list[_Step] = []
        nslots = 0
        aux_node_idx: dict[int, int] = {}
        for node in order:
            if node.is_var:
                if node.name in aux_pos and node.name not in arg_pos:
                    aux_node_idx[id(node)] = aux_pos[node.name]
                    continue
                slot_of[(id(node), 0)] = nslots
                self._arg_slots[arg_pos[node.name]] = nslots
                nslots += 1
                continue
            in_slots = []
            for child, k in node.inputs[:node.nargs]:
                if (id(child), k) not in slot_of:
                    raise MXNetError(f"{node.name}: input {child.name} is an auxiliary state "
                                     "of another operator; it cannot be an argument too")
                in_slots.append(slot_of[(id(child), k)])
            aux_idx = []
            for child, _ in node.inputs[node.nargs:]:
                if id(child) not in aux_node_idx:
                    raise MXNetError(f"{node.name}: auxiliary input {child.name!r} must be a "
                                     "variable used only as an auxiliary state")
                aux_idx.append(aux_node_idx[id(child)])
            out_slots = list(range(nslots, nslots + node.num_outputs()))
            nslots += node.num_outputs()
            for k, s in enumerate(out_slots):
                slot_of[(id(node), k)] = s
            steps.append(_Step(node, in_slots, aux_idx, out_slots))
        self._steps = steps
        self._nslots = nslots
        self._slot_stypes = _si.plan(steps, self._arg_slots, self.arg_arrays, nslots) \
            if _si.may_be_sparse(steps, self.arg_arrays) else ["default"] * nslots
        #: no step computes a sparse value (a forward with dense arguments densifies nothing)
        self._dense_plan = all(st == "default" for st in self._slot_stypes)
        self._head_slots = [slot_of[(id(n), k)] for n, k in sym._outputs]
        self._head_loss = [(not n.is_var) and n.op.is_loss(n.params) for n, _ in sym._outputs]
        # which slots lead to an argument that wants a gradient
        wants = set()
        for i, r in enumerate(self._grad_reqs):
            if r != "null":
                wants.add(self._arg_slots[i])
        for step in steps:
            if any(s in wants for s in step.in_slots):
                step.grad_needed = True
                wants.update(step.out_slots)
        for step in steps:
            if step.op.skips_grads:
                step.need = [s in wants for s in step.in_slots]
        self._any_grad = bool(wants)
        self._wants = wants
        # backward walks these (step index, step) pairs; gradients go to these targets
        self._backward_order = [(i, st) for i, st in reversed(list(enumerate(steps)))
                                if st.grad_needed]
        self._grad_targets = [(slot, garr, req) for slot, garr, req in zip(
            self._arg_slots, self.grad_arrays, self._grad_reqs, strict=True) if req != "null"]
        # gradients that may be written by the operator straight into the bound gradient
        # array: a dense 'write' argument consumed exactly once and not itself a head
        uses: dict[int, int] = {}
        for step in steps:
            for s in step.in_slots:
                uses[s] = uses.get(s, 0) + 1
        heads = self._head_set = set(self._head_slots)
        for step in steps:
            step.keeps_outputs = step.op.writes_outputs and not heads.intersection(step.out_slots)
        direct_slot = {}
        for i, (slot, garr, req) in enumerate(zip(self._arg_slots, self.grad_arrays,
                                                  self._grad_reqs, strict=True)):
            if (req == "write" and type(garr) is NDArray and uses.get(slot) == 1
                    and slot not in heads and garr._data.flags.c_contiguous
                    and garr._data.dtype == self.arg_arrays[i]._data.dtype
                    and garr._data.shape == self.arg_arrays[i].shape):
                direct_slot[slot] = garr
        for step in steps:
            if step.op.writes_grads and step.grad_needed:
                step.direct = [direct_slot.get(s) for s in step.in_slots]
        # in-place forward (MXNet's inplace option for activations): the operator overwrites
        # its input when that is an intermediate value consumed by it alone, made by an
        # operator whose backward does not read its own output
        producer = {s: step for step in steps for s in step.out_slots}
        arg_slot_set = set(self._arg_slots)
        for step in steps:
            in_place = getattr(step.op, "in_place", None)
            if in_place is None or not step.in_slots or not in_place(step.params):
                continue
            s = step.in_slots[0]
            prod = producer.get(s)
            # (a head output must be an array of its own: callers keep it across forwards)
            step.inplace = (prod is not None and uses.get(s) == 1 and s not in heads
                            and s not in arg_slot_set and prod.op.name in _OUTPUT_FREE_BACKWARD
                            and not heads.intersection(step.out_slots))
        if any(step.grad_needed and not step.op.differentiable for step in steps):
            self._check_differentiable()

    def _check_differentiable(self) -> None:
        """MXNet refuses at bind a gradient that would flow through an operator without one
        (batch_take); a BlockGrad before it, or no gradient request, avoids it."""
        flowing = set(self._head_slots)
        for step in reversed(self._steps):
            if not step.grad_needed or step.op.name == "BlockGrad" or \
                    not flowing.intersection(step.out_slots):
                continue
            if not step.op.differentiable:
                raise MXNetError(f"Operator {step.op.name} ({step.name}) is non-differentiable; "
                                 "bind with grad_req='null' for its inputs or stop the gradient")
            flowing.update(step.in_slots)

    def _settle_created_shapes(self) -> None:
        """Operators without inputs declared with unknown (0) dims, as the begin states
        ``zeros((0, num_hidden))`` of ``mx.rnn`` cells, produce the shape that inference from
        the bound arrays settles on (MXNet's executor allocates them so)."""
        partial = [st for st in self._steps if not st.in_slots and not st.aux_idx
                   and isinstance(st.params.get("shape"), tuple) and 0 in st.params["shape"]]
        if not partial:
            return
        known = {n: a.shape for n, a in zip(self._arg_names, self.arg_arrays, strict=True)}
        known.update({n: a.shape for n, a in zip(self._aux_names, self.aux_arrays,
                                                 strict=True)})
        order, val = self._symbol._infer(known, "shape")
        index = {id(n): i for i, n in enumerate(order)}
        for st in partial:
            shape = val.get((index[id(st.node)], 0))
            if shape is None or 0 in shape:
                raise MXNetError(
                    f"{st.name} ({st.op.name}): cannot infer the unknown (0) dims of its shape "
                    f"{tuple(st.params['shape'])} from the bound arrays"
                )
            st.params = type(st.params)({**st.params, "shape": tuple(int(d) for d in shape)})

    def _initial_outputs(self) -> list[NDArray]:
        """Zero outputs of the inferred shapes (MXNet's executor has them before forward);
        inconsistent bound shapes raise here, naming the operator."""
        known = {n: a.shape for n, a in zip(self._arg_names, self.arg_arrays, strict=True)}
        known.update({n: a.shape for n, a in zip(self._aux_names, self.aux_arrays,
                                                 strict=True)})
        _, out_shapes, _ = self._symbol.infer_shape_partial(**known)
        types = {n: a._data.dtype for n, a in zip(self._arg_names, self.arg_arrays,
                                                  strict=True)}
        _, out_types, _ = self._symbol.infer_type_partial(**types)
        outs = [NDArray(np.zeros(s, t or np.float32), self._ctx) if s and 0 not in s
                else NDArray(np.empty(0, np.float32), self._ctx)
                for s, t in zip(out_shapes, out_types, strict=True)]
        if any(st != "default" for st in self._slot_stypes):  # sparse heads: sparse zeros
            for k, slot in enumerate(self._head_slots):
                st = self._slot_stypes[slot]
                if st != "default" and outs[k].size:
                    outs[k] = _alloc(st, outs[k].shape, outs[k].dtype, self._ctx)
        return outs

    # ------------------------------------------------------------------ dictionaries
    @property
    def arg_dict(self) -> dict:
        if self._arg_dict is None:
            self._arg_dict = dict(zip(self._arg_names, self.arg_arrays, strict=False))
        return self._arg_dict

    @property
    def grad_dict(self) -> dict:
        if self._grad_dict is None:
            self._grad_dict = dict(zip(self._arg_names, self.grad_arrays, strict=False))
        return self._grad_dict

    @property
    def aux_dict(self) -> dict:
        if self._aux_dict is None:
            self._aux_dict = dict(zip(self._aux_names, self.aux_arrays, strict=False))
        return self._aux_dict

    @property
    def output_dict(self) -> dict:
        return dict(zip(self._out_names, self.outputs, strict=False))

    @property
    def outputs(self) -> list[NDArray]:
        """The output NDArrays (the same objects after every forward, data refreshed)."""
        return self._outputs

    @property
    def symbol(self):
        return self._symbol

    # ------------------------------------------------------------------ running
    def set_monitor_callback(self, callback, monitor_all: bool = False) -> None:
        """Call ``callback(name, NDArray)`` for every operator output (and input if
        ``monitor_all``) during forward."""
        self._monitor = callback
        self._monitor_all = monitor_all

    def _monitor_inputs(self, step: _Step, values: list) -> None:
        """MXNet's ``monitor_all`` order, before the operator runs: each input that is a
        variable under the variable's own name (every time it is used), then the input as
        ``<node>_<input name>`` for the operators that name their inputs in MXNet 1.9.1
        (``FullyConnected``: ``fc_data``, ``fc_weight``, ...) and ``<node>_input<i>`` for
        the others (``Activation``: ``act_input0``)."""
        for (child, _), name, x in zip(step.node.inputs, _monitor_input_names(step), values,
                                       strict=True):
            if child.is_var:
                self._monitor(child.name, NDArray(x.copy(), self._ctx))
            self._monitor(name, NDArray(x.copy(), self._ctx))

    def _monitor_backward(self, step: _Step, in_grads) -> None:
        """MXNet reports each backward node's outputs (the input gradients) as
        ``<node>_backward_output`` (``..._output0``, ``_output1``, ... when several)."""
        grads = [g for g in in_grads if g is not None]
        for k, g in enumerate(grads):
            suffix = "" if len(grads) == 1 else str(k)
            self._monitor(f"{step.name}_backward_output{suffix}", NDArray(np.array(g), self._ctx))

    def forward(self, is_train: bool = False, **kwargs) -> list[NDArray]:
        """Run the graph; ``kwargs`` (name -> NDArray or numpy array) are copied in first."""
        if kwargs:
            arg_dict = self.arg_dict
            for name, value in kwargs.items():
                if name not in arg_dict:
                    raise TypeError(f"Unknown argument {name}")
                if not isinstance(value, (NDArray, np.ndarray)):
                    raise ValueError("only accept keyword argument of NDArrays and numpy.ndarray")
                target = arg_dict[name]
                if value.shape != target.shape:
                    raise ValueError(f"Shape not match! Argument {name}, need: {target.shape}, "
                                     f"received: {value.shape}")
                _assign(target, value)
        vals: list = [None] * self._nslots
        dense = self._dense_plan
        for slot, arr in zip(self._arg_slots, self.arg_arrays, strict=False):
            if type(arr) is NDArray:
                vals[slot] = arr._data
            else:  # sparse stays sparse
                vals[slot], dense = arr, False
        monitor = self._monitor
        # a monitor sees every internal output: the unfused plan
        ran = None if monitor is not None else \
            self._fused_infer if not is_train and self._fused_infer is not None else self._fused
        steps = self._steps if ran is None else ran[0]
        saved: list = [None] * len(steps)
        aux = self.aux_arrays
        reuse = self._reuse
        in_place = reuse and monitor is None
        for i, step in enumerate(steps):
            ins = [vals[s] for s in step.in_slots]
            if not dense and not step.op.sparse_inputs and not step.sparse:
                ins = [_dense(x) for x in ins]
            aux_in = [aux[k]._data for k in step.aux_idx] if step.aux_idx else []
            if monitor is not None and self._monitor_all:
                self._monitor_inputs(step, [_dense(x) for x in ins] + aux_in)
            try:
                if step.sparse:
                    outs, saved[i] = _si.forward_step(step, ins, aux_in, is_train, self._ctx)
                elif step.inplace and in_place:
                    outs, saved[i] = step.op.forward(step.params, ins, aux_in, is_train,
                                                     out=ins[:1])
                elif step.obufs is not None and not step.inplace:
                    outs, saved[i] = step.op.forward(step.params, ins, aux_in, is_train,
                                                     out=step.obufs)
                else:
                    outs, saved[i] = step.op.forward(step.params, ins, aux_in, is_train)
            except MXNetError as err:
                raise MXNetError(f"Error in operator {step.name}: {err}") from None
            if step.keeps_outputs and reuse and step.obufs is None:
                step.obufs = list(outs)
            for s, o in zip(step.out_slots, outs, strict=False):
                vals[s] = o
            if monitor is not None:
                for oname, o in zip(step.out_names, outs, strict=False):
                    monitor(oname, o if isinstance(o, NDArray) else NDArray(o, self._ctx))
        self._values = vals
        self._saved = saved
        self._ran, self._ran_train = ran, bool(is_train)
        self._refresh_outputs(vals)
        return self._outputs

    def _unfused_record(self):
        """``(steps, values, saved)`` of the last forward as the unfused plan has them (Gluon's
        ``create_graph`` replay walks the original operators): a fused step's parts are
        recomputed from its inputs by :meth:`mxlite._fusion.Fused.expand`."""
        if self._ran is None:
            return self._steps, self._values, self._saved
        vals, saved = list(self._values), [None] * len(self._steps)
        index = {id(st): i for i, st in enumerate(self._steps)}
        aux = self.aux_arrays
        for k, st in enumerate(self._ran[0]):
            if st.parts is None:
                saved[index[id(st)]] = self._saved[k]
                continue
            records = st.op.expand([vals[s] for s in st.in_slots],
                                   [aux[j]._data for j in st.aux_idx], self._ran_train)
            for part, (_, outs, sv) in zip(st.parts[:-1], records, strict=False):
                for s, o in zip(part.out_slots, outs, strict=False):
                    vals[s] = o
                saved[index[id(part)]] = sv
            saved[index[id(st.parts[-1])]] = records[-1][2]
        return self._steps, vals, saved

    def _refresh_outputs(self, vals) -> None:
        if self._out_pool is not None:
            _write_pooled_outputs(self, vals)
            return
        arg_slot_set = set(self._arg_slots)
        if len(self._outputs) != len(self._head_slots):
            self._outputs = [NDArray(np.empty(0, np.float32), self._ctx)
                             for _ in self._head_slots]
        for k, (out, slot) in enumerate(zip(self._outputs, self._head_slots, strict=False)):
            value = vals[slot]
            if not isinstance(value, np.ndarray):  # a sparse output keeps its storage
                if type(out) is type(value):
                    out._assign(value)
                else:
                    self._outputs[k] = value.copy()
                continue
            data = value
            # never hand out the bound arguments themselves or views into them (Reshape, ...)
            out._data = data.copy() if slot in arg_slot_set or data.base is not None else data

    def backward(self, out_grads=None, is_train: bool = True) -> None:
        """Propagate head gradients (ones for non-loss heads when ``out_grads`` is None) and
        write/accumulate the argument gradients according to ``grad_req``."""
        if self._values is None:
            raise MXNetError("backward called before forward")
        if not self._any_grad:
            return
        raw = self._values
        sparse_vals = any(not isinstance(v, np.ndarray) for v in raw if v is not None)
        vals = _DenseValues(raw) if sparse_vals else raw  # sparse values densified on use
        heads = self._head_slots
        if out_grads is None:
            out_grads = [None] * len(heads)
        elif isinstance(out_grads, (NDArray, np.ndarray)):
            out_grads = [out_grads]
        elif not isinstance(out_grads, (list, tuple)):
            raise TypeError("out_grads must be an NDArray or a list of NDArrays")
        if len(out_grads) != len(heads):
            raise ValueError(f"backward: {len(out_grads)} head gradients for {len(heads)} "
                             f"outputs {self._out_names}")
        grads: dict[int, np.ndarray] = {}
        for slot, g, is_loss in zip(heads, out_grads, self._head_loss, strict=False):
            if g is None:
                if is_loss:
                    continue
                g = np.ones_like(vals[slot])
            else:
                g = g._data if isinstance(g, NDArray) else np.asarray(g)
                if g.shape != vals[slot].shape:
                    raise ValueError(f"backward: head gradient of shape {g.shape} for output "
                                     f"of shape {vals[slot].shape}")
            grads[slot] = grads[slot] + g if slot in grads else g
        aux = self.aux_arrays
        reuse, monitor, saved = self._reuse, self._monitor, self._saved
        order = self._backward_order if self._ran is None else self._ran[1]
        for i, step in order:
            ogs = [grads.get(s) for s in step.out_slots]
            if not step.loss and all(g is None for g in ogs):
                continue
            if step.loss and reuse:  # loss heads: their (ignored) zero gradients
                if step.zero_ogs is None:
                    step.zero_ogs = [np.zeros_like(vals[s]) for s in step.out_slots]
                ogs = [z if g is None else _dense(g)
                       for g, z in zip(ogs, step.zero_ogs, strict=True)]
            else:
                ogs = [np.zeros_like(vals[s]) if g is None else _dense(g)
                       for g, s in zip(ogs, step.out_slots, strict=True)]
            src = raw if step.op.sparse_inputs else vals
            ins = [src[s] for s in step.in_slots]
            outs = [vals[s] for s in step.out_slots]
            aux_in = [aux[k]._data for k in step.aux_idx]
            # a monitor sees every input gradient, as MXNet computes them all
            kw = {} if step.need is None or monitor is not None else {"need": step.need}
            if step.direct is not None and reuse:
                gb = step.gbufs
                kw["gout"] = [d._data if d is not None else (gb[k] if gb is not None else None)
                              for k, d in enumerate(step.direct)]
            acc_slot = self._fused_sum(step, grads, vals, ogs, kw) if (
                step.parts is not None and reuse and monitor is None) else None
            try:
                in_grads = step.op.backward(step.params, ogs, ins, outs, aux_in, saved[i], **kw)
            except MXNetError as err:
                raise MXNetError(f"Error in operator {step.name} (backward): {err}") from None
            if monitor is not None:
                self._monitor_backward(step, in_grads)
            if step.direct is not None and reuse and step.gbufs is None:
                # keep the operator's own (fresh) gradient arrays for the next batch
                step.gbufs = [g if isinstance(g, np.ndarray) and d is None else None
                              for g, d in zip(in_grads, step.direct, strict=False)]
            for slot, g in zip(step.in_slots, in_grads, strict=False):
                if g is None:
                    continue
                if slot == acc_slot:  # the fused step summed it already
                    grads[slot], acc_slot = g, None
                    continue
                grads[slot] = self._accumulate(slot, grads[slot], g) if slot in grads else g
        for slot, garr, req in self._grad_targets:
            g = grads.get(slot)
            if type(garr) is NDArray and g is garr._data:
                continue  # the operator wrote it in place (memory plan)
            if type(garr) is not NDArray or (g is not None and not isinstance(g, np.ndarray)):
                _write_grad(garr, g, req)  # a sparse gradient array or value
            elif req == "write":
                if g is None:
                    garr._data[...] = 0
                else:
                    garr._data[...] = g
            elif g is not None:
                garr._data += g

    def _fused_sum(self, step, grads, vals, ogs, kw):
        """For a fused step that sums its first input's gradient itself
        (:attr:`mxlite._fusion.Fused.accumulates`) when that input has one already: put
        ``acc=(prev, buffer)`` into ``kw`` (the buffer :meth:`_accumulate` would use) and
        return the slot; None where the plain sum applies."""
        if not step.op.accumulates:
            return None
        slot = step.in_slots[0]
        prev = grads.get(slot)
        x = vals[slot]
        if (type(prev) is not np.ndarray or type(x) is not np.ndarray
                or prev.dtype not in (np.float32, np.float64) or prev.dtype != x.dtype
                or prev.shape != x.shape or not prev.flags.c_contiguous
                or step.in_slots.count(slot) != 1):
            return None
        buf = self._accum.get(slot)
        if buf is None or buf.shape != prev.shape or buf.dtype != prev.dtype:
            buf = self._accum[slot] = np.empty_like(prev)
        if buf is prev or any(buf is g for g in ogs):
            return None
        kw["acc"] = (prev, buf)
        return slot

    def _accumulate(self, slot: int, prev, g):
        """``prev + g``: the gradient of a value consumed several times.  Under the memory plan
        the sum goes into a buffer owned by the executor for that value (allocated at the first
        batch, reused after), so a residual network allocates no activation-sized array here;
        ``prev`` may be that buffer already (a third consumer), never ``g`` (the buffer is
        handed to the value's producer only after all its consumers ran)."""
        if not (self._reuse and type(prev) is np.ndarray and type(g) is np.ndarray
                and prev.shape == g.shape and prev.dtype == g.dtype):
            return _add_grads(prev, g)
        buf = self._accum.get(slot)
        if buf is None or buf.shape != g.shape or buf.dtype != g.dtype or buf is g:
            buf = self._accum[slot] = np.empty_like(g)
        from .operator.tensor._elemwise_kernels import binary

        binary(0, prev, g, buf)  # one parallel pass for large float arrays
        return buf

    # ------------------------------------------------------------------ parameters
    def copy_params_from(self, arg_params, aux_params=None, allow_extra_params=False) -> None:
        """Copy values into the bound arrays (shapes must match; dtypes are converted)."""
        arg_dict = self.arg_dict
        for name, arr in (arg_params or {}).items():
            if name in arg_dict:
                _copy_into(arr, arg_dict[name], name)
            elif not allow_extra_params:
                raise ValueError(f'Find name "{name}" that is not in the arguments')
        aux_dict = self.aux_dict
        for name, arr in (aux_params or {}).items():
            if name in aux_dict:
                _copy_into(arr, aux_dict[name], name)
            elif not allow_extra_params:
                raise ValueError(f"Find name {name} that is not in the auxiliary states")

    def reshape(self, partial_shaping: bool = False, allow_up_sizing: bool = False, **kwargs):
        """A new executor for new input shapes that shares this one's memory, as MXNet's.

        ``kwargs`` gives the new shapes of some inputs (name -> shape); the others follow by
        shape inference.  Each argument, gradient and auxiliary array of the new executor is

        * this executor's array itself where the shape is unchanged,
        * a view on the start of its buffer where the new shape has no more elements (so
          writing the new executor's ``x`` writes the first rows of this one's),
        * a new array where it has more elements: only with ``allow_up_sizing=True``, else
          :class:`~mxlite.base.MXNetError`.

        The shape of an array not named in ``kwargs`` may change only with
        ``partial_shaping=True`` (else :class:`~mxlite.base.MXNetError`: a parameter whose
        shape changes is no longer shared).  The outputs share memory too: the new
        executor's output ``k`` lives in the start of this one's output ``k`` (where its dtype
        matches and it fits), so a forward of either executor shows in both, as in MXNet.
        """
        return self._reshaped(kwargs, partial_shaping, allow_up_sizing, share_outputs=True)

    def _reshaped(self, shapes: dict, partial_shaping: bool, allow_up_sizing: bool,
                  share_outputs: bool) -> Executor:
        """:meth:`reshape`; ``share_outputs=False`` keeps the new executor's outputs its own
        (the Module's executor group: its outputs stay fresh arrays after every forward)."""
        arg_shapes, _, aux_shapes = self._symbol.infer_shape(**shapes)
        if arg_shapes is None:
            raise MXNetError(f"reshape: shapes {shapes} do not determine every argument")

        def adapt(name, old, shape, what):
            if old is None:
                return None
            if old.shape == shape:
                return old
            if name not in shapes and not partial_shaping:
                raise MXNetError(
                    f"Shape of unspecified array {what}:{name} changed from {old.shape} to "
                    f"{shape}. This can cause the new executor to not share parameters with the "
                    "old one. Please check for error in network. If this is intended, set "
                    "partial_shaping=True"
                )
            size = int(np.prod(shape, dtype=np.int64))
            if size > old.size:
                if not allow_up_sizing:
                    raise MXNetError(
                        f"New shape of {what}:{name} {shape} is larger than the original "
                        f"{old.shape}. First making a big executor and then down sizing it is "
                        "more efficient than the reverse. If you really want to up size, set "
                        "allow_up_sizing=True"
                    )
                return NDArray(np.zeros(shape, dtype=old._data.dtype), old._ctx)
            return NDArray(_prefix_view(old._data, shape), old._ctx)

        args = [adapt(n, a, s, "arg") for n, a, s in zip(self._arg_names, self.arg_arrays,
                                                          arg_shapes, strict=False)]
        grads = [adapt(n, g, s, "grad") for n, g, s in zip(self._arg_names, self.grad_arrays,
                                                           arg_shapes, strict=False)]
        auxs = [adapt(n, a, s, "aux") for n, a, s in zip(self._aux_names, self.aux_arrays,
                                                         aux_shapes, strict=False)]
        exe = Executor(self._symbol, self._ctx, args, grads, self._grad_reqs, auxs)
        exe._monitor, exe._monitor_all = self._monitor, self._monitor_all
        if share_outputs:
            if self._out_pool is None:
                self._out_pool = [_flat_buffer(o) for o in self._outputs]
            exe._out_pool = self._out_pool
            for k, out in enumerate(exe._outputs):
                view = _pooled_view(self._out_pool[k], out._data)
                if view is not None:
                    out._data = view
        return exe

    def debug_str(self) -> str:
        """The graph (as ``Symbol.debug_str``) and MXNet's last line, ``Total N MB allocated``:
        the operators' outputs, plus a gradient buffer for each output that backward needs
        (identity operators such as BlockGrad write into their input's memory)."""
        internals = self._symbol.get_internals()
        known = dict(zip(self._symbol.list_arguments(), (a.shape for a in self.arg_arrays),
                         strict=True))
        known.update(zip(self._symbol.list_auxiliary_states(),
                         (a.shape for a in self.aux_arrays), strict=True))
        types = {n: a.dtype for n, a in zip(self._symbol.list_arguments(), self.arg_arrays,
                                             strict=True)}
        _, shapes, _ = internals.infer_shape_partial(**known)
        _, dtypes, _ = internals.infer_type_partial(**types)
        nbytes = {name: int(np.prod(s)) * np.dtype(t or np.float32).itemsize if s else 0
                  for name, s, t in zip(internals.list_outputs(), shapes, dtypes, strict=True)}
        total = 0
        for step in self._steps:
            if step.op.name not in _IN_PLACE:
                total += sum(nbytes.get(n, 0) for n in step.out_names)
        if self._any_grad:  # gradient buffers where a head's gradient actually flows
            flowing = set(self._head_slots)
            for step in reversed(self._steps):
                if step.grad_needed and step.op.name != "BlockGrad" and \
                        flowing.intersection(step.out_slots):
                    total += sum(nbytes.get(n, 0) for n in step.out_names)
                    flowing.update(step.in_slots)
        return f"{self._symbol.debug_str()}\nTotal {total >> 20} MB allocated"

    def get_optimized_symbol(self):
        """The symbol this executor runs (a copy): the bound symbol after common-subexpression
        elimination, as MXNet 1.9.1's (:mod:`mxlite.symbol._cse`; off with
        ``MXNET_ELIMINATE_COMMON_EXPR=0`` at bind)."""
        import copy

        return copy.deepcopy(self._plan_symbol)


def _prefix_view(buf: np.ndarray, shape) -> np.ndarray:
    """The first ``prod(shape)`` elements of the C-contiguous ``buf``, as an array of ``shape``
    sharing its memory (MXNet's ``NDArray.Reshape`` of a smaller shape)."""
    size = int(np.prod(shape, dtype=np.int64))
    return buf.reshape(-1)[:size].reshape(shape)


def _flat_buffer(out: NDArray):
    """The 1-D view of an output's buffer that reshaped executors share (None when there is
    none to share: a sparse output, or one of unknown shape)."""
    data = out._data
    if type(out) is not NDArray or data.size == 0 or not data.flags.c_contiguous:
        return None
    return data.reshape(-1)


def _pooled_view(buf, like: np.ndarray):
    """A view of ``like``'s shape on the shared buffer ``buf``, or None when it cannot hold it."""
    if buf is None or buf.dtype != like.dtype or like.size > buf.size:
        return None
    return _prefix_view(buf, like.shape)


def _write_pooled_outputs(exe: Executor, vals) -> None:
    """Outputs of executors that share memory (:meth:`Executor.reshape`): each value is copied
    into the start of the shared buffer and the output is a view there; a value that does not
    fit (an up-sized executor, another dtype) is the output's own array."""
    arg_slot_set = set(exe._arg_slots)
    if len(exe._outputs) != len(exe._head_slots):
        exe._outputs = [NDArray(np.empty(0, np.float32), exe._ctx) for _ in exe._head_slots]
    for k, (out, slot) in enumerate(zip(exe._outputs, exe._head_slots, strict=False)):
        data = _dense(vals[slot])
        view = _pooled_view(exe._out_pool[k] if k < len(exe._out_pool) else None, data)
        if view is None:
            out._data = data.copy() if slot in arg_slot_set or data.base is not None else data
        else:
            view[...] = data
            out._data = view


def _copy_into(src, dst: NDArray, name: str) -> None:
    shape = src.shape if isinstance(src, NDArray) else np.shape(src)
    if tuple(shape) != dst.shape:
        raise ValueError(f"copy_params_from: shape of {name!r} is {tuple(shape)}, the bound "
                         f"array has {dst.shape}")
    _assign(dst, src)


def _storage_types(symbol, arg_names, stype_dict):
    """``(argument stypes, gradient stypes)``: argument storage from ``stype_dict`` or the
    variables' ``stype``; gradient storage by MXNet 1.9.1's backward storage inference
    (:func:`mxlite._storage_inference.infer_backward`: row_sparse for the weight of an
    ``Embedding(sparse_grad=True)`` and the ``rhs`` of ``dot(csr, rhs)``, the sparse storage
    kept through ``elemwise_add``, ``_copy``, ``* scalar``, ...; a row_sparse weight of
    ``Embedding(sparse_grad=False)`` gets a dense gradient)."""
    from .ndarray.sparse import STYPES

    flags = {str(i): s for i, s in enumerate(STYPES)}
    given = dict(stype_dict or {})
    unknown = sorted(set(given) - set(arg_names))
    if unknown:
        raise ValueError(f"stype_dict: unknown argument(s) {unknown}; arguments are {arg_names}")
    arg_st = {}
    for node in symbol._topo():
        if node.is_var and node.name in arg_names:
            arg_st[node.name] = given.get(node.name) or flags.get(
                node.attrs.get("__storage_type__", "0"), "default")
    for n, st in arg_st.items():
        if st not in STYPES:
            raise ValueError(f"stype of {n!r} must be one of {STYPES}, got {st!r}")
    if all(st == "default" for st in arg_st.values()) and not any(
            n.op.name in _si.SPARSE_FROM_DENSE for n in symbol._topo() if not n.is_var):
        return arg_st, dict.fromkeys(arg_st, "default")
    return arg_st, _si.infer_backward(symbol, arg_names, arg_st)


def _alloc(stype, shape, dtype, ctx) -> NDArray:
    if stype == "default":
        return NDArray(np.zeros(shape, dtype), ctx)
    from .ndarray.sparse import zeros

    return zeros(stype, shape, ctx, dtype)


def simple_bind(symbol, ctx=None, grad_req="write", type_dict=None, shared_arg_names=None,
                shared_exec=None, shared_buffer=None, stype_dict=None, **shapes) -> Executor:
    """Allocate zeroed arrays for ``symbol`` from the given input shapes and bind them.

    With ``shared_exec``, arguments and auxiliary states of the same name, shape and dtype (only
    those in ``shared_arg_names`` when it is given) reuse that executor's NDArrays, gradients
    included, so executors for several batch sizes train one set of parameters.
    ``shared_buffer`` (name -> NDArray) is reused (or filled) for the arguments not in
    ``shared_arg_names`` (all of them when it is ``None``), with or without ``shared_exec``,
    as in MXNet 1.9.1: an argument's array under its name, its gradient under
    ``"grad of <name>"``; a buffered array too small (or of another dtype) is replaced.
    """
    ctx = _as_ctx(ctx)
    arg_shapes, _, aux_shapes = symbol.infer_shape_partial(**shapes)
    missing = [n for n, s in zip(symbol.list_arguments() + symbol.list_auxiliary_states(),
                                 arg_shapes + aux_shapes, strict=True) if not s or 0 in s]
    if missing:
        raise MXNetError(f"simple_bind: cannot infer the shapes of {missing} from {shapes}")
    type_dict = dict(type_dict or {})
    for key in list(type_dict):
        type_dict[key] = np.dtype(type_dict[key])
    arg_types, _, aux_types = symbol.infer_type_partial(**type_dict)
    arg_types = [t or np.float32 for t in arg_types]
    aux_types = [t or np.float32 for t in aux_types]
    arg_names = symbol.list_arguments()
    aux_names = symbol.list_auxiliary_states()
    reqs = _normalize_reqs(grad_req, arg_names, "null")
    arg_st, grad_st = _storage_types(symbol, arg_names, stype_dict)
    shared_args = shared_exec.arg_dict if shared_exec is not None else {}
    shared_grads = shared_exec.grad_dict if shared_exec is not None else {}
    shared_aux = shared_exec.aux_dict if shared_exec is not None else {}

    def share_ok(name, arr, shape, dtype):
        if arr is None or arr.shape != tuple(shape) or np.dtype(arr.dtype) != np.dtype(dtype):
            return False
        return shared_arg_names is None or name in shared_arg_names

    # MXNet's rule: the buffer serves (and keeps) the arguments outside shared_arg_names,
    # whether or not there is a shared executor, and their gradients as "grad of <name>"
    shared = frozenset(shared_arg_names or ())

    def from_buffer(key, shape, dtype):
        buf = shared_buffer.get(key)
        size = int(np.prod(shape, dtype=np.int64))
        if buf is not None and buf._data.dtype == np.dtype(dtype) and buf.size >= size:
            return NDArray(buf._data.reshape(-1)[:size].reshape(shape), ctx)
        arr = NDArray(np.zeros(shape, dtype), ctx)
        shared_buffer[key] = arr
        return arr

    args, grads = [], []
    for name, shape, dtype, req in zip(arg_names, arg_shapes, arg_types, reqs, strict=False):
        arr = shared_args.get(name)
        if share_ok(name, arr, shape, dtype):
            args.append(arr)
            g = shared_grads.get(name)
            grads.append(g if g is not None and req != "null" else
                         (_alloc(grad_st[name], shape, dtype, ctx) if req != "null" else None))
            continue
        if arg_st[name] != "default":
            args.append(_alloc(arg_st[name], shape, dtype, ctx))
            grads.append(_alloc(grad_st[name], shape, dtype, ctx) if req != "null" else None)
            continue
        if shared_buffer is None or name in shared:
            args.append(NDArray(np.zeros(shape, dtype), ctx))
            grads.append(_alloc(grad_st[name], shape, dtype, ctx) if req != "null" else None)
            continue
        args.append(from_buffer(name, shape, dtype))
        grads.append(from_buffer(f"grad of {name}", shape, dtype) if req != "null" else None)
    auxs = []
    for name, shape, dtype in zip(aux_names, aux_shapes, aux_types, strict=False):
        arr = shared_aux.get(name)
        auxs.append(arr if share_ok(name, arr, shape, dtype) else
                    NDArray(np.zeros(shape, dtype), ctx))
    return Executor(symbol, ctx, args, grads, reqs, auxs)
