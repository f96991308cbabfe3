"""Keep the memory of freed arrays in the process heap between training steps (glibc only).

An imperative (non-hybridized) Gluon step allocates every activation, gradient and
temporary anew and frees them all at its end -- a few MB per step.  With glibc's default
settings the heap top is handed back to the kernel (``M_TRIM_THRESHOLD``) as soon as the step's
arrays are freed, and arrays above the mmap threshold are mapped and unmapped one by one, so the
next step page-faults all of that memory in again: measured here, a third of the CPU time of a
small CNN's step (conv + BatchNorm, batch 64) went to those faults.  The executor behind
Module and hybridized blocks reuses its arrays (a memory plan) and does not see this.

:func:`tune` raises the mmap threshold to ``MMAP_THRESHOLD`` (arrays up to 32 MB come from the
heap, glibc's own ceiling for its dynamic threshold) and lets the heap keep up to
``TRIM_THRESHOLD`` free bytes at its top, as a caching allocator does: the process may hold
that much more resident memory than it uses.  It is applied once when :mod:`mxlite.ndarray.op`
is imported; ``MXLITE_MALLOC_TUNE=0`` in the environment leaves malloc as it is.  Other C
libraries (musl, macOS, Windows) are left alone.
"""

from __future__ import annotations

import ctypes
import os

__all__ = ["MMAP_THRESHOLD", "TRIM_THRESHOLD", "tune"]

MMAP_THRESHOLD = 32 << 20
TRIM_THRESHOLD = 128 << 20
_M_TRIM_THRESHOLD = -1  # glibc's <malloc.h> option numbers
_M_MMAP_THRESHOLD = -3

_applied: bool | None = None


def tune(force: bool = False) -> bool:
    """Apply the settings above to glibc's malloc (once); True when they are in effect.

    Skipped (False) where the C library is not glibc or ``MXLITE_MALLOC_TUNE`` is ``0``;
    ``force`` applies them again (after other code changed them)."""
    global _applied
    if _applied is not None and not force:
        return _applied
    _applied = False
    if os.environ.get("MXLITE_MALLOC_TUNE", "1").strip() == "0":
        return False
    try:
        libc = os.confstr("CS_GNU_LIBC_VERSION") or ""
    except (AttributeError, ValueError, OSError):
        libc = ""
    if not libc.startswith("glibc"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    _applied = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and \
        bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return _applied
