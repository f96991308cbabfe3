"""``Updater``: applies an optimizer by parameter index and keeps the states, safely serializable.

``get_states()`` returns bytes in mxlite's own format: an ``.npz`` archive (``np.savez``, read
back with ``allow_pickle=False``) whose arrays are the state tensors and whose ``__header__``
entry is a JSON document describing the structure (and, with ``dump_optimizer=True``, the
optimizer: its registered class name and attributes, update counts included).  Loading it never
runs code from the data: only registered optimizer classes and classes defined inside ``mxlite``
are rebuilt.  ``set_states`` also accepts MXNet's pickled ``.states`` bytes through
``mxlite._safe_pickle.safe_loads``, a restricted unpickler.
"""

from __future__ import annotations

import importlib
import io
import json
import math

import numpy as np

from ..base import MXNetError
from ..context import Context
from ..ndarray import NDArray
from .engine import FusedOptimizer
from .optimizer import Optimizer
from .registry import _REGISTRY, STATE_TYPES
from .validation import check_arrays, check_update_arrays

__all__ = ["STATE_TYPES", "Updater", "get_updater"]

_FORMAT = "mxlite-optimizer-states"
_VERSION = 1
_HEADER = "__header__"

# STATE_TYPES (NamedTuple state classes by name, so that loaded states keep their field names)
# is filled by registry.register_state and read here by the state codec


class Updater:
    """Applies ``optimizer`` to weights by index, creating and keeping their states.

    Call it as ``updater(index, grad, weight)`` or with lists of indices, gradients and weights;
    the list form hands same-dtype groups to the optimizer at once (``aggregate_num`` at a time
    for optimizers that aggregate, as MXNet).
    """

    def __init__(self, optimizer: Optimizer):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"optimizer must be an Optimizer, got {optimizer!r}")
        self.optimizer = optimizer
        self.states: dict = {}
        self.states_synced: dict = {}
        self.aggregate_updates = optimizer.aggregate_num > 0

    def __call__(self, index, grad, weight):
        opt = self.optimizer
        engine = isinstance(opt, FusedOptimizer) and not opt._custom_update()
        if (engine and not isinstance(index, (list, tuple, bytes)) and isinstance(weight, NDArray)
                and self.states_synced.get(index)):
            # per-index form with an existing state: straight to the engine
            opt._set_current_context(weight.context.device_id)
            opt._run(index, weight, grad, self.states[index], None, opt.use_fused_step)
            return
        if isinstance(index, (list, tuple)):
            indices = list(index)
            grads = list(grad)
            weights = list(weight)
            if not len(indices) == len(grads) == len(weights):
                raise ValueError(
                    f"index, grad and weight lists differ in length: {len(indices)}, "
                    f"{len(grads)}, {len(weights)}"
                )
        else:
            indices, grads, weights = [index], [grad], [weight]
        if not engine:  # the engine checks every pair itself
            for w, g in zip(weights, grads, strict=True):
                check_arrays(w, g)
        if weights and isinstance(weights[0], NDArray):
            opt._set_current_context(weights[0].context.device_id)
        states = self.states
        for i, idx in enumerate(indices):
            if isinstance(idx, bytes):
                idx = indices[i] = idx.decode()
            if idx not in states:
                if engine:  # before a state is made for it
                    check_update_arrays(weights[i], grads[i])
                states[idx] = opt.create_state_multi_precision(idx, weights[i])
                self.states_synced[idx] = True
            elif not self.states_synced[idx]:
                states[idx] = self.sync_state_context(states[idx], weights[i].context)
                self.states_synced[idx] = True
        if not engine:
            self._mxnet_way(indices, weights, grads)
            return
        members = list(zip(indices, weights, grads, strict=True))
        if opt.aggregate_num > 0:  # MXNet groups by dtype, then aggregates
            groups: dict = {}
            for m in members:
                groups.setdefault(m[1]._data.dtype, []).append(m)
            parts = list(groups.values())
        elif len({w._data.dtype for w in weights}) <= 1:
            parts = [members]
        else:  # mixed dtypes: index by index, in order, as MXNet
            parts = [[m] for m in members]
        for part in parts:
            idx = [c[0] for c in part]
            opt._run(idx, [c[1] for c in part], [c[2] for c in part], [states[i] for i in idx],
                     None, opt.use_fused_step, chunk=opt.aggregate_num)

    def _mxnet_way(self, indices, weights, grads):
        """MXNet's Updater: aggregate_num tensors per call for aggregating optimizers."""
        opt, states = self.optimizer, self.states
        if self.aggregate_updates:
            groups: dict = {}
            for i, w, g in zip(indices, weights, grads, strict=True):
                groups.setdefault(w._data.dtype, []).append((i, w, g))
            n = opt.aggregate_num
            for members in groups.values():
                for start in range(0, len(members), n):
                    chunk = members[start:start + n]
                    opt.update_multi_precision(
                        [c[0] for c in chunk], [c[1] for c in chunk], [c[2] for c in chunk],
                        [states[c[0]] for c in chunk],
                    )
        else:
            for i, w, g in zip(indices, weights, grads, strict=True):
                opt.update_multi_precision(i, w, g, states[i])

    def sync_state_context(self, state, context: Context):
        """Move ``state`` (an NDArray, or nested tuples/lists of them) to ``context``."""
        if isinstance(state, NDArray):
            return state.as_in_context(context)
        if isinstance(state, (tuple, list)):
            synced = [self.sync_state_context(s, context) for s in state]
            if isinstance(state, list):
                return synced
            if hasattr(state, "_fields"):
                return type(state)(*synced)
            return tuple(synced)
        return state

    # ------------------------------------------------------------------ serialization
    def get_states(self, dump_optimizer: bool = False) -> bytes:
        """The states as bytes (mxlite's safe ``.npz`` format); with ``dump_optimizer=True`` the
        optimizer (hyperparameters, schedule, update counts) is included."""
        enc = _Encoder()
        header = {
            "format": _FORMAT,
            "version": _VERSION,
            "states": enc.encode(self.states),
            "optimizer": enc.encode(self.optimizer) if dump_optimizer else None,
        }
        arrays = dict(enc.arrays)
        arrays[_HEADER] = np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        return buf.getvalue()

    def set_states(self, states: bytes) -> None:
        """Load states from :meth:`get_states` bytes, or from MXNet's pickled ``.states``."""
        if not isinstance(states, (bytes, bytearray, memoryview)):
            raise TypeError(f"states must be bytes, got {type(states).__name__}")
        data = bytes(states)
        # protocol >= 2 pickles start with PROTO (0x80); protocol 0/1 ones (MXNet under Python 2)
        # with MARK, EMPTY_DICT or EMPTY_LIST
        if data[:1] in (b"\x80", b"(", b"}", b"]"):
            loaded = _load_mxnet_pickle(data)
        elif data[:2] == b"PK":
            loaded = _load_npz(data)
        else:
            raise MXNetError(
                "set_states: unrecognized data (neither mxlite .npz states nor MXNet pickle); "
                f"starts with {data[:8]!r}"
            )
        if isinstance(loaded, tuple) and len(loaded) == 2 and isinstance(loaded[1], Optimizer):
            self.states, self.optimizer = loaded
            self.aggregate_updates = self.optimizer.aggregate_num > 0
        else:
            self.states = loaded
        if not isinstance(self.states, dict):
            raise MXNetError(f"set_states: states must be a dict, got {type(self.states).__name__}")
        self.states_synced = dict.fromkeys(self.states.keys(), False)


def get_updater(optimizer: Optimizer) -> Updater:
    """An :class:`Updater` for ``optimizer`` (MXNet's closure for the kvstore)."""
    return Updater(optimizer)


# --------------------------------------------------------------------------- the safe format
def _load_mxnet_pickle(data: bytes):
    try:
        from .._safe_pickle import safe_loads
    except ImportError:
        raise MXNetError(
            "set_states: these bytes are an MXNet pickle, and reading them needs "
            "mxlite._safe_pickle, which is not available in this installation"
        ) from None
    return safe_loads(data)


def _load_npz(data: bytes):
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except Exception as err:  # corrupt archive: say so plainly
        raise MXNetError(f"set_states: cannot read states archive: {err}") from None
    if _HEADER not in arrays:
        raise MXNetError("set_states: states archive has no header")
    try:
        header = json.loads(arrays.pop(_HEADER).tobytes().decode("utf-8"))
    except ValueError as err:
        raise MXNetError(f"set_states: malformed header: {err}") from None
    if header.get("format") != _FORMAT:
        raise MXNetError(f"set_states: not an mxlite states archive: {header.get('format')!r}")
    if header.get("version") != _VERSION:
        raise MXNetError(f"set_states: unsupported states version {header.get('version')!r}")
    dec = _Decoder(arrays)
    states = dec.decode(header["states"])
    if header.get("optimizer") is not None:
        return states, dec.decode(header["optimizer"])
    return states


class _Encoder:
    def __init__(self):
        self.arrays: dict[str, np.ndarray] = {}

    def _store(self, a: np.ndarray) -> str:
        key = f"a{len(self.arrays)}"
        self.arrays[key] = np.ascontiguousarray(a)
        return key

    def encode(self, x):
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
                if STATE_TYPES.get(name) is type(x):
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
            if _REGISTRY._classes.get(name) is not type(x):
                raise TypeError(
                    f"cannot save optimizer {type(x).__name__}: it is not registered "
                    "(use @mx.optimizer.Optimizer.register)"
                )
            return {"optimizer": name, "attrs": self.encode(x.__getstate__())}
        cls = type(x)
        if cls.__module__.split(".")[0] == "mxlite" and hasattr(x, "__dict__"):
            return {"object": f"{cls.__module__}:{cls.__qualname__}", "attrs": self.encode(vars(x))}
        raise TypeError(
            f"cannot save {cls.__module__}.{cls.__qualname__} object in optimizer states: only "
            "arrays, numbers, strings, containers, mxlite objects and registered optimizers"
        )


class _Decoder:
    def __init__(self, arrays: dict[str, np.ndarray]):
        self.arrays = arrays

    def _array(self, key):
        try:
            return self.arrays[key].copy()
        except KeyError:
            raise MXNetError(f"set_states: header refers to missing array {key!r}") from None

    def decode(self, node):
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):  # not produced by the encoder
            raise MXNetError(f"set_states: malformed header node {node!r}")
        if "nd" in node:
            return NDArray(self._array(node["nd"]))
        if "np" in node:
            return self._array(node["np"])
        if "float" in node:
            return float(node["float"])
        if "tuple" in node:
            items = [self.decode(v) for v in node["tuple"]]
            named = node.get("named")
            if named is not None and named in STATE_TYPES:
                return STATE_TYPES[named](*items)
            return tuple(items)
        if "list" in node:
            return [self.decode(v) for v in node["list"]]
        if "dict" in node:
            return {_hashable(self.decode(k)): self.decode(v) for k, v in node["dict"]}
        if "context" in node:
            kind, dev = node["context"]
            return Context(kind, dev)
        if "optimizer" in node:
            cls = _REGISTRY.find(node["optimizer"])
            obj = cls.__new__(cls)
            obj.__setstate__(self.decode(node["attrs"]))
            return obj
        if "object" in node:
            module, _, qualname = node["object"].partition(":")
            if module.split(".")[0] != "mxlite":
                raise MXNetError(f"set_states: refusing to rebuild object of {node['object']!r}")
            target = importlib.import_module(module)
            for part in qualname.split("."):
                target = getattr(target, part)
            if not isinstance(target, type):
                raise MXNetError(f"set_states: {node['object']!r} is not a class")
            obj = target.__new__(target)
            obj.__dict__.update(self.decode(node["attrs"]))
            return obj
        raise MXNetError(f"set_states: malformed header node {node!r}")


def _hashable(k):
    if isinstance(k, list):
        return tuple(_hashable(v) for v in k)
    return k
