"""``AttrScope``: attributes attached to every symbol created inside a ``with`` block."""

from __future__ import annotations

import threading

__all__ = ["AttrScope", "current"]

_state = threading.local()


class AttrScope:
    """``with mx.AttrScope(ctx_group="dev1"):`` tags every symbol created inside.

    Values must be strings, as in MXNet.  Nested scopes merge, the inner one winning.
    """

    def __init__(self, **kwargs: str):
        for key, value in kwargs.items():
            if not isinstance(value, str):
                raise ValueError(f"AttrScope: attribute {key!r} must be a string, got {value!r}")
        self._attr = dict(kwargs)
        self._old: AttrScope | None = None

    def get(self, attr: dict | None) -> dict:
        """The scope's attributes updated with ``attr`` (which wins)."""
        if not self._attr:
            return dict(attr) if attr else {}
        out = dict(self._attr)
        if attr:
            out.update(attr)
        return out

    def __enter__(self):
        self._old = current()
        merged = AttrScope()
        merged._attr = {**self._old._attr, **self._attr}
        self._merged = merged
        _state.value = merged
        return self

    def __exit__(self, *exc):
        _state.value = self._old
        self._old = None


def current() -> AttrScope:
    scope = getattr(_state, "value", None)
    if scope is None:
        scope = _state.value = AttrScope()
    return scope
