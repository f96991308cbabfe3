"""Small pieces of MXNet 1.9.1's surface its tests use: ``Context.default_ctx``,
``test_utils.effective_dtype`` and ``name=`` on ``mx.nd`` functions."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

import mxlite as mx


def test_context_default_ctx_is_the_current_context_and_deprecated():
    with pytest.warns(DeprecationWarning, match="default_ctx has been deprecated"):
        assert mx.Context.default_ctx == mx.cpu(0)
    with mx.cpu(3), pytest.warns(DeprecationWarning):
        assert mx.Context.default_ctx == mx.cpu(3)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "int32"])
def test_effective_dtype_is_the_arrays_dtype_on_the_cpu(dtype):
    assert mx.test_utils.effective_dtype(mx.nd.zeros((2,), dtype=dtype)) == np.dtype(dtype)
    assert mx.test_utils.effective_dtype(np.zeros(2, dtype=dtype)) == np.dtype(dtype)


@pytest.mark.parametrize("fn,args", [
    (mx.nd.concat, {"dim": 0}), (mx.nd.stack, {"axis": 1}), (mx.nd.ones_like, {}),
    (mx.nd.zeros_like, {}), (mx.nd.elemwise_add, {}), (mx.nd.sigmoid, {}),
], ids=["concat", "stack", "ones_like", "zeros_like", "elemwise_add", "sigmoid"])
@pytest.mark.parametrize("recording", [False, True], ids=["plain", "recorded"])
def test_nd_functions_take_and_ignore_a_node_name(fn, args, recording):
    a = mx.nd.array([1.0, 2.0])
    a.attach_grad()
    inputs = (a, a) if fn in (mx.nd.concat, mx.nd.stack, mx.nd.elemwise_add) else (a,)
    want = fn(*inputs, **args).asnumpy()
    with mx.autograd.record() if recording else contextlib.nullcontext():
        got = fn(*inputs, name="node", **args)
    np.testing.assert_array_equal(got.asnumpy(), want)
