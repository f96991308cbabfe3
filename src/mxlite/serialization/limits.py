"""The bounds every mxlite reader enforces on a file before it spends memory or time on it.

Each limit is a module attribute, read when a file is read, so a program that trusts its files
can raise one for the rest of the process::

    import mxlite as mx
    mx.serialization.limits.MAX_DENSIFIED_BYTES = 16 << 30   # 16 GiB of densified sparse data

or before start-up with the environment variable of the same name prefixed ``MXLITE_``
(``MXLITE_MAX_DENSIFIED_BYTES=17179869184``).  A file that exceeds a limit is refused with an
:class:`~mxlite.base.MXNetError` naming the file, the limit and its current value.

Limits
------
``MAX_HEADER_BYTES``
    Size of the JSON header of an ``.npz`` optimizer-state file (64 MiB).
``MAX_NESTING``
    Nesting depth of any JSON document (``.states`` header, symbol JSON) and of the objects in an
    unpickled ``.states`` file (100; real files nest fewer than 10 levels).
``MAX_OBJECTS``
    Number of objects a loaded state may hold, counting every reference to a shared object as
    often as a traversal meets it (1,000,000): a few bytes of pickle that share references can
    otherwise describe an exponentially large tree.
``MAX_INFLATED_BYTES``
    Bytes all *compressed* members of an ``.npz`` state file may inflate to (1 GiB).  mxlite
    writes stored (uncompressed) members, whose size is bounded by the file's own size.
``MAX_DENSIFIED_BYTES``
    Bytes the sparse (``row_sparse``/``csr``) arrays inside one pickled MXNet ``.states`` file
    may take once made dense (1 GiB): mxlite keeps optimizer states dense, and a 108-byte record
    can declare a 4 GiB array.  ``.params`` files need no such bound: their sparse records load
    as sparse arrays holding only the values they carry.  See :func:`check_densified`.
``MAX_SYMBOL_JSON_BYTES``
    Size of a symbol JSON document (256 MiB).
"""

from __future__ import annotations

import os

__all__ = [
    "MAX_DENSIFIED_BYTES", "MAX_HEADER_BYTES", "MAX_INFLATED_BYTES", "MAX_NESTING", "MAX_OBJECTS",
    "MAX_SYMBOL_JSON_BYTES", "check_densified",
]


def _env(name: str, default: int) -> int:
    raw = os.environ.get("MXLITE_" + name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(
            f"environment variable MXLITE_{name} must be an integer, got {raw!r}"
        ) from None
    if value < 0:
        raise ValueError(f"environment variable MXLITE_{name} must be >= 0, got {raw!r}")
    return value


MAX_HEADER_BYTES = _env("MAX_HEADER_BYTES", 64 << 20)
MAX_NESTING = _env("MAX_NESTING", 100)
MAX_OBJECTS = _env("MAX_OBJECTS", 1_000_000)
MAX_INFLATED_BYTES = _env("MAX_INFLATED_BYTES", 1 << 30)
MAX_DENSIFIED_BYTES = _env("MAX_DENSIFIED_BYTES", 1 << 30)
MAX_SYMBOL_JSON_BYTES = _env("MAX_SYMBOL_JSON_BYTES", 256 << 20)


def check_densified(total_bytes: int, what: str) -> str | None:
    """Why densifying sparse data to ``total_bytes`` (all sparse records of one file so far)
    is refused, or None when it is within ``MAX_DENSIFIED_BYTES``.

    This is the single place the densification limit is applied (sparse arrays in pickled
    optimizer states).
    """
    if total_bytes <= MAX_DENSIFIED_BYTES:
        return None
    return (
        f"{what} would take {total_bytes} bytes as dense arrays, more than "
        f"mxlite.serialization.limits.MAX_DENSIFIED_BYTES = {MAX_DENSIFIED_BYTES} (optimizer "
        "states are kept dense; raise the limit, or set MXLITE_MAX_DENSIFIED_BYTES, for a file "
        "you trust)"
    )
