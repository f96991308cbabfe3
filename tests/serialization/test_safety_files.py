"""Files mxlite writes: atomic, with open()'s mode, through symlinks, no temp files left behind,
errors naming the target -- and whole under repeated kill -9 in the middle of a save."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
import time

import pytest

import mxlite as mx
from mxlite.serialization import atomic_write
from mxlite.serialization.atomic import TEMP_SUFFIX, temp_files_of


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask():
    old = os.umask(0o022)
    yield lambda m: os.umask(m)
    os.umask(old)


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002, 0o000], ids=oct)
def test_new_file_gets_open_mode(tmp_path, umask, mask):
    umask(mask)
    atomic_write(tmp_path / "f.bin", b"x")
    with open(tmp_path / "ref.bin", "wb") as f:
        f.write(b"x")
    assert _mode(tmp_path / "f.bin") == 0o666 & ~mask == _mode(tmp_path / "ref.bin")


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o644, 0o664], ids=oct)
def test_replaced_file_keeps_its_mode(tmp_path, umask, mode):
    umask(0o077)
    path = tmp_path / "f.bin"
    path.write_bytes(b"old")
    os.chmod(path, mode)
    atomic_write(path, b"new")
    assert path.read_bytes() == b"new" and _mode(path) == mode


@pytest.mark.parametrize(
    "save",
    [
        lambda p: mx.nd.save(p, {"w": mx.nd.ones((2,))}),
        lambda p: mx.sym.var("x").save(p),
        lambda p: atomic_write(p, b"raw"),
    ],
    ids=["nd.save", "Symbol.save", "atomic_write"],
)
def test_save_writes_through_symlink(tmp_path, save):
    target = tmp_path / "real" / "file"
    target.parent.mkdir()
    target.write_bytes(b"old")
    os.chmod(target, 0o640)
    link = tmp_path / "link"
    link.symlink_to(target)
    save(str(link))
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_bytes() != b"old" and _mode(target) == 0o640
    assert sorted(os.listdir(tmp_path)) == ["link", "real"]
    assert os.listdir(target.parent) == ["file"]


def test_dangling_symlink_creates_target(tmp_path):
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "new")
    atomic_write(link, b"x")
    assert link.is_symlink() and (tmp_path / "new").read_bytes() == b"x"


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_temps_of_the_target_are_removed(tmp_path):
    path = tmp_path / "f.bin"
    stale = tmp_path / f".f.bin.{_dead_pid()}.0123456789ab{TEMP_SUFFIX}"
    live = tmp_path / f".f.bin.{os.getppid()}.0123456789ab{TEMP_SUFFIX}"  # a running writer
    other = tmp_path / f".g.bin.{_dead_pid()}.0123456789ab{TEMP_SUFFIX}"  # another target's
    old = tmp_path / f".f.bin.{os.getppid()}.00000000000a{TEMP_SUFFIX}"
    for p in (stale, live, other, old):
        p.write_bytes(b"partial")
    os.utime(old, (time.time() - 2 * 86400,) * 2)
    assert temp_files_of(path) == sorted(str(p) for p in (stale, live, old))
    atomic_write(path, b"x")
    assert not stale.exists() and not old.exists()
    assert live.exists() and other.exists()
    assert temp_files_of(path) == [str(live)]


def test_temp_names_are_recognisable(tmp_path, monkeypatch):
    seen = []
    real_replace = os.replace

    def spy(src, dst):
        seen.append(os.path.basename(src))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    atomic_write(tmp_path / "w.params", b"x")
    (name,) = seen
    assert name.startswith(".w.params.") and name.endswith(TEMP_SUFFIX)


@pytest.mark.parametrize("where", ["open", "replace"])
def test_errors_name_the_target(tmp_path, monkeypatch, where):
    path = tmp_path / "f.bin"
    real_open = os.open

    def ro_open(p, *a, **k):
        if str(p).endswith(TEMP_SUFFIX):
            raise OSError(errno.EROFS, "Read-only file system", p)
        return real_open(p, *a, **k)

    def ro_replace(src, dst):
        raise OSError(errno.EROFS, "Read-only file system", src)

    monkeypatch.setattr(os, where, ro_open if where == "open" else ro_replace)
    with pytest.raises(OSError, match="Read-only file system") as info:
        atomic_write(path, b"x")
    assert info.value.errno == errno.EROFS
    assert info.value.filename == str(path)
    assert TEMP_SUFFIX not in str(info.value)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_unwritable_folder_error_names_target(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    os.chmod(folder, 0o500)
    try:
        with pytest.raises(PermissionError) as info:
            mx.nd.save(str(folder / "w.params"), [mx.nd.ones((1,))])
        assert info.value.filename == str(folder / "w.params")
    finally:
        os.chmod(folder, 0o700)


_KILLER = """
import json, os, random, signal, sys, time
import numpy as np
import mxlite as mx
from mxlite.serialization.atomic import temp_files_of
path, kills = sys.argv[1], int(sys.argv[2])
random.seed(0)
mx.nd.save(path, {"w": mx.nd.zeros((1 << 18,))})
torn, left = 0, 0
for k in range(kills):
    pid = os.fork()
    if pid == 0:  # the writer: saves until killed
        i = 0
        while True:
            i += 1
            mx.nd.save(path, {"w": mx.nd.array(np.full((1 << 18,), i, dtype=np.float32))})
    time.sleep(random.uniform(0.005, 0.05))
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    left += len(temp_files_of(path))  # killed mid-save: its temp file is still there
    w = mx.nd.load(path)["w"].asnumpy()
    torn += not (w.shape == (1 << 18,) and np.all(w == w[0]))
mx.nd.save(path, {"w": mx.nd.ones((1,))})  # the next save removes the killed saves' temps
print(json.dumps({"torn": torn, "left": left, "after": len(temp_files_of(path)),
                  "files": sorted(os.listdir(os.path.dirname(path)))}))
"""


def test_kill_during_save_leaves_a_whole_file_and_no_temps(tmp_path):
    import json

    path = str(tmp_path / "w.params")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    kills = 30
    out = subprocess.run([sys.executable, "-c", _KILLER, path, str(kills)], capture_output=True,
                         text=True, env=env, timeout=120, check=True).stdout
    report = json.loads(out.splitlines()[-1])
    assert report["torn"] == 0  # every kill left the old file or the new one, whole
    assert report["left"] > 0  # some kills did land in the middle of a save
    assert report["after"] == 0 and report["files"] == ["w.params"]
