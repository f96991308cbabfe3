"""The threading setup of mxlite.kernels.threads: passive OpenMP waits, one thread knob.

Each setup is checked in a fresh interpreter, because libgomp reads its wait policy once, when it
loads, and Numba's thread count is per process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from mxlite import _threading
from mxlite.kernels import threads

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
THREAD_VARS = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "MXLITE_NUM_THREADS", "OMP_NUM_THREADS",
               "NUMBA_THREADING_LAYER", "OPENBLAS_NUM_THREADS")

PROBE = """
import json, os, warnings
warnings.simplefilter("always")
PRELOAD
with warnings.catch_warnings(record=True) as caught:
    import mxlite.kernels as k
    from mxlite.operator.nn import _activation_kernels as a
    import numpy as np
    x = np.ones(1 << 16, np.float32)
    a.forward(0, x, 0.0, np.empty_like(x))  # a parallel kernel: the threading layer loads
from threadpoolctl import threadpool_info
blas = [i["num_threads"] for i in threadpool_info()
        if i["user_api"] == "blas" and "numpy" in i["filepath"]]  # the BLAS of np.matmul
print(json.dumps({"env": os.environ.get("OMP_WAIT_POLICY"), "info": k.threads.info(),
                  "blas": blas, "warnings": [str(w.message) for w in caught],
                  "gomp": k.threads.libgomp_loaded()}))
"""


def probe(env=None, preload=""):
    clean = {k: v for k, v in os.environ.items() if k not in THREAD_VARS}
    clean["PYTHONPATH"] = os.pathsep.join([SRC, clean.get("PYTHONPATH", "")])
    clean.update(env or {})
    out = subprocess.run([sys.executable, "-c", PROBE.replace("PRELOAD", preload)],
                         capture_output=True, text=True, env=clean, timeout=240, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_passive_wait_policy_is_set_before_openmp_loads():
    got = probe()
    assert got["env"] == "PASSIVE"
    assert got["info"]["wait_policy"] == "PASSIVE (mxlite)"
    assert not got["warnings"]
    assert got["info"]["numba_layer"] in ("omp", "tbb", "workqueue")


@pytest.mark.parametrize("var,value", [("OMP_WAIT_POLICY", "ACTIVE"), ("GOMP_SPINCOUNT", "1000")],
                         ids=["wait_policy", "spincount"])
def test_a_users_own_wait_setting_is_kept(var, value):
    got = probe({var: value})
    assert got["env"] == (value if var == "OMP_WAIT_POLICY" else None)
    assert got["info"]["wait_policy"] == f"{var}={value} (user)"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="libgomp detection is Linux's")
def test_warns_when_libgomp_was_loaded_first():
    import ctypes.util

    if ctypes.util.find_library("gomp") is None:
        pytest.skip("no libgomp on this machine")
    got = probe(preload="import ctypes; ctypes.CDLL('libgomp.so.1')")
    assert got["env"] is None  # too late to matter: not set, and said so
    assert got["info"]["wait_policy"] == "libgomp default (loaded before mxlite)"
    assert any("OMP_WAIT_POLICY=PASSIVE" in w for w in got["warnings"])


def test_mxlite_num_threads_caps_numba_and_blas():
    got = probe({"MXLITE_NUM_THREADS": "1"})
    assert got["info"]["numba_threads"] == 1
    assert got["info"]["blas_threads"] == 1
    assert set(got["blas"]) <= {1}


def test_omp_num_threads_caps_numba_only():
    got = probe({"OMP_NUM_THREADS": "1"})
    assert got["info"]["numba_threads"] == 1
    assert got["info"]["blas_threads"] is None  # OpenBLAS read the variable itself


@pytest.mark.parametrize("value,exc,match", [
    (0, ValueError, "num_threads must be >= 1, got 0"),
    (-3, ValueError, "num_threads must be >= 1, got -3"),
    (True, TypeError, "num_threads must be an int or None, got True"),
    (2.0, TypeError, "num_threads must be an int or None, got 2.0"),
], ids=["zero", "negative", "bool", "float"])
def test_configure_rejects_bad_counts(value, exc, match):
    with pytest.raises(exc, match=match):
        threads.configure(value)


@pytest.mark.parametrize("text,match", [
    ("two", "MXLITE_NUM_THREADS must be an integer, got 'two'"),
    ("0", "MXLITE_NUM_THREADS must be >= 1, got 0"),
], ids=["not_int", "zero"])
def test_configure_rejects_bad_environment(monkeypatch, text, match):
    monkeypatch.setenv("MXLITE_NUM_THREADS", text)
    with pytest.raises(ValueError, match=match):
        threads.configure()


def test_configure_sets_and_restores_the_count():
    import numba

    try:
        assert threads.configure(1) == 1
        assert threads.info()["blas_threads"] == 1
    finally:
        n = threads.configure(numba.config.NUMBA_NUM_THREADS)
    assert n == numba.config.NUMBA_NUM_THREADS


IDLE_PROBE = """
import json, statistics, sys, time
NUMPY_FIRST
import mxlite
import numpy as np
from mxlite import _threading
a = np.ones((600, 600), np.float32)
idle = []
for _ in range(5):
    a @ a  # a multi-threaded GEMM, then nothing: do OpenBLAS's threads keep burning CPU?
    c = time.process_time()
    time.sleep(0.05)
    idle.append(time.process_time() - c)
print(json.dumps({"state": _threading._state["blas_timeout"], "idle": statistics.median(idle)}))
"""


def idle_probe(numpy_first, env=None):
    clean = {k: v for k, v in os.environ.items()
             if k not in (*THREAD_VARS, "OPENBLAS_THREAD_TIMEOUT", "GOTO_THREAD_TIMEOUT")}
    clean["PYTHONPATH"] = os.pathsep.join([SRC, clean.get("PYTHONPATH", "")])
    clean.update(env or {})
    code = IDLE_PROBE.replace("NUMPY_FIRST", "import numpy" if numpy_first else "")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=clean,
                         timeout=240, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="OpenBLAS runs one thread on one core")
@pytest.mark.parametrize("numpy_first", [False, True], ids=["mxlite_first", "numpy_first"])
def test_openblas_threads_sleep_between_gemms(numpy_first):
    got = idle_probe(numpy_first)
    if numpy_first:
        assert got["state"].startswith(f"{_threading.BLAS_THREAD_TIMEOUT} (mxlite, ")
        assert "restarted" in got["state"]
    else:
        assert got["state"] == f"{_threading.BLAS_THREAD_TIMEOUT} (mxlite, before NumPy)"
    # spinning OpenBLAS threads burn 10-50 ms of CPU in a 50 ms pause; sleeping ones none
    assert got["idle"] < 0.005, got


def test_a_users_own_openblas_timeout_is_kept():
    got = idle_probe(False, {"OPENBLAS_THREAD_TIMEOUT": "12"})
    assert got["state"] == "OPENBLAS_THREAD_TIMEOUT=12 (user)"
