"""``gluon.model_zoo``: the vision model constructors of MXNet 1.9.1 (architectures only)."""

from . import vision

__all__ = ["vision"]
