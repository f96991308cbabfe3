"""JSON parsing with bounds: size and nesting are checked by an iterative scan before the
(recursive) parser runs, so a hostile document costs linear time and never a ``RecursionError``."""

from __future__ import annotations

import json
import re

from ..base import MXNetError
from . import limits

__all__ = ["loads"]

# strings (with escapes) and the brackets outside them
_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


def nesting_depth(raw: bytes, stop: int | None = None) -> int:
    """Deepest bracket nesting of a JSON text (brackets inside strings do not count); the scan
    ends as soon as the depth exceeds ``stop``."""
    depth = deepest = 0
    for m in _TOKENS.finditer(raw):
        c = m.group()
        if c in (b"[", b"{"):
            depth += 1
            if depth > deepest:
                deepest = depth
                if stop is not None and depth > stop:
                    break
        elif c in (b"]", b"}"):
            depth -= 1
    return deepest


def loads(text: str | bytes, source: str, what: str, max_bytes: int | None = None):
    """``json.loads(text)`` after checking size (``max_bytes``, default no limit) and nesting
    (:data:`limits.MAX_NESTING`); MXNetError naming ``source`` and ``what`` otherwise."""
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else bytes(text)
    if max_bytes is not None and len(raw) > max_bytes:
        raise MXNetError(
            f"{source}: {what} is {len(raw)} bytes, more than the limit of {max_bytes} "
            "(see mxlite.serialization.limits)"
        )
    if nesting_depth(raw, limits.MAX_NESTING) > limits.MAX_NESTING:
        raise MXNetError(
            f"{source}: {what} nests deeper than "
            f"mxlite.serialization.limits.MAX_NESTING = {limits.MAX_NESTING}"
        )
    try:
        return json.loads(text)
    except RecursionError:  # unreachable after the scan, kept as a guard
        raise MXNetError(f"{source}: {what} nests too deeply") from None
    except (ValueError, TypeError) as err:
        raise MXNetError(f"{source}: not a {what}: invalid JSON ({err})") from None
