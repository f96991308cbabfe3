"""Every registered operator as an ``mx.nd`` function running its forward pass (inference).

``mx.nd.FullyConnected(data, weight, bias, num_hidden=10)``: inputs positionally (in the
operator's argument order, auxiliary states last, as MXNet does) or by keyword, then parameters;
``out=`` receives the result.  Functions are created on first access through module
``__getattr__`` from :mod:`mxlite.operator.registry`.
"""

from __future__ import annotations

from ..base import MXNetError
from ..operator import registry
from ..operator._calls import split_call
from ._record import STATE as _AUTOGRAD
from ._record import record_node, tracked
from .ndarray import NDArray, _ctx_of

__all__: list[str] = []


def invoke(opname: str, args: tuple, kwargs: dict, out=None, is_train: bool = False):
    """Run operator ``opname`` on NDArray inputs; returns an NDArray or a list of them.

    Training-mode behaviour (Dropout, BatchNorm) follows ``is_train`` or
    ``mx.autograd.is_training()``; inside ``mx.autograd.record()`` the call is recorded when an
    input takes part in a gradient computation.
    """
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
    arrays = [given[s]._data for s in slots]
    for pos in op.mutable_inputs(params):  # imperative calls never write into their inputs
        arrays[pos] = arrays[pos].copy()
    n_args = len(arg_names)
    outs, saved = op.forward(params, arrays[:n_args], arrays[n_args:],
                             is_train or _AUTOGRAD.training)
    ctx = _ctx_of(*given.values())
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
            record_node(op, params, [given[s] for s in arg_names], arrays[:n_args], targets,
                        arrays[n_args:], saved)
        return out
    results = [NDArray(o, ctx) for o in outs]
    if record:
        record_node(op, params, [given[s] for s in arg_names], arrays[:n_args], results,
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
