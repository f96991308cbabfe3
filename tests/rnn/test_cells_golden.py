"""Unrolled mx.rnn cells match MXNet 1.9.1: names, outputs and gradients from fixed weights."""

import numpy as np
import pytest

import mxlite as mx

from ._golden import META, arrays, spec

CASES = {case[0]: case for case in spec.CELL_CASES}


def _unrolled(cid):
    return spec.unroll_case(mx, CASES[cid])


@pytest.mark.parametrize("cid", sorted(CASES))
def test_names_match_mxnet(cid):
    cell, group, _ = _unrolled(cid)
    want = META["cells"][cid]
    assert group.list_arguments() == want["list_arguments"]
    assert group.list_outputs() == want["list_outputs"]
    assert sorted(cell.params._params) == want["params"]
    info = [dict(i, shape=list(i["shape"])) for i in cell.state_info]
    assert info == want["state_info"]


@pytest.mark.parametrize("cid", sorted(CASES))
def test_forward_and_gradients_match_mxnet(cid):
    _, group, _ = _unrolled(cid)
    values = arrays(f"{cid}/arg")
    outs, grads = spec.run_forward_backward(mx, group, values)
    want_outs = arrays(f"{cid}/out")
    assert len(outs) == META["cells"][cid]["num_outputs"] == len(want_outs)
    for j, out in enumerate(outs):
        np.testing.assert_allclose(out, want_outs[str(j)], rtol=1e-5, atol=1e-6,
                                   err_msg=f"output {j}")
    want_grads = arrays(f"{cid}/grad")
    assert sorted(grads) == sorted(want_grads)
    for name, grad in grads.items():
        np.testing.assert_allclose(grad, want_grads[name], rtol=1e-4, atol=1e-5,
                                   err_msg=f"gradient of {name}")


@pytest.mark.parametrize("cid", sorted(c for c in CASES if "unpacked" in META["cells"][c]))
def test_unpack_weights_matches_mxnet_and_pack_inverts_it(cid):
    cell, _, _ = _unrolled(cid)
    values = {n: mx.nd.array(v) for n, v in arrays(f"{cid}/arg").items()}
    unpacked = cell.unpack_weights(values)
    assert sorted(unpacked) == META["cells"][cid]["unpacked"]
    want = arrays(f"{cid}/unpacked")
    for name, value in unpacked.items():
        np.testing.assert_array_equal(value.asnumpy(), want[name], err_msg=name)
    packed = cell.pack_weights(unpacked)
    assert sorted(packed) == sorted(values)
    for name, value in packed.items():
        np.testing.assert_array_equal(value.asnumpy(), values[name].asnumpy(), err_msg=name)
