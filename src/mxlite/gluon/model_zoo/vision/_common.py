"""Pieces shared by the model-zoo architectures."""

from __future__ import annotations

from ....base import MXNetError
from ... import nn
from ...block import HybridBlock


def no_pretrained(name: str, pretrained: bool) -> None:
    """``pretrained=True`` cannot fetch weights in mxlite: say how to load them."""
    if pretrained:
        raise MXNetError(
            f"{name}: pretrained weights are not downloaded by mxlite. Build the model with "
            f"pretrained=False and load MXNet's weight file with "
            f"net.load_parameters('<path>/{name}-<hash>.params').")


class Concurrent(HybridBlock):
    """Run every child on the same input and concatenate the outputs along ``axis`` (MXNet's
    ``contrib.nn.HybridConcurrent``)."""

    def __init__(self, axis=-1, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)
        self.axis = axis

    def add(self, *blocks):
        for block in blocks:
            self.register_child(block)

    def hybrid_forward(self, F, x):
        return F.concat(*[block(x) for block in self._children.values()], dim=self.axis)


class Identity(HybridBlock):
    """Returns its input."""

    def hybrid_forward(self, F, x):
        return x


def seq(prefix=""):
    return nn.HybridSequential(prefix=prefix)
