"""Atomic file writes: readers see the old file or the new one, never a torn one.

:func:`atomic_write` writes a temporary file next to the target, fsyncs it and renames it over
the target, so a crash or ``kill -9`` at any moment leaves the old file whole.  It behaves like
``open(path, "wb")`` in what it leaves behind:

* a new file gets ``0o666 & ~umask`` (the temporary file is created with mode ``0o666`` and the
  kernel applies the umask); a replaced file keeps its permission bits;
* a symlink is written through: its target is replaced and the link stays a link;
* temporary files are named ``.<target name>.<pid>.<random>.mxlite-tmp``; one left by a killed
  save (its process is gone, or it is older than a day) is removed by the next save of the same
  target;
* an ``OSError`` names the target, not the temporary file.
"""

from __future__ import annotations

import os
import re
import secrets
import time

__all__ = ["TEMP_SUFFIX", "atomic_write", "temp_files_of"]

TEMP_SUFFIX = ".mxlite-tmp"
_STALE_AGE_S = 24 * 3600


def _temp_pattern(base: str) -> re.Pattern:
    tail = re.escape(TEMP_SUFFIX)
    return re.compile(r"\." + re.escape(base) + r"\.(\d+)\.[0-9a-f]+" + tail + "$")


def temp_files_of(path: str | os.PathLike) -> list[str]:
    """Temporary files of saves of ``path`` (after symlinks) that are still on disk."""
    target = os.path.realpath(os.fspath(path))
    folder, base = os.path.split(target)
    pattern = _temp_pattern(base)
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    return sorted(os.path.join(folder, n) for n in names if pattern.match(n))


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _remove_stale(folder: str, base: str) -> None:
    pattern = _temp_pattern(base)
    try:
        names = os.listdir(folder)
    except OSError:
        return
    now = time.time()
    for name in names:
        m = pattern.match(name)
        if m is None:
            continue
        full = os.path.join(folder, name)
        try:
            old = now - os.lstat(full).st_mtime > _STALE_AGE_S
            if old or not _pid_alive(int(m.group(1))):
                os.unlink(full)
        except OSError:
            pass


def _named(err: OSError, target: str) -> OSError:
    """``err`` again, naming the target instead of the temporary file."""
    if err.errno is None:
        return type(err)(f"{err} (atomic write of {target!r})")
    return type(err)(err.errno, f"{err.strerror} (atomic write of {target!r})", target)


def atomic_write(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temporary file in the same folder, fsync, rename).

    On any error the temporary file is removed, ``path`` is left as it was, and the ``OSError``
    names ``path``.  See the module docstring for modes, symlinks and temporary names.

    >>> import os, tempfile
    >>> from mxlite.serialization import atomic_write
    >>> p = os.path.join(tempfile.mkdtemp(), "f.bin")
    >>> atomic_write(p, b"data")
    >>> open(p, "rb").read()
    b'data'
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"atomic_write: data must be bytes, got {type(data).__name__}")
    given = os.fspath(path)
    target = os.path.realpath(given)  # write through symlinks, as open() does
    folder, base = os.path.split(target)
    try:
        old_mode = os.stat(target).st_mode & 0o7777
    except FileNotFoundError:
        old_mode = None
    except OSError as err:
        raise _named(err, given) from None
    _remove_stale(folder, base)
    tmp = os.path.join(folder, f".{base}.{os.getpid()}.{secrets.token_hex(6)}{TEMP_SUFFIX}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
    except OSError as err:
        raise _named(err, given) from None
    try:
        try:
            if old_mode is not None:
                os.fchmod(fd, old_mode)
            with os.fdopen(fd, "wb") as f:
                fd = -1
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except OSError as err:
            raise _named(err, given) from None
    except BaseException:
        if fd >= 0:
            os.close(fd)
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:
        dfd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)
