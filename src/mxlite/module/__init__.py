"""``mx.mod`` / ``mx.module``: :class:`Module` (a symbol bound to data, with parameters and an
optimizer), :class:`BaseModule` (the ``fit`` / ``score`` / ``predict`` loops),
:class:`BucketingModule`, :class:`SequentialModule`, :class:`PythonModule` and
:class:`PythonLossModule`."""

from __future__ import annotations

from .base_module import BaseModule
from .bucketing_module import BucketingModule
from .module import Module
from .python_module import PythonLossModule, PythonModule
from .sequential_module import SequentialModule

__all__ = ["BaseModule", "BucketingModule", "Module", "PythonLossModule", "PythonModule",
           "SequentialModule"]
