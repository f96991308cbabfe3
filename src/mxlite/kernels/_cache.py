"""Where Numba keeps mxlite's compiled kernels on disk.

Every kernel is jitted with ``cache=True``, so a process loads machine code compiled by an earlier
one instead of compiling again (seconds per kernel family).  Numba writes that cache next to the
source, into each module's ``__pycache__``.  That suits a source checkout or an install the user
owns; for an install the user cannot (or must not) write to — a system-wide wheel, a container
image, a read-only ``site-packages`` — mxlite moves its kernels' cache to a per-user directory:

1. ``NUMBA_CACHE_DIR`` set: Numba's own rule wins, for every Numba function, mxlite's included.
2. the package directory is writable: Numba's default, ``__pycache__`` beside each kernel module.
3. otherwise: the user cache directory, :func:`user_cache_dir` (``$XDG_CACHE_HOME/mxlite/numba``,
   by default ``~/.cache/mxlite/numba``; ``~/Library/Caches/mxlite/numba`` on macOS,
   ``%LOCALAPPDATA%\\mxlite\\Cache\\numba`` on Windows).

"Writable" means the process may write there *and* the permission bits grant some write: a
package tree made read-only with ``chmod -R a-w`` stays untouched even for root, who could write
anyway.  Only functions whose source lies inside the mxlite package move; other Numba code in the
same process keeps Numba's behaviour.  :func:`install` hooks a cache locator into Numba; it runs
when :mod:`mxlite.kernels` is imported, before any kernel is compiled (every module with
``cache=True`` kernels imports :mod:`mxlite.kernels` first).
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Mapping

from numba.core import caching, config

__all__ = ["PACKAGE_DIR", "cache_dir", "install", "is_writable", "select_cache_dir",
           "set_cache_dir", "user_cache_dir"]

#: the installed ``mxlite`` package directory
PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))

# the directory the locator below caches into; None: Numba's own locators decide
_directory: str | None = None


def is_writable(path: str) -> bool:
    """Whether ``path`` is a directory this process may write to and whose permission bits grant
    some write (so a tree made read-only with ``chmod a-w`` counts as read-only even for root)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return (stat.S_ISDIR(mode) and bool(mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
            and os.access(path, os.W_OK))


def user_cache_dir(environ: Mapping[str, str] | None = None, platform: str | None = None) -> str:
    """The per-user directory for mxlite's compiled kernels (platformdirs conventions).

    Linux and other POSIX: ``$XDG_CACHE_HOME/mxlite/numba`` when ``XDG_CACHE_HOME`` is an absolute
    path (the XDG spec says to ignore a relative one), else ``~/.cache/mxlite/numba``; macOS:
    ``~/Library/Caches/mxlite/numba``; Windows: ``%LOCALAPPDATA%\\mxlite\\Cache\\numba``.
    ``~`` is ``$HOME`` of ``environ`` (default ``os.environ``).
    """
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    home = environ.get("HOME") or os.path.expanduser("~")
    if platform.startswith("win"):
        base = environ.get("LOCALAPPDATA") or os.path.join(home, "AppData", "Local")
        return os.path.join(base, "mxlite", "Cache", "numba")
    if platform == "darwin":
        return os.path.join(home, "Library", "Caches", "mxlite", "numba")
    xdg = environ.get("XDG_CACHE_HOME", "")
    base = xdg if os.path.isabs(xdg) else os.path.join(home, ".cache")
    return os.path.join(base, "mxlite", "numba")


def select_cache_dir(package_dir: str = PACKAGE_DIR, environ: Mapping[str, str] | None = None,
                     platform: str | None = None) -> str | None:
    """Where kernels compiled from ``package_dir`` are cached; ``None`` means in the tree
    (Numba's ``__pycache__`` beside each module).  The rules are in the module docstring."""
    environ = os.environ if environ is None else environ
    if environ.get("NUMBA_CACHE_DIR"):
        return environ["NUMBA_CACHE_DIR"]
    if is_writable(package_dir):
        return None
    return user_cache_dir(environ, platform)


def cache_dir() -> str | None:
    """The directory :func:`install` chose for this process (``None``: in the package tree, or
    ``NUMBA_CACHE_DIR``'s rule, which Numba applies itself)."""
    return _directory


def _within(path: str, directory: str) -> bool:
    path = os.path.realpath(path)
    return path.startswith(directory.rstrip(os.sep) + os.sep)


class MxliteCacheLocator(caching._SourceFileBackedLocatorMixin, caching._CacheLocator):
    """Numba cache locator for mxlite's own kernels when the package tree is not writable:
    caches into ``<cache_dir()>/<module dir>_<hash of its path>``, as Numba's user-wide locator
    lays out its cache."""

    def __init__(self, py_func, py_file):
        self._py_file = py_file
        self._lineno = py_func.__code__.co_firstlineno
        self._cache_path = os.path.join(_directory, self.get_suitable_cache_subpath(py_file))

    def get_cache_path(self):
        return self._cache_path

    @classmethod
    def from_function(cls, py_func, py_file):
        if _directory is None or config.CACHE_DIR or not _within(py_file, PACKAGE_DIR):
            return None
        return super().from_function(py_func, py_file)


def _locator_classes() -> list:
    impl = getattr(caching, "CacheImpl", None) or caching._CacheImpl  # Numba < 0.68: _CacheImpl
    return impl._locator_classes


def set_cache_dir(directory: str | None) -> None:
    """Cache mxlite's kernels in ``directory`` (``None``: leave it to Numba's default locators).

    Affects kernels jitted afterwards; :func:`install` calls it before any kernel is compiled.
    """
    global _directory
    _directory = None if directory is None else os.path.abspath(directory)
    classes = _locator_classes()
    if MxliteCacheLocator not in classes:
        classes.insert(0, MxliteCacheLocator)


def install() -> str | None:
    """Apply :func:`select_cache_dir` to this process (idempotent); returns :func:`cache_dir`."""
    set_cache_dir(None if os.environ.get("NUMBA_CACHE_DIR") else select_cache_dir())
    return _directory
