"""``mx.profiler``: per-operator timings (MXNet 1.9.1's ``set_config`` / ``set_state`` /
``dump`` / ``dumps`` / ``pause`` / ``resume``).

While the state is ``'run'`` every registered operator's forward and backward is timed (in
executors, and in ``mx.nd`` calls that run an operator, ``mx.nd.FullyConnected`` ...; the
NDArray arithmetic methods compute directly and are not listed); backward passes are named
``_backward_<op>`` as in MXNet.
``dump()`` writes a Chrome trace (``chrome://tracing``) to the configured ``filename``;
``dumps()`` returns the aggregate table (or JSON) MXNet prints with ``aggregate_stats=True``.

>>> import mxlite as mx
>>> mx.profiler.set_config(profile_all=True, aggregate_stats=True, filename="/tmp/p.json")
>>> mx.profiler.set_state("run")
>>> _ = mx.nd.Activation(mx.nd.ones((2, 2)), act_type="relu")
>>> mx.profiler.set_state("stop")
>>> "Activation" in mx.profiler.dumps(reset=True)
True
"""

from __future__ import annotations

import json
import threading
import time

from .base import MXNetError, atomic_write

__all__ = ["dump", "dumps", "pause", "resume", "set_config", "set_state"]

_CONFIG_KEYS = {
    "profile_all", "profile_symbolic", "profile_imperative", "profile_memory", "profile_api",
    "filename", "continuous_dump", "dump_period", "aggregate_stats", "profile_process",
    "profile_kvstore", "gpu_memory_profile_filename_prefix", "profile_operator",
}

_lock = threading.Lock()
_config = {"filename": "profile.json", "aggregate_stats": False}
_state = {"running": False, "paused": False}
_events: list = []  # (name, start_us, duration_us, thread id)
_stats: dict = {}  # name -> [count, total_ms, min_ms, max_ms]
_patched: dict = {}  # operator instance id -> (instance, original forward, original backward)
_t0 = time.perf_counter()


def set_config(**kwargs) -> None:
    """Configure the profiler (``filename``, ``aggregate_stats``, ``profile_all``, ...)."""
    unknown = set(kwargs) - _CONFIG_KEYS
    if unknown:
        raise MXNetError(f"profiler.set_config: unknown options {sorted(unknown)}; known: "
                         f"{sorted(_CONFIG_KEYS)}")
    if "filename" in kwargs and not isinstance(kwargs["filename"], str):
        raise TypeError(f"profiler.set_config: filename must be a str, got "
                        f"{kwargs['filename']!r}")
    _config.update(kwargs)


def _record(name: str, start: float, end: float) -> None:
    if _state["paused"]:
        return
    dur_ms = (end - start) * 1e3
    with _lock:
        _events.append((name, (start - _t0) * 1e6, dur_ms * 1e3, threading.get_ident()))
        entry = _stats.get(name)
        if entry is None:
            _stats[name] = [1, dur_ms, dur_ms, dur_ms]
        else:
            entry[0] += 1
            entry[1] += dur_ms
            entry[2] = min(entry[2], dur_ms)
            entry[3] = max(entry[3], dur_ms)


def _timed(fn, name: str):
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            _record(name, start, time.perf_counter())

    return wrapper


def _install() -> None:
    from .operator import registry

    registry.get("_copy")  # loads the built-in operators
    for op in set(registry._OPERATORS.values()):
        if id(op) in _patched:
            continue
        fwd, bwd = op.forward, op.backward
        _patched[id(op)] = (op, fwd, bwd)
        op.forward = _timed(fwd, op.name)
        op.backward = _timed(bwd, f"_backward_{op.name}")


def _uninstall() -> None:
    for op, _, _ in _patched.values():
        # the instance attributes shadow the class methods; removing them restores those
        op.__dict__.pop("forward", None)
        op.__dict__.pop("backward", None)
    _patched.clear()


def set_state(state="stop", profile_process="worker") -> None:
    """``'run'`` starts timing operators, ``'stop'`` stops (and, with ``continuous_dump``,
    dumps)."""
    if state not in ("run", "stop"):
        raise ValueError(f"profiler.set_state: state must be 'run' or 'stop', got {state!r}")
    if state == "run" and not _state["running"]:
        _install()
        _state["running"] = True
    elif state == "stop" and _state["running"]:
        _uninstall()
        _state["running"] = False
        if _config.get("continuous_dump"):
            dump(finished=False)


def pause(profile_process="worker") -> None:
    """Stop recording (operators stay instrumented) until :func:`resume`."""
    _state["paused"] = True


def resume(profile_process="worker") -> None:
    """Record again after :func:`pause`."""
    _state["paused"] = False


def dump(finished=True, profile_process="worker") -> None:
    """Write the recorded events as a Chrome trace to the configured ``filename``."""
    with _lock:
        events = [{"name": name, "cat": "operator", "ph": "X", "ts": round(ts, 3),
                   "dur": round(dur, 3), "pid": 0, "tid": tid}
                  for name, ts, dur, tid in _events]
        if finished:
            _events.clear()
    trace = {"traceEvents": events, "displayTimeUnit": "ms"}
    atomic_write(_config["filename"], json.dumps(trace, indent=1).encode("utf-8"))


def dumps(reset=False, format="table", sort_by="total", ascending=False) -> str:
    """The aggregate statistics per operator: MXNet's table (``format='table'``) or JSON."""
    keys = {"total": 1, "avg": None, "min": 2, "max": 3, "count": 0}
    if format not in ("table", "json"):
        raise ValueError(f"profiler.dumps: format must be 'table' or 'json', got {format!r}")
    if sort_by not in keys:
        raise ValueError(f"profiler.dumps: sort_by must be one of {sorted(keys)}, got "
                         f"{sort_by!r}")
    with _lock:
        stats = {k: list(v) for k, v in _stats.items()}
        if reset:
            _stats.clear()

    def key(item):
        count, total = item[1][0], item[1][1]
        return total / count if keys[sort_by] is None else item[1][keys[sort_by]]

    rows = sorted(stats.items(), key=key, reverse=not ascending)
    if format == "json":
        return json.dumps({
            "Time": {"operator": {
                name: {"Count": c, "Total": t, "Min": lo, "Max": hi, "Avg": t / c}
                for name, (c, t, lo, hi) in rows}},
            "Unit": {"Time": "ms"},
        })
    lines = ["", "Profile Statistics:", "\tNote the difference in units for different entries.",
             "operator", "=================",
             f"{'Name':<40}{'Total Count':>12}{'Time (ms)':>16}{'Min Time (ms)':>16}"
             f"{'Max Time (ms)':>16}{'Avg Time (ms)':>16}",
             f"{'----':<40}{'-----------':>12}{'---------':>16}{'-------------':>16}"
             f"{'-------------':>16}{'-------------':>16}"]
    for name, (c, t, lo, hi) in rows:
        lines.append(f"{name:<40}{c:>12}{t:>16.4f}{lo:>16.4f}{hi:>16.4f}{t / c:>16.4f}")
    return "\n".join(lines) + "\n"
