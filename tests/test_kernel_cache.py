"""Where compiled kernels are cached: beside the sources, a user directory, or NUMBA_CACHE_DIR."""

from __future__ import annotations

import json
import os
import pathlib
import stat
import subprocess
import sys
import textwrap

import pytest
from numba.core import config

from mxlite.kernels import _cache

SRC = pathlib.Path(_cache.PACKAGE_DIR)


@pytest.fixture
def dirs(tmp_path):
    """A writable and a read-only (``chmod a-w``) package directory."""
    rw = tmp_path / "rw"
    ro = tmp_path / "ro"
    rw.mkdir()
    ro.mkdir()
    ro.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP)
    yield {"rw": str(rw), "ro": str(ro), "missing": str(tmp_path / "missing")}
    ro.chmod(stat.S_IRWXU)


@pytest.fixture
def restore_cache_dir():
    saved = _cache.cache_dir()
    yield
    _cache.set_cache_dir(saved)


SELECT = [
    ("writable-package-in-tree", "rw", {"HOME": "/h"}, None),
    ("read-only-package-xdg", "ro", {"HOME": "/h", "XDG_CACHE_HOME": "/x"}, "/x/mxlite/numba"),
    ("read-only-package-home", "ro", {"HOME": "/h"}, "/h/.cache/mxlite/numba"),
    ("read-only-relative-xdg-ignored", "ro", {"HOME": "/h", "XDG_CACHE_HOME": "rel"},
     "/h/.cache/mxlite/numba"),
    ("read-only-empty-xdg-ignored", "ro", {"HOME": "/h", "XDG_CACHE_HOME": ""},
     "/h/.cache/mxlite/numba"),
    ("missing-package-dir", "missing", {"HOME": "/h"}, "/h/.cache/mxlite/numba"),
    ("numba-cache-dir-over-writable", "rw", {"HOME": "/h", "NUMBA_CACHE_DIR": "/n"}, "/n"),
    ("numba-cache-dir-over-read-only", "ro",
     {"HOME": "/h", "XDG_CACHE_HOME": "/x", "NUMBA_CACHE_DIR": "/n"}, "/n"),
    ("empty-numba-cache-dir-unset", "ro", {"HOME": "/h", "NUMBA_CACHE_DIR": ""},
     "/h/.cache/mxlite/numba"),
]


@pytest.mark.parametrize(("package", "environ", "expected"), [s[1:] for s in SELECT],
                         ids=[s[0] for s in SELECT])
def test_select_cache_dir(dirs, package, environ, expected):
    assert _cache.select_cache_dir(dirs[package], environ, platform="linux") == expected


PLATFORMS = [
    ("linux", {"HOME": "/h"}, "/h/.cache/mxlite/numba"),
    ("darwin", {"HOME": "/h", "XDG_CACHE_HOME": "/x"}, "/h/Library/Caches/mxlite/numba"),
    ("win32", {"HOME": "/h", "LOCALAPPDATA": "/L"}, os.path.join("/L", "mxlite", "Cache", "numba")),
]


@pytest.mark.parametrize(("platform", "environ", "expected"), PLATFORMS,
                         ids=[p[0] for p in PLATFORMS])
def test_user_cache_dir_per_platform(platform, environ, expected):
    assert _cache.user_cache_dir(environ, platform) == expected


def test_read_only_bits_count_even_for_root(dirs):
    # root may write anywhere; a tree made read-only on purpose must still be left alone
    assert _cache.is_writable(dirs["rw"])
    assert not _cache.is_writable(dirs["ro"])
    assert not _cache.is_writable(dirs["missing"])


def test_a_file_is_not_a_writable_directory(tmp_path):
    f = tmp_path / "f"
    f.write_text("")
    assert not _cache.is_writable(str(f))


def test_locator_goes_first():
    assert _cache._locator_classes()[0] is _cache.MxliteCacheLocator


def _own_function():
    return 1


def test_locator_moves_only_mxlite_functions(tmp_path, monkeypatch, restore_cache_dir):
    from mxlite.kernels import configure_threads

    monkeypatch.setattr(config, "CACHE_DIR", "")
    _cache.set_cache_dir(str(tmp_path))
    loc = _cache.MxliteCacheLocator.from_function(configure_threads,
                                                   configure_threads.__code__.co_filename)
    assert loc is not None
    assert pathlib.Path(loc.get_cache_path()).parent == tmp_path
    assert pathlib.Path(loc.get_cache_path()).name.startswith("kernels_")
    # user code in the same process keeps Numba's own locators
    assert _cache.MxliteCacheLocator.from_function(_own_function, __file__) is None


@pytest.mark.parametrize("case", ["in-tree", "numba-cache-dir"])
def test_locator_steps_aside(tmp_path, monkeypatch, restore_cache_dir, case):
    from mxlite.kernels import configure_threads

    if case == "in-tree":
        monkeypatch.setattr(config, "CACHE_DIR", "")
        _cache.set_cache_dir(None)
    else:
        monkeypatch.setattr(config, "CACHE_DIR", str(tmp_path / "n"))
        _cache.set_cache_dir(str(tmp_path / "u"))
    assert _cache.MxliteCacheLocator.from_function(
        configure_threads, configure_threads.__code__.co_filename) is None


_COMPILE = textwrap.dedent("""
    import json, sys, warnings
    import numpy as np
    from numba.core.errors import NumbaWarning
    warnings.simplefilter("error", NumbaWarning)  # a cache problem is a NumbaWarning
    from mxlite.kernels import _cache
    _cache.set_cache_dir(sys.argv[1])
    from mxlite.operator.tensor import reduce
    fn = reduce._kernel("_abs_and_square_sums")
    l1, l2 = fn(np.array([3.0, -4.0]))
    print(json.dumps({"l1": l1, "l2": l2, "hits": sum(fn.stats.cache_hits.values()),
                      "misses": sum(fn.stats.cache_misses.values())}))
""")


def test_kernels_cache_in_the_chosen_directory_and_load_from_it(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["PYTHONPATH"] = str(SRC.parent) + os.pathsep + env.get("PYTHONPATH", "")
    runs = []
    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", _COMPILE, str(tmp_path)], env=env,
                             capture_output=True, text=True, check=True)
        assert "warn" not in out.stderr.lower(), out.stderr
        runs.append(json.loads(out.stdout))
        indexes = sorted(p.name for p in tmp_path.rglob("*.nbi"))
        assert any(name.startswith("reduce._abs_and_square_sums") for name in indexes), indexes
    assert [r["l1"] for r in runs] == [7.0, 7.0] and [r["l2"] for r in runs] == [25.0, 25.0]
    assert runs[0]["misses"] == 1 and runs[0]["hits"] == 0
    assert runs[1]["misses"] == 0 and runs[1]["hits"] == 1


def test_every_cached_kernel_module_sets_up_the_cache_first():
    # a module that jits with cache=True before mxlite.kernels ran install() would cache in the
    # (possibly read-only) package tree; each must import mxlite.kernels first
    offenders = []
    for path in SRC.rglob("*.py"):
        text = path.read_text()
        if not ('"cache": True' in text or "cache=True" in text):
            continue
        if path.parent == SRC / "kernels" or path == SRC / "kernels" / "_cache.py":
            continue
        if not any(s in text for s in ("from ...kernels import", "from ..kernels import",
                                       "from ... import kernels", "from .. import kernels",
                                       "import mxlite.kernels", "from mxlite.kernels import",
                                       "from mxlite import kernels")):
            offenders.append(str(path.relative_to(SRC)))
    assert offenders == []
