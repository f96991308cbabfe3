"""Gluon parameters: :class:`Parameter`, :class:`Constant` and :class:`ParameterDict`.

A Parameter holds one array per context plus its gradient.  Its shape may be partly unknown
(0 or -1 entries) until the first forward pass: ``initialize`` then only records what to do
(deferred initialization) and the block that owns it infers the shape and finishes.
"""

from __future__ import annotations

import re
import warnings
import weakref
from collections import OrderedDict

import numpy as np

from .. import initializer as _init
from ..base import MXNetError
from ..context import Context, cpu, current_context
from ..ndarray import NDArray, _record

__all__ = ["Constant", "DeferredInitializationError", "Parameter", "ParameterDict",
           "tensor_types"]

tensor_types = (NDArray,)


class DeferredInitializationError(MXNetError):
    """A parameter's data was requested before its deferred initialization could finish."""


class ParameterStypeError(ValueError, AssertionError):
    """An unknown ``stype``/``grad_stype`` (MXNet 1.9.1 asserts, so this is also an
    AssertionError)."""


_STYPES = ("default", "row_sparse")


def _shape_known(shape) -> bool:
    return shape is not None and all(d > 0 for d in shape)


def _ctx_list(ctx) -> list[Context]:
    if ctx is None:
        return [current_context()]
    if isinstance(ctx, Context):
        return [ctx]
    ctx = list(ctx)
    if not ctx or not all(isinstance(c, Context) for c in ctx):
        raise ValueError(f"ctx must be a Context or a non-empty list of Contexts, got {ctx!r}")
    return ctx


class Parameter:
    """A weight of a Block: data and gradient per context, initialized through ``mx.init``.

    ``shape`` entries of 0 (or -1) are unknown until the first forward (with
    ``allow_deferred_init``).  ``grad_req``: 'write', 'add' or 'null'.  ``lr_mult``/``wd_mult``
    scale the optimizer's learning rate and weight decay for this parameter.

    >>> import mxlite as mx
    >>> p = mx.gluon.Parameter("w", shape=(2, 3))
    >>> p.initialize(init=mx.init.One())
    >>> p.data().sum().asscalar()
    np.float32(6.0)
    """

    def __init__(self, name, grad_req="write", shape=None, dtype=np.float32, lr_mult=1.0,
                 wd_mult=1.0, init=None, allow_deferred_init=False, differentiable=True,
                 stype="default", grad_stype="default"):
        if not isinstance(name, str):
            raise TypeError(f"Parameter name must be a str, got {name!r}")
        self._var = None
        self._data: list[NDArray] | None = None
        self._grad: list[NDArray] | None = None
        self._ctx_list: list[Context] | None = None
        self._deferred_init: tuple = ()
        self._differentiable = bool(differentiable)
        self._allow_deferred_init = bool(allow_deferred_init)
        self.name = name
        if isinstance(shape, int):
            shape = (shape,)
        self._shape = tuple(int(d) for d in shape) if shape is not None else None
        self.dtype = np.dtype(dtype).type
        self.lr_mult = lr_mult
        self.wd_mult = wd_mult
        self.init = init
        for arg, value in (("stype", stype), ("grad_stype", grad_stype)):
            if value not in _STYPES:
                raise ParameterStypeError(f"Parameter {name!r}: {arg} must be one of "
                                          f"{_STYPES}, got {value!r}")
        self._stype = stype
        self._grad_stype = grad_stype
        self._grad_req = None
        self.grad_req = grad_req
        self._trainer_ref = None  # () -> the Trainer that updates this parameter

    def __repr__(self) -> str:
        return (f"Parameter {self.name} (shape={self.shape}, "
                f"dtype={np.dtype(self.dtype).name})")

    # ------------------------------------------------------------------ attributes
    @property
    def grad_req(self) -> str:
        return self._grad_req

    @grad_req.setter
    def grad_req(self, req):
        if req not in ("write", "add", "null"):
            raise ValueError(f"grad_req must be one of 'write', 'add', or 'null', but got "
                             f"'{req}'")
        if not self._differentiable:
            req = "null"
        if self._grad_req == req:
            return
        self._grad_req = req
        if req == "null" and self._grad is not None:
            self._grad = None
            for d in self._data or []:
                d._ag = None
        elif self._data is not None:
            self._init_grad()

    @property
    def shape(self):
        return self._shape

    @shape.setter
    def shape(self, new_shape):
        if new_shape is None:
            self._shape = None
            return
        new_shape = tuple(int(d) for d in new_shape)
        if self._shape is None:
            self._shape = new_shape
            return
        if len(self._shape) != len(new_shape) or any(
                o > 0 and o != n for o, n in zip(self._shape, new_shape, strict=True)):
            raise ValueError(f"Expected shape {new_shape} is incompatible with given shape "
                             f"{self._shape} for Parameter {self.name!r}")
        self._shape = new_shape

    @property
    def stype(self) -> str:
        return self._stype

    @property
    def _trainer(self):
        """The Trainer that updates this parameter (None when none; held weakly)."""
        return self._trainer_ref() if self._trainer_ref is not None else None

    def _set_trainer(self, trainer) -> None:
        """Attach ``trainer`` (None detaches).  A row_sparse parameter is read through its
        trainer's kvstore, so it can have one trainer only (RuntimeError for a second)."""
        current = self._trainer
        if self._stype != "default" and trainer is not None and current is not None \
                and current is not trainer:
            raise RuntimeError(f"Failed to set the trainer for Parameter '{self.name}' because "
                               "it was already set. More than one trainers for a "
                               f"{self._stype} Parameter is not supported.")
        if trainer is None:
            self._trainer_ref = None
        elif self._stype != "default":
            # held strongly: the up-to-date weight lives in the trainer's kvstore (MXNet 1.9.1
            # holds every trainer strongly)
            self._trainer_ref = lambda: trainer
        else:
            self._trainer_ref = weakref.ref(trainer)

    # ------------------------------------------------------------------ initialization
    def initialize(self, init=None, ctx=None, default_init=None, force_reinit=False):
        """Create and fill the data (deferred until the shape is known, when allowed).

        ``init``: an Initializer for this parameter (default: the one given at construction,
        else ``default_init``, else ``mx.init.Uniform()``).
        """
        if default_init is None:
            default_init = _init.Uniform()
        if self._data is not None and not force_reinit:
            warnings.warn(f"Parameter '{self.name}' is already initialized, ignoring. Set "
                          "force_reinit=True to re-initialize.", stacklevel=2)
            return
        self._data = self._grad = None
        ctx = _ctx_list(ctx)
        if init is None:
            init = default_init if self.init is None else self.init
        if not _shape_known(self._shape):
            if self._allow_deferred_init:
                self._deferred_init = (init, ctx, default_init, None)
                return
            raise ValueError(f"Cannot initialize Parameter '{self.name}' because it has invalid "
                             f"shape: {self._shape}.")
        self._deferred_init = (init, ctx, default_init, None)
        self._finish_deferred_init()

    def _finish_deferred_init(self):
        if not self._deferred_init:
            return
        init, ctx, default_init, data = self._deferred_init
        self._deferred_init = ()
        if not _shape_known(self._shape):
            raise MXNetError(f"Cannot initialize Parameter '{self.name}' because it has invalid "
                             f"shape: {self._shape}. Please specify in_units, in_channels, etc "
                             "for `Block`s.")
        if data is None:
            data = NDArray(np.zeros(self._shape, self.dtype), cpu())
            desc = _init.InitDesc(self.name, {"__init__": init} if init else {})
            _init.create(default_init)(desc, data)
        self._init_impl(data, ctx)

    def _init_impl(self, data, ctx_list):
        self._ctx_list = list(ctx_list)
        src = data._data if isinstance(data, NDArray) else np.asarray(data)
        self._data = [NDArray(np.array(src, dtype=self.dtype, copy=True), c)
                      for c in self._ctx_list]
        if self._stype == "row_sparse":
            from ..ndarray import sparse as _sparse

            self._data = [_sparse.cast_storage(d, "row_sparse") for d in self._data]
        self._init_grad()

    def _init_grad(self):
        if self._grad_req == "null":
            self._grad = None
            return
        if self._grad_stype == "row_sparse":  # rows written by backward only (lazy updates)
            from ..ndarray import sparse as _sparse

            self._grad = [_sparse.zeros("row_sparse", d.shape, d.context, d.dtype)
                          for d in self._data]
        else:
            self._grad = [NDArray(np.zeros_like(d._data), d.context) for d in self._data]
        for d, g in zip(self._data, self._grad, strict=True):
            d._ag = _record.Var(g, self._grad_req)

    def _load_init(self, data, ctx, cast_dtype=False, dtype_source="current"):
        """Set the data from a loaded array (finishing a deferred initialization)."""
        if self._shape is not None:
            if len(self._shape) != len(data.shape) or any(
                    o > 0 and o != n for o, n in zip(self._shape, data.shape, strict=True)):
                raise MXNetError(f"Failed loading Parameter '{self.name}' from saved params: "
                                 f"shape incompatible expected {self._shape} vs saved "
                                 f"{data.shape}")
        self._shape = tuple(data.shape)
        if data.stype != "default" and self._stype == "default":  # a sparse checkpoint
            data = data.tostype("default")
        if np.dtype(self.dtype) != np.dtype(data.dtype):
            if not cast_dtype:
                raise MXNetError(
                    f"Failed loading Parameter '{self.name}' from saved params: dtype "
                    f"incompatible expected {np.dtype(self.dtype)} vs saved {data.dtype}. "
                    "Set cast_dtype=True to cast the dtype of saved params.")
            if dtype_source == "saved":
                self.dtype = np.dtype(data.dtype).type
                if self._data is not None:  # new arrays of the saved dtype
                    self._init_impl(data, self._ctx_list)
                    return
            else:
                data = data.astype(self.dtype)
        if self._data is None:
            if self._deferred_init:
                ctx = self._deferred_init[1]
            elif ctx is None:
                ctx = [cpu()]
            self._init_impl(data, _ctx_list(ctx))
            self._deferred_init = ()
        else:
            self.set_data(data)

    # ------------------------------------------------------------------ access
    def _check_and_get(self, arr_list, ctx):
        if arr_list is not None:
            if ctx is list:
                return arr_list
            if ctx is None:
                if len(arr_list) == 1:
                    return arr_list[0]
                ctx = current_context()
            for c, a in zip(self._ctx_list, arr_list, strict=True):
                if c == ctx:
                    return a
            raise RuntimeError(f"Parameter '{self.name}' was not initialized on context {ctx}. "
                               f"It was only initialized on {self._ctx_list}.")
        if self._deferred_init:
            raise DeferredInitializationError(
                f"Parameter '{self.name}' has not been initialized yet because initialization "
                "was deferred. Actual initialization happens during the first forward pass. "
                "Please pass one batch of data through the network before accessing Parameters. "
                "You can also avoid deferred initialization by specifying in_units, "
                "num_features, etc., for network layers.")
        raise RuntimeError(f"Parameter '{self.name}' has not been initialized. Note that you "
                           "should initialize parameters and create Trainer with "
                           "Block.collect_params() instead of Block.params because the later "
                           "does not include Parameters of nested child Blocks")

    def _check_dense(self, what: str) -> None:
        if self._stype != "default":
            raise RuntimeError(f"Cannot return a copy of Parameter '{self.name}' via {what} "
                               f"because its storage type is {self._stype}. Please use "
                               "row_sparse_data() instead.")

    def _check_sparse(self, what: str) -> None:
        if self._stype == "default":
            raise RuntimeError(f"Cannot return copies of Parameter '{self.name}' via {what} "
                               "because its storage type is default. Please use data() "
                               "instead.")

    def _pull_rows(self, out, row_id, full_idx=False):
        trainer = self._trainer
        if trainer is None:
            raise RuntimeError(f"Cannot get row_sparse data for Parameter '{self.name}' when "
                               "no Trainer is created with it.")
        trainer._row_sparse_pull(self, out, row_id, full_idx=full_idx)
        return out

    def row_sparse_data(self, row_id) -> NDArray:
        """The rows ``row_id`` of a row_sparse parameter, on ``row_id``'s context, pulled from
        its Trainer's kvstore (which holds the up-to-date weight).  The result is the
        parameter's own array on that context (autograd records through it)."""
        self._check_sparse("row_sparse_data()")
        if not isinstance(row_id, NDArray):
            raise TypeError(f"row_sparse_data: row_id must be an NDArray, got "
                            f"{type(row_id).__name__}")
        return self._pull_rows(self._check_and_get(self._data, row_id.context), row_id)

    def list_row_sparse_data(self, row_id) -> list[NDArray]:
        """:meth:`row_sparse_data` on every context (each array gets the rows ``row_id``)."""
        self._check_sparse("list_row_sparse_data()")
        if not isinstance(row_id, NDArray):
            raise TypeError(f"list_row_sparse_data: row_id must be an NDArray, got "
                            f"{type(row_id).__name__}")
        return self._pull_rows(self._check_and_get(self._data, list), row_id)

    def data(self, ctx=None) -> NDArray:
        """This parameter's array on ``ctx`` (the only one when None); a row_sparse
        parameter is read with :meth:`row_sparse_data` instead (RuntimeError)."""
        if self._stype != "default":
            self._check_dense("data()")
        arrays = self._data
        if arrays is not None and len(arrays) == 1 and (ctx is None or ctx == self._ctx_list[0]):
            return arrays[0]  # the usual case: one context
        return self._check_and_get(arrays, ctx)

    def list_data(self) -> list[NDArray]:
        """The arrays on every context (dense parameters only)."""
        self._check_dense("list_data()")
        return self._check_and_get(self._data, list)

    def grad(self, ctx=None) -> NDArray:
        """The gradient buffer on ``ctx``."""
        if self._data is not None and self._grad is None:
            raise RuntimeError(f"Cannot get gradient array for Parameter '{self.name}' because "
                               "grad_req='null'")
        return self._check_and_get(self._grad, ctx)

    def list_grad(self) -> list[NDArray]:
        if self._data is not None and self._grad is None:
            raise RuntimeError(f"Cannot get gradient array for Parameter '{self.name}' because "
                               "grad_req='null'")
        return self._check_and_get(self._grad, list)

    def list_ctx(self) -> list[Context]:
        if self._data is None:
            if self._deferred_init:
                return self._deferred_init[1]
            raise RuntimeError(f"Parameter '{self.name}' has not been initialized")
        return self._ctx_list

    def set_data(self, data) -> None:
        """Write ``data`` into every copy (before initialization: keep it for the deferred
        initialization)."""
        self.shape = data.shape
        if self._data is None:
            if not self._deferred_init:
                raise MXNetError(f"Parameter '{self.name}' has not been initialized")
            init, ctx, default_init, _ = self._deferred_init
            self._deferred_init = (init, ctx, default_init, data)
            return
        # a trainer whose kvstore holds (and updates) the weights must not overwrite the new
        # values with its copy: it starts over from them at its next step (as MXNet 1.9.1)
        trainer = self._trainer
        if trainer is not None and trainer._kv_initialized and trainer._update_on_kvstore:
            trainer._reset_kvstore()
        src = data._data if isinstance(data, NDArray) else np.asarray(data)
        if self._stype == "row_sparse":
            from ..ndarray import sparse as _sparse

            for arr in self._data:
                arr._assign(_sparse.cast_storage(NDArray(src.astype(self.dtype), cpu()),
                                                 "row_sparse"))
            return
        for arr in self._data:
            arr._data[...] = src

    def zero_grad(self) -> None:
        """Set the gradient buffers to zero."""
        for g in self._grad or []:
            if g.stype == "row_sparse":
                g._values, g._idx = g._values[:0], g._idx[:0]
            else:
                g._data[...] = 0

    def reset_ctx(self, ctx) -> None:
        """Move the data (and gradients) to ``ctx``."""
        ctx = _ctx_list(ctx)
        if self._data is not None:
            data = self._reduce() if self._stype != "default" else self._data[0]
            self._init_impl(data, ctx)
        elif self._deferred_init:
            init, _, default_init, data = self._deferred_init
            self._deferred_init = (init, ctx, default_init, data)
        else:
            raise ValueError(f"Cannot reset context for Parameter '{self.name}' because it has "
                             "not been initialized.")

    def cast(self, dtype) -> None:
        """Convert data and gradient to ``dtype``."""
        self.dtype = np.dtype(dtype).type
        if self._data is None:
            return
        if self._stype != "default":
            self._data = [d.astype(self.dtype) for d in self._data]
        else:
            self._data = [NDArray(d._data.astype(self.dtype), d.context) for d in self._data]
        self._init_grad()

    def var(self):
        """This parameter as a symbol variable (name, shape, dtype, lr/wd multipliers, init)."""
        from .. import symbol

        if self._var is None:
            self._var = symbol.var(self.name, shape=self._shape, dtype=self.dtype,
                                   lr_mult=self.lr_mult, wd_mult=self.wd_mult,
                                   stype=None if self._stype == "default" else self._stype,
                                   init=self.init if not isinstance(self.init, str)
                                   or self.init else None)
        return self._var

    def _reduce(self) -> NDArray:
        """The data averaged over contexts, on the CPU (what ``save`` writes); a row_sparse
        parameter gives all its rows, pulled from its trainer's kvstore when it has one."""
        if self._stype != "default":
            from ..ndarray import sparse as _sparse

            arrs = self._check_and_get(self._data, list)
            if self._trainer is None:  # no kvstore yet: every context holds the initial rows
                return arrs[0].copyto(cpu())
            out = _sparse.zeros("row_sparse", self._shape, cpu(), self.dtype)
            all_rows = NDArray(np.arange(self._shape[0], dtype=np.int64), cpu())
            return self._pull_rows(out, all_rows, full_idx=True)
        arrs = self.list_data()
        if len(arrs) == 1:
            return NDArray(arrs[0]._data.copy(), cpu())
        return NDArray(np.mean([a._data for a in arrs], axis=0).astype(self.dtype), cpu())

    def _fresh_grad(self) -> bool:
        return any(isinstance(d._ag, _record.Var) and d._ag.fresh for d in self._data or [])

    def _clear_fresh(self) -> None:
        for d in self._data or []:
            if isinstance(d._ag, _record.Var):
                d._ag.fresh = False


class _ValueInit(_init.Initializer):
    """Initializer that copies a fixed value (what :class:`Constant` uses)."""

    def __init__(self, value):
        super().__init__(value=value.tolist())
        self._value = value

    def _init_weight(self, name, arr):
        arr._data[...] = self._value

    _init_bias = _init_gamma = _init_beta = _init_default = _init_weight


class Constant(Parameter):
    """A parameter that never changes (``grad_req='null'``), initialized to ``value``."""

    def __init__(self, name, value):
        if isinstance(value, NDArray):
            value = value.asnumpy()
        value = np.asarray(value, dtype=np.float32 if not isinstance(value, np.ndarray)
                           else None)
        self.value = value
        super().__init__(name, grad_req="null", shape=value.shape, dtype=value.dtype,
                         init=_ValueInit(value))

    def __repr__(self) -> str:
        return f"Constant {self.name} (shape={self.shape}, dtype={np.dtype(self.dtype).name})"

    @Parameter.grad_req.setter
    def grad_req(self, req):
        if req != "null":
            warnings.warn(f"Constant parameter {self.name!r} does not support grad_req other "
                          f"than 'null', and new value {req!r} is ignored.", stacklevel=2)
        self._grad_req = "null"


class ParameterDict:
    """An ordered dict of Parameters sharing a name ``prefix``; ``get`` creates or retrieves.

    ``shared``: another ParameterDict whose parameters ``get`` returns before creating new
    ones (weight sharing).
    """

    def __init__(self, prefix="", shared=None):
        self._prefix = prefix
        self._params: OrderedDict[str, Parameter] = OrderedDict()
        self._shared = shared

    def __repr__(self) -> str:
        body = "\n".join(f"  {p}" for p in self._params.values())
        name = f"{self._prefix} " if self._prefix else ""
        return f"{name}(\n{body}\n)"

    def __getitem__(self, key) -> Parameter:
        return self._params[key]

    def __iter__(self):
        return iter(self._params)

    def __len__(self) -> int:
        return len(self._params)

    def __contains__(self, key) -> bool:
        return key in self._params

    def items(self):
        return self._params.items()

    def keys(self):
        return self._params.keys()

    def values(self):
        return self._params.values()

    @property
    def prefix(self) -> str:
        return self._prefix

    def _get_impl(self, name):
        if name in self._params:
            return self._params[name]
        if self._shared is not None and name in self._shared._params:
            self._params[name] = self._shared._params[name]
            return self._shared._params[name]
        return None

    def get(self, name, **kwargs) -> Parameter:
        """The parameter ``prefix + name``, created with ``kwargs`` if absent; an existing one
        must agree with ``kwargs`` (unknown shape entries are filled in)."""
        name = self._prefix + name
        param = self._get_impl(name)
        if param is None:
            param = Parameter(name, **kwargs)
            self._params[name] = param
            return param
        for k, v in kwargs.items():
            if not hasattr(param, k) or getattr(param, k) is None:
                setattr(param, k, v)
                continue
            existing = getattr(param, k)
            if k == "shape" and v is not None:
                v = (v,) if isinstance(v, int) else tuple(v)
                if len(v) == len(existing) and all(
                        a == b or a <= 0 or b <= 0 for a, b in zip(v, existing, strict=True)):
                    param._shape = tuple(b if b > 0 else a for a, b in
                                         zip(v, existing, strict=True))
                    continue
            elif k == "dtype" and np.dtype(v) == np.dtype(existing):
                continue
            if v is not None and existing != v and k not in ("init",):
                raise AssertionError(
                    f"Cannot retrieve Parameter '{name}' because desired attribute does not "
                    f"match with stored for attribute '{k}': desired '{v}' vs stored "
                    f"'{existing}'.")
        return param

    def get_constant(self, name, value=None) -> Constant:
        """The Constant ``prefix + name`` (created from ``value`` if absent)."""
        name = self._prefix + name
        param = self._get_impl(name)
        if param is None:
            if value is None:
                raise KeyError(f"No constant named '{name}'. Please specify value if you want "
                               "to create a new constant.")
            param = Constant(name, value)
            self._params[name] = param
        elif value is not None and not isinstance(param, Constant):
            raise AssertionError(f"Parameter '{name}' already exists but it is not a constant.")
        return param

    def update(self, other) -> None:
        """Add ``other``'s parameters (a name bound to a different Parameter is an error)."""
        for k, v in other.items():
            if k in self._params and self._params[k] is not v:
                raise ValueError(f"Cannot update self with other because they have different "
                                 f"Parameters with the same name '{k}'")
            self._params[k] = v

    def initialize(self, init=None, ctx=None, verbose=False, force_reinit=False):
        """Initialize every parameter (``init`` default: ``mx.init.Uniform()``)."""
        if init is None:
            init = _init.Uniform()
        if verbose:
            init.set_verbosity(verbose=verbose)
        for p in self.values():
            p.initialize(None, ctx, init, force_reinit=force_reinit)

    def zero_grad(self) -> None:
        for p in self.values():
            p.zero_grad()

    def reset_ctx(self, ctx) -> None:
        for p in self.values():
            p.reset_ctx(ctx)

    def list_ctx(self) -> list:
        out = []
        for p in self.values():
            for c in p.list_ctx():
                if c not in out:
                    out.append(c)
        return out

    def setattr(self, name, value) -> None:
        """Set attribute ``name`` (``grad_req``, ``lr_mult``, ...) on every parameter."""
        for p in self.values():
            setattr(p, name, value)

    def select(self, pattern) -> ParameterDict:
        out = ParameterDict(self._prefix)
        regex = re.compile(pattern)
        for k, v in self.items():
            if regex.match(k):
                out._params[k] = v
        return out

    def save(self, filename, strip_prefix="") -> None:
        """Write every parameter in MXNet's ``.params`` format (names without
        ``strip_prefix``)."""
        from ..ndarray import utils

        arg = {}
        for p in self.values():
            if not p.name.startswith(strip_prefix):
                raise ValueError(f"Prefix '{strip_prefix}' is to be striped before saving, but "
                                 f"Parameter's name '{p.name}' does not start with "
                                 f"'{strip_prefix}'. this may be due to your Block shares "
                                 "parameters from other Blocks or you forgot to use "
                                 "'with name_scope()' when creating child blocks. For more "
                                 "info on naming, please see "
                                 "https://mxnet.apache.org/api/python/docs/tutorials/packages/"
                                 "gluon/blocks/naming.html")
            arg[p.name[len(strip_prefix):]] = p._reduce()
        utils.save(filename, arg)

    def load(self, filename, ctx=None, allow_missing=False, ignore_extra=False,
             restore_prefix="", cast_dtype=False, dtype_source="current"):
        """Read a ``.params`` file (names get ``restore_prefix`` in front)."""
        from ..ndarray import utils

        if restore_prefix:
            for name in self.keys():
                if not name.startswith(restore_prefix):
                    raise ValueError(f"restore_prefix is '{restore_prefix}' but Parameters name "
                                     f"'{name}' does not start with '{restore_prefix}'")
        loaded = utils.load(filename)
        if isinstance(loaded, list):
            raise MXNetError(f"{filename!r} holds unnamed arrays; a .params file is a dict")
        lprefix = len(restore_prefix)
        loaded = {restore_prefix + (k[4:] if k.startswith(("arg:", "aux:")) else k): v
                  for k, v in loaded.items()}
        if not allow_missing:
            for name in self.keys():
                if name not in loaded:
                    raise MXNetError(
                        f"Parameter '{name[lprefix:]}' is missing in file '{filename}', which "
                        f"contains parameters: {_brief(loaded, lprefix)}. Please make sure "
                        "source and target networks have the same prefix.For more info on "
                        "naming, please see https://mxnet.apache.org/api/python/docs/tutorials"
                        "/packages/gluon/blocks/naming.html")
        for name, value in loaded.items():
            if name not in self._params:
                if not ignore_extra:
                    raise MXNetError(
                        f"Parameter '{name[lprefix:]}' loaded from file '{filename}' is not "
                        f"present in ParameterDict, choices are: {_brief(self._params, lprefix)}"
                        ". Set ignore_extra to True to ignore. Please make sure source and "
                        "target networks have the same prefix.For more info on naming, please "
                        "see https://mxnet.apache.org/api/python/docs/tutorials/packages/gluon/"
                        "blocks/naming.html")
                continue
            self._params[name]._load_init(value, ctx, cast_dtype=cast_dtype,
                                          dtype_source=dtype_source)


def _brief(names, lprefix: int) -> str:
    keys = [k[lprefix:] for k in names]
    shown = ", ".join(f"'{k}'" for k in keys[:3])
    return shown + (f", ..., '{keys[-1]}'" if len(keys) > 3 else "")
