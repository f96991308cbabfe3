"""The parallel one-pass kernels of same-shape float arithmetic (issue 13) equal NumPy's ufuncs
bit for bit, out of place and in place, below and above the parallel threshold; the executor's
elemwise ops and gradient sums run on them."""

import numpy as np
import pytest

import mxlite as mx
from mxlite.kernels import PARALLEL_THRESHOLD
from mxlite.operator.tensor import _elemwise_kernels as K

UFUNCS = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.true_divide}


@pytest.mark.parametrize("size", [1000, PARALLEL_THRESHOLD + 3], ids=["small", "parallel"])
@pytest.mark.parametrize("where", ["new", "in_place"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("kind", list(K.KINDS))
def test_kernel_equals_ufunc(kind, dtype, where, size):
    rng = np.random.default_rng(0)
    a = rng.standard_normal(size).astype(dtype)
    b = rng.standard_normal(size).astype(dtype)
    b[:5] = [0.0, -0.0, np.inf, np.nan, 1e-30]  # IEEE corners
    with np.errstate(all="ignore"):
        ref = UFUNCS[kind](a, b)
    out = a if where == "in_place" else np.empty_like(a)
    K.binary(K.KINDS[kind], a, b, out)
    np.testing.assert_array_equal(out, ref)
    assert K.applies(a, b, out) == (size >= PARALLEL_THRESHOLD)


def test_operator_table_matches_the_kernels():
    from mxlite.operator.tensor import elemwise

    assert elemwise._KERNEL_KINDS == K.KINDS


@pytest.mark.parametrize("op", ["elemwise_add", "elemwise_sub", "elemwise_mul", "elemwise_div"])
def test_executor_ops_and_in_place_lhs(op):
    """Bound ops give NumPy's numbers; add/sub write over a dead lhs (a FullyConnected's
    output) and keep giving them batch after batch."""
    data = mx.sym.Variable("data")
    lhs = mx.sym.FullyConnected(data, num_hidden=600, name="fc")
    rhs = mx.sym.Variable("rhs")
    net = mx.sym.MakeLoss(mx.sym.sum(getattr(mx.sym, op)(lhs, rhs)))
    exe = net.simple_bind(mx.cpu(), data=(512, 4), rhs=(512, 600))
    rng = np.random.default_rng(1)
    for name in ("fc_weight", "fc_bias"):
        exe.arg_dict[name][:] = rng.standard_normal(exe.arg_dict[name].shape)
    step = next(s for s in exe._steps if s.op.name == op)
    assert step.inplace == (op in ("elemwise_add", "elemwise_sub"))
    for _ in range(3):
        x = rng.standard_normal((512, 4)).astype(np.float32)
        r = rng.uniform(1, 2, (512, 600)).astype(np.float32)
        exe.arg_dict["data"][:] = x
        exe.arg_dict["rhs"][:] = r
        exe.forward(is_train=True)
        exe.backward()
        h = x @ exe.arg_dict["fc_weight"].asnumpy().T + exe.arg_dict["fc_bias"].asnumpy()
        want = UFUNCS[op.split("_")[1]](h, r).sum(dtype=np.float64)
        np.testing.assert_allclose(exe.outputs[0].asnumpy(), want, rtol=1e-4)
