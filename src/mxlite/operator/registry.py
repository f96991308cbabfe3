"""The operator contract shared by ``mx.sym``, the executor and ``mx.nd``.

An operator is a subclass of :class:`Operator` registered with :func:`register`.  It works on
NumPy arrays only; Symbol, Executor and the ``mx.nd`` wrappers are built on top of it.

Contract (``p`` is the operator's parsed parameters, a :class:`Params`):

- ``arguments(p)``: input names in order, e.g. ``["data", "weight", "bias"]``.  Variables created
  automatically for missing inputs are named ``f"{symbol_name}_{arg}"`` (``fc_weight``).
- ``outputs(p)``: output names (``["output"]``); ``aux_states(p)``: auxiliary states
  (``["moving_mean", "moving_var"]``).
- ``infer_shape(p, in_shapes, aux_shapes)``: shapes are tuples or ``None`` when unknown.  Return
  ``(in_shapes, out_shapes, aux_shapes)`` with everything that can be deduced filled in (e.g. a
  FullyConnected's weight from its data and ``num_hidden``); raise :class:`ShapeError` naming the
  operator and the shapes on conflict.
- ``infer_type(p, in_types, aux_types)``: NumPy dtypes or ``None``; the default makes every unknown
  type equal to the first known input type.
- ``forward(p, inputs, aux, is_train)`` -> ``(outputs, saved)``: lists of ``np.ndarray``.  Inputs
  are never mutated (except those listed by ``mutable_inputs``); ``aux`` arrays may be updated
  in place (BatchNorm's moving statistics when ``is_train``).  ``saved`` is anything backward
  needs (masks, normalized values, ...).
- ``backward(p, out_grads, inputs, outputs, aux, saved)`` -> list of input gradients (``None``
  for an input that gets no gradient).  Loss operators (``loss = True``) ignore ``out_grads`` as
  MXNet does.  ``out_grads`` has one array per visible output (zeros where no gradient flows).

Optional hooks used by the symbolic layer:

- ``variadic = "num_args"``: the operator takes any number of inputs (Concat, add_n);
  ``mx.sym.Concat(a, b, c)`` sets ``num_args=3`` itself and ``arguments(p)`` should return
  ``["arg0", "arg1", ...]``.
- ``aux_inits = {"moving_mean": '["zero", {}]', ...}``: the ``__init__`` attribute MXNet gives the
  automatically created variable of an auxiliary state (BatchNorm: zero mean, one variance);
  ``arg_inits`` the same for arguments (LeakyReLU's PReLU ``gamma``: constant 0.25).
- ``num_outputs(p)``: how many outputs the operator has in MXNet's graph, hidden ones included
  (BatchNorm: 3 with one visible); only used to write ``node_row_ptr`` in symbol JSON.
- ``accepts_extra_params = True``: parameters not declared in ``params`` are kept as strings
  (``Custom`` passes them to the user's ``CustomOpProp``).
- ``is_loss(p)``: whether head gradients are ignored for these parameters (default: ``loss``).
- ``writes_outputs = True`` / ``writes_grads = True``: ``forward(..., out=[...])`` and
  ``backward(..., gout=[...])`` accept destination arrays (entries may be None: allocate) of the
  right shape and dtype and return them filled; an executor passes the arrays the operator
  returned at the previous batch, so buffers are allocated once and reused.
- ``infer_storage_type(p, in_stypes)`` / ``infer_grad_storage_type(...)``: storage types of
  outputs and gradients for sparse inputs (rules in :mod:`mxlite._storage_inference`); an
  operator with ``forward_sparse(p, ndarray_inputs)`` computes on the sparse arrays themselves.
- ``mutable_inputs(p)``: positions of arguments whose arrays ``forward`` may overwrite in place,
  as MXNet's graph executor lets BatchNorm write 1 into ``gamma`` when ``fix_gamma``.  An executor
  passes the bound arrays themselves (so the write reaches the parameter); ``mx.nd`` functions
  pass copies (MXNet's imperative call leaves its inputs alone).  Default: none.
"""

from __future__ import annotations

import ast
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..base import MXNetError

__all__ = [
    "REQUIRED", "Operator", "Param", "Params", "ShapeError", "get", "list_operators", "register",
]


class ShapeError(MXNetError):
    """Shape inference failed; the message names the operator and the shapes."""


class _Required:
    def __repr__(self):
        return "REQUIRED"


REQUIRED = _Required()


def _parse_bool(value) -> bool:
    if isinstance(value, str):
        low = value.strip().lower()
        if low in ("true", "1"):
            return True
        if low in ("false", "0"):
            return False
        raise ValueError(f"expected a boolean, got {value!r}")
    return bool(value)


def _parse_shape(value) -> tuple[int, ...]:
    if isinstance(value, str):
        text = value.strip()
        if text in ("", "()", "[]", "None"):
            return ()
        value = ast.literal_eval(text)
    if isinstance(value, (int, np.integer)):
        return (int(value),)
    return tuple(int(v) for v in value)


def _parse_float_tuple(value) -> tuple[float, ...]:
    if isinstance(value, str):
        value = ast.literal_eval(value.strip())
    if isinstance(value, (int, float)):
        return (float(value),)
    return tuple(float(v) for v in value)


def _parse_opt_ints(value) -> tuple:
    """A tuple whose entries are ints or None (``slice``'s ``begin=(0, None)``)."""
    if isinstance(value, str):
        text = value.strip()
        if text in ("", "()", "[]"):
            return ()
        value = ast.literal_eval(text)
    if value is None or isinstance(value, (int, np.integer)):
        value = (value,)
    return tuple(None if v is None else int(v) for v in value)


def _parse_optional(kind: Callable) -> Callable:
    def parse(value):
        if value is None or (isinstance(value, str) and value.strip() == "None"):
            return None
        return kind(value)

    return parse


def _parse_dtype(value):
    if value is None or value == "None":
        return None
    return np.dtype(value).name


_PARSERS: dict[str, Callable[[Any], Any]] = {
    "int": lambda v: int(float(v)) if isinstance(v, str) else int(v),
    "float": float,
    "bool": _parse_bool,
    "str": str,
    "shape": _parse_shape,
    "floats": _parse_float_tuple,
    "dtype": _parse_dtype,
    "opt_ints": _parse_opt_ints,
}


@dataclass(frozen=True)
class Param:
    """One operator parameter: ``kind`` in int/float/bool/str/shape/floats/dtype/opt_ints
    (``opt_ints``: a tuple of ints or None)."""

    kind: str
    default: Any = REQUIRED
    choices: tuple | None = None
    optional: bool = False  # None is a valid value

    def parse(self, op: str, name: str, value):
        parser = _PARSERS[self.kind]
        if self.optional:
            parser = _parse_optional(parser)
        try:
            parsed = parser(value)
        except (ValueError, TypeError, SyntaxError):
            raise MXNetError(
                f"{op}: invalid value {value!r} for parameter {name!r} (expected {self.kind})"
            ) from None
        if self.choices is not None and parsed not in self.choices:
            raise MXNetError(
                f"{op}: invalid value {value!r} for parameter {name!r}; "
                f"choose one of {list(self.choices)}"
            )
        return parsed


def format_param(value) -> str:
    """A parameter value as MXNet writes it in symbol JSON (``(3, 3)``, ``True``, ``64``)."""
    if isinstance(value, tuple):
        inner = ", ".join(format_param(v) for v in value)
        return "(" + inner + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


_DICT_ATTRS = frozenset(dir(dict))


class Params(dict):
    """Parsed parameters of one operator instance; attribute access for convenience.

    Operators read their parameters at every call, so :meth:`Operator.parse_params` makes the
    mapping its own attribute dictionary (``p.kernel`` is then a plain attribute lookup, 20x
    faster than the ``__getattr__`` fallback) unless a name would shadow a dict method."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def _share(self) -> Params:
        if _DICT_ATTRS.isdisjoint(self):
            self.__dict__ = self
        return self

    def __reduce__(self):  # copies and pickles are rebuilt sharing again, never a stale copy
        return _params_from, (dict(self),)


def _params_from(items: dict) -> Params:
    return Params(items)._share()


class Operator:
    """Base class of every operator; see the module docstring for the contract."""

    name: ClassVar[str] = ""
    aliases: ClassVar[tuple[str, ...]] = ()
    params: ClassVar[dict[str, Param]] = {}
    loss: ClassVar[bool] = False  # ignores head gradients, backward works with out_grads=None
    variadic: ClassVar[str | None] = None  # name of the param counting inputs (Concat: num_args)
    aux_inits: ClassVar[dict[str, str]] = {}  # aux state -> MXNet's ``__init__`` attribute
    arg_inits: ClassVar[dict[str, str]] = {}  # argument -> ``__init__`` (PReLU gamma: 0.25)
    # infer_shape accepts partially known shapes (0 = unknown dim, MXNet 1.x): Cast passes
    # (1, 0, 0, 0) through, Convolution derives weight (64, 0, 7, 7) from it
    partial_shapes: ClassVar[bool] = False
    same_shape: ClassVar[bool] = False  # one input, output of its shape (inferred backwards too)
    differentiable: ClassVar[bool] = True  # False: binding for a gradient through it raises
    accepts_extra_params: ClassVar[bool] = False  # undeclared params kept as strings (Custom)
    #: the executor hands sparse (row_sparse / csr) inputs over as they are, not densified
    sparse_inputs: ClassVar[bool] = False
    # backward takes ``need`` (one bool per input) and may return None for an input whose
    # gradient nobody needs (the executor passes it; FullyConnected / Convolution on the data
    # then skip a GEMM)
    skips_grads: ClassVar[bool] = False
    #: ``forward`` takes ``out`` (one preallocated array per output, or None) and writes its
    #: outputs into those arrays (the executor's memory plan reuses them across batches)
    writes_outputs: ClassVar[bool] = False
    #: ``backward`` takes ``gout`` (one preallocated array or None per input) and writes each
    #: input gradient it computes into the array given for it (the bound gradient array itself
    #: when the executor can, so ``grad_req='write'`` needs no copy)
    writes_grads: ClassVar[bool] = False

    def parse_params(self, kwargs: dict) -> Params:
        """Validate and parse user or JSON parameters (strings are accepted, as in JSON)."""
        unknown = set(kwargs) - set(self.params)
        if unknown and not self.accepts_extra_params:
            raise MXNetError(
                f"{self.name}: unknown parameter(s) {sorted(unknown)}; "
                f"valid ones are {sorted(self.params)}"
            )
        out = Params()
        for pname, spec in self.params.items():
            if pname in kwargs:
                out[pname] = spec.parse(self.name, pname, kwargs[pname])
            elif spec.default is REQUIRED:
                raise MXNetError(f"{self.name}: required parameter {pname!r} is missing")
            else:
                out[pname] = spec.default
        for pname in sorted(unknown):
            out[pname] = str(kwargs[pname])
        return out._share()

    def arguments(self, p: Params) -> list[str]:
        return ["data"]

    def outputs(self, p: Params) -> list[str]:
        return ["output"]

    def aux_states(self, p: Params) -> list[str]:
        return []

    def num_outputs(self, p: Params) -> int:
        """Outputs in MXNet's graph including hidden ones (only for ``node_row_ptr``)."""
        return len(self.outputs(p))

    def is_loss(self, p: Params) -> bool:
        """Whether head gradients are ignored (``loss``; Custom decides per instance)."""
        return self.loss

    def mutable_inputs(self, p: Params) -> list[int]:
        """Argument positions ``forward`` may overwrite in place (see the module docstring)."""
        return []

    def infer_shape(self, p: Params, in_shapes: list, aux_shapes: list):
        """Default: elementwise; every known input shape must agree; output has that shape."""
        known = [s for s in in_shapes if s is not None]
        if not known:
            return in_shapes, [None] * len(self.outputs(p)), aux_shapes
        shape = known[0]
        for s in known[1:]:
            if tuple(s) != tuple(shape):
                raise ShapeError(
                    f"{self.name}: input shapes {[tuple(x) if x else None for x in in_shapes]} "
                    "must all be equal"
                )
        return [shape] * len(in_shapes), [shape] * len(self.outputs(p)), aux_shapes

    def infer_type(self, p: Params, in_types: list, aux_types: list):
        known = [t for t in in_types if t is not None]
        if not known:
            return in_types, [None] * len(self.outputs(p)), aux_types
        t = known[0]
        return (
            [t] * len(in_types),
            [t] * len(self.outputs(p)),
            [t if a is None else a for a in aux_types],
        )

    def infer_storage_type(self, p: Params, in_stypes: list) -> tuple[list, str]:
        """``(output storage types, dispatch)`` for the inputs' storage types ('default',
        'row_sparse', 'csr'), as MXNet's ``FInferStorageType``; dispatch is 'dense', 'sparse'
        or 'fallback' (sparse inputs densified).  Default: the rule of
        :mod:`mxlite._storage_inference` for this operator, else dense outputs."""
        from .. import _storage_inference as si

        rule = si.RULES.get(self.name, si.default_rule)
        return rule(p, list(in_stypes), len(self.outputs(p)))

    def infer_grad_storage_type(self, p: Params, in_stypes: list, out_stypes: list,
                                ograd_stypes: list) -> list:
        """Storage types of the input gradients (what ``simple_bind`` allocates) given those
        of the inputs, outputs and output gradients.  Default: the rule of
        :mod:`mxlite._storage_inference`, else dense."""
        from .. import _storage_inference as si

        rule = si.GRAD_RULES.get(self.name)
        if rule is None:
            return [si.DNS] * len(in_stypes)
        return rule(p, list(in_stypes), list(out_stypes), list(ograd_stypes))

    def forward(self, p: Params, inputs: list, aux: list, is_train: bool):
        raise NotImplementedError(f"{self.name} has no forward")

    def backward(self, p: Params, out_grads: list, inputs: list, outputs: list, aux: list, saved):
        raise NotImplementedError(f"{self.name} has no backward")


_OPERATORS: dict[str, Operator] = {}


def register(cls: type[Operator]) -> type[Operator]:
    """Class decorator: register one instance under ``cls.name`` and its aliases."""
    if not cls.name:
        raise TypeError(f"{cls.__name__} must set a name")
    inst = cls()
    for n in (cls.name, *cls.aliases):
        if n in _OPERATORS and type(_OPERATORS[n]) is not cls:
            raise ValueError(f"operator {n!r} is already registered")
        _OPERATORS[n] = inst
    return cls


def get(name: str) -> Operator:
    """The registered operator ``name``; MXNetError naming close matches otherwise."""
    _load_builtin()
    try:
        return _OPERATORS[name]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(name, _OPERATORS, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise MXNetError(f"Cannot find operator {name!r}{hint}") from None


def list_operators() -> list[str]:
    _load_builtin()
    return sorted(_OPERATORS)


_loaded = False
_loading = False
_load_lock = threading.RLock()


def _load_builtin() -> None:
    """Import every built-in operator module once.  ``_loaded`` is set only when all are
    registered, under a lock, so another thread never sees a half-filled registry; the importing
    thread itself, re-entering during the import, goes on with what is registered so far."""
    global _loaded, _loading
    if _loaded:
        return
    with _load_lock:
        if _loaded or _loading:
            return
        _loading = True
        try:
            from . import _builtin  # noqa: F401  (imports every operator module, registering them)
        finally:
            _loading = False
        _loaded = True
