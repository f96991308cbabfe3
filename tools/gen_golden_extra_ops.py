"""Golden outputs of the operators in operator/tensor/{math,extra}.py from MXNet 1.9.1.

    /tmp/mxref/bin/python tools/gen_golden_extra_ops.py   # writes tests/golden/extra_ops.json

CASES (shared with tests/operator/test_extra_ops.py) are ``(id, op, inputs, params)``; inputs
are nested lists (float32 unless the id says int).
"""

import json
import os

import numpy as np

_X = np.arange(1, 25, dtype=np.float32).reshape(2, 3, 4) / 7.0
_D = np.arange(32, dtype=np.float32).reshape(1, 8, 2, 2)
_S = np.arange(32, dtype=np.float32).reshape(1, 2, 4, 4)

CASES = [
    ("argmax_channel", "argmax_channel", [_X], {}),
    ("shape_array", "shape_array", [_X], {}),
    ("size_array", "size_array", [_X], {}),
    ("softmin", "softmin", [_X], {}),
    ("softmin_axis0", "softmin", [_X], {"axis": 0}),
    ("nansum", "nansum", [np.array([[1.0, np.nan], [2.0, 3.0]], np.float32)], {"axis": 1}),
    ("nanprod", "nanprod", [np.array([[1.5, np.nan], [2.0, 3.0]], np.float32)], {"axis": 0}),
    ("prod", "prod", [_X], {"axis": (0, 2)}),
    ("diag_2d_k1", "diag", [_X[0]], {"k": 1}),
    ("diag_1d", "diag", [np.array([1.0, 2.0, 3.0], np.float32)], {"k": -1}),
    ("diag_3d", "diag", [_X], {"axis1": 1, "axis2": 2}),
    ("depth_to_space", "depth_to_space", [_D], {"block_size": 2}),
    ("space_to_depth", "space_to_depth", [_S], {"block_size": 2}),
    ("batch_take", "batch_take", [_X[0], np.array([3, 0, 2], np.int32)], {}),
    ("hard_sigmoid", "hard_sigmoid", [_X - 1.5], {"alpha": 0.3, "beta": 0.4}),
    ("rcbrt", "rcbrt", [_X], {}),
    ("gamma", "gamma", [_X], {}),
    ("gammaln", "gammaln", [_X], {}),
    ("degrees", "degrees", [_X], {}),
    ("arccosh", "arccosh", [_X + 1], {}),
    ("radians", "radians", [_X * 90], {}),
    ("tan", "tan", [_X - 1.5], {}),
    ("arcsin", "arcsin", [_X / 4], {}),
    ("arccos", "arccos", [_X / 4], {}),
    ("arctan", "arctan", [_X - 1.5], {}),
    ("sinh", "sinh", [_X - 1.5], {}),
    ("cosh", "cosh", [_X - 1.5], {}),
    ("arcsinh", "arcsinh", [_X - 1.5], {}),
    ("arctanh", "arctanh", [_X / 4], {}),
    ("erf", "erf", [_X - 1.5], {}),
    ("hypot", "_hypot", [_X, _X[::-1].copy()], {}),
]


def main(path):
    import mxnet as mx

    out = {}
    for cid, op, inputs, params in CASES:
        fn = getattr(mx.nd, op, None) or getattr(mx.nd._internal, op)
        res = fn(*[mx.nd.array(x, dtype=x.dtype) for x in inputs], **params)
        arr = res.asnumpy()
        out[cid] = {"shape": list(arr.shape), "dtype": str(arr.dtype),
                    "values": [None if np.isnan(v) else float(v) for v in arr.ravel()]}
    with open(path, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    main(os.path.join(here, "..", "tests", "golden", "extra_ops.json"))
