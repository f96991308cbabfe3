"""mx.util, mx.runtime, mx.base additions and quiet logging."""

import os
import subprocess
import sys
import textwrap

import pytest

import mxlite as mx
from mxlite.base import _as_list, integer_types, py_str


def test_np_shape_context_and_decorator():
    assert not mx.util.is_np_shape()
    with mx.np_shape(True):
        assert mx.is_np_shape()
        with mx.util.np_shape(False):
            assert not mx.util.is_np_shape()
        assert mx.util.is_np_shape()
    assert not mx.util.is_np_shape()

    @mx.util.use_np_shape
    def inside():
        return mx.util.is_np_shape()

    assert inside() and not mx.util.is_np_shape()
    with pytest.raises(TypeError, match="bool"):
        mx.util.set_np_shape(1)


def test_runtime_features():
    f = mx.runtime.Features()
    assert not f.is_enabled("cuda") and f.is_enabled("INT64_TENSOR_SIZE")
    assert "MKLDNN" in f and len(mx.runtime.feature_list()) == len(f)
    with pytest.raises(RuntimeError, match="unknown"):
        f.is_enabled("WARP_DRIVE")


@pytest.mark.parametrize("value, expected", [(b"ab", "ab"), ("ab", "ab"), (bytearray(b"x"), "x")])
def test_py_str(value, expected):
    assert py_str(value) == expected


def test_as_list_and_integer_types():
    assert _as_list(1) == [1] and _as_list((1, 2)) == [1, 2]
    import numpy as np

    assert isinstance(np.int64(3), integer_types)


def test_quiet_numba_under_debug_logging(tmp_path):
    script = textwrap.dedent("""
        import logging, sys
        logging.basicConfig(level=logging.DEBUG, stream=sys.stdout)
        import mxlite as mx
        print("NUMBA_LEVEL", logging.getLogger("numba").getEffectiveLevel())
        logging.getLogger("numba").setLevel(logging.DEBUG)
        import importlib; importlib.reload(mx.base); mx.base.quiet_loggers()
        print("ASKED_LEVEL", logging.getLogger("numba").getEffectiveLevel())
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env=env, timeout=120, check=True).stdout
    assert "NUMBA_LEVEL 30" in out  # WARNING
    assert "ASKED_LEVEL 10" in out  # an explicit setting is kept
