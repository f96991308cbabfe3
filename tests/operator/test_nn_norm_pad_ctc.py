"""float64 gradient checks of the operators added for gluon.nn: LayerNorm, InstanceNorm,
GroupNorm, pad and CTCLoss (MXNet parity of the same operators: tests/autograd)."""

from __future__ import annotations

import numpy as np
import pytest
from gradcheck import check_gradient, check_shape_error

from mxlite.operator import registry

rng = np.random.default_rng(5)


def U(*shape):
    return rng.uniform(-1, 1, size=shape)


CASES = [
    ("layer_norm_last", "LayerNorm", {"axis": -1}, [U(3, 4), U(4) + 2, U(4)]),
    ("layer_norm_axis1", "LayerNorm", {"axis": 1, "eps": 1e-3}, [U(2, 3, 4), U(3), U(3)]),
    ("instance_norm", "InstanceNorm", {"eps": 1e-3}, [U(2, 3, 2, 3), U(3), U(3)]),
    ("instance_norm_1d", "InstanceNorm", {}, [U(2, 2, 5), U(2), U(2)]),
    ("group_norm", "GroupNorm", {"num_groups": 2}, [U(2, 4, 3), U(2), U(2)]),
    ("group_norm_one_group", "GroupNorm", {}, [U(2, 3, 2, 2), U(1), U(1)]),
    ("pad_reflect", "pad", {"mode": "reflect", "pad_width": (0, 0, 0, 0, 1, 2, 2, 1)},
     [U(1, 2, 3, 4)]),
    ("pad_edge", "pad", {"mode": "edge", "pad_width": (0, 0, 0, 0, 2, 1, 0, 3)},
     [U(2, 1, 3, 3)]),
    ("pad_constant_5d", "pad", {"mode": "constant", "constant_value": 2.0,
                                "pad_width": (0, 0, 0, 0, 1, 0, 0, 1, 1, 1)},
     [U(1, 2, 2, 2, 2)]),
]


@pytest.mark.parametrize(("op", "params", "inputs"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_gradient(op, params, inputs):
    check_gradient(op, params, inputs, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("params", [
    {}, {"blank_label": "last"}, {"use_label_lengths": True, "use_data_lengths": True},
], ids=["blank_first", "blank_last", "lengths"])
def test_ctc_gradient(params):
    data = U(6, 2, 5)
    if params.get("blank_label") == "last":
        label = np.array([[0.0, 1.0, -1.0], [3.0, 3.0, 2.0]])
    else:
        label = np.array([[1.0, 2.0, 0.0], [4.0, 4.0, 1.0]])
    inputs = [data, label]
    if params.get("use_data_lengths"):
        inputs.append(np.array([5.0, 6.0]))
    if params.get("use_label_lengths"):
        inputs.append(np.array([2.0, 3.0]))
    check_gradient("CTCLoss", params, inputs, wrt=[0], rtol=1e-5, atol=1e-7)


def test_ctc_matches_brute_force_path_sum():
    """p(label) is the sum over all alignments collapsing to the label."""
    import itertools

    u = U(4, 1, 3)
    y = np.exp(u[:, 0]) / np.exp(u[:, 0]).sum(axis=1, keepdims=True)
    label = [1, 2]
    total = 0.0
    for path in itertools.product(range(3), repeat=4):
        collapsed = [k for i, k in enumerate(path) if k != 0 and (i == 0 or path[i - 1] != k)]
        if collapsed == label:
            total += np.prod([y[t, k] for t, k in enumerate(path)])
    op = registry.get("CTCLoss")
    (loss,), _ = op.forward(op.parse_params({}), [u, np.array([[1.0, 2.0]])], [], True)
    np.testing.assert_allclose(loss[0], -np.log(total), rtol=1e-10)


@pytest.mark.parametrize(("op", "params", "shapes", "match"), [
    ("GroupNorm", {"num_groups": 3}, [(2, 4, 3), None, None], "groups"),
    ("pad", {"mode": "reflect", "pad_width": (0, 0, 0, 0, 3, 3, 0, 0)}, [(1, 1, 3, 3)],
     "smaller"),
    ("pad", {"pad_width": (1, 0, 0, 0, 0, 0, 0, 0)}, [(1, 1, 3, 3)], "first two axes"),
    ("CTCLoss", {}, [(4, 2, 3), (3, 2)], "label shape"),
], ids=["group_norm_groups", "pad_reflect_too_wide", "pad_batch_axis", "ctc_label_batch"])
def test_shape_errors(op, params, shapes, match):
    check_shape_error(op, params, shapes, match)

