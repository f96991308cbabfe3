"""Read MXNet's pickled optimizer states (``.states`` files) without running code from them.

MXNet's ``Updater.get_states`` pickles ``{index: state}`` (a state is an NDArray, ``None`` or
nested tuples of them), or ``(states, optimizer)`` with ``dump_optimizer=True``.  A pickle can
name any importable callable, so :func:`safe_loads` uses an unpickler whose ``find_class`` admits
only what such a pickle holds, each mapped to an mxlite counterpart:

==================================================  ============================================
pickled global                                      becomes
==================================================  ============================================
``mxnet.ndarray.ndarray.NDArray`` (and aliases)     :class:`mxlite.nd.NDArray`, decoded from the
                                                    raw record in its ``{'handle': bytes}`` state
``mxnet.optimizer.*.<Name>``                        the mxlite optimizer registered as ``name``,
                                                    built from the pickled hyperparameters, then
                                                    given the pickled ``__dict__`` (update counts)
``mxnet.lr_scheduler.<Name>``                       ``mxlite.lr_scheduler.<Name>``, the same way
``builtins`` containers, numbers, str, bytes,       themselves (``bytes``/``bytearray`` only from
``bytearray``, ``object``; ``_codecs.encode``       data, never from a size)
``copyreg._reconstructor``                          only for the admitted classes above
``numpy`` scalars and dtypes                        numeric/bool NumPy scalars
==================================================  ============================================

Anything else (``os.system``, ``builtins.eval``, ``subprocess.Popen``, ...) is refused with an
:class:`~mxlite.base.MXNetError` naming the global, before it is imported.  Malformed data gives
an :class:`~mxlite.base.MXNetError` too, never another exception type.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import pickle
import pickletools
import re
import warnings

import numpy as np

from .base import MXNetError
from .ndarray.ndarray import NDArray

__all__ = ["safe_loads"]

# pickles from Python 2 name these modules
_PY2_MODULES = {"__builtin__": "builtins", "copy_reg": "copyreg"}

_NDARRAY_GLOBALS = {
    ("mxnet.ndarray.ndarray", "NDArray"),
    ("mxnet.ndarray", "NDArray"),
    ("mxnet.ndarray.sparse", "RowSparseNDArray"),
    ("mxnet.ndarray.sparse", "CSRNDArray"),
    ("mxnet.numpy.multiarray", "ndarray"),
    ("mxnet.numpy", "ndarray"),
}
_OPTIMIZER_MODULE = re.compile(r"^mxnet\.optimizer(\.[A-Za-z_][A-Za-z0-9_]*)?$")
_SCHEDULER_MODULES = {"mxnet.lr_scheduler"}
_NUMPY_SCALAR = {("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar")}
_NUMPY_DTYPE = {("numpy", "dtype")}
_DTYPE_STR = re.compile(r"^[<>|=]?([biufc?])(\d{0,2})$")
# Optimizer.__init__ arguments that are rebuilt from the pickled __dict__, never passed on
_NOT_INIT_ARGS = {"self", "sym", "param_dict", "lr_scheduler", "param_idx2name"}
_ATTR_FOR_ARG = {"learning_rate": "lr"}


class _Refused(MXNetError):
    pass


# ---------------------------------------------------------------------- safe callables
def _safe_bytes(*args):
    if args and not isinstance(args[0], (bytes, bytearray, str, list, tuple)):
        raise _Refused(f"bytes() from {type(args[0]).__name__} is not allowed in a state pickle")
    return bytes(*args)


def _safe_bytearray(*args):
    if args and not isinstance(args[0], (bytes, bytearray, str, list, tuple)):
        raise _Refused(
            f"bytearray() from {type(args[0]).__name__} is not allowed in a state pickle"
        )
    return bytearray(*args)


def _safe_encode(text, encoding="utf-8", errors="strict"):
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1", "utf-8", "utf8"):
        raise _Refused(f"_codecs.encode({type(text).__name__}, {encoding!r}) is not allowed")
    return text.encode(encoding, errors)


class _DTypeSpec:
    """A pickled ``numpy.dtype``, kept as its string until a scalar needs it."""

    def __init__(self, spec, align=False, copy=False):
        if not isinstance(spec, str) or not _DTYPE_STR.match(spec):
            raise _Refused(f"numpy dtype {spec!r} is not allowed in a state pickle")
        self.spec = spec
        self.byteorder = "="

    def __setstate__(self, state):
        if isinstance(state, tuple) and len(state) > 1 and state[1] in ("<", ">", "|", "="):
            self.byteorder = state[1]

    def dtype(self) -> np.dtype:
        dt = np.dtype(self.spec)
        return dt.newbyteorder(self.byteorder) if self.byteorder in "<>" else dt


def _safe_scalar(dtype, data=None):
    if not isinstance(dtype, _DTypeSpec) or not isinstance(data, (bytes, bytearray)):
        raise _Refused("numpy scalar with a non-numeric dtype or no data")
    dt = dtype.dtype()
    if len(data) != dt.itemsize:
        raise MXNetError(f"numpy scalar of {dt} needs {dt.itemsize} bytes, got {len(data)}")
    return np.frombuffer(data, dtype=dt)[0].astype(dt.newbyteorder("="))


def _dtypes_to_numpy(obj, seen=None):
    """Replace any :class:`_DTypeSpec` left in the result by the NumPy dtype it names."""
    if isinstance(obj, _DTypeSpec):
        return obj.dtype()
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return obj
    seen.add(id(obj))
    if isinstance(obj, dict):
        for k, v in list(obj.items()):
            obj[k] = _dtypes_to_numpy(v, seen)
    elif isinstance(obj, list):
        obj[:] = [_dtypes_to_numpy(v, seen) for v in obj]
    elif isinstance(obj, tuple):
        items = [_dtypes_to_numpy(v, seen) for v in obj]
        if any(a is not b for a, b in zip(items, obj, strict=True)):
            return type(obj)(items) if not hasattr(obj, "_fields") else type(obj)(*items)
    elif hasattr(obj, "__dict__") and not isinstance(obj, type):
        _dtypes_to_numpy(vars(obj), seen)
    return obj


# ---------------------------------------------------------------------- admitted classes
class _PickledNDArray(NDArray):
    """Placeholder for an MXNet NDArray: becomes an mxlite NDArray when its state arrives."""

    __slots__ = ()
    _source = "<pickle>"

    def __setstate__(self, state):
        from .ndarray.utils import array_from_raw_bytes

        if not isinstance(state, dict) or "handle" not in state:
            raise MXNetError(f"{self._source}: pickled NDArray state is not {{'handle': bytes}}")
        handle = state["handle"]
        if handle is None:
            raise MXNetError(f"{self._source}: pickled NDArray has no data (handle None)")
        if not isinstance(handle, (bytes, bytearray)):
            raise MXNetError(
                f"{self._source}: pickled NDArray handle is {type(handle).__name__}, not bytes"
            )
        array = array_from_raw_bytes(handle, f"{self._source} (pickled NDArray)")
        self._data = array._data
        self._ctx = array._ctx
        self.__class__ = NDArray


def _init_kwargs(cls: type, state: dict) -> dict:
    """Constructor arguments of ``cls`` (its whole MRO) found in a pickled ``__dict__``."""
    kwargs = {}
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        for name, param in inspect.signature(init).parameters.items():
            if name in _NOT_INIT_ARGS or name in kwargs:
                continue
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            attr = _ATTR_FOR_ARG.get(name, name)
            if attr in state:
                kwargs[name] = state[attr]
    return kwargs


def _rebuild_setstate(self, state):
    """BUILD of a stand-in: construct the mxlite class, then adopt the pickled ``__dict__``."""
    stub = type(self)
    real = stub._mxlite_class
    if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
        raise MXNetError(
            f"{stub._source}: pickled {stub._mxnet_name} state is not an attribute dict"
        )
    try:
        fresh = real(**_init_kwargs(real, state))
    except (TypeError, ValueError) as err:
        raise MXNetError(
            f"{stub._source}: pickled {stub._mxnet_name} has invalid hyperparameters: {err}"
        ) from None
    self.__class__ = real
    self.__dict__.clear()
    self.__dict__.update(vars(fresh))
    # properties first (their setters may derive other attributes), then the plain attributes,
    # so that every pickled value ends up as MXNet had it
    props = {k for k in state if isinstance(inspect.getattr_static(real, k, None), property)}
    try:
        for key in props:
            if inspect.getattr_static(real, key).fset is not None:
                setattr(self, key, state[key])
    except (TypeError, ValueError) as err:
        raise MXNetError(
            f"{stub._source}: pickled {stub._mxnet_name} has an invalid attribute: {err}"
        ) from None
    self.__dict__.update((k, v) for k, v in state.items() if k not in props)
    if not isinstance(self.__dict__.get("param_dict", {}), dict):
        self.__dict__["param_dict"] = {}


def _stand_in(real: type, mxnet_name: str, source: str, created: list) -> type:
    """A subclass of ``real`` that pickle can instantiate without calling ``__init__``."""

    def __new__(cls, *args, **kwargs):
        obj = object.__new__(cls)
        created.append(obj)
        return obj

    return type(
        real.__name__,
        (real,),
        {
            "__new__": __new__,
            "__setstate__": _rebuild_setstate,
            "__module__": real.__module__,
            "_mxlite_class": real,
            "_mxnet_name": mxnet_name,
            "_source": source,
        },
    )


# ---------------------------------------------------------------------- the unpickler
class _StateUnpickler(pickle.Unpickler):
    def __init__(self, data: bytes, source: str):
        super().__init__(io.BytesIO(data), encoding="latin1")
        self._source = source
        self._ndarray = type(
            "_PickledNDArray", (_PickledNDArray,), {"__slots__": (), "_source": source}
        )
        self._stand_ins: dict[tuple[str, str], type] = {}
        self.created: list = []  # placeholders that must receive their state
        self.dtype_specs = 0

    def _new_ndarray(self, *args):
        if any(a is not None and not isinstance(a, bool) for a in args):
            raise _Refused("MXNet NDArray(...) with arguments other than None")
        obj = self._ndarray.__new__(self._ndarray)
        self.created.append(obj)
        return obj

    def _reconstructor(self, cls, base, state=None):
        """``copyreg._reconstructor`` (protocol 0/1 objects), for admitted classes only."""
        if base is not object or state is not None or cls not in self._stand_ins.values():
            raise _Refused(f"copyreg._reconstructor for {cls!r} is not allowed")
        return cls.__new__(cls)

    def _new_dtype(self, *args):
        self.dtype_specs += 1
        return _DTypeSpec(*args)

    def _mapped_class(self, module: str, name: str) -> type | None:
        key = (module, name)
        if key in self._stand_ins:
            return self._stand_ins[key]
        real = None
        if _OPTIMIZER_MODULE.match(module):
            from . import optimizer as opt_mod

            real = opt_mod.Optimizer.opt_registry.get(name.lower())
        elif module in _SCHEDULER_MODULES:
            from . import lr_scheduler

            candidate = getattr(lr_scheduler, name, None)
            if isinstance(candidate, type) and issubclass(candidate, lr_scheduler.LRScheduler):
                real = candidate
        if real is None:
            return None
        stand_in = _stand_in(real, f"{module}.{name}", self._source, self.created)
        self._stand_ins[key] = stand_in
        return stand_in

    def find_class(self, module: str, name: str):
        module = _PY2_MODULES.get(module, module)
        if (module, name) in _NDARRAY_GLOBALS:
            return self._new_ndarray
        if module == "builtins":
            safe = {
                "dict": dict, "list": list, "tuple": tuple, "set": set, "frozenset": frozenset,
                "int": int, "float": float, "complex": complex, "bool": bool, "str": str,
                "object": object, "bytes": _safe_bytes, "bytearray": _safe_bytearray,
            }.get(name)
            if safe is not None:
                return safe
        elif (module, name) == ("_codecs", "encode"):
            return _safe_encode
        elif (module, name) == ("copyreg", "_reconstructor"):
            return self._reconstructor
        elif (module, name) in _NUMPY_SCALAR:
            return _safe_scalar
        elif (module, name) in _NUMPY_DTYPE:
            return self._new_dtype
        else:
            mapped = self._mapped_class(module, name)
            if mapped is not None:
                return mapped
        raise _Refused(
            f"refusing to unpickle global '{module}.{name}': an MXNet optimizer-state pickle "
            "holds only NDArrays, numbers, containers and optimizer/lr_scheduler objects"
        )

    def persistent_load(self, pid):
        raise _Refused(f"persistent id {pid!r} is not allowed in a state pickle")


_MEMO_OPS = {"PUT", "BINPUT", "LONG_BINPUT", "GET", "BINGET", "LONG_BINGET"}


@contextlib.contextmanager
def _reading(source: str):
    """Read pickle data: DeprecationWarnings (protocol-0 strings with odd escapes) silenced,
    any error other than :class:`MXNetError` reported as an MXNetError naming ``source``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            yield
    except MXNetError:
        raise
    except Exception as err:
        raise MXNetError(
            f"{source}: not a valid MXNet states pickle ({type(err).__name__}: {err})"
        ) from None


def _prescan(data: bytes, source: str) -> None:
    """Walk the opcodes without executing them: reject malformed streams, and memo indices no
    genuine pickle uses (C ``pickle`` grows its memo table to a huge index before failing)."""
    with _reading(source):
        ops = list(pickletools.genops(data))
    for count, (op, arg, pos) in enumerate(ops, 1):
        if op.name in _MEMO_OPS and (not isinstance(arg, int) or not 0 <= arg < count):
            raise MXNetError(
                f"{source}: not a valid MXNet states pickle (memo index {arg!r} at byte {pos})"
            )


def safe_loads(data, source: str = "<states pickle>"):
    """Unpickle MXNet optimizer states (``Updater.get_states`` bytes) without executing code.

    Returns what MXNet's ``pickle.loads`` would, with mxlite objects: ``{index: state}`` or
    ``(states, optimizer)``; states are :class:`mxlite.nd.NDArray`, ``None`` or tuples of them.
    ``source`` names the data in error messages (e.g. the ``.states`` file name).

    Raises :class:`~mxlite.base.MXNetError` for a refused global or malformed data.

    >>> import pickle, os
    >>> from mxlite._safe_pickle import safe_loads
    >>> evil = pickle.dumps(os.system)
    >>> safe_loads(evil)
    Traceback (most recent call last):
    ...
    mxlite.base.MXNetError: <states pickle>: refusing to unpickle global 'posix.system': ...
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes, got {type(data).__name__}")
    data = bytes(data)
    _prescan(data, source)
    unpickler = _StateUnpickler(data, source)
    try:
        with _reading(source):
            result = unpickler.load()
    except _Refused as err:
        raise MXNetError(f"{source}: {err}") from None
    placeholders = (unpickler._ndarray, *unpickler._stand_ins.values())
    for obj in unpickler.created:
        if type(obj) in placeholders:
            raise MXNetError(
                f"{source}: a pickled {type(obj).__name__} object never received its state"
            )
    if not unpickler.dtype_specs:
        return result
    try:
        return _dtypes_to_numpy(result)
    except RecursionError:
        raise MXNetError(f"{source}: states pickle nests too deeply") from None
