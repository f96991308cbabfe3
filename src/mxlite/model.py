"""Checkpoints: ``prefix-symbol.json`` plus ``prefix-%04d.params`` (MXNet's file layout).

The ``.params`` file is a dict ``{'arg:<name>': NDArray, 'aux:<name>': NDArray}`` written with
:func:`mxlite.nd.save` (MXNet's binary format), so checkpoints move between mxlite and MXNet.

Usage (``net`` a Symbol, the params dicts of NDArrays)::

    mx.model.save_checkpoint('mlp', 3, net, arg_params, aux_params)
    net, arg_params, aux_params = mx.model.load_checkpoint('mlp', 3)
"""

from __future__ import annotations

import logging
from collections import namedtuple

__all__ = ["BatchEndParam", "load_checkpoint", "load_params", "save_checkpoint"]

BatchEndParam = namedtuple("BatchEndParams", ["epoch", "nbatch", "eval_metric", "locals"])
BatchEndParam.__doc__ = """What batch-end callbacks receive: ``epoch``, ``nbatch`` (0-based batch
index in the epoch), ``eval_metric`` and ``locals`` (the caller's local variables)."""


def _params_name(prefix, epoch) -> str:
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        raise ValueError(f"epoch must be a non-negative int, got {epoch!r}")
    return f"{prefix}-{epoch:04d}.params"


def _param_dict(arg_params, aux_params) -> dict:
    from . import cpu

    save_dict = {f"arg:{k}": v.as_in_context(cpu()) for k, v in arg_params.items()}
    save_dict.update({f"aux:{k}": v.as_in_context(cpu()) for k, v in aux_params.items()})
    return save_dict


def save_params(fname, arg_params, aux_params) -> None:
    """Write ``arg_params`` / ``aux_params`` to ``fname`` with ``arg:`` / ``aux:`` prefixes."""
    from . import ndarray as nd

    nd.save(fname, _param_dict(arg_params, aux_params))


def split_params(save_dict, fname="<params>") -> tuple[dict, dict]:
    """Split a loaded ``{'arg:x': ..., 'aux:y': ...}`` dict into ``(arg_params, aux_params)``."""
    if not isinstance(save_dict, dict):
        raise ValueError(f"Invalid param file {fname}: expected named arrays, got a list")
    arg_params: dict = {}
    aux_params: dict = {}
    for key, value in save_dict.items():
        kind, sep, name = key.partition(":")
        if not sep or kind not in ("arg", "aux"):
            raise ValueError(
                f"Invalid param file {fname}: key {key!r} does not start with 'arg:' or 'aux:'"
            )
        (arg_params if kind == "arg" else aux_params)[name] = value
    return arg_params, aux_params


def save_checkpoint(prefix, epoch, symbol, arg_params, aux_params, remove_amp_cast=True):
    """Write ``prefix-symbol.json`` (unless ``symbol`` is None) and ``prefix-%04d.params``."""
    if symbol is not None:
        symbol.save(f"{prefix}-symbol.json")
    param_name = _params_name(prefix, epoch)
    save_params(param_name, arg_params, aux_params)
    logging.info('Saved checkpoint to "%s"', param_name)


def load_params(prefix, epoch) -> tuple[dict, dict]:
    """``(arg_params, aux_params)`` from ``prefix-%04d.params``."""
    from . import ndarray as nd

    fname = _params_name(prefix, epoch)
    save_dict = nd.load(fname)
    if not save_dict:
        logging.warning("Params file '%s' is empty", fname)
        return {}, {}
    return split_params(save_dict, fname)


def load_checkpoint(prefix, epoch):
    """``(symbol, arg_params, aux_params)`` saved by :func:`save_checkpoint`."""
    from . import symbol as sym

    symbol = sym.load(f"{prefix}-symbol.json")
    arg_params, aux_params = load_params(prefix, epoch)
    return symbol, arg_params, aux_params


def __getattr__(name: str):
    # ``mx.model.FeedForward`` lives in its own file (it builds on mx.module, which imports us)
    if name == "FeedForward":
        from .feedforward import FeedForward

        return FeedForward
    raise AttributeError(f"module 'mxlite.model' has no attribute {name!r}")
