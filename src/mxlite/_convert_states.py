"""``mxlite convert``: optimizer ``.states`` between mxlite's safe format and MXNet's pickle."""

from __future__ import annotations

from .base import atomic_write

__all__ = ["convert_states"]


def convert_states(src, dst, to: str = "mxnet") -> int:
    """Read ``src`` (either format; MXNet pickles are read safely) and write ``dst`` in ``to``
    (``"mxnet"`` or ``"mxlite"``); returns the number of states."""
    from .optimizer import SGD, get_updater

    if to not in ("mxnet", "mxlite"):
        raise ValueError(f"convert: 'to' must be 'mxnet' or 'mxlite', got {to!r}")
    with open(src, "rb") as f:
        data = f.read()
    updater = get_updater(SGD())
    updater.set_states(data)
    if to == "mxnet":
        from ._mxnet_states import dumps

        out = dumps(updater.states)
    else:
        out = updater.get_states(dump_optimizer=updater.optimizer is not None)
    atomic_write(dst, out)
    return len(updater.states)
