"""Symbol: MXNet 1.x's symbolic graph, its JSON format, shape/type inference and binding.

A :class:`Symbol` is a list of output entries ``(node, index)`` of a graph of :class:`_Node`.  A
node is either a variable (``op is None``) or an operator instance from
:mod:`mxlite.operator.registry` with its parsed parameters.  An operator node's ``inputs`` hold its
arguments followed by its auxiliary states, as in MXNet's graph.

Orders follow MXNet: ``list_inputs`` is the post-order depth-first walk from the heads visiting
inputs left to right; ``list_arguments`` / ``list_auxiliary_states`` split it by whether a variable
feeds an auxiliary-state slot.
"""

from __future__ import annotations

import json
import numbers
import os
import re
import warnings

import numpy as np

from ..base import MXNetError, NotImplementedForSymbol, atomic_write
from ..operator import registry
from ..operator._calls import split_call
from . import attribute as _attribute
from . import name as _name

__all__ = ["Group", "Symbol", "Variable", "arange", "full", "load", "load_json", "ones", "var",
           "zeros"]

MXNET_VERSION = 10901

# attribute keys MXNet stores as ``__key__`` and reports under both spellings
_HIDDEN_KEYS = ("ctx_group", "lr_mult", "wd_mult", "force_mirroring", "mirror_stage",
                "profiler_scope")
_DUNDER = re.compile(r"^__.+__$")

# MXNet's numeric dtype flags, used in the ``__dtype__`` attribute
_DTYPE_TO_FLAG = {
    "float32": 0, "float64": 1, "float16": 2, "uint8": 3, "int32": 4, "int8": 5, "int64": 6,
    "bool": 7, "int16": 8, "uint16": 9, "uint32": 10, "uint64": 11, "bfloat16": 12,
}
_FLAG_TO_DTYPE = {v: k for k, v in _DTYPE_TO_FLAG.items()}
_STYPE_TO_FLAG = {"default": 0, "row_sparse": 1, "csr": 2}


def _dtype_from_attr(text: str) -> np.dtype | None:
    text = text.strip()
    if text.lstrip("-").isdigit():
        flag = int(text)
        if flag == -1:  # MXNet's "unknown"
            return None
        if flag not in _FLAG_TO_DTYPE:
            raise MXNetError(f"unknown __dtype__ flag {text!r}")
        return np.dtype(_FLAG_TO_DTYPE[flag])
    return np.dtype(text)


def _shape_from_attr(text: str):
    from ..operator.registry import _parse_shape

    return _parse_shape(text)


def _attr_key(key: str) -> str:
    """Where MXNet stores attribute ``key`` (``lr_mult`` -> ``__lr_mult__``)."""
    return f"__{key}__" if key in _HIDDEN_KEYS else key


def _check_attrs(attrs: dict | None, who: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in (attrs or {}).items():
        if not isinstance(value, str):
            raise ValueError(f"{who}: attribute {key!r} must be a string, got {value!r}")
        stored = _attr_key(key)
        if not _DUNDER.match(stored):
            raise ValueError(
                f"{who}: attribute name {key!r} is not supported; additional attributes must "
                "start and end with double underscores, e.g. __yourattr__"
            )
        out[stored] = value
    return out


def _format_value(spec: registry.Param, value) -> str:
    if isinstance(value, str):
        return value
    if spec.kind == "dtype" and value is not None:
        return np.dtype(value).name
    if isinstance(value, (list, tuple)):
        return registry.format_param(tuple(value))
    if isinstance(value, np.generic):
        value = value.item()
    return registry.format_param(value)


class _Node:
    """One graph node: a variable (``op is None``) or an operator application."""

    __slots__ = ("attrs", "inputs", "name", "nargs", "op", "params")

    def __init__(self, op, name: str, attrs: dict, inputs: list, params=None):
        self.op = op
        self.name = name
        self.attrs = attrs
        self.inputs = inputs  # [(node, output index)]: arguments then aux states
        self.params = params
        self.nargs = len(op.arguments(params)) if op is not None else 0

    @property
    def is_var(self) -> bool:
        return self.op is None

    def output_names(self) -> list[str]:
        if self.op is None:
            return [self.name]
        return [f"{self.name}_{o}" for o in self.op.outputs(self.params)]

    def num_outputs(self) -> int:
        return 1 if self.op is None else len(self.op.outputs(self.params))


def _topo(heads) -> list[_Node]:
    """Nodes reachable from ``heads`` in post-order DFS, inputs visited left to right."""
    order: list[_Node] = []
    seen: set[int] = set()
    for root, _ in heads:
        if id(root) in seen:
            continue
        seen.add(id(root))
        stack = [(root, iter(root.inputs))]
        while stack:
            node, it = stack[-1]
            for child, _ in it:
                if id(child) not in seen:
                    seen.add(id(child))
                    stack.append((child, iter(child.inputs)))
                    break
            else:
                stack.pop()
                order.append(node)
    return order


def _aux_ids(order: list[_Node]) -> set[int]:
    ids: set[int] = set()
    for n in order:
        if n.op is not None:
            for child, _ in n.inputs[n.nargs:]:
                ids.add(id(child))
    return ids


class Symbol:
    """A symbolic output (or group of outputs) of a computation graph."""

    __slots__ = ("_outputs",)

    def __init__(self, outputs: list):
        self._outputs = list(outputs)

    # ------------------------------------------------------------------ structure
    def _topo(self) -> list[_Node]:
        return _topo(self._outputs)

    @property
    def name(self) -> str | None:
        """The node name when every output comes from one node, else ``None``."""
        nodes = {id(n) for n, _ in self._outputs}
        if len(nodes) != 1:
            return None
        return self._outputs[0][0].name

    def list_outputs(self) -> list[str]:
        return [n.output_names()[k] for n, k in self._outputs]

    def list_inputs(self) -> list[str]:
        return [n.name for n in self._topo() if n.is_var]

    def list_arguments(self) -> list[str]:
        order = self._topo()
        aux = _aux_ids(order)
        return [n.name for n in order if n.is_var and id(n) not in aux]

    def list_auxiliary_states(self) -> list[str]:
        order = self._topo()
        aux = _aux_ids(order)
        return [n.name for n in order if n.is_var and id(n) in aux]

    def _arg_aux_nodes(self):
        order = self._topo()
        aux = _aux_ids(order)
        return ([n for n in order if n.is_var and id(n) not in aux],
                [n for n in order if n.is_var and id(n) in aux])

    def get_internals(self) -> Symbol:
        """Every output of every node, in graph order."""
        return Symbol([(n, k) for n in self._topo() for k in range(n.num_outputs())])

    def get_children(self) -> Symbol | None:
        """The inputs of this symbol's node(s) as a group, or ``None`` for a variable."""
        seen, entries = set(), []
        for n, _ in self._outputs:  # a node with several outputs contributes its inputs once
            if id(n) not in seen:
                seen.add(id(n))
                entries.extend(n.inputs)
        return Symbol(entries) if entries else None

    def __len__(self) -> int:
        return len(self._outputs)

    def __iter__(self):
        return (Symbol([e]) for e in self._outputs)

    def __getitem__(self, index) -> Symbol:
        if isinstance(index, str):
            names = self.list_outputs()
            matches = [i for i, n in enumerate(names) if n == index]
            if not matches:
                raise ValueError(f'Cannot find output that matches name "{index}"')
            if len(matches) > 1:
                raise ValueError(f'There are multiple outputs with name "{index}"')
            return Symbol([self._outputs[matches[0]]])
        if isinstance(index, slice):
            return Symbol(self._outputs[index])
        if not isinstance(index, (int, np.integer)):
            raise TypeError(f"Symbol index must be an int, a str or a slice, got {index!r}")
        if not -len(self._outputs) <= index < len(self._outputs):
            raise IndexError(f"Symbol index {index} out of range for {len(self)} outputs")
        return Symbol([self._outputs[index]])

    def __repr__(self) -> str:
        name = self.name
        if name is not None and len({id(n) for n, _ in self._outputs}) == 1:
            return f"<Symbol {name}>"
        return "<Symbol group [" + ", ".join(n.name for n, _ in self._outputs) + "]>"

    __str__ = __repr__

    def _gen_atomic_symbol(self) -> Symbol:
        """The operator of this symbol's head applied to fresh variables (``name_arg``), with the
        same name, parameters and attributes: MXNet's atomic symbol of a node.  Every output of
        the operator is an output of the result."""
        heads = {id(n): n for n, _ in self._outputs}
        if len(heads) != 1:
            raise MXNetError("_gen_atomic_symbol needs a symbol whose outputs come from one "
                             f"operator, got outputs of {len(heads)} nodes")
        (node,) = heads.values()
        if node.is_var:
            raise MXNetError(f"_gen_atomic_symbol: {node.name!r} is a variable, not an operator")
        names = [*node.op.arguments(node.params), *node.op.aux_states(node.params)]
        inputs = [(_Node(None, f"{node.name}_{arg}", {}, []), 0) for arg in names]
        atom = _Node(node.op, node.name, dict(node.attrs), inputs, node.params)
        return Symbol([(atom, k) for k in range(atom.num_outputs())])

    def __copy__(self) -> Symbol:
        return load_json(self.tojson())

    def __deepcopy__(self, memo) -> Symbol:
        return load_json(self.tojson())

    def __getstate__(self):
        return {"handle": self.tojson()}

    def __setstate__(self, state):
        self._outputs = load_json(state["handle"])._outputs

    def __bool__(self):
        raise NotImplementedForSymbol(self.__bool__, "bool")

    __hash__ = object.__hash__

    # ------------------------------------------------------------------ attributes
    def _single_node(self, what: str) -> _Node:
        nodes = {id(n): n for n, _ in self._outputs}
        if len(nodes) != 1:
            raise MXNetError(f"{what} needs a symbol with a single node, got {self!r}")
        return self._outputs[0][0]

    def attr(self, key: str) -> str | None:
        """The attribute ``key`` of this symbol's node (operator parameters included)."""
        node = self._single_node("attr")
        return node.attrs.get(_attr_key(key), node.attrs.get(key))

    @staticmethod
    def _with_aliases(attrs: dict) -> dict:
        out: dict[str, str] = {}
        for key, value in attrs.items():
            out[key] = value
            if key.startswith("__") and key.endswith("__") and key[2:-2] in _HIDDEN_KEYS:
                out[key[2:-2]] = value
        return out

    def list_attr(self, recursive: bool = False) -> dict:
        if recursive:
            raise DeprecationWarning("Symbol.list_attr with recursive=True has been deprecated; "
                                     "use attr_dict instead")
        return self._with_aliases(self._single_node("list_attr").attrs)

    def attr_dict(self) -> dict:
        """``{node name: {key: value}}`` for every node with attributes."""
        return {n.name: self._with_aliases(n.attrs) for n in self._topo() if n.attrs}

    def _set_attr(self, **kwargs) -> None:
        node = self._single_node("_set_attr")
        for key, value in kwargs.items():
            if not isinstance(value, str):
                raise ValueError(f"Set Attr only accepts string values, got {key}={value!r}")
            node.attrs[_attr_key(key)] = value

    # ------------------------------------------------------------------ composition
    def __call__(self, *args, **kwargs) -> Symbol:
        """A copy of this symbol with free variables replaced (positionally or by name)."""
        name = kwargs.pop("name", None)
        args_nodes, _ = self._arg_aux_nodes()
        repl: dict[int, tuple] = {}
        if args and kwargs:
            raise TypeError("compose only accepts input Symbols either as positional or "
                            "keyword arguments, not both")
        if len(args) > len(args_nodes):
            raise TypeError(f"compose: {len(args)} inputs given, the symbol has "
                            f"{len(args_nodes)} arguments")
        by_name = {n.name: n for n in args_nodes}
        for node, sym in zip(args_nodes, args, strict=False):
            repl[id(node)] = _single_entry(sym, node.name, "compose")
        for key, sym in kwargs.items():
            if key not in by_name:
                raise TypeError(f"compose: {key!r} is not an argument of the symbol; "
                                f"arguments are {list(by_name)}")
            repl[id(by_name[key])] = _single_entry(sym, key, "compose")
        mapping: dict[int, _Node] = {}
        for n in self._topo():
            if id(n) in repl:
                continue
            if n.is_var:
                mapping[id(n)] = n
                continue
            inputs = [repl[id(c)] if id(c) in repl else (mapping[id(c)], k) for c, k in n.inputs]
            mapping[id(n)] = _Node(n.op, n.name, dict(n.attrs), inputs, n.params)
        outs = [repl[id(n)] if id(n) in repl else (mapping[id(n)], k) for n, k in self._outputs]
        if name is not None and len(outs) == 1 and not outs[0][0].is_var:
            outs[0][0].name = name
        return Symbol(outs)

    def _compose(self, *args, **kwargs) -> None:
        self._outputs = self(*args, **kwargs)._outputs

    # ------------------------------------------------------------------ arithmetic
    def _binary(self, other, sym_op, sym_hint, scalar_op, scalar_hint, rscalar=None):
        if isinstance(other, Symbol):
            return _create(sym_op, sym_hint, (self, other), {})
        if (isinstance(other, numbers.Number) and not isinstance(other, bool)) or \
                isinstance(other, np.generic):
            return _create(scalar_op, scalar_hint, (self,), {"scalar": other})
        return NotImplemented

    def __add__(self, o):
        return self._binary(o, "elemwise_add", "_plus", "_plus_scalar", "_plusscalar")

    __radd__ = __add__

    def __sub__(self, o):
        return self._binary(o, "elemwise_sub", "_minus", "_minus_scalar", "_minusscalar")

    def __rsub__(self, o):
        return self._binary(o, "elemwise_sub", "_minus", "_rminus_scalar", "_rminusscalar")

    def __mul__(self, o):
        return self._binary(o, "elemwise_mul", "_mul", "_mul_scalar", "_mulscalar")

    __rmul__ = __mul__

    def __truediv__(self, o):
        return self._binary(o, "elemwise_div", "_div", "_div_scalar", "_divscalar")

    def __rtruediv__(self, o):
        return self._binary(o, "elemwise_div", "_div", "_rdiv_scalar", "_rdivscalar")

    def __mod__(self, o):
        return self._binary(o, "_mod", "_mod", "_mod_scalar", "_modscalar")

    def __rmod__(self, o):
        return self._binary(o, "_mod", "_mod", "_rmod_scalar", "_rmodscalar")

    def __pow__(self, o):
        return self._binary(o, "_power", "_power", "_power_scalar", "_powerscalar")

    def __rpow__(self, o):
        return self._binary(o, "_power", "_power", "_rpower_scalar", "_rpower_scalar")

    def __neg__(self):
        return _create("_mul_scalar", "_mulscalar", (self,), {"scalar": -1.0})

    def __abs__(self):
        return _create("abs", "abs", (self,), {})

    def __eq__(self, o):  # type: ignore[override]
        return self._binary(o, "_equal", "_equal", "_equal_scalar", "_equal_scalar")

    def __ne__(self, o):  # type: ignore[override]
        return self._binary(o, "_not_equal", "_not_equal", "_not_equal_scalar",
                            "_not_equal_scalar")

    def __gt__(self, o):
        return self._binary(o, "_greater", "_greater", "_greater_scalar", "_greater_scalar")

    def __ge__(self, o):
        return self._binary(o, "_greater_equal", "_greater_equal", "_greater_equal_scalar",
                            "_greater_equal_scalar")

    def __lt__(self, o):
        return self._binary(o, "_lesser", "_lesser", "_lesser_scalar", "_lesser_scalar")

    def __le__(self, o):
        return self._binary(o, "_lesser_equal", "_lesser_equal", "_lesser_equal_scalar",
                            "_lesser_equal_scalar")

    # fluent methods (a few of MXNet's)
    def reshape(self, *shape, **kwargs):
        if shape:
            kwargs["shape"] = shape[0] if len(shape) == 1 and not isinstance(shape[0], int) \
                else shape
        return _create("Reshape", "reshape", (self,), kwargs)

    def flatten(self, **kwargs):
        return _create("Flatten", "flatten", (self,), kwargs)

    def transpose(self, *axes, **kwargs):
        if axes:
            kwargs["axes"] = axes[0] if len(axes) == 1 and not isinstance(axes[0], int) else axes
        return _create("transpose", "transpose", (self,), kwargs)

    def expand_dims(self, axis, **kwargs):
        return _create("expand_dims", "expand_dims", (self,), {"axis": axis, **kwargs})

    def sum(self, *args, **kwargs):
        return _create("sum", "sum", (self, *args), kwargs)

    def mean(self, *args, **kwargs):
        return _create("mean", "mean", (self, *args), kwargs)

    def clip(self, *args, **kwargs):
        return _create("clip", "clip", (self, *args), kwargs)

    def astype(self, dtype, **kwargs):
        return _create("Cast", "cast", (self,), {"dtype": dtype, **kwargs})

    def split(self, *args, **kwargs):
        return _create("SliceChannel", "split", (self, *args), kwargs)

    # ------------------------------------------------------------------ inference
    def _check_known(self, kwargs: dict, what: str) -> None:
        args, aux = self._arg_aux_nodes()
        names = [n.name for n in args] + [n.name for n in aux]
        for key in kwargs:
            if key not in names:
                listing = "\n".join(f"\t[{i}]{n}" for i, n in enumerate(names))
                raise MXNetError(
                    f"{what}: keyword argument name {key!r} not found.\n"
                    f"Candidate arguments:\n{listing}"
                )

    def _positional(self, args: tuple, kwargs: dict, what: str) -> dict:
        if args and kwargs:
            raise ValueError(f"{what}: give shapes either positionally or by keyword, not both")
        if args:
            names = self.list_arguments()
            if len(args) > len(names):
                raise ValueError(f"{what}: {len(args)} positional values for {len(names)} "
                                 f"arguments {names}")
            return {n: a for n, a in zip(names, args, strict=False) if a is not None}
        self._check_known(kwargs, what)
        return {k: v for k, v in kwargs.items() if v is not None}

    def _infer(self, known: dict, kind: str):
        """Fill every entry's shape (``kind='shape'``) or dtype; returns per-entry values."""
        order = self._topo()
        index = {id(n): i for i, n in enumerate(order)}
        val: dict[tuple[int, int], object] = {}
        for i, n in enumerate(order):
            if not n.is_var:
                continue
            v = known.get(n.name)
            if v is None:
                attr = n.attrs.get("__shape__" if kind == "shape" else "__dtype__")
                if attr is not None:
                    v = _shape_from_attr(attr) if kind == "shape" else _dtype_from_attr(attr)
            if v is not None:
                val[(i, 0)] = _norm(v, kind, n.name)
        ops = [(i, n) for i, n in enumerate(order) if not n.is_var]
        for _ in range(len(ops) + 2):
            changed = False
            for i, n in ops:
                keys = [(index[id(c)], k) for c, k in n.inputs]
                if kind == "shape" and n.op.partial_shapes:
                    ins = [_partial(val.get(key)) for key in keys]
                else:
                    ins = [_usable(val.get(key), kind) for key in keys]
                nout = n.num_outputs()
                fn = n.op.infer_shape if kind == "shape" else n.op.infer_type
                try:
                    res_in, res_out, res_aux = fn(n.params, ins[:n.nargs], ins[n.nargs:])
                except MXNetError as err:
                    raise MXNetError(f"Error in operator {n.name}: {err}") from None
                except (ValueError, TypeError, IndexError, ZeroDivisionError) as err:
                    raise MXNetError(
                        f"Error in operator {n.name} ({n.op.name}): {kind} inference failed "
                        f"for input {kind}s {ins}: {err}"
                    ) from None
                back = getattr(n.op, "infer_inputs_from_outputs", None)
                # (_rnn_param_concat; FullyConnected / Convolution: an rnn begin state's batch)
                if kind == "shape" and back is not None:
                    res_in = back(n.params, list(res_in), [val.get((i, k)) for k in range(nout)])
                targets = list(zip(keys, list(res_in) + list(res_aux), strict=False))
                targets += [((i, k), v) for k, v in zip(range(nout), res_out, strict=False)]
                if kind == "shape" and n.op.same_shape and val.get((i, 0)) is not None \
                        and keys and val.get(keys[0]) is None:
                    # elementwise: the output's (possibly partial) shape is the input's, as
                    # MXNet infers backwards through Cast and unary operators
                    targets.append((keys[0], val[(i, 0)]))
                for pos, (key, new) in enumerate(targets):
                    if new is None:
                        continue
                    new = _norm(new, kind, n.name)
                    old = val.get(key)
                    if old is None or (kind == "shape" and _refines(old, new)):
                        if old is None or old != new:  # (None != dtype("float64") is False)
                            val[key] = new
                            changed = True
                    elif old != new and not (kind == "shape" and _refines(new, old)):
                        what = _entry_desc(n, pos, order[key[0]], key[1])
                        raise MXNetError(
                            f"Error in operator {n.name} ({n.op.name}): {kind} inconsistent for "
                            f"{what}: provided {_fmt(old, kind)}, inferred {_fmt(new, kind)}"
                        )
            if not changed:
                break
        return order, val

    def _infer_impl(self, args, kwargs, kind, partial):
        what = "infer_shape" if kind == "shape" else "infer_type"
        known = self._positional(args, kwargs, what)
        order, val = self._infer(known, kind)
        index = {id(n): i for i, n in enumerate(order)}
        aux_set = _aux_ids(order)
        arg_vals, aux_vals, unknown = [], [], []
        for i, n in enumerate(order):
            if not n.is_var:
                continue
            v = val.get((i, 0))
            if not _complete(v, kind):
                unknown.append(f"{n.name}: {_fmt(v, kind)}")
            (aux_vals if id(n) in aux_set else arg_vals).append(v)
        out_vals = [val.get((index[id(n)], k)) for n, k in self._outputs]
        if not partial and (unknown or not all(_complete(v, kind) for v in out_vals)):
            if unknown:
                warnings.warn(
                    f"Cannot decide {kind} for the following arguments (0s in shape means "
                    "unknown dimensions). Consider providing them as input:\n\t"
                    + "\n\t".join(unknown),
                    stacklevel=3,
                )
            return None, None, None
        conv = (lambda v: () if v is None else tuple(v)) if kind == "shape" else \
            (lambda v: None if v is None else np.dtype(v).type)
        return [conv(v) for v in arg_vals], [conv(v) for v in out_vals], \
            [conv(v) for v in aux_vals]

    def infer_shape(self, *args, **kwargs):
        """``(arg_shapes, out_shapes, aux_shapes)``; ``(None, None, None)`` if undecidable.

        Shapes are given positionally (in ``list_arguments`` order) or by name.  A conflict raises
        :class:`~mxlite.base.MXNetError` naming the operator node and both shapes.
        """
        return self._infer_impl(args, kwargs, "shape", False)

    def infer_shape_partial(self, *args, **kwargs):
        """Like :meth:`infer_shape` but returns ``()`` for what cannot be decided."""
        return self._infer_impl(args, kwargs, "shape", True)

    def infer_type(self, *args, **kwargs):
        """``(arg_types, out_types, aux_types)`` as NumPy type classes (``numpy.float32``)."""
        return self._infer_impl(args, kwargs, "type", False)

    def infer_type_partial(self, *args, **kwargs):
        return self._infer_impl(args, kwargs, "type", True)

    # ------------------------------------------------------------------ JSON
    def tojson(self, remove_amp_cast: bool = True) -> str:
        """The graph in MXNet 1.x's symbol JSON (``nodes``/``arg_nodes``/``heads``/...)."""
        order = self._topo()
        index = {id(n): i for i, n in enumerate(order)}
        nodes, row_ptr = [], [0]
        for n in order:
            entry: dict = {"op": "null" if n.is_var else n.op.name, "name": n.name}
            if n.attrs:
                entry["attrs"] = dict(sorted(n.attrs.items()))
            entry["inputs"] = [[index[id(c)], k, 1 if pos >= n.nargs else 0]
                               for pos, (c, k) in enumerate(n.inputs)]
            nodes.append(entry)
            row_ptr.append(row_ptr[-1] + (1 if n.is_var else n.op.num_outputs(n.params)))
        graph = {
            "nodes": nodes,
            "arg_nodes": [i for i, n in enumerate(order) if n.is_var],
            "node_row_ptr": row_ptr,
            "heads": [[index[id(n)], k, 0] for n, k in self._outputs],
            "attrs": {"mxnet_version": ["int", MXNET_VERSION]},
        }
        from ..util import is_np_shape

        if is_np_shape():
            graph["attrs"]["is_np_shape"] = ["int", 1]
        return _write_graph(graph)

    def save(self, fname, remove_amp_cast: bool = True) -> None:
        """Write :meth:`tojson` to ``fname`` (atomically)."""
        if not isinstance(fname, (str, os.PathLike)):
            raise TypeError(f"fname must be a path, got {fname!r}")
        atomic_write(fname, self.tojson().encode("utf-8"))

    def debug_str(self) -> str:
        lines = []
        for n in self._topo():
            if n.is_var:
                lines.append(f"Variable:{n.name}")
                continue
            lines.append(f"Op:{n.op.name}, Name={n.name}")
            lines.append("Inputs:")
            for pos, (c, k) in enumerate(n.inputs):
                lines.append(f"\targ[{pos}]={c.output_names()[k]}")
            if n.attrs:
                lines.append("Attrs:")
                lines.extend(f"\t{k}={v}" for k, v in sorted(n.attrs.items()))
        return "\n".join(lines)

    # ------------------------------------------------------------------ binding
    def simple_bind(self, ctx=None, grad_req="write", type_dict=None, stype_dict=None,
                    group2ctx=None, shared_arg_names=None, shared_exec=None,
                    shared_buffer=None, **kwargs):
        """Infer shapes/types from ``kwargs``, allocate zeroed arrays and bind an Executor.

        ``grad_req`` is a str, a list (``list_arguments`` order) or a dict (arguments not in it
        get ``'null'``, as in MXNet).  ``stype_dict`` (name -> ``'default'``, ``'row_sparse'``
        or ``'csr'``) overrides the variables' ``stype``; sparse gradients are inferred as MXNet
        does (``Embedding(sparse_grad=True)`` weights, ``dot(csr, w)``).  ``group2ctx`` places
        the arrays of ``ctx_group`` variables on their group's context (everything computes on
        the CPU).
        """
        from ..executor import simple_bind

        _check_placement(None, group2ctx)
        exe = simple_bind(self, ctx, grad_req=grad_req, type_dict=type_dict,
                          shared_arg_names=shared_arg_names, shared_exec=shared_exec,
                          shared_buffer=shared_buffer, stype_dict=stype_dict, **kwargs)
        if group2ctx:
            # arrays of variables created under AttrScope(ctx_group=...) live on that group's
            # context (computation itself is on the CPU either way)
            attrs = self.attr_dict()
            for name, arr, grad in zip(self.list_arguments(), exe.arg_arrays, exe.grad_arrays,
                                       strict=True):
                where = group2ctx.get(attrs.get(name, {}).get("__ctx_group__"))
                if where is not None:
                    for a in (arr, grad):
                        if a is not None:
                            a._ctx = where
        return exe

    def bind(self, ctx=None, args=None, args_grad=None, grad_req="write", aux_states=None,
             group2ctx=None, shared_exec=None):
        """Bind given arrays (lists in ``list_arguments`` order or dicts) to an Executor."""
        from ..executor import Executor

        _check_placement(None, group2ctx)
        if args is None:
            raise ValueError("bind: args must be given (a list or dict of NDArrays)")
        return Executor._from_bind(self, ctx, args, args_grad, grad_req, aux_states)

    def eval(self, ctx=None, **kwargs):
        """Bind ``kwargs`` (name -> NDArray), run forward and return the outputs."""
        exe = self.bind(ctx, kwargs, grad_req="null")
        return exe.forward()


# the rest of MXNet's fluent methods: ``x.exp()`` is ``mx.sym.exp(x)`` (hint = method name)
_FLUENT = {
    "abs": "abs", "exp": "exp", "log": "log", "sqrt": "sqrt", "rsqrt": "rsqrt",
    "square": "square", "sigmoid": "sigmoid", "tanh": "tanh", "relu": "relu", "sign": "sign",
    "round": "round", "floor": "floor", "ceil": "ceil", "rint": "rint", "fix": "fix",
    "trunc": "trunc", "log1p": "log1p", "expm1": "expm1", "sin": "sin", "cos": "cos",
    "softmax": "softmax", "log_softmax": "log_softmax", "max": "max", "min": "min",
    "norm": "norm", "argmax": "argmax", "argmin": "argmin", "slice": "slice",
    "slice_axis": "slice_axis", "take": "take", "pick": "pick", "one_hot": "one_hot",
    "tile": "tile", "repeat": "repeat", "flip": "flip", "squeeze": "squeeze",
    "broadcast_to": "broadcast_to", "broadcast_like": "broadcast_like",
    "broadcast_axes": "broadcast_axis", "swapaxes": "SwapAxis", "zeros_like": "zeros_like",
    "ones_like": "ones_like", "reshape_like": "reshape_like",
    # the math family of operator/tensor/math.py
    "tan": "tan", "arcsin": "arcsin", "arccos": "arccos", "arctan": "arctan", "sinh": "sinh",
    "cosh": "cosh", "arcsinh": "arcsinh", "arccosh": "arccosh", "arctanh": "arctanh",
    "degrees": "degrees", "radians": "radians", "log2": "log2", "log10": "log10",
    "cbrt": "cbrt", "rcbrt": "rcbrt", "reciprocal": "reciprocal", "prod": "prod",
    "nansum": "nansum", "nanprod": "nanprod", "sort": "sort", "argsort": "argsort",
    "topk": "topk", "softmin": "softmin", "pad": "Pad", "slice_like": "slice_like",
    "shape_array": "shape_array", "size_array": "size_array", "diag": "diag",
    "argmax_channel": "argmax_channel", "split_v2": "split_v2",
}


def _fluent(method: str, opname: str):
    def fn(self, *args, name=None, attr=None, **kwargs):
        return _create(opname, method, (self, *args), kwargs, name=name, attr=attr)

    fn.__name__ = method
    fn.__doc__ = f"``mx.sym.{opname}(self, ...)``."
    return fn


for _method, _opname in _FLUENT.items():
    setattr(Symbol, _method, _fluent(_method, _opname))


# ---------------------------------------------------------------------- JSON text
# MXNet writes its graphs with dmlc's JSON writer; reproducing its layout makes our files
# byte-identical to MXNet's: structs are always multi-line, string maps when they have more than
# one entry, arrays when they have more than ten elements; separators are ", " + newline.
def _q(text: str) -> str:
    return json.dumps(text)


def _block(items: list[str], indent: int, brackets: str) -> str:
    pad = " " * (indent + 2)
    return (brackets[0] + "\n" + ", \n".join(pad + i for i in items) + "\n" + " " * indent
            + brackets[1])


def _array(items: list[str], indent: int) -> str:
    if len(items) <= 10:
        return "[" + ", ".join(items) + "]"
    return _block(items, indent, "[]")


def _string_map(d: dict, indent: int) -> str:
    items = [f"{_q(k)}: {_q(v)}" for k, v in d.items()]
    if len(items) <= 1:
        return "{" + ", ".join(items) + "}"
    return _block(items, indent, "{}")


def _entries(rows: list, indent: int) -> str:
    return _array(["[" + ", ".join(str(v) for v in row) + "]" for row in rows], indent)


def _write_graph(graph: dict) -> str:
    nodes = []
    for node in graph["nodes"]:
        fields = [f'"op": {_q(node["op"])}', f'"name": {_q(node["name"])}']
        if "attrs" in node:
            fields.append(f'"attrs": {_string_map(node["attrs"], 6)}')
        fields.append(f'"inputs": {_entries(node["inputs"], 6)}')
        nodes.append(_block(fields, 4, "{}"))
    version = graph["attrs"]["mxnet_version"]
    graph_attrs = '"attrs": {"mxnet_version": [' + _q(version[0]) + ", " + str(version[1]) + "]"
    if "is_np_shape" in graph["attrs"]:
        flag = graph["attrs"]["is_np_shape"]
        graph_attrs += ', "is_np_shape": [' + _q(flag[0]) + ", " + str(flag[1]) + "]"
    top = [
        '"nodes": ' + (_block(nodes, 2, "[]") if nodes else "[]"),
        '"arg_nodes": ' + _array([str(i) for i in graph["arg_nodes"]], 2),
        '"node_row_ptr": ' + _array([str(i) for i in graph["node_row_ptr"]], 2),
        '"heads": ' + _entries(graph["heads"], 2),
        graph_attrs + "}",
    ]
    return _block(top, 0, "{}")


# ---------------------------------------------------------------------- helpers
def _check_placement(stype_dict, group2ctx) -> None:
    """TypeError for a malformed ``group2ctx`` (storage types are checked at bind)."""
    from ..context import Context

    if group2ctx is not None:
        if not isinstance(group2ctx, dict) or not all(
                isinstance(c, Context) for c in group2ctx.values()):
            raise TypeError(f"group2ctx must be a dict of group name -> Context, got "
                            f"{group2ctx!r}")


def _norm(value, kind: str, who: str):
    if kind == "shape":
        try:
            return tuple(int(d) for d in value)
        except TypeError:
            raise MXNetError(f"{who}: shape must be a tuple of ints, got {value!r}") from None
    try:
        return np.dtype(value)
    except TypeError:
        raise MXNetError(f"{who}: {value!r} is not a data type") from None


def _usable(value, kind: str):
    """What an operator sees: ``None`` for unknown or partially known shapes."""
    if value is None:
        return None
    if kind == "shape" and (len(value) == 0 or 0 in value):
        return None
    return value


def _partial(value):
    """What an operator taking partial shapes sees: ``None`` for unknown, the shape (0 for an
    unknown dim) otherwise."""
    return None if value is None or len(value) == 0 else value


def _complete(value, kind: str) -> bool:
    return _usable(value, kind) is not None


def _refines(old, new) -> bool:
    """``new`` fills the unknown (0) dims of the partial shape ``old``."""
    if len(old) == 0:
        return True
    return len(old) == len(new) and all(o in (0, n) for o, n in zip(old, new, strict=False))


def _fmt(value, kind: str) -> str:
    if value is None:
        return "()" if kind == "shape" else "None"
    return str(tuple(value)) if kind == "shape" else np.dtype(value).name


def _entry_desc(node: _Node, pos: int, src: _Node, k: int) -> str:
    nin = len(node.inputs)
    if pos < node.nargs:
        return f"input {node.op.arguments(node.params)[pos]!r} ({src.output_names()[k]})"
    if pos < nin:
        aux = node.op.aux_states(node.params)[pos - node.nargs]
        return f"auxiliary state {aux!r} ({src.output_names()[k]})"
    return f"output {node.output_names()[k]!r}"


def _single_entry(sym, argname: str, opname: str):
    if not isinstance(sym, Symbol):
        raise TypeError(f"{opname}: input {argname!r} must be a Symbol, got {type(sym).__name__}")
    if len(sym._outputs) != 1:
        raise MXNetError(
            f"{opname}: input {argname!r} is a group of {len(sym._outputs)} outputs "
            f"({sym.list_outputs()}); a single output is required"
        )
    return sym._outputs[0]


def _create(opname: str, hint: str, args: tuple, kwargs: dict, name=None, attr=None) -> Symbol:
    """Build the symbol of operator ``opname`` applied to ``args``/``kwargs``."""
    op = registry.get(opname)
    inputs_pos, sym_kwargs, raw = split_call(op, opname, args, kwargs, Symbol)
    if op.variadic:
        if op.variadic in raw and int(raw[op.variadic]) != len(inputs_pos):
            raise MXNetError(f"{opname}: {op.variadic}={raw[op.variadic]} but "
                             f"{len(inputs_pos)} inputs were given")
        raw.setdefault(op.variadic, len(inputs_pos))
    # MXNet accepts ``lr_mult``/``wd_mult`` and any ``__dunder__`` key on every operator and
    # keeps them as attributes (``lr_mult`` stored as ``__lr_mult__``), not as parameters
    extra_attrs = {}
    for key in list(raw):
        if key not in op.params and (key in ("lr_mult", "wd_mult") or _DUNDER.match(key)):
            extra_attrs[_attr_key(key)] = str(raw.pop(key))
    for key in raw:
        if key not in op.params and not op.accepts_extra_params:
            raise MXNetError(f"{opname}: unknown parameter {key!r}; valid parameters are "
                             f"{sorted(op.params)}")
    params = op.parse_params(raw)
    name = _name.current().get(name, hint)
    attrs = _check_attrs(_attribute.current().get(attr), opname)
    for key, value in raw.items():
        attrs[key] = _format_value(op.params[key], value) if key in op.params else str(value)
    attrs.update(extra_attrs)
    arg_names = op.arguments(params)
    aux_names = op.aux_states(params)
    slots = arg_names + aux_names
    if len(inputs_pos) > len(slots):
        raise MXNetError(f"{opname} ({name}): {len(inputs_pos)} inputs given, it takes at most "
                         f"{len(slots)} ({slots})")
    given: dict[str, tuple] = {}
    for slot, sym in zip(slots, inputs_pos, strict=False):
        given[slot] = _single_entry(sym, slot, opname)
    for key, sym in sym_kwargs.items():
        if key not in slots:
            raise MXNetError(f"{opname} ({name}): unknown input {key!r}; inputs are {slots}")
        if key in given:
            raise MXNetError(f"{opname} ({name}): input {key!r} given twice")
        given[key] = _single_entry(sym, key, opname)
    entries = []
    for pos, slot in enumerate(slots):
        if slot in given:
            entries.append(given[slot])
            continue
        var_attrs = dict(attrs)
        if pos >= len(arg_names) and slot in op.aux_inits:
            var_attrs["__init__"] = op.aux_inits[slot]
        elif pos < len(arg_names) and slot in op.arg_inits:
            var_attrs["__init__"] = op.arg_inits[slot]
        entries.append((_Node(None, f"{name}_{slot}", var_attrs, []), 0))
    node = _Node(op, name, attrs, entries, params)
    return Symbol([(node, k) for k in range(node.num_outputs())])


def _op_function(opname: str, hint: str):
    def creator(*args, name=None, attr=None, out=None, **kwargs):
        # ``out`` is accepted and ignored, as MXNet's symbol creators do (a Symbol has no
        # output buffer; code shared with mx.nd passes ``out=``)
        return _create(opname, hint, args, kwargs, name=name, attr=attr)

    creator.__name__ = hint
    op = registry.get(opname)
    creator.__doc__ = (f"Symbol of operator ``{op.name}``; parameters: "
                       + ", ".join(f"{k} ({v.kind})" for k, v in op.params.items()))
    return creator


# ---------------------------------------------------------------------- public constructors
def Variable(name, attr=None, shape=None, lr_mult=None, wd_mult=None, dtype=None, init=None,
             stype=None, **kwargs) -> Symbol:
    """A free variable; its keyword settings become MXNet's ``__shape__``, ``__lr_mult__``, ...

    ``init`` may be an Initializer (stored as its ``dumps()`` JSON) or a string.
    """
    if not isinstance(name, str):
        raise TypeError(f"Expect a string for variable `name`, got {name!r}")
    attrs = _check_attrs(_attribute.current().get(attr), f"Variable {name!r}")
    if shape is not None:
        if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
            shape = (int(shape),)  # ``shape=(1)`` is an int; MXNet takes it as (1,)
        attrs["__shape__"] = str(tuple(int(s) for s in shape))
    if lr_mult is not None:
        attrs["__lr_mult__"] = str(lr_mult)
    if wd_mult is not None:
        attrs["__wd_mult__"] = str(wd_mult)
    if dtype is not None:
        dname = np.dtype(dtype).name
        if dname not in _DTYPE_TO_FLAG:
            raise TypeError(f"Variable {name!r}: unsupported dtype {dtype!r}")
        attrs["__dtype__"] = str(_DTYPE_TO_FLAG[dname])
    if init is not None:
        attrs["__init__"] = init if isinstance(init, str) else init.dumps()
    if stype is not None:
        if stype not in _STYPE_TO_FLAG:
            raise ValueError(f"Variable {name!r}: unknown stype {stype!r}; "
                             f"choose one of {list(_STYPE_TO_FLAG)}")
        attrs["__storage_type__"] = str(_STYPE_TO_FLAG[stype])
    for key, value in kwargs.items():
        if not _DUNDER.match(key):
            raise ValueError(
                f"Attribute name={key} is not supported. Additional attributes must start and "
                "end with double underscores, e.g, __yourattr__"
            )
        attrs[key] = str(value)
    return Symbol([(_Node(None, name, attrs, []), 0)])


var = Variable


def zeros(shape, dtype=None, name=None, **kwargs) -> Symbol:
    """A symbol of zeros (MXNet's ``_zeros`` operator)."""
    return _create("_zeros", "_zeros", (), {"shape": shape, "dtype": dtype or "float32",
                                            **kwargs}, name=name)


def ones(shape, dtype=None, name=None, **kwargs) -> Symbol:
    """A symbol of ones (MXNet's ``_ones`` operator)."""
    return _create("_ones", "_ones", (), {"shape": shape, "dtype": dtype or "float32",
                                          **kwargs}, name=name)


def full(shape, val, dtype=None, name=None, **kwargs) -> Symbol:
    """A symbol filled with ``val`` (MXNet's ``_full`` operator)."""
    return _create("_full", "_full", (), {"shape": shape, "dtype": dtype or "float32",
                                          "value": val, **kwargs}, name=name)


def arange(start, stop=None, step=1.0, repeat=1, infer_range=False, name=None, dtype=None):
    """Evenly spaced values in ``[start, stop)`` (MXNet's ``_arange`` operator)."""
    return _create("_arange", "_arange", (), {
        "start": start, "stop": stop, "step": step, "repeat": repeat,
        "infer_range": infer_range, "dtype": dtype or "float32"}, name=name)


def Group(symbols) -> Symbol:
    """One symbol whose outputs are the outputs of ``symbols`` in order."""
    symbols = list(symbols)
    if not symbols or not all(isinstance(s, Symbol) for s in symbols):
        raise TypeError("Expected a non-empty list of symbols as input")
    return Symbol([e for s in symbols for e in s._outputs])


def load_json(json_str: str) -> Symbol:
    """A Symbol from MXNet symbol JSON (1.x ``attrs`` or legacy ``attr``/``param`` keys).

    The document is checked before anything is built (size and nesting bounded, see
    :mod:`mxlite.serialization.limits`; every node an object, every input and head an existing
    output of an earlier node); anything malformed is an :class:`~mxlite.base.MXNetError`.
    """
    if not isinstance(json_str, str):
        raise TypeError(f"load_json expects a string, got {type(json_str).__name__}")
    return _load_json(json_str, "load_json")


def _load_json(json_str: str, source: str) -> Symbol:
    from ..serialization import bounded_json, limits
    from ..serialization.symbol_json import check_entry, check_graph

    graph = bounded_json.loads(json_str, source, "symbol JSON", limits.MAX_SYMBOL_JSON_BYTES)
    check_graph(graph, source)
    raw_nodes = graph["nodes"]
    heads = graph["heads"]
    version = (graph.get("attrs") or {}).get("mxnet_version", ["int", 0])
    try:
        legacy = int(version[1]) < 900 if isinstance(version, list) and len(version) == 2 else True
    except (TypeError, ValueError):
        raise MXNetError(f"{source}: malformed mxnet_version {version!r}") from None
    built: list[_Node] = []
    for i, spec in enumerate(raw_nodes):
        opname = spec.get("op", "null")
        name = spec.get("name", "")
        attrs = dict(spec.get("attrs") or {})
        attrs.update(spec.get("attr") or {})
        params_in = dict(spec.get("param") or {})
        inputs = [(built[e[0]], e[1]) for e in spec.get("inputs", [])
                  if check_entry(e, built, source, f"node {i} ({name!r}) input")]
        if opname == "null":
            built.append(_Node(None, name, {**params_in, **attrs}, []))
            continue
        try:
            op = registry.get(opname)
        except (MXNetError, KeyError, ValueError) as err:
            raise MXNetError(f"{source}: node {i} ({name!r}): {err}") from None
        raw = dict(params_in)
        extra = {}
        for key, value in attrs.items():
            if key in op.params:
                raw[key] = value
            elif _DUNDER.match(key) or key in _HIDDEN_KEYS:
                extra[_attr_key(key)] = value
            else:
                raw[key] = value  # let parse_params name the unknown parameter
        try:
            params = op.parse_params(raw)
        except (MXNetError, ValueError, TypeError) as err:
            raise MXNetError(f"{source}: node {name!r}: {err}") from None
        node = _Node(op, name, {**extra, **{k: str(v) for k, v in raw.items()}}, inputs, params)
        aux_names = op.aux_states(params)
        if legacy and aux_names and len(inputs) == node.nargs:
            # files written before MXNet 0.9 leave auxiliary states implicit: create them
            for aux in aux_names:
                var_attrs = {"__init__": op.aux_inits[aux]} if aux in op.aux_inits else {}
                inputs.append((_Node(None, f"{name}_{aux}", var_attrs, []), 0))
        expected = node.nargs + len(aux_names)
        if len(inputs) != expected:
            raise MXNetError(
                f"{source}: node {name!r} ({opname}) has {len(inputs)} inputs, expected "
                f"{expected} ({op.arguments(params) + op.aux_states(params)})"
            )
        built.append(node)
    outputs = [(built[h[0]], h[1]) for h in heads if check_entry(h, built, source, "head")]
    return Symbol(outputs)


def load(fname) -> Symbol:
    """Read a symbol JSON file written by :meth:`Symbol.save` or by MXNet."""
    if not isinstance(fname, (str, os.PathLike)):
        raise TypeError(f"fname must be a path, got {fname!r}")
    from ..serialization import limits

    path = os.fspath(fname)
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size > limits.MAX_SYMBOL_JSON_BYTES:
            raise MXNetError(
                f"{path}: symbol JSON is {size} bytes, more than mxlite.serialization."
                f"limits.MAX_SYMBOL_JSON_BYTES = {limits.MAX_SYMBOL_JSON_BYTES}"
            )
        raw = f.read(size + 1)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise MXNetError(f"{path}: symbol JSON is not UTF-8 ({err})") from None
    return _load_json(text, path)
