"""Gluon's building blocks: :class:`Block`, :class:`HybridBlock` and :class:`SymbolBlock`.

Naming follows MXNet 1.x: a block's ``prefix`` is ``<classname lower><n>_`` with a counter per
enclosing ``name_scope`` (the global symbol name manager at top level), and its parameters are
called ``prefix + name`` -- ``hybridsequential0_dense0_weight``.

A HybridBlock writes ``hybrid_forward(F, x, ..., **params)`` once for ``F = mx.nd`` and
``F = mx.sym``.  The symbolic graph serves shape inference for deferred initialization,
``hybridize()`` (the graph is bound once per input signature to the Symbol executor and reused;
under ``autograd.record()`` the executor's backward is the recorded node's backward) and
``export``.
"""

from __future__ import annotations

import re
import threading
import warnings
import weakref
from collections import OrderedDict

import numpy as np

from .. import ndarray, symbol
from ..base import MXNetError
from ..ndarray import NDArray, _record
from ..ndarray.utils import save as _nd_save
from ..symbol import name as _name
from ..symbol.symbol import Symbol
from .parameter import DeferredInitializationError, Parameter, ParameterDict

__all__ = ["Block", "HybridBlock", "SymbolBlock"]


class _BlockScope:
    """The naming scope a block opens with ``name_scope()``."""

    _current = threading.local()

    def __init__(self, block):
        self._block = block
        self._counter: dict[str, int] = {}
        self._old_scope = None
        self._name_scope = None

    @staticmethod
    def create(prefix, params, hint):
        """``(prefix, ParameterDict)`` for a new block created in the current scope."""
        current = getattr(_BlockScope._current, "value", None)
        if current is None:
            if prefix is None:
                prefix = _name.current().get(None, hint) + "_"
            if params is None:
                params = ParameterDict(prefix)
            else:
                params = ParameterDict(params.prefix, params)
            return prefix, params
        if prefix is None:
            count = current._counter.get(hint, 0)
            prefix = f"{hint}{count}_"
            current._counter[hint] = count + 1
        if params is None:
            parent = current._block.params
            params = ParameterDict(parent.prefix + prefix, parent._shared)
        else:
            params = ParameterDict(params.prefix, params)
        return current._block.prefix + prefix, params

    def __enter__(self):
        if self._block._empty_prefix:
            return self
        self._old_scope = getattr(_BlockScope._current, "value", None)
        _BlockScope._current.value = self
        self._name_scope = _name.Prefix(self._block.prefix)
        self._name_scope.__enter__()
        return self

    def __exit__(self, *exc):
        if self._block._empty_prefix:
            return False
        self._name_scope.__exit__(*exc)
        self._name_scope = None
        _BlockScope._current.value = self._old_scope
        return False


def _indent(text: str, n: int) -> str:
    lines = text.split("\n")
    return "\n".join([lines[0]] + [" " * n + line for line in lines[1:]])


def _flatten(args, what):
    """Flat list of NDArrays/Symbols and a format to rebuild the nesting: 0 for an array or a
    one-output Symbol, ``n`` for a Symbol of ``n > 1`` outputs (it stands for ``n`` arrays,
    as in MXNet), -1 for None, a list for a list."""
    if isinstance(args, NDArray):
        return [args], 0
    if isinstance(args, Symbol):
        n = len(args.list_outputs())
        return [args], n if n > 1 else 0
    if args is None:
        return [None], (-1)
    if not isinstance(args, (list, tuple)):
        raise ValueError(f"HybridBlock {what} must be (nested) list of Symbol or NDArray, but "
                         f"got {args!r} of type {type(args).__name__}")
    flat, fmts = [], []
    for a in args:
        f, fmt = _flatten(a, what)
        flat.extend(f)
        fmts.append(fmt)
    return flat, fmts


def _gather_type_ctx(args, acc=None):
    """``[has_symbol, has_ndarray, contexts, first context]`` of the NDArrays and Symbols in
    the nested lists ``args`` (other values are passed over, as MXNet does)."""
    if acc is None:
        acc = [False, False, set(), None]
    if isinstance(args, NDArray):
        acc[1] = True
        acc[2].add(args._ctx)
        if acc[3] is None:
            acc[3] = args._ctx
    elif isinstance(args, Symbol):
        acc[0] = True
    elif isinstance(args, (list, tuple)):
        for a in args:
            _gather_type_ctx(a, acc)
    return acc


def _formats_compatible(stored, fmt) -> bool:
    """Whether a call's input format may use a graph traced with ``stored``: equal, or
    differing only by trailing ``None`` arguments (arguments left to their defaults)."""
    if fmt == stored:
        return True
    if isinstance(stored, int) or isinstance(fmt, int):
        return False
    short, long_ = (fmt, stored) if len(fmt) < len(stored) else (stored, fmt)
    return long_[:len(short)] == short and all(f == -1 for f in long_[len(short):])


def _plain_count(fmt) -> int:
    """``n`` when ``fmt`` is that of ``n`` plain arrays (calls with ``n`` NDArrays then skip the
    format check), else -1."""
    return len(fmt) if isinstance(fmt, list) and all(f == 0 for f in fmt) else -1


def _regroup(args, fmt):
    if isinstance(fmt, int):
        if fmt == 0:
            return args[0], args[1:]
        if fmt == -1:
            return None, args[1:]
        return args[:fmt], args[fmt:]
    ret = []
    for f in fmt:
        res, args = _regroup(args, f)
        ret.append(res)
    return ret, args


class Block:
    """Base class of every layer and model; subclasses define ``forward``.

    Child blocks and parameters assigned as attributes are registered automatically.  Create
    children inside ``with self.name_scope():`` so their names carry this block's prefix.
    """

    def __init__(self, prefix=None, params=None):
        self._empty_prefix = prefix == ""
        self._prefix, self._params = _BlockScope.create(prefix, params, self._alias())
        self._name = self._prefix[:-1] if self._prefix.endswith("_") else self._prefix
        self._scope = _BlockScope(self)
        self._children: OrderedDict[str, Block] = OrderedDict()
        self._reg_params: dict[str, Parameter] = {}
        self._forward_hooks: OrderedDict = OrderedDict()
        self._forward_pre_hooks: OrderedDict = OrderedDict()

    def __repr__(self) -> str:
        mods = "\n".join(f"  ({key}): {_indent(repr(block), 2)}"
                         for key, block in self.__dict__.items() if isinstance(block, Block))
        return f"{type(self).__name__}(\n{mods}\n)"

    def __setattr__(self, name, value):
        if hasattr(self, name):
            existing = getattr(self, name)
            if isinstance(existing, (Parameter, Block)) and not isinstance(value, type(existing)):
                raise TypeError(f"Changing attribute type for {name} from {type(existing)} to "
                                f"{type(value)} is not allowed.")
        if isinstance(value, Block):
            self.register_child(value, name)
        elif isinstance(value, Parameter):
            if name in self._reg_params:
                raise AssertionError(f"Overriding Parameter attribute {name} is not allowed. If "
                                     "you want to share parameters between blocks, please set "
                                     "'params' at Block construction instead.")
            self._reg_params[name] = value
        super().__setattr__(name, value)

    def _alias(self) -> str:
        return type(self).__name__.lower()

    @property
    def prefix(self) -> str:
        """The prefix of this block's parameter names (``dense0_``)."""
        return self._prefix

    @property
    def name(self) -> str:
        """The prefix without its trailing underscore."""
        return self._name

    def name_scope(self) -> _BlockScope:
        """Scope in which child blocks get names under this block's prefix."""
        return self._scope

    @property
    def params(self) -> ParameterDict:
        """This block's own parameters (not its children's)."""
        return self._params

    def _check_container_with_block(self) -> None:
        """Warn (as MXNet 1.9.1) about an attribute list/tuple/dict holding Blocks that are not
        registered children: their parameters are not collected, saved or trained."""
        children = {id(c) for c in self._children.values()}

        def unregistered(data) -> bool:
            if isinstance(data, (list, tuple)):
                return any(unregistered(d) for d in data)
            if isinstance(data, dict):
                return any(unregistered(d) for d in data.values())
            return isinstance(data, Block) and id(data) not in children

        for name, value in self.__dict__.items():
            if isinstance(value, (list, tuple, dict)) and not name.startswith("__") \
                    and name != "_children" and unregistered(value):
                warnings.warn(f'"{name}" is an unregistered container with Blocks. Blocks '
                              "inside a list, tuple or dict are not registered "
                              "automatically: register them with register_child() or use "
                              "nn.Sequential / nn.HybridSequential.", stacklevel=3)

    def collect_params(self, select=None) -> ParameterDict:
        """This block's and its descendants' parameters; ``select``: a regular expression
        (``'.*weight|.*bias'``) the names must match."""
        self._check_container_with_block()
        ret = ParameterDict(self._params.prefix)
        if not select:
            ret.update(self.params)
        else:
            pattern = re.compile(select)
            ret.update({k: v for k, v in self.params.items() if pattern.match(k)})
        for child in self._children.values():
            ret.update(child.collect_params(select=select))
        return ret

    def _collect_params_with_prefix(self, prefix=""):
        if prefix:
            prefix += "."
        ret = {prefix + k: v for k, v in self._reg_params.items()}
        for name, child in self._children.items():
            ret.update(child._collect_params_with_prefix(prefix + name))
        return ret

    def register_child(self, block, name=None):
        """Register ``block`` as a child (``name`` default: its position)."""
        if name is None:
            name = str(len(self._children))
        self._children[name] = block

    def register_forward_pre_hook(self, hook):
        """``hook(block, inputs)`` runs before each forward; returns a handle with
        ``detach()``."""
        return _HookHandle(self._forward_pre_hooks, hook)

    def register_forward_hook(self, hook):
        """``hook(block, inputs, outputs)`` runs after each forward."""
        return _HookHandle(self._forward_hooks, hook)

    def register_op_hook(self, callback, monitor_all=False):
        """Install ``callback(node_name, op_name, array)`` on every hybridized descendant: it
        sees each operator output of their cached graphs in forward
        (``<node>_output``), and with ``monitor_all`` each operator input before
        (``<node>_<input name>``), as MXNet 1.9.1's op hooks do."""
        for child in self._children.values():
            child.register_op_hook(callback, monitor_all)

    def apply(self, fn):
        """Call ``fn(block)`` on every descendant, then on this block; returns ``self``."""
        for child in self._children.values():
            child.apply(fn)
        fn(self)
        return self

    def initialize(self, init=None, ctx=None, verbose=False, force_reinit=False):
        """Initialize every parameter of this block and its children (see
        :meth:`ParameterDict.initialize`)."""
        self.collect_params().initialize(init, ctx, verbose, force_reinit)

    def hybridize(self, active=True, **kwargs):
        """Turn hybridization on (or off) for every HybridBlock below this block."""
        for child in self._children.values():
            child.hybridize(active, **kwargs)

    def cast(self, dtype):
        """Cast every parameter to ``dtype``."""
        for child in self._children.values():
            child.cast(dtype)
        for p in self.params.values():
            p.cast(dtype)

    def zero_grad(self):
        self.collect_params().zero_grad()

    def save_parameters(self, filename, deduplicate=False):
        """Write the parameters to ``filename`` in MXNet's ``.params`` format, named by their
        attribute path (``0.weight``, ``features.3.bias``) as MXNet's ``save_parameters``."""
        params = self._collect_params_with_prefix()
        if deduplicate:
            seen: dict = {}
            for k, v in list(params.items()):
                if id(v) in seen:
                    del params[k]
                else:
                    seen[id(v)] = k
        _nd_save(filename, {k: v._reduce() for k, v in params.items()})

    def load_parameters(self, filename, ctx=None, allow_missing=False, ignore_extra=False,
                        cast_dtype=False, dtype_source="current"):
        """Read parameters written by :meth:`save_parameters` (or, with prefixed names, by
        ``ParameterDict.save``, as MXNet's legacy loading)."""
        from ..ndarray.utils import load

        loaded = load(filename)
        if isinstance(loaded, list):
            raise MXNetError(f"{filename!r} holds unnamed arrays; expected a .params dict")
        params = self._collect_params_with_prefix()
        if not loaded and not params:
            return
        if not any("." in k for k in loaded):
            del loaded
            self.collect_params().load(filename, ctx, allow_missing, ignore_extra, self.prefix,
                                       cast_dtype=cast_dtype, dtype_source=dtype_source)
            return
        if not allow_missing:
            for name in params:
                if name not in loaded:
                    raise MXNetError(
                        f"Parameter '{name}' is missing in file '{filename}', which contains "
                        f"parameters: {_brief(loaded)}. Set allow_missing=True to ignore "
                        "missing parameters.")
        for name, value in loaded.items():
            if name not in params:
                if not ignore_extra:
                    raise MXNetError(
                        f"Parameter '{name}' loaded from file '{filename}' is not present in "
                        f"ParameterDict, which contains parameters {_brief(params)}. Set "
                        "ignore_extra=True to ignore. ")
                continue
            params[name]._load_init(value, ctx, cast_dtype=cast_dtype, dtype_source=dtype_source)

    def save_params(self, filename):
        """Deprecated MXNet 1.x name: ``collect_params().save`` with the prefix stripped."""
        warnings.warn("save_params is deprecated. Please use save_parameters.", stacklevel=2)
        self.collect_params().save(filename, strip_prefix=self.prefix)

    def load_params(self, filename, ctx=None, allow_missing=False, ignore_extra=False):
        warnings.warn("load_params is deprecated. Please use load_parameters.", stacklevel=2)
        self.load_parameters(filename, ctx, allow_missing, ignore_extra)

    def __call__(self, *args):
        if self._forward_pre_hooks:
            for hook in list(self._forward_pre_hooks.values()):
                hook(self, args)
        out = self.forward(*args)
        if self._forward_hooks:
            for hook in list(self._forward_hooks.values()):
                hook(self, args, out)
        return out

    def forward(self, *args):
        raise MXNetError(f"{type(self).__name__} must define forward(self, *args)")

    def summary(self, *inputs):
        """Print each layer's output shape and parameter count for one forward of ``inputs``
        (as MXNet's ``Block.summary``); must run before hybridize: a hybridized block inside
        raises :class:`SummaryError` (a ValueError that is also MXNet's AssertionError)."""
        hybridized = []
        self.apply(lambda b: hybridized.append(b.name) if getattr(b, "_active", False) else None)
        if hybridized:
            raise SummaryError(f'"{hybridized[0]}" must not be hybridized to print summary.')
        summary = OrderedDict()
        seen = set()
        hooks = []

        def register(block):
            def hook(blk, inp, out):
                if _has_symbol(out):
                    return  # the symbolic pass of deferred initialization is not a layer call
                key = f"{type(blk).__name__}-{len(summary) + 1}"
                n_params, n_train, n_shared = 0, 0, 0
                for p in blk.params.values():
                    size = int(np.prod(p.shape)) if p.shape else 0
                    n_params += size
                    if id(p) in seen:
                        n_shared += size
                    else:
                        seen.add(id(p))
                    if p.grad_req != "null":
                        n_train += size
                summary[key] = (_shape_str(out), n_params, n_train, n_shared)

            if not isinstance(block, (Sequential, HybridSequential)) and (
                    block is not self or not block._children):
                hooks.append(block.register_forward_hook(hook))

        self.apply(register)
        try:
            self(*inputs)
        finally:
            for h in hooks:
                h.detach()
        line = "-" * 80
        rows = [line, f"{'Layer (type)':>20}{'Output Shape':>44}{'Param #':>16}", "=" * 80]
        rows.append(f"{'Input':>20}{_shape_str(list(inputs)):>44}{0:>16}")
        total = train = shared = 0
        for key, (shape, n, t, s) in summary.items():
            rows.append(f"{key:>20}{shape!s:>44}{n:>16}")
            total += n
            train += t
            shared += s
        rows += ["=" * 80, "Parameters in forward computation graph, duplicate included",
                 f"   Total params: {total}", f"   Trainable params: {train}",
                 f"   Non-trainable params: {total - train}",
                 f"Shared params in forward computation graph: {shared}",
                 f"Unique parameters in model: {total - shared}", line]
        print("\n".join(rows))


class SummaryError(ValueError, AssertionError):
    """:meth:`Block.summary` of a hybridized network (MXNet 1.9.1 asserts)."""


def _shapes(x):
    """The shape of an array, the nested list of the shapes of a (nested) list, other values
    as they are."""
    if isinstance(x, (list, tuple)):
        return [_shapes(i) for i in x]
    return x.shape if isinstance(x, NDArray) else x


def _shape_str(x) -> str:
    """MXNet's summary text for the shapes of ``x``: ``(2, 3)``, or for a list its items
    joined by commas (``(80, 32, 30), [(1, 32, 30), (1, 32, 30)]``)."""
    shapes = _shapes(x)
    return str(shapes)[1:-1] if isinstance(shapes, list) else str(shapes)


def _has_symbol(x) -> bool:
    if isinstance(x, (list, tuple)):
        return any(_has_symbol(i) for i in x)
    return isinstance(x, Symbol)


def _brief(names) -> str:
    keys = list(names)
    shown = ", ".join(f"'{k}'" for k in keys[:3])
    return shown + (f", ..., '{keys[-1]}'" if len(keys) > 3 else "")


class _HookHandle:
    def __init__(self, hooks: OrderedDict, hook):
        self._hooks = weakref.ref(hooks)
        self._id = id(hook)
        hooks[self._id] = hook

    def detach(self):
        hooks = self._hooks()
        if hooks is not None:
            hooks.pop(self._id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.detach()


class Sequential(Block):
    """Children called one after the other (``add`` appends)."""

    def __init__(self, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)

    def add(self, *blocks):
        for block in blocks:
            self.register_child(block)

    def forward(self, x):
        for block in self._children.values():
            x = block(x)
        return x

    def __repr__(self) -> str:
        mods = "\n".join(f"  ({key}): {_indent(repr(block), 2)}"
                         for key, block in self._children.items())
        return f"{type(self).__name__}(\n{mods}\n)"

    def __getitem__(self, key):
        layers = list(self._children.values())[key]
        if isinstance(layers, list):
            net = type(self)(prefix=self._prefix)
            with net.name_scope():
                net.add(*layers)
            return net
        return layers

    def __len__(self) -> int:
        return len(self._children)

    def hybridize(self, active=True, **kwargs):
        """Hybridize the children; warns, as MXNet 1.9.1, when they are all HybridBlocks (a
        HybridSequential would run them as one graph)."""
        if self._children and all(isinstance(c, HybridBlock) for c in self._children.values()):
            warnings.warn(f"All children of this Sequential layer {self.prefix!r} are "
                          "HybridBlocks. Consider using HybridSequential for the best "
                          "performance.", stacklevel=2)
        super().hybridize(active, **kwargs)


# ---------------------------------------------------------------------- hybrid blocks
class _Graph:
    """A block's symbolic graph bound to executors, one per input signature.

    Parameter arrays are bound as they are (the optimizer's in-place updates are seen); an
    executor taken by a recorded forward stays reserved until that node is back-propagated or
    dropped, so several recorded calls of one block keep their own intermediate values.
    """

    def __init__(self, block, inputs, out):
        self.block = block
        self.out = out
        self.input_names = [i.name for i in inputs]
        self.arg_names = out.list_arguments()
        self.aux_names = out.list_auxiliary_states()
        self.pool: dict = {}
        self.op = _record.PyOp(f"{block.name}_cached", self._backward)
        self.op.graph_grads = self._graph_grads  # create_graph=True through this block
        self.bound: list = []  # (Parameter, its array list, the array bound): see _bind
        self._param_map = None

    def _params(self):
        if self._param_map is None:
            self._param_map = {p.name: p for p in self.block.collect_params().values()}
        return self._param_map

    def _bind(self, args, needs_grad):
        params = self._params()
        ctx = args[0].context if args else None
        arg_arrays, grads, reqs = {}, {}, {}
        for name in self.arg_names:
            if name in self.input_names:
                i = self.input_names.index(name)
                x = args[i]
                arr = NDArray(np.empty(x.shape, x.dtype), x.context)
                req = "write" if needs_grad[i] else "null"  # no input gradient unless wanted
            else:
                p = params[name]
                arr = p.data(ctx)
                req = "null" if p.grad_req == "null" else "write"
            arg_arrays[name] = arr
            reqs[name] = req
            if req != "null":
                grads[name] = NDArray(np.zeros(arr.shape, arr.dtype), arr.context)
        aux = {name: params[name].data(ctx) for name in self.aux_names}
        # (parameter, its array list, the array bound): rebind when the list or array changes
        self.bound = [(params[n], params[n]._data, a)
                      for n, a in list(arg_arrays.items()) + list(aux.items()) if n in params]
        exe = self.out.bind(ctx, arg_arrays, args_grad=grads, grad_req=reqs, aux_states=aux)
        # the memory plan stays on: head outputs are new arrays at every forward, and an
        # executor is reserved by its recorded forward until that is back-propagated (_take)
        # the recorded node's inputs: the call's arrays at these positions, else the
        # parameter arrays bound
        template = [None if name in self.input_names else arg_arrays[name]
                    for name in self.arg_names]
        positions = [(k, self.input_names.index(name)) for k, name in enumerate(self.arg_names)
                     if name in self.input_names]
        return [exe, None, template, positions]

    def _take(self, args):
        recording = _record.STATE.recording
        key = tuple((a.shape, a.dtype, a.context, recording and a._ag is not None)
                    for a in args)
        needs_grad = tuple(k[3] for k in key)
        slots = self.pool.get(key)
        if slots is None:
            slots = self.pool[key] = []
        for slot in slots:
            owner = slot[1]
            if owner is None or owner() is None:
                return slot
        slot = self._bind(args, needs_grad)
        slots.append(slot)
        return slot

    def _stale(self) -> bool:
        """Whether a parameter was re-initialized (new arrays) since the executors were bound."""
        for p, lst, arr in self.bound:
            if p._data is not lst or not any(a is arr for a in lst):
                return True
        return False

    def __call__(self, args):
        if self.bound and self._stale():
            self.pool.clear()
        slot = self._take(args)
        exe, _, template, positions = slot
        hook = self.block._op_hook
        if hook is not None:
            exe.set_monitor_callback(_op_hook_monitor(exe, *hook), hook[1])
        try:
            outs = exe.forward(is_train=_record.STATE.training,
                               **dict(zip(self.input_names, args, strict=True)))
        finally:
            if hook is not None:  # forward only, as MXNet's op hooks
                exe.set_monitor_callback(None)
        outs = [NDArray(o._data, o.context) for o in outs]
        if _record.STATE.recording:
            inputs = list(template)
            for k, i in positions:
                inputs[k] = args[i]
            if _record.tracked(inputs):
                token = _Token(slot)
                slot[1] = weakref.ref(token)
                _record.record_node(self.op, exe, inputs, [x._data for x in inputs], outs,
                                    saved=token)
        return outs

    def _backward(self, out_grads, inputs, saved):
        slot = saved.slot
        exe = slot[0]
        exe.backward([NDArray(np.ascontiguousarray(g), exe._ctx) for g in out_grads])
        grads = exe.grad_dict  # consumed by the tape before this executor runs again
        return [None if grads.get(n) is None else
                grads[n]._data if n in self.input_names else _record.donate(grads[n])
                for n in self.arg_names]


    @staticmethod
    def _graph_grads(node, out_grads, ctx):
        """The input gradients of a recorded call with recorded operations (for
        ``autograd.grad(create_graph=True)``): the executor's forward steps are put on the
        tape as they ran (their values, masks and statistics -- nothing is recomputed) and
        differentiated with the operators' higher-order rules, down to this call's inputs."""
        exe = node.saved.slot[0]
        steps, vals, saved = exe._unfused_record()
        entry_of = dict(zip(exe._arg_slots, node.entries, strict=True))
        aux = exe.aux_arrays
        for i, step in enumerate(steps):
            entries = [entry_of.get(s) for s in step.in_slots]
            if all(e is None for e in entries):
                continue
            # copies: the executor writes its next forward into these buffers
            replay = _record.Node(step.op, step.params, entries,
                                  [np.array(vals[s]) for s in step.in_slots],
                                  [np.array(vals[s]) for s in step.out_slots],
                                  [aux[k]._data for k in step.aux_idx], saved[i])
            for k, s in enumerate(step.out_slots):
                entry_of[s] = _record.Out(replay, k)
        heads, grads = [], []
        for s, g in zip(exe._head_slots, out_grads, strict=True):
            if entry_of.get(s) is not None:
                heads.append(entry_of[s])
                grads.append(g)
        stop = {id(e) for e in node.entries if e is not None}
        found = _record.graph_pass(heads, grads, ctx, stop) if heads else {}
        return [None if e is None else found.get(id(e)) for e in node.entries]


def _op_hook_monitor(exe, callback, monitor_all):
    """An executor monitor calling an op hook ``callback(name, op_name, array)`` with MXNet
    1.9.1's names: operator outputs -- ``<node>_<output name>`` for the operators that name
    their outputs there, ``<node>_<i>`` for the others -- and with ``monitor_all`` operator
    inputs before them -- ``<node>_<input name>`` or ``<node>_input<i>`` likewise (not the
    executor's extra report of each variable under its own name)."""
    from .._mxnet_input_names import NAMED_OUTPUT_OPS
    from ..executor import _monitor_input_names

    hooked = {}  # executor's name -> (op hook's name, operator)
    for step in exe._steps:
        op = step.op.name
        named = op in NAMED_OUTPUT_OPS
        hooked.update({n: (n if named else f"{step.name}_{i}", op)
                       for i, n in enumerate(step.out_names)})
        if monitor_all:
            # the executor already gives inputs the op hook's names
            hooked.update({n: (n, op) for n in _monitor_input_names(step)})

    def monitor(name, array):
        if name in hooked:
            hook_name, op = hooked[name]
            callback(hook_name, op, array)

    return monitor


class _Token:
    """Reserves an executor for one recorded forward (see :class:`_Graph`)."""

    __slots__ = ("__weakref__", "slot")

    def __init__(self, slot):
        self.slot = slot


class HybridBlock(Block):
    """A block whose ``hybrid_forward(F, x, *args, **params)`` works with ``F = mx.nd`` and
    ``F = mx.sym``; ``hybridize()`` then runs it as one bound symbolic graph."""

    def __init__(self, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)
        self._cached_graph = ()
        self._cached_op = None
        self._out_format = None
        self._in_format = None
        self._in_plain = -1
        self._op_hook = None  # (callback, monitor_all) of register_op_hook
        self._active = False
        self._flags: dict = {}

    def __setattr__(self, name, value):
        super().__setattr__(name, value)
        if isinstance(value, HybridBlock):
            self._clear_cached_op()

    def register_child(self, block, name=None):
        if not isinstance(block, HybridBlock):
            raise ValueError(
                f"Children of HybridBlock must also be HybridBlock, but {block} has type "
                f"{type(block)}. If you are using Sequential, please try HybridSequential "
                "instead.")
        super().register_child(block, name)
        self._clear_cached_op()

    def _clear_cached_op(self):
        self._cached_graph = ()
        self._cached_op = None

    def register_op_hook(self, callback, monitor_all=False):
        if not callable(callback):
            raise TypeError(f"register_op_hook: callback must be callable, got {callback!r}")
        self._op_hook = (callback, bool(monitor_all))
        self._cached_op = None  # rebuilt on an executor (a fused stand-in has no operators)
        super().register_op_hook(callback, monitor_all)

    def hybridize(self, active=True, **kwargs):
        """Run this block (and its children) as a cached symbolic graph from the next call."""
        self._active = bool(active)
        self._flags = dict(kwargs)
        self._clear_cached_op()
        super().hybridize(active, **kwargs)

    def cast(self, dtype):
        self._clear_cached_op()
        super().cast(dtype)

    def _get_graph(self, *args):
        if not self._cached_graph:
            flat, self._in_format = _flatten(args, "input")
            if len(flat) > 1:
                inputs = [symbol.var(f"data{i}") if a is not None else None
                          for i, a in enumerate(flat)]
            else:
                inputs = [symbol.var("data")]
            grouped, _ = _regroup(inputs, self._in_format)
            params = {k: v.var() for k, v in self._reg_params.items()}
            with self.name_scope():
                out = self.hybrid_forward(symbol, *grouped, **params)
            out, self._out_format = _flatten(out, "output")
            self._in_plain = _plain_count(self._in_format)
            self._cached_graph = ([i for i in inputs if i is not None],
                                  symbol.Group(out) if len(out) > 1 else out[0])
        return self._cached_graph

    def infer_shape(self, *args):
        """Infer the shapes of all parameters from the shapes of ``args``."""
        for p, shape in self._infer_params("shape", args):
            p.shape = shape

    def infer_type(self, *args):
        """Infer the dtypes of all parameters from the dtypes of ``args``."""
        for p, dtype in self._infer_params("type", args):
            if p._data is None:
                p.dtype = dtype

    def _infer_params(self, kind: str, args):
        """``(parameter, inferred shape or dtype)`` for the parameters the graph of ``args``
        determines (``kind``: ``'shape'`` or ``'type'``)."""
        inputs, out = self._get_graph(*args)
        flat = [a for a in _flatten(args, "input")[0] if a is not None]
        known = {i.name: (a.shape if kind == "shape" else a.dtype)
                 for i, a in zip(inputs, flat, strict=True)}
        arg_vals, _, aux_vals = (out.infer_shape if kind == "shape" else out.infer_type)(**known)
        if arg_vals is None:
            raise ValueError(f"Deferred initialization failed because {kind} cannot be inferred.")
        inferred = dict(zip(out.list_arguments(), arg_vals, strict=True))
        inferred.update(zip(out.list_auxiliary_states(), aux_vals, strict=True))
        return [(p, inferred[p.name]) for p in self.collect_params().values()
                if p.name in inferred]

    def _deferred_infer_shape(self, *args):
        try:
            self.infer_shape(*args)
        except MXNetError as err:
            raise ValueError(f"Deferred initialization failed because shape cannot be "
                             f"inferred. {err}") from None

    def _finish_deferred(self, *args):
        params = list(self.collect_params().values())
        for p in params:
            if p._data is None and not p._deferred_init:
                p.data()  # raises: never initialized
        pending = [p for p in params if p._data is None]
        if pending:
            self._deferred_infer_shape(*args)
            for p in pending:
                p._finish_deferred_init()

    def _fused_graph(self, args):
        """A fused stand-in for this block's cached graph called on (flat) ``args`` (see
        :mod:`mxlite.gluon._fused`), or None to run the graph on an executor."""
        return None

    def _call_cached_op(self, *args):
        if self._cached_op is None:
            inputs, out = self._get_graph(*args)
            self._finish_deferred(*args)
            fused = (self._fused_graph(args)
                     if len(inputs) == len(args) and self._op_hook is None else None)
            self._cached_op = fused if fused is not None else _Graph(self, inputs, out)
        if self._in_plain == len(args) and all(type(a) is NDArray for a in args):
            flat = list(args)  # the usual call: NDArrays, no nesting, as when traced
        else:
            flat, fmt = _flatten(args, "input")
            if not _formats_compatible(self._in_format, fmt):
                raise ValueError(f"The argument structure of HybridBlock does not match the "
                                 f"cached version. Stored format = {self._in_format}, input "
                                 f"format = {fmt}")
            flat = [a for a in flat if a is not None]
        outs = self._cached_op(flat)
        if isinstance(self._out_format, int) and self._out_format == 0:
            return outs[0]
        return _regroup(outs, self._out_format)[0]

    def forward(self, x, *args):
        """Imperative (``F = mx.nd``) or symbolic (``F = mx.sym``) by the types of the inputs
        (NDArrays or Symbols, not both; nested lists and ``None`` allowed, other values passed
        as they are); hybridized blocks run their cached graph, whose inputs must be on one
        context and keep the traced structure (trailing ``None`` arguments aside)."""
        if type(x) is NDArray and all(type(a) is NDArray for a in args):
            ctx = x._ctx  # the usual call: NDArrays only
            if self._active:
                if args and any(a._ctx != ctx for a in args):
                    self._check_one_context({ctx, *(a._ctx for a in args)})
                return self._call_cached_op(x, *args)
        else:
            has_symbol, has_ndarray, contexts, ctx = _gather_type_ctx([x, *args])
            if has_symbol and has_ndarray:
                raise ValueError("In HybridBlock, we do not support mixed NDArrays and Symbols "
                                 "types for the input. Please check the type of the args.")
            if not has_symbol and not has_ndarray:
                raise ValueError("In HybridBlock, there must be one NDArray or one Symbol in "
                                 "the input. Please check the type of the args.")
            if has_symbol:
                params = {k: v.var() for k, v in self._reg_params.items()}
                with self.name_scope():
                    return self.hybrid_forward(symbol, x, *args, **params)
            if self._active:
                self._check_one_context(contexts)
                return self._call_cached_op(x, *args)
        try:
            params = {k: v.data(ctx) for k, v in self._reg_params.items()}
        except DeferredInitializationError:
            self._deferred_infer_shape(x, *args)
            for p in self.params.values():
                p._finish_deferred_init()
            params = {k: v.data(ctx) for k, v in self._reg_params.items()}
        return self.hybrid_forward(ndarray, x, *args, **params)

    @staticmethod
    def _check_one_context(contexts):
        if len(contexts) > 1:
            raise ValueError(f"Find multiple contexts in the input: after hybridize, a "
                             f"HybridBlock takes inputs on one context; found "
                             f"{sorted(map(str, contexts))}")

    def hybrid_forward(self, F, x, *args, **kwargs):
        raise MXNetError(f"{type(self).__name__} must define hybrid_forward(self, F, x, ...)")

    def export(self, path, epoch=0, remove_amp_cast=True):
        """Write ``path-symbol.json`` and ``path-%04d.params`` (``arg:``/``aux:`` names), the
        files ``mx.mod.Module`` / ``SymbolBlock.imports`` and MXNet load.  The block must have
        been hybridized and run once."""
        if not self._cached_graph:
            raise RuntimeError("Please first call block.hybridize() and then run forward with "
                               "this block at least once before calling export.")
        sym = self._cached_graph[1]
        sym_file = f"{path}-symbol.json"
        sym.save(sym_file, remove_amp_cast=remove_amp_cast)
        arg_names = set(sym.list_arguments())
        aux_names = set(sym.list_auxiliary_states())
        arg_dict = {}
        for name, param in self.collect_params().items():
            if name in arg_names:
                arg_dict[f"arg:{name}"] = param._reduce()
            elif name in aux_names:
                arg_dict[f"aux:{name}"] = param._reduce()
        params_file = f"{path}-{epoch:04d}.params"
        _nd_save(params_file, arg_dict)
        return sym_file, params_file


class HybridSequential(HybridBlock):
    """HybridBlocks called one after the other; hybridizable as a whole."""

    def __init__(self, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)

    def add(self, *blocks):
        for block in blocks:
            self.register_child(block)

    def hybrid_forward(self, F, x):
        for block in self._children.values():
            x = block(x)
        return x

    __repr__ = Sequential.__repr__
    __len__ = Sequential.__len__

    def __getitem__(self, key):
        layers = list(self._children.values())[key]
        if isinstance(layers, list):
            net = type(self)(prefix=self._prefix)
            with net.name_scope():
                net.add(*layers)
            return net
        return layers


def _common_prefix(names):
    if not names:
        return ""
    prefix = names[0]
    for name in names:
        i = 0
        while i < len(prefix) and i < len(name) and prefix[i] == name[i]:
            i += 1
        prefix = prefix[:i]
    return prefix


class SymbolBlock(HybridBlock):
    """A block running a given Symbol graph: ``outputs`` computed from ``inputs`` (Symbol
    variables); every other argument and auxiliary state becomes a parameter."""

    def __init__(self, outputs, inputs, params=None):
        super().__init__(prefix=None, params=None)
        self._prefix = ""
        self._params = ParameterDict("", params)
        if isinstance(inputs, Symbol) and len(inputs.list_outputs()) == 1:
            inputs = [inputs]
        if isinstance(outputs, (list, tuple)) and len(outputs) == 1:
            outputs = outputs[0]
        syms, self._in_format = _flatten(inputs, "input")
        self._in_plain = _plain_count(self._in_format)
        out, self._out_format = _flatten(outputs, "output")
        out = symbol.Group(out) if len(out) > 1 else out[0]
        input_names = {i.name for i in syms}
        for name in out.list_arguments():
            if name not in input_names:
                self.params.get(name, allow_deferred_init=True)
        for name in out.list_auxiliary_states():
            if name not in input_names:
                self.params.get(name, grad_req="null", allow_deferred_init=True)
        self._cached_graph = syms, out
        prefix_len = len(_common_prefix(list(self._params.keys())))
        self._reg_params = {k[prefix_len:]: v for k, v in self._params.items()}
        self._active = True

    @staticmethod
    def imports(symbol_file, input_names, param_file=None, ctx=None, allow_missing=False,
                ignore_extra=False):
        """A SymbolBlock from an exported ``-symbol.json`` (and ``.params``) pair."""
        sym = symbol.load(symbol_file)
        if isinstance(input_names, str):
            input_names = [input_names]
        inputs = [symbol.var(i) for i in input_names]
        ret = SymbolBlock(sym, inputs)
        if param_file is not None:
            ret.collect_params().load(param_file, ctx=ctx, allow_missing=allow_missing,
                                      ignore_extra=ignore_extra, cast_dtype=True,
                                      dtype_source="saved")
        return ret

    def forward(self, x, *args):
        if isinstance(x, NDArray):
            return self._call_cached_op(x, *args)
        if not isinstance(x, Symbol):
            raise ValueError(f"SymbolBlock requires Symbol or NDArray input, got {type(x)}")
        flat, _ = _flatten([x, *args], "input")
        inputs, out = self._cached_graph
        return out(**{i.name: j for i, j in zip(inputs, flat, strict=True)})

    def _get_graph(self, *args):
        return self._cached_graph

    def _clear_cached_op(self):
        tmp = self._cached_graph
        super()._clear_cached_op()
        self._cached_graph = tmp

    def hybrid_forward(self, F, x, *args, **kwargs):
        raise MXNetError("SymbolBlock runs its symbol graph; it has no hybrid_forward")

    def cast(self, dtype):
        self._clear_cached_op()
        super().cast(dtype)
