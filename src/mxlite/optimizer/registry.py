"""The optimizer registry: ``register``, ``create`` (by name, ``dumps()`` JSON or instance), the
JSON form of constructor arguments behind :meth:`Optimizer.dumps`, and :data:`STATE_TYPES`, the
one table of named state types.

:data:`STATE_TYPES` maps a state ``NamedTuple``'s class name to the class (``"AdamState"`` ->
:class:`~mxlite.optimizer.AdamState`), so that saved states load back with their field names.
An optimizer file fills it with :func:`register_state` (a class decorator); it is also readable
as ``mxlite.optimizer.updater.STATE_TYPES``, where the state-file codec looks it up.
"""

from __future__ import annotations

import inspect
import json

import numpy as np

from ..base import Registry
from .optimizer import Optimizer

__all__ = ["STATE_TYPES", "create", "register", "register_state"]

_REGISTRY = Registry(Optimizer, "optimizer")
Optimizer.opt_registry = _REGISTRY._classes

#: NamedTuple state classes by name, so that loaded states keep their field names
STATE_TYPES: dict[str, type] = {}


def register(klass):
    """Register an optimizer class under its lower-cased class name (a decorator)."""
    return _REGISTRY.register(klass)


def register_state(cls: type) -> type:
    """Register a ``NamedTuple`` state class in :data:`STATE_TYPES` (a class decorator).

    ValueError when another class already has that name (the name is what a file stores).
    """
    if not (isinstance(cls, type) and issubclass(cls, tuple) and hasattr(cls, "_fields")):
        raise TypeError(f"state types must be NamedTuple classes, got {cls!r}")
    old = STATE_TYPES.get(cls.__name__)
    if old is not None and old is not cls:
        raise ValueError(
            f"state type name {cls.__name__!r} is taken by {old.__module__}.{old.__qualname__}"
        )
    STATE_TYPES[cls.__name__] = cls
    return cls


def create(name, **kwargs):
    """Create an optimizer from a (case-insensitive) name, a :meth:`~Optimizer.dumps` JSON
    string or an instance; ValueError lists the known names."""
    if isinstance(name, str) and name.lstrip().startswith("["):
        try:
            spec = json.loads(name)
        except ValueError:
            spec = None  # the registry reports the malformed JSON
        if (isinstance(spec, list) and len(spec) == 2 and isinstance(spec[0], str)
                and isinstance(spec[1], dict)):
            params = _from_json_kwargs(spec[1])
            params.update(kwargs)
            return _REGISTRY.create(spec[0], **params)
    return _REGISTRY.create(name, **kwargs)


def registered_name(opt) -> str:
    """The name ``opt``'s class is registered under; ValueError when it is not registered."""
    cls = type(opt)
    name = cls.__name__.lower()
    if _REGISTRY._classes.get(name) is cls:
        return name
    for key, klass in _REGISTRY._classes.items():
        if klass is cls:
            return key
    raise ValueError(
        f"cannot dump optimizer {cls.__name__}: it is not registered "
        "(use @mx.optimizer.Optimizer.register)"
    )


def json_kwargs(opt):
    """``(constructor kwargs in JSON form, None)``, or ``(None, message)`` when one of them
    cannot be written."""
    if "_ctor_args" not in opt.__dict__:
        dumped = opt.__dict__.get("_ctor_dump")
        if dumped is not None:
            return dumped[0], dumped[1]
        return None, (
            f"cannot dump {type(opt).__name__}: its constructor arguments were not recorded "
            "(an optimizer restored from MXNet's pickled states)"
        )
    args, kwargs = opt._ctor_args
    try:
        named = _bind_ctor(type(opt), args, kwargs)
        return {k: _to_json(k, v) for k, v in named.items()}, None
    except ValueError as err:
        return None, str(err)


# --------------------------------------------------------------------------- dumps() helpers
def _bind_ctor(cls, args, kwargs) -> dict:
    """The constructor arguments of ``cls`` by name (``**kwargs`` flattened)."""
    if not args:
        return dict(kwargs)
    sig = inspect.signature(cls.__init__)
    try:
        bound = sig.bind(None, *args, **kwargs)
    except TypeError as err:
        raise ValueError(f"cannot dump {cls.__name__}: its arguments do not bind ({err})") from None
    params = sig.parameters
    named: dict = {}
    for i, (key, value) in enumerate(bound.arguments.items()):
        if i == 0:
            continue  # self
        kind = params[key].kind
        if kind is inspect.Parameter.VAR_KEYWORD:
            named.update(value)
        elif kind is inspect.Parameter.VAR_POSITIONAL:
            if value:
                raise ValueError(
                    f"cannot dump {cls.__name__}: positional arguments *{key}={value!r} have no "
                    "name to be written under"
                )
        else:
            named[key] = value
    return named


def _to_json(name: str, value, top: bool = True):
    """Constructor argument ``name`` in JSON form; ValueError naming it when there is none."""
    if value is None or isinstance(value, (bool, str, int, float)):
        return value
    if isinstance(value, np.generic) and isinstance(value.item(), (bool, int, float)):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_to_json(name, v, False) for v in value]
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {k: _to_json(name, v, False) for k, v in value.items()}
        if top and name == "param_idx2name" and all(
            isinstance(k, (int, str)) and not isinstance(k, bool) for k in value
        ):
            return [[k, _to_json(name, v, False)] for k, v in value.items()]
        raise ValueError(
            f"cannot dump optimizer argument {name}: dict keys {list(value)!r} are not strings"
        )
    if name == "lr_scheduler":
        raise ValueError(
            f"cannot dump optimizer argument lr_scheduler={value!r}: learning-rate schedulers "
            "have no JSON form; dump without it and pass lr_scheduler= to create() again"
        )
    raise ValueError(
        f"cannot dump optimizer argument {name}={value!r}: a {type(value).__name__} has no "
        "JSON form"
    )


def _from_json_kwargs(params: dict) -> dict:
    """Undo :func:`_to_json` where it changed a type: ``param_idx2name`` pairs back to a dict."""
    pairs = params.get("param_idx2name")
    if isinstance(pairs, list):
        table = {}
        for pair in pairs:
            if not (isinstance(pair, list) and len(pair) == 2
                    and isinstance(pair[0], (int, str)) and not isinstance(pair[0], bool)):
                raise ValueError(
                    f"param_idx2name must be a list of [index, name] pairs, got {pairs!r}"
                )
            table[pair[0]] = pair[1]
        params = dict(params, param_idx2name=table)
    return params
