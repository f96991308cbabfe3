"""Automatic naming of symbols: ``NameManager`` and ``Prefix`` (``mx.name`` in MXNet).

An operator symbol created without ``name=`` is called ``<hint><n>``, where ``hint`` is the
lower-cased function name (``fullyconnected0``, ``_plusscalar1``) and ``n`` counts per hint within
the active manager.  ``with mx.name.Prefix("net_"):`` prefixes every operator name created inside.
"""

from __future__ import annotations

import threading

__all__ = ["NameManager", "Prefix", "current"]

_state = threading.local()


class _CurrentMeta(type):
    @property
    def current(cls) -> NameManager:
        return current()


class NameManager(metaclass=_CurrentMeta):
    """Hands out ``<hint><counter>`` names; a context manager making itself the current one."""

    def __init__(self):
        self._counter: dict[str, int] = {}
        self._old: NameManager | None = None

    def get(self, name: str | None, hint: str) -> str:
        """``name`` itself if given, else the next free ``<hint><n>``."""
        if name:
            return name
        hint = hint.lower()
        n = self._counter.get(hint, 0)
        self._counter[hint] = n + 1
        return f"{hint}{n}"

    def __enter__(self):
        self._old = current()
        _state.value = self
        return self

    def __exit__(self, *exc):
        _state.value = self._old
        self._old = None


class Prefix(NameManager):
    """A name manager that puts ``prefix`` in front of every name it returns."""

    def __init__(self, prefix: str):
        super().__init__()
        if not isinstance(prefix, str):
            raise TypeError(f"prefix must be a string, got {prefix!r}")
        self._prefix = prefix

    def get(self, name: str | None, hint: str) -> str:
        return self._prefix + super().get(name, hint)


def current() -> NameManager:
    """The active name manager of this thread."""
    mgr = getattr(_state, "value", None)
    if mgr is None:
        mgr = _state.value = NameManager()
    return mgr
