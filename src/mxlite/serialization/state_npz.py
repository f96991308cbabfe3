"""mxlite's optimizer-state format (``Updater.get_states``), read without trusting the file.

The bytes are an ``.npz`` archive (stored members, ``np.savez``): one ``.npy`` member per state
tensor (``a0``, ``a1``, ...) and a ``__header__`` member, a UTF-8 JSON document::

    {"format": "mxlite-optimizer-states", "version": 1,
     "states": <node>, "optimizer": <node> | null}

A node is JSON ``null``/bool/number/string, or an object with one kind key:

==============================  ==============================================================
``{"nd": "a0", "ctx": "cpu(0)"}``  an NDArray (member ``a0``); ``{"np": "a1"}`` a NumPy array
``{"float": "nan"}``            a non-finite float (``"nan"``, ``"inf"``, ``"-inf"``)
``{"tuple": [...], "named": N}``  a tuple; ``named`` is a key of ``STATE_TYPES``
``{"list": [...]}``, ``{"dict": [[k, v], ...]}``  containers
``{"context": [type, id]}``     a :class:`~mxlite.context.Context`
``{"optimizer": N, "attrs": <dict node>}``  the optimizer registered under the exact name N
``{"object": N, "attrs": <dict node>}``  the lr scheduler class named N (``module:qualname``)
==============================  ==============================================================

Decoding looks every name up in a dict -- :data:`STATE_TYPES`, the optimizer registry, the lr
scheduler table -- and never imports or traverses attributes.  Objects are rebuilt by calling
their constructor with the hyperparameters found in ``attrs`` (so the constructor validates
them), then given the saved attributes, each of which must be one the fresh object declares and
of a compatible kind; a missing attribute fails at load.  NDArrays appear only in ``states``,
optimizers only at the top of ``optimizer``, schedulers only among an optimizer's attributes.

Bounds (see :mod:`mxlite.serialization.limits`): the header is read and validated before any
array member is inflated; every array member must be referenced by the header exactly once and
its declared shape must match the archive's declared size; compressed members may inflate to at
most ``MAX_INFLATED_BYTES`` in total; header size, nesting and node count are bounded.
"""

from __future__ import annotations

import inspect
import io
import json
import math
import warnings
import zipfile

import numpy as np

from ..base import MXNetError
from . import bounded_json, limits

__all__ = ["decode", "encode", "scheduler_table"]

FORMAT = "mxlite-optimizer-states"
VERSION = 1
HEADER = "__header__"
_NPY = ".npy"
_FLOATS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
_ARRAY_KINDS = set("biufc")
# constructor parameters never taken from saved attributes (rebuilt or set separately)
_NOT_CTOR = {"self", "sym", "param_dict", "lr_scheduler", "param_idx2name"}
# constructor parameter -> attribute holding its value
_ATTR_FOR_ARG = {"learning_rate": "lr", "base_lr": "_base_lr", "pwr": "power"}


def scheduler_table() -> dict[str, type]:
    """``"module:qualname" -> class`` of every registered lr scheduler (the names a state file
    may use for a scheduler)."""
    from .. import lr_scheduler

    return {f"{c.__module__}:{c.__qualname__}": c for c in lr_scheduler._registry._classes.values()}


def _optimizer_table() -> dict[str, type]:
    from ..optimizer.optimizer import _REGISTRY

    return _REGISTRY._classes


def _state_types() -> dict[str, type]:
    from ..optimizer.updater import STATE_TYPES

    return STATE_TYPES


# ------------------------------------------------------------------------------------ encoding
class _Encoder:
    def __init__(self):
        self.arrays: dict[str, np.ndarray] = {}
        self._schedulers = {cls: name for name, cls in scheduler_table().items()}

    def _store(self, a: np.ndarray) -> str:
        key = f"a{len(self.arrays)}"
        self.arrays[key] = np.ascontiguousarray(a)
        return key

    def encode(self, x):
        from ..context import Context
        from ..ndarray import NDArray
        from ..optimizer.optimizer import Optimizer

        if x is None or isinstance(x, (bool, str)):
            return x
        if isinstance(x, (int, np.integer)):
            return int(x)
        if isinstance(x, (float, np.floating)):
            x = float(x)
            return x if math.isfinite(x) else {"float": repr(x)}
        if isinstance(x, NDArray):
            return {"nd": self._store(x._data), "ctx": str(x.context)}
        if isinstance(x, np.ndarray):
            return {"np": self._store(x)}
        if isinstance(x, tuple):
            node = {"tuple": [self.encode(v) for v in x]}
            if hasattr(x, "_fields"):
                name = type(x).__name__
                if _state_types().get(name) is type(x):
                    node["named"] = name
            return node
        if isinstance(x, list):
            return {"list": [self.encode(v) for v in x]}
        if isinstance(x, dict):
            return {"dict": [[self.encode(k), self.encode(v)] for k, v in x.items()]}
        if isinstance(x, Context):
            return {"context": [x.device_type, x.device_id]}
        if isinstance(x, Optimizer):
            name = type(x).__name__.lower()
            if _optimizer_table().get(name) is not type(x):
                raise TypeError(
                    f"cannot save optimizer {type(x).__name__}: it is not registered "
                    "(use @mx.optimizer.Optimizer.register)"
                )
            return {"optimizer": name, "attrs": self.encode(x.__getstate__())}
        cls = type(x)
        name = self._schedulers.get(cls)
        if name is not None:
            return {"object": name, "attrs": self.encode(vars(x))}
        raise TypeError(
            f"cannot save {cls.__module__}.{cls.__qualname__} object in optimizer states: only "
            "arrays, numbers, strings, containers, registered lr schedulers and registered "
            "optimizers"
        )


def encode(states, optimizer=None) -> bytes:
    """The ``.npz`` bytes for ``states`` (and ``optimizer``, when given)."""
    enc = _Encoder()
    header = {
        "format": FORMAT,
        "version": VERSION,
        "states": enc.encode(states),
        "optimizer": enc.encode(optimizer) if optimizer is not None else None,
    }
    arrays = dict(enc.arrays)
    arrays[HEADER] = np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


# ------------------------------------------------------------------------------------ archive
class _Archive:
    """The members of an ``.npz`` archive, each read only on request and within bounds."""

    def __init__(self, data: bytes, source: str):
        self.source = source
        self.size = len(data)
        try:
            self.zf = zipfile.ZipFile(io.BytesIO(data))
            infos = self.zf.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError,
                NotImplementedError, KeyError) as err:
            raise self.error(f"cannot read states archive: {err}") from None
        self.members: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            name = info.filename
            if not name.endswith(_NPY) or name[:-4] in self.members:
                raise self.error(f"unexpected or duplicate archive member {name!r}")
            self.members[name[:-4]] = info
        self.inflated = 0

    def error(self, what: str) -> MXNetError:
        return MXNetError(f"{self.source}: {what}")

    def _open(self, key: str):
        try:
            return self.zf.open(self.members[key])
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError,
                RuntimeError) as err:
            raise self.error(f"cannot read archive member {key!r}: {err}") from None

    def read_array(self, key: str, max_nbytes: int | None = None) -> np.ndarray:
        """Member ``key``: npy header checked against the archive, then exactly its data."""
        info = self.members[key]
        compressed = info.compress_type != zipfile.ZIP_STORED
        try:
            with self._open(key) as f:
                version = np.lib.format.read_magic(f)
                if version == (1, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
                elif version in ((2, 0), (3, 0)):
                    shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
                else:
                    raise ValueError(f"npy format version {version}")
                if dtype.kind not in _ARRAY_KINDS or dtype.fields is not None or dtype.subdtype:
                    raise self.error(f"array {key!r} has dtype {dtype}, not a numeric dtype")
                nbytes = dtype.itemsize
                for d in shape:
                    nbytes *= d
                start = f.tell()
                if info.file_size != start + nbytes:
                    raise self.error(
                        f"array {key!r} of shape {shape} needs {nbytes} bytes, but the archive "
                        f"declares {info.file_size - start}"
                    )
                if max_nbytes is not None and nbytes > max_nbytes:
                    raise self.error(
                        f"{key!r} is {nbytes} bytes, more than the limit of {max_nbytes} "
                        "(mxlite.serialization.limits.MAX_HEADER_BYTES)"
                    )
                if compressed:
                    self.inflated += nbytes
                    if self.inflated > limits.MAX_INFLATED_BYTES:
                        raise self.error(
                            f"compressed members would inflate to {self.inflated} bytes, more "
                            "than mxlite.serialization.limits.MAX_INFLATED_BYTES = "
                            f"{limits.MAX_INFLATED_BYTES}"
                        )
                elif nbytes > self.size:
                    raise self.error(
                        f"array {key!r} declares {nbytes} bytes in a {self.size}-byte file"
                    )
                out = np.empty(shape, dtype=dtype, order="F" if fortran else "C")
                view = out.reshape(-1, order="A").view(np.uint8) if out.size else None
                got = 0
                while view is not None and got < nbytes:
                    n = f.readinto(view[got:])
                    if not n:
                        break
                    got += n
                if got != nbytes or f.read(1):
                    raise self.error(f"array {key!r} is truncated or has trailing data")
        except MXNetError:
            raise
        except (ValueError, OSError, EOFError, zipfile.BadZipFile, RuntimeError,
                NotImplementedError, MemoryError) as err:
            raise self.error(f"cannot read archive member {key!r}: {err}") from None
        if not dtype.isnative:
            out = out.astype(dtype.newbyteorder("="))
        return out


# ------------------------------------------------------------------------------------ decoding
def _kind(v) -> str:
    from ..context import Context
    from ..lr_scheduler import LRScheduler
    from ..ndarray import NDArray

    if v is None:
        return "none"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    if isinstance(v, str):
        return "str"
    if isinstance(v, (list, tuple)):
        return "sequence"
    if isinstance(v, dict):
        return "dict"
    if isinstance(v, LRScheduler):
        return "scheduler"
    if isinstance(v, Context):
        return "context"
    if isinstance(v, (NDArray, np.ndarray)):
        return "array"
    return type(v).__name__


def compatible(key: str, value, ref, strict: bool = True) -> bool:
    """Whether a saved attribute ``value`` may replace the declared value ``ref``: the same
    kind (an int where a float is declared is fine), or anything plain where None is declared;
    ``lr_scheduler`` holds a scheduler or None.  ``strict=False`` (MXNet pickles, whose
    attribute types differ a little from mxlite's) also lets None and ints/floats swap."""
    got, want = _kind(value), _kind(ref)
    if key == "lr_scheduler":
        return got in ("none", "scheduler")
    if key == "schedulers":
        return got == "sequence" and all(_kind(s) == "scheduler" for s in value)
    if got == want or (got == "int" and want == "float"):
        return True
    if "scheduler" in (got, want):
        return False
    if want == "none":
        return True
    if strict:
        return False
    return got == "none" or {got, want} == {"int", "float"}


def _ctor_kwargs(cls: type, attrs: dict, what: str, error, nullable: set | None = None) -> dict:
    """Constructor arguments of ``cls`` (its whole MRO) taken from the saved attributes;
    a required argument without a saved value is an error.  ``nullable`` receives the
    attributes of arguments whose default is None."""
    kwargs: dict = {}
    seen: set = set()
    first = True
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        more = False  # whether this __init__ passes **kwargs on to its base
        for name, param in inspect.signature(init).parameters.items():
            if param.kind is param.VAR_KEYWORD:
                more = True
            if name in _NOT_CTOR or name in seen or param.kind in (param.VAR_POSITIONAL,
                                                                   param.VAR_KEYWORD):
                continue
            seen.add(name)
            attr = _ATTR_FOR_ARG.get(name, name)
            if nullable is not None and param.default is None:
                nullable.add(attr)
            if attr in attrs:
                kwargs[name] = attrs[attr]
            elif first and param.default is param.empty:
                raise error(f"{what} lacks attribute {attr!r} (a required constructor argument)")
        first = False
        if not more:
            break
    return kwargs


class _Decoder:
    def __init__(self, archive: _Archive, header: dict):
        self.archive = archive
        self.source = archive.source
        self.nodes = 0
        self.arrays = self._load_arrays(header)

    def error(self, what: str) -> MXNetError:
        return MXNetError(f"{self.source}: {what}")

    # ---- arrays: every member referenced exactly once, read after the whole header is checked
    def _load_arrays(self, header: dict) -> dict[str, np.ndarray]:
        refs: list[str] = []
        stack = [header.get("states"), header.get("optimizer")]
        while stack:
            node = stack.pop()
            self._count()
            if isinstance(node, dict):
                for kind in ("nd", "np"):
                    if kind in node:
                        refs.append(node[kind])
                stack.extend(v for v in node.values() if isinstance(v, (dict, list)))
            elif isinstance(node, list):
                self._count(len(node))
                stack.extend(v for v in node if isinstance(v, (dict, list)))
        members = set(self.archive.members) - {HEADER}
        for key in refs:
            if not isinstance(key, str) or key not in members:
                raise self.error(f"header refers to missing array {key!r}")
        if len(set(refs)) != len(refs):
            dup = sorted({k for k in refs if refs.count(k) > 1})[:5]
            raise self.error(f"header refers to arrays {dup} more than once")
        unused = sorted(members - set(refs))
        if unused:
            raise self.error(f"archive members {unused[:5]} are not referenced by the header")
        self.nodes = 0
        return {key: self.archive.read_array(key) for key in sorted(refs)}

    def _count(self, n: int = 1):
        """Count ``n`` header nodes against ``MAX_OBJECTS`` (once before the arrays are read,
        once while decoding)."""
        self.nodes += n
        if self.nodes > limits.MAX_OBJECTS:
            raise self.error(
                f"header holds more than mxlite.serialization.limits.MAX_OBJECTS = "
                f"{limits.MAX_OBJECTS} nodes"
            )

    def decode(self, node, where: str, arrays: bool = False, schedulers: bool = False):
        """``node`` rebuilt; ``arrays``/``schedulers`` say whether those may appear here."""
        self._count()
        if node is None or isinstance(node, (bool, str)):
            return node
        if isinstance(node, (int, float)):
            if isinstance(node, float) and not math.isfinite(node):
                raise self.error(f"{where}: non-finite number {node!r}")
            return node
        if not isinstance(node, dict) or len(node) not in (1, 2):
            raise self.error(f"{where}: malformed header node {_short(node)}")
        keys = set(node)
        kind = next(k for k in ("nd", "np", "float", "tuple", "list", "dict", "context",
                                "optimizer", "object", "") if k in keys or not k)
        allowed = {"nd": {"nd", "ctx"}, "tuple": {"tuple", "named"}, "optimizer":
                   {"optimizer", "attrs"}, "object": {"object", "attrs"}}.get(kind, {kind})
        if not kind or not keys <= allowed or (kind in ("optimizer", "object") and keys != allowed):
            raise self.error(f"{where}: malformed header node {_short(node)}")
        value = node[kind]
        if kind in ("nd", "np"):
            if not arrays:
                raise self.error(f"{where}: an array is not allowed here")
            if kind == "nd":
                from ..ndarray import NDArray

                if not isinstance(node.get("ctx", ""), str):
                    raise self.error(f"{where}: malformed header node {_short(node)}")
                return NDArray(self.arrays[value])
            return self.arrays[value]
        if kind == "float":
            if not isinstance(value, str) or value not in _FLOATS:
                raise self.error(f"{where}: malformed float {_short(value)}")
            return _FLOATS[value]
        if kind in ("tuple", "list", "dict", "context") and not isinstance(value, list):
            raise self.error(f"{where}: malformed {kind} node {_short(node)}")
        if kind == "tuple":
            items = [self.decode(v, f"{where}[{i}]", arrays, schedulers)
                     for i, v in enumerate(value)]
            named = node.get("named")
            if named is None:
                return tuple(items)
            cls = _state_types().get(named) if isinstance(named, str) else None
            if cls is None:
                raise self.error(f"{where}: refusing unknown state type {_short(named)}")
            if len(items) != len(cls._fields):
                raise self.error(
                    f"{where}: {named} has fields {cls._fields}, got {len(items)} values"
                )
            return cls(*items)
        if kind == "list":
            return [self.decode(v, f"{where}[{i}]", arrays, schedulers)
                    for i, v in enumerate(value)]
        if kind == "dict":
            out = {}
            for i, pair in enumerate(value):
                if not isinstance(pair, list) or len(pair) != 2:
                    raise self.error(f"{where}: malformed dict entry {_short(pair)}")
                key = _hashable(self.decode(pair[0], f"{where} key {i}"))
                if not _is_key(key):
                    raise self.error(f"{where}: dict key {_short(key)} is not a number or string")
                out[key] = self.decode(pair[1], f"{where}[{key!r}]", arrays, schedulers)
            return out
        if kind == "context":
            from ..context import Context

            if len(value) != 2 or not isinstance(value[0], str) or type(value[1]) is not int:
                raise self.error(f"{where}: malformed context {_short(value)}")
            try:
                return Context(value[0], value[1])
            except (TypeError, ValueError) as err:
                raise self.error(f"{where}: invalid context {_short(value)}: {err}") from None
        if kind == "optimizer":
            raise self.error(f"{where}: an optimizer is not allowed here")
        # kind == "object": an lr scheduler
        if not schedulers:
            raise self.error(f"{where}: an object is not allowed here")
        cls = scheduler_table().get(value) if isinstance(value, str) else None
        if cls is None:
            raise self.error(f"{where}: refusing to rebuild object of {_short(value)} (not a "
                             "registered lr scheduler)")
        attrs = self._attrs(node["attrs"], f"{where} ({value})", schedulers=True)
        return self._construct(cls, attrs, f"{where}: lr scheduler {value}", optimizer=False)

    def _attrs(self, node, where: str, schedulers: bool) -> dict:
        attrs = self.decode(node, where, arrays=False, schedulers=schedulers)
        if not isinstance(attrs, dict) or not all(isinstance(k, str) for k in attrs):
            raise self.error(f"{where}: attributes must be a dict with string keys")
        return attrs

    def decode_optimizer(self, node):
        where = "optimizer"
        if not isinstance(node, dict) or set(node) != {"optimizer", "attrs"}:
            raise self.error(f"{where}: malformed optimizer node {_short(node)}")
        self._count()
        name = node["optimizer"]
        cls = _optimizer_table().get(name) if isinstance(name, str) else None
        if cls is None:
            raise self.error(f"refusing optimizer {_short(name)}: not a registered optimizer")
        attrs = self._attrs(node["attrs"], f"{where} {name!r}", schedulers=True)
        return self._construct(cls, attrs, f"optimizer {name!r}", optimizer=True)

    def _construct(self, cls: type, attrs: dict, what: str, optimizer: bool):
        """``cls`` built by its constructor from ``attrs``, then given the saved attributes."""
        from ..lr_scheduler import LRScheduler

        nullable: set = set()
        kwargs = _ctor_kwargs(cls, attrs, what, self.error, nullable)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fresh = cls(**kwargs)
        except (TypeError, ValueError, MXNetError, UserWarning) as err:
            raise self.error(f"{what} has invalid hyperparameters: {err}") from None
        declared = dict(fresh.__getstate__()) if optimizer else dict(vars(fresh))
        declared.pop("param_dict", None)
        missing = sorted(set(declared) - set(attrs))
        if missing:
            raise self.error(f"{what} lacks attributes {missing}")
        for key, value in attrs.items():
            if key in declared:
                ref = declared[key]
            elif key.startswith("__"):
                raise self.error(f"{what} has unknown attribute {key!r}")
            else:
                ref = inspect.getattr_static(cls, key, _ABSENT)
                if ref is _ABSENT or callable(ref) or isinstance(ref, (property, classmethod,
                                                                        staticmethod)):
                    raise self.error(f"{what} has unknown attribute {key!r}")
            if not (compatible(key, value, ref) or (value is None and key in nullable)):
                raise self.error(
                    f"{what}: attribute {key!r} is a {_kind(value)}, expected a {_kind(ref)}"
                )
        if optimizer:
            _check_counts(attrs, what, self.error)
            fresh.__setstate__(attrs)
            counts = fresh.__dict__.get("_all_index_update_counts")
            current = fresh.__dict__.get("_index_update_count")
            for dev in sorted(counts or {}, key=lambda d: (d != 0, str(d))):
                if counts[dev] == current:  # saved as two copies of one dict: share again
                    fresh._index_update_count = counts[dev]
                    break
        else:
            if not all(isinstance(s, LRScheduler) for s in attrs.get("schedulers", ())):
                raise self.error(f"{what}: schedulers must be lr schedulers")
            fresh.__dict__.update(attrs)
        return fresh


_ABSENT = object()


def _check_counts(attrs: dict, what: str, error) -> None:
    for key in ("num_update", "begin_num_update", "aggregate_num"):
        v = attrs.get(key)
        if type(v) is not int or v < 0:
            raise error(f"{what}: attribute {key!r} must be an integer >= 0, got {_short(v)}")
    counts = attrs.get("_all_index_update_counts")
    per = [attrs.get("_index_update_count")]
    if isinstance(counts, dict):
        per.extend(counts.values())
    else:
        raise error(f"{what}: attribute '_all_index_update_counts' must be a dict")
    for d in per:
        if not isinstance(d, dict) or not all(type(c) is int and c >= 0 for c in d.values()):
            raise error(f"{what}: update counts must be dicts of integers >= 0, got {_short(d)}")


def _hashable(k):
    if isinstance(k, list):
        return tuple(_hashable(v) for v in k)
    return k


def _is_key(k) -> bool:
    if isinstance(k, tuple):
        return all(_is_key(v) for v in k)
    return k is None or isinstance(k, (bool, int, float, str))


def _short(x, n: int = 80) -> str:
    text = repr(x)
    return text if len(text) <= n else text[:n] + "..."


def decode(data: bytes, source: str = "<states>"):
    """``states`` or ``(states, optimizer)`` from :func:`encode` bytes; MXNetError naming
    ``source`` for anything malformed, refused or beyond the limits."""
    archive = _Archive(data, source)
    if HEADER not in archive.members:
        raise archive.error("states archive has no header")
    raw = archive.read_array(HEADER, max_nbytes=limits.MAX_HEADER_BYTES)
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise archive.error("states archive header is not a 1-D uint8 array")
    try:
        text = raw.tobytes().decode("utf-8")
    except UnicodeDecodeError as err:
        raise archive.error(f"malformed header: {err}") from None
    header = bounded_json.loads(text, source, "states header")
    if not isinstance(header, dict):
        raise archive.error("malformed header: not a JSON object")
    if header.get("format") != FORMAT:
        raise archive.error(f"not an mxlite states archive: {_short(header.get('format'))}")
    if header.get("version") != VERSION:
        raise archive.error(f"unsupported states version {_short(header.get('version'))}")
    if set(header) - {"format", "version", "states", "optimizer"}:
        raise archive.error(f"unexpected header keys {sorted(set(header))}")
    dec = _Decoder(archive, header)
    states = dec.decode(header.get("states"), "states", arrays=True)
    if not isinstance(states, dict):
        raise archive.error(f"states must be a dict, got {type(states).__name__}")
    if header.get("optimizer") is not None:
        return states, dec.decode_optimizer(header["optimizer"])
    return states
