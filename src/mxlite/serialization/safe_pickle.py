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
``mxnet.lr_scheduler.<Name>`` (Factor, MultiFactor,  ``mxlite.lr_scheduler.<Name>``, the same way
Poly, Cosine)
``builtins`` containers, numbers, str, bytes,       themselves (``bytes``/``bytearray`` only from
``bytearray``, ``object``; ``_codecs.encode``       data, never from a size)
``copyreg._reconstructor``                          only for the admitted classes above
``numpy`` scalars and dtypes                        numeric/bool NumPy scalars
==================================================  ============================================

Every name is looked up in these tables (dicts and sets of exact names, the optimizer registry);
nothing is imported and no attribute path is followed.  Anything else (``os.system``,
``builtins.eval``, ``subprocess.Popen``, ...) is refused with an :class:`~mxlite.base.MXNetError`
naming the global.  A rebuilt optimizer or scheduler adopts only the pickled attributes its
freshly constructed mxlite counterpart declares, each of a compatible kind; MXNet-only
attributes are dropped.  Malformed data gives an :class:`~mxlite.base.MXNetError` too, never
another exception type.

Bounds (:mod:`mxlite.serialization.limits`): the loaded objects may nest at most
``MAX_NESTING`` levels and hold at most ``MAX_OBJECTS`` objects counting every reference to a
shared object (a few bytes of pickle can otherwise describe a tree of ``2**50`` nodes); cycles
are refused; sparse NDArray records densify to at most ``MAX_DENSIFIED_BYTES`` per pickle.
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

from ..base import MXNetError
from ..ndarray.ndarray import NDArray
from . import limits

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
_SCHEDULER_NAMES = ("FactorScheduler", "MultiFactorScheduler", "PolyScheduler", "CosineScheduler")
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
    _densified = [0]

    def __setstate__(self, state):
        from ..ndarray.utils import array_from_raw_bytes

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
        if getattr(array, "stype", "default") != "default":  # states are kept dense: bounded
            self._densified[0] += int(np.prod(array.shape)) * np.dtype(array.dtype).itemsize
            why = limits.check_densified(
                self._densified[0], f"{array.stype} state of shape {array.shape} (with the "
                "sparse states before it)")
            if why is not None:
                raise MXNetError(f"{self._source}: {why}")
            array = array.tostype("default")
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
    from .state_npz import _kind, compatible

    for key, value in state.items():
        if key in props:
            continue
        if key.startswith("__"):
            raise MXNetError(
                f"{stub._source}: pickled {stub._mxnet_name} sets attribute {key!r}, which no "
                "optimizer or lr scheduler has"
            )
        if key in self.__dict__:
            ref = self.__dict__[key]
        else:
            ref = inspect.getattr_static(real, key, _ABSENT)
            if ref is _ABSENT or callable(ref) or isinstance(ref, (property, classmethod,
                                                                    staticmethod)):
                # an attribute of MXNet's class that mxlite's does not have: plain data only
                if _kind(value) not in ("none", "bool", "int", "float", "str", "sequence", "dict"):
                    raise MXNetError(
                        f"{stub._source}: pickled {stub._mxnet_name} attribute {key!r} is a "
                        f"{_kind(value)}, which mxlite's {real.__name__} does not declare"
                    )
                self.__dict__[key] = value
                continue
        if not compatible(key, value, ref, strict=False):
            raise MXNetError(
                f"{stub._source}: pickled {stub._mxnet_name} attribute {key!r} is a "
                f"{_kind(value)}, expected a {_kind(ref)}"
            )
        self.__dict__[key] = value
    if not isinstance(self.__dict__.get("param_dict", {}), dict):
        self.__dict__["param_dict"] = {}


_ABSENT = object()


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
            "_PickledNDArray", (_PickledNDArray,),
            {"__slots__": (), "_source": source, "_densified": [0]},
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
            from .. import optimizer as opt_mod

            real = opt_mod.Optimizer.opt_registry.get(name.lower())
        elif module in _SCHEDULER_MODULES:
            from .. import lr_scheduler

            if name in _SCHEDULER_NAMES:
                real = lr_scheduler._registry._classes[name.lower()]
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


_ATOMS = (str, bytes, bytearray, int, float, complex, bool, type(None), np.generic, NDArray,
          _DTypeSpec)


def _children(obj) -> list:
    if isinstance(obj, dict):
        return [*obj.keys(), *obj.values()]
    if isinstance(obj, (list, tuple, set, frozenset)):
        return list(obj)
    attrs = getattr(obj, "__dict__", None)
    return list(attrs.values()) if isinstance(attrs, dict) else []


def _check_bounds(root, source: str) -> None:
    """Refuse a result nesting deeper than ``MAX_NESTING``, holding a cycle, or expanding to
    more than ``MAX_OBJECTS`` objects when every reference is followed (shared references are
    counted each time, in time linear in the distinct objects)."""
    if isinstance(root, _ATOMS):
        return
    size: dict[int, int] = {}
    on_path = {id(root)}
    stack = [[root, iter(_children(root)), 1]]
    while stack:
        top = stack[-1]
        for child in top[1]:
            if isinstance(child, _ATOMS):
                top[2] += 1
                continue
            cid = id(child)
            if cid in size:
                top[2] += size[cid]
                continue
            if cid in on_path:
                raise MXNetError(f"{source}: states pickle holds a reference cycle")
            if len(stack) >= limits.MAX_NESTING:
                raise MXNetError(
                    f"{source}: states pickle nests deeper than "
                    f"mxlite.serialization.limits.MAX_NESTING = {limits.MAX_NESTING}"
                )
            on_path.add(cid)
            stack.append([child, iter(_children(child)), 1])
            break
        else:
            stack.pop()
            on_path.discard(id(top[0]))
            size[id(top[0])] = top[2]
            if top[2] > limits.MAX_OBJECTS:
                raise MXNetError(
                    f"{source}: states pickle expands to {top[2]} objects when its shared "
                    "references are followed, more than mxlite.serialization.limits.MAX_OBJECTS "
                    f"= {limits.MAX_OBJECTS}"
                )
            if stack:
                stack[-1][2] += top[2]


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
    >>> from mxlite.serialization.safe_pickle import safe_loads
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
    _check_bounds(result, source)
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
