"""Executor.reshape shares memory with the executor it came from, as MXNet 1.9.1's.

The expected values were read from MXNet 1.9.1 running the same programs: a FullyConnected of
ones with all-ones weights gives 4 per element, and each executor's writes show in the other's
arrays where they share a buffer.
"""

from __future__ import annotations

import numpy as np
import pytest

import mxlite as mx
from mxlite.base import MXNetError


def _fc_exe(grad_req="write", batch=5):
    x = mx.sym.Variable("x")
    y = mx.sym.FullyConnected(x, num_hidden=4, name="fc")
    exe = y.simple_bind(mx.cpu(), x=(batch, 4), grad_req=grad_req)
    exe.arg_dict["x"][:] = 1
    exe.arg_dict["fc_weight"][:] = 1
    exe.arg_dict["fc_bias"][:] = 0
    return exe


def test_smaller_input_is_a_view_and_parameters_are_the_same_arrays():
    exe = _fc_exe()
    small = exe.reshape(x=(3, 4))
    assert small.arg_dict["fc_weight"] is exe.arg_dict["fc_weight"]
    assert small.grad_dict["fc_weight"] is exe.grad_dict["fc_weight"]
    assert small.arg_dict["x"].shape == (3, 4)
    small.arg_dict["x"][:] = 2
    np.testing.assert_array_equal(exe.arg_dict["x"].asnumpy()[:, 0], [2, 2, 2, 1, 1])


def test_outputs_share_memory_both_ways():
    exe = _fc_exe()
    exe.forward()
    small = exe.reshape(x=(3, 4))
    # before any forward of its own, the new executor's output shows the old one's memory
    np.testing.assert_array_equal(small.outputs[0].asnumpy(), np.full((3, 4), 4.0))
    small.arg_dict["x"][:] = 2  # the first 3 rows of exe's x
    exe.outputs[0][:] = 0
    small.forward()
    np.testing.assert_array_equal(small.outputs[0].asnumpy(), np.full((3, 4), 8.0))
    np.testing.assert_array_equal(exe.outputs[0].asnumpy()[:, 0], [8, 8, 8, 0, 0])
    exe.arg_dict["x"][:] = 3
    exe.forward()
    np.testing.assert_array_equal(exe.outputs[0].asnumpy(), np.full((5, 4), 12.0))
    np.testing.assert_array_equal(small.outputs[0].asnumpy(), np.full((3, 4), 12.0))


def test_shared_output_before_the_first_forward_of_either():
    exe = _fc_exe(grad_req="null")
    small = exe.reshape(x=(3, 4))
    small.forward()
    np.testing.assert_array_equal(exe.outputs[0].asnumpy()[:, 0], [4, 4, 4, 0, 0])
    exe.forward()
    np.testing.assert_array_equal(small.outputs[0].asnumpy(), np.full((3, 4), 4.0))


def test_backward_of_the_new_executor_writes_the_shared_gradients():
    exe = _fc_exe()
    small = exe.reshape(x=(3, 4))
    small.arg_dict["x"][:] = 2
    small.forward(is_train=True)
    small.backward(mx.nd.ones((3, 4)))
    # MXNet 1.9.1: weight gradient 3 rows x 2 = 6; x's gradient view covers the first 3 rows
    np.testing.assert_array_equal(exe.grad_dict["fc_weight"].asnumpy(), np.full((4, 4), 6.0))
    np.testing.assert_array_equal(exe.grad_dict["x"].asnumpy()[:, 0], [4, 4, 4, 0, 0])


def test_up_sizing_allocates_new_input_and_output_arrays():
    exe = _fc_exe()
    exe.forward()
    big = exe.reshape(allow_up_sizing=True, x=(6, 4))
    assert big.arg_dict["fc_weight"] is exe.arg_dict["fc_weight"]
    big.arg_dict["x"][:] = 0
    np.testing.assert_array_equal(exe.arg_dict["x"].asnumpy(), np.ones((5, 4)))
    big.forward()
    assert big.outputs[0].shape == (6, 4)
    np.testing.assert_array_equal(big.outputs[0].asnumpy(), np.zeros((6, 4)))
    np.testing.assert_array_equal(exe.outputs[0].asnumpy(), np.full((5, 4), 4.0))


def test_partial_shaping_views_the_start_of_a_parameter():
    exe = _fc_exe()
    small = exe.reshape(partial_shaping=True, x=(3, 2))
    assert small.arg_dict["fc_weight"].shape == (4, 2)
    small.arg_dict["fc_weight"][:] = 7
    # MXNet 1.9.1: a (4, 2) view on the first 8 elements of the (4, 4) weight
    np.testing.assert_array_equal(exe.arg_dict["fc_weight"].asnumpy(),
                                  [[7] * 4, [7] * 4, [1] * 4, [1] * 4])


@pytest.mark.parametrize(
    "kwargs, match",
    [({"x": (6, 4)}, r"arg:x .*allow_up_sizing=True"),
     ({"x": (3, 5)}, r"arg:fc_weight changed .*partial_shaping=True"),
     ({"partial_shaping": True, "x": (3, 5)}, r"arg:fc_weight .*allow_up_sizing=True")],
    ids=["up-size", "unspecified-changes", "partial-but-larger"],
)
def test_refusals_name_the_array(kwargs, match):
    with pytest.raises(MXNetError, match=match):
        _fc_exe().reshape(**kwargs)


def test_module_outputs_after_reshape_stay_fresh_arrays():
    # the Module's executor group reshapes without sharing outputs: a slice of an output
    # that a caller kept (as iter_predict yields) is not overwritten by the next batch
    data = mx.sym.Variable("data")
    net = mx.sym.FullyConnected(data, num_hidden=2, name="fc")
    mod = mx.mod.Module(net, label_names=None)
    mod.bind(data_shapes=[("data", (4, 3))], for_training=False)
    mod.init_params(mx.init.One())
    batch = mx.io.DataBatch([mx.nd.ones((2, 3))])
    mod.forward(batch)
    kept = mod.get_outputs()[0][0:2]
    first = kept.asnumpy().copy()
    mod.forward(mx.io.DataBatch([mx.nd.zeros((2, 3))]))
    np.testing.assert_array_equal(kept.asnumpy(), first)
