"""``mx.mod`` / ``mx.module``: :class:`Module` (a symbol bound to data, with parameters and an
optimizer) and :class:`BaseModule` (the ``fit`` / ``score`` / ``predict`` loops)."""

from __future__ import annotations

from .base_module import BaseModule
from .module import Module

__all__ = ["BaseModule", "Module"]
