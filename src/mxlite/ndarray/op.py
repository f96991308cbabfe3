"""Every registered operator as an ``mx.nd`` function running its forward pass (inference).

``mx.nd.FullyConnected(data, weight, bias, num_hidden=10)``: inputs positionally (in the
operator's argument order, auxiliary states last, as MXNet does) or by keyword, then parameters;
``out=`` receives the result.  Functions are created on first access through module
``__getattr__`` from :mod:`mxlite.operator.registry`.
"""

from __future__ import annotations

import functools

from ..base import MXNetError
from ..operator import registry
from ..operator._calls import split_call
from ..operator.registry import Params
from . import _malloc
from ._record import STATE as _AUTOGRAD
from ._record import record_node, tracked
from .ndarray import NDArray, _ctx_of

__all__: list[str] = []

_malloc.tune()  # freed step arrays stay in the heap (see ndarray/_malloc.py)


_SIMPLE = (str, int, float, bool, type(None))


def _param_key(kwargs: dict):
    """A hashable key for the parameters ``kwargs`` that tells apart values which compare equal
    but may parse differently (``1``, ``1.0``, ``True``), or None when a value is not a plain
    scalar or a tuple / list of them (such a call is parsed every time)."""
    key = []
    for k, v in kwargs.items():
        t = type(v)
        if t in _SIMPLE:
            key.append((k, t, v))
        elif t is tuple or t is list:
            for e in v:
                if type(e) not in _SIMPLE:
                    return None
            key.append((k, t, tuple((type(e), e) for e in v)))
        else:
            return None
    return tuple(key)


def _key_kwargs(pkey: tuple) -> dict:
    """The parameters a :func:`_param_key` key stands for."""
    return {k: (v if t not in (tuple, list) else t(e for _, e in v)) for k, t, v in pkey}


@functools.lru_cache(maxsize=1024)
def _layout(opname: str, n_inputs: int, pkey: tuple):
    """``(op, parsed params, number of arguments, mutable positions)`` of a call of
    ``opname`` on ``n_inputs`` positional NDArrays with the parameters of ``pkey``, or None
    when the inputs do not fill the operator's slots exactly (the full path then explains).

    Cached (bounded LRU) so that a training loop parses each layer's parameters once; the
    cached Params is never handed out, every call gets its own copy (:func:`invoke`)."""
    op = registry.get(opname)
    raw = {k: v for k, v in _key_kwargs(pkey).items()
           if v is not None or (k in op.params and op.params[k].optional)}
    if op.variadic:
        raw.setdefault(op.variadic, n_inputs)
    params = op.parse_params(raw)
    arg_names = op.arguments(params)
    if len(arg_names) + len(op.aux_states(params)) != n_inputs:
        return None
    return op, params, len(arg_names), tuple(op.mutable_inputs(params))


def invoke(opname: str, args: tuple, kwargs: dict, out=None, is_train: bool = False):
    """Run operator ``opname`` on NDArray inputs; returns an NDArray or a list of them.

    Training-mode behaviour (Dropout, BatchNorm) follows ``is_train`` or
    ``mx.autograd.is_training()``; inside ``mx.autograd.record()`` the call is recorded when an
    input takes part in a gradient computation.

    The usual call -- dense NDArray inputs, all positional, plain parameter values -- takes a
    fast path: its parsed parameters and input layout come from a cache (:func:`_layout`).
    """
    layout = None
    for a in args:
        if type(a) is not NDArray:
            break
    else:
        pkey = _param_key(kwargs)
        if pkey is not None:
            layout = _layout(opname, len(args), pkey)
    if layout is not None:
        op, cached, n_args, mutable = layout
        if registry._OPERATORS.get(opname) is not op:  # registered anew since: parse again
            _layout.cache_clear()
            return _invoke_full(opname, args, kwargs, out, is_train)
        params = Params(cached)._share()  # never shared between calls
        return _run(op, opname, params, args, n_args, mutable, out, is_train,
                    _AUTOGRAD.recording and tracked(args[:n_args]))
    return _invoke_full(opname, args, kwargs, out, is_train)


def _invoke_full(opname: str, args: tuple, kwargs: dict, out, is_train: bool):
    """:func:`invoke` for any call: keyword or sparse inputs, every check with its message."""
    op = registry.get(opname)
    inputs, nd_kwargs, raw = split_call(op, opname, args, kwargs, NDArray)
    if op.variadic:
        raw.setdefault(op.variadic, len(inputs))
    params = op.parse_params(raw)
    arg_names = op.arguments(params)
    slots = arg_names + op.aux_states(params)
    if len(inputs) > len(slots):
        raise MXNetError(f"{opname}: {len(inputs)} inputs given, it takes {len(slots)} {slots}")
    given = dict(zip(slots, inputs, strict=False))
    for key, value in nd_kwargs.items():
        if key not in slots:
            raise MXNetError(f"{opname}: unknown input {key!r}; inputs are {slots}")
        if key in given:
            raise MXNetError(f"{opname}: input {key!r} given twice")
        given[key] = value
    missing = [s for s in slots if s not in given]
    if missing:
        raise MXNetError(f"{opname}: required input(s) {missing} missing; inputs are {slots}")
    record = _AUTOGRAD.recording and tracked(given[s] for s in arg_names)
    if not record and any(type(given[s]) is not NDArray for s in slots):
        # a row_sparse / csr input: MXNet's storage inference picks the outputs' storage
        from .._storage_inference import invoke_sparse

        results = invoke_sparse(op, params, [given[s] for s in arg_names],
                                [given[s] for s in slots[len(arg_names):]],
                                is_train or _AUTOGRAD.training, _ctx_of(*given.values()))
        if out is not None:
            targets = out if isinstance(out, (list, tuple)) else [out]
            for t, r in zip(targets, results, strict=True):
                r.copyto(t)
            return out
        return results[0] if len(results) == 1 else results
    return _run(op, opname, params, [given[s] for s in slots], len(arg_names),
                op.mutable_inputs(params), out, is_train, record)


def _run(op, opname: str, params, inputs, n_args: int, mutable, out, is_train: bool,
         record: bool):
    """Forward ``op`` on dense NDArrays ``inputs`` (arguments, then auxiliary states), into
    ``out`` when given, recording the call when ``record``."""
    arrays = [x._data for x in inputs]
    for pos in mutable:  # imperative calls never write into their inputs
        arrays[pos] = arrays[pos].copy()
    outs, saved = op.forward(params, arrays[:n_args], arrays[n_args:],
                             is_train or _AUTOGRAD.training)
    ctx = inputs[0]._ctx if inputs else _ctx_of()
    if out is not None:
        targets = out if isinstance(out, (list, tuple)) else [out]
        if len(targets) != len(outs):
            raise ValueError(f"{opname}: out has {len(targets)} arrays for {len(outs)} outputs")
        for t, o in zip(targets, outs, strict=True):
            if not isinstance(t, NDArray):
                raise TypeError(f"{opname}: out must be an NDArray, got {type(t).__name__}")
            if t.shape != o.shape:
                raise ValueError(f"{opname}: out has shape {t.shape}, the result {o.shape}")
            t._data[...] = o
        if record:
            record_node(op, params, inputs[:n_args], arrays[:n_args], targets,
                        arrays[n_args:], saved)
        return out
    results = [NDArray(o, ctx) for o in outs]
    if record:
        record_node(op, params, inputs[:n_args], arrays[:n_args], results,
                    arrays[n_args:], saved)
    return results[0] if len(results) == 1 else results


def _function(opname: str):
    op = registry.get(opname)

    def fn(*args, out=None, name=None, **kwargs):
        return invoke(opname, args, kwargs, out=out)

    fn.__name__ = opname
    fn.__doc__ = (f"Operator ``{op.name}`` on NDArrays (forward, inference mode); parameters: "
                  + ", ".join(f"{k} ({v.kind})" for k, v in op.params.items()))
    return fn


def __getattr__(name: str):
    if name.startswith("__"):
        raise AttributeError(name)
    try:
        registry.get(name)
    except MXNetError:
        raise AttributeError(f"module 'mxlite.ndarray.op' has no attribute {name!r}") from None
    fn = _function(name)
    globals()[name] = fn
    return fn


def __dir__():
    return sorted(set(globals()) | set(registry.list_operators()))
