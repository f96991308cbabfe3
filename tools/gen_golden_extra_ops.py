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
_LEN = np.array([1, 4, 2], np.float32)

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
    ("sequence_mask", "SequenceMask", [_X.transpose(2, 1, 0).copy(), _LEN],
     {"use_sequence_length": True, "value": -1.0}),
    ("sequence_mask_axis1", "SequenceMask", [_X, np.array([1, 4], np.float32)],
     {"use_sequence_length": True, "axis": 1}),
    ("sequence_reverse", "SequenceReverse", [_X.transpose(2, 1, 0).copy(), _LEN],
     {"use_sequence_length": True}),
    ("sequence_reverse_full", "SequenceReverse", [_X], {}),
    ("sequence_last", "SequenceLast", [_X.transpose(2, 1, 0).copy(), _LEN],
     {"use_sequence_length": True}),
    ("sequence_last_axis1", "SequenceLast", [_X, np.array([2, 1], np.float32)],
     {"use_sequence_length": True, "axis": 1}),
    ("l2norm_instance", "L2Normalization", [_X], {}),
    ("l2norm_channel", "L2Normalization", [_X], {"mode": "channel"}),
    ("l2norm_spatial", "L2Normalization", [_X], {"mode": "spatial"}),
    ("layernorm", "LayerNorm", [_X, np.array([1.0, 2.0, 0.5, -1.0], np.float32),
                                np.array([0.1, 0.2, 0.3, 0.4], np.float32)], {}),
    ("layernorm_axis1", "LayerNorm", [_X, np.array([1.0, 2.0, 0.5], np.float32),
                                      np.array([0.1, 0.2, 0.3], np.float32)], {"axis": 1}),
    ("instancenorm", "InstanceNorm", [_X, np.array([1.0, 2.0, 0.5], np.float32),
                                      np.array([0.1, 0.2, 0.3], np.float32)], {}),
    ("pad_constant", "Pad", [_S], {"mode": "constant", "pad_width": (0, 0, 0, 0, 1, 2, 2, 1),
                                   "constant_value": 3.0}),
    ("pad_edge", "Pad", [_S], {"mode": "edge", "pad_width": (0, 0, 0, 0, 1, 2, 2, 1)}),
    ("pad_reflect", "Pad", [_S], {"mode": "reflect", "pad_width": (0, 0, 0, 0, 1, 2, 2, 1)}),
    ("slice_like", "slice_like", [_X, np.zeros((1, 2, 3), np.float32)], {}),
    ("slice_like_axes", "slice_like", [_X, np.zeros((1, 2, 3), np.float32)], {"axes": (0, 2)}),
    ("gather_nd", "gather_nd", [_X, np.array([[0, 1, 1], [2, 0, 1]], np.float32)], {}),
    ("lrn", "LRN", [_S / 10], {"nsize": 3, "alpha": 0.1, "beta": 0.5, "knorm": 1.5}),
    ("svm_l2", "SVMOutput", [_X[0] - 1, np.array([1, 0, 3], np.float32)], {"margin": 1.5}),
    ("svm_l1", "SVMOutput", [_X[0] - 1, np.array([1, 0, 3], np.float32)],
     {"use_linear": True, "regularization_coefficient": 0.5}),
    ("crop_hw", "Crop", [_S], {"h_w": (2, 3), "offset": (1, 1), "num_args": 1}),
    ("crop_like", "Crop", [_S, np.zeros((1, 1, 2, 2), np.float32)],
     {"center_crop": True, "num_args": 2}),
]

CASES += [
    ("topk_value", "topk", [_X], {"k": 2, "axis": 1, "ret_typ": "value"}),
    ("topk_indices", "topk", [_X], {"k": 2, "ret_typ": "indices", "is_ascend": True}),
    ("topk_mask", "topk", [_X], {"k": 1, "axis": 0, "ret_typ": "mask"}),
    ("sort", "sort", [_X[:, ::-1].copy()], {"axis": 1}),
    ("argsort", "argsort", [_X[:, ::-1].copy()], {"axis": 1, "is_ascend": False}),
    ("split_v2_sections", "split_v2", [_X], {"indices_or_sections": 2, "axis": 2}),
    ("split_v2_indices", "split_v2", [_X], {"indices_or_sections": (1, 2), "axis": 1,
                                            "squeeze_axis": True}),
]

CASES += [
    ("slice_assign", "_slice_assign", [_X, np.full((2, 1, 2), -1.0, np.float32)],
     {"begin": (0, 1, 1), "end": (2, 2, 3)}),
    ("slice_assign_scalar", "_slice_assign_scalar", [_X],
     {"scalar": 5.0, "begin": (1, None), "end": (2, 2)}),
]

# ids whose input-0 gradient (head gradient: ones) is recorded too
GRAD_IDS = ["lrn", "svm_l2", "svm_l1", "crop_like"]


def main(path):
    import mxnet as mx

    out = {}
    for cid, op, inputs, params in CASES:
        fn = getattr(mx.nd, op, None) or getattr(mx.nd._internal, op)
        res = fn(*[mx.nd.array(x, dtype=x.dtype) for x in inputs], **params)
        parts = res if isinstance(res, (list, tuple)) else [res]
        entries = []
        for part in parts:
            arr = part.asnumpy()
            entries.append({"shape": list(arr.shape), "dtype": str(arr.dtype),
                            "values": [None if np.isnan(v) else float(v) for v in arr.ravel()]})
        out[cid] = entries[0] if len(entries) == 1 else {"parts": entries}
        if cid in GRAD_IDS:
            args = [mx.nd.array(x, dtype=x.dtype) for x in inputs]
            args[0].attach_grad()
            with mx.autograd.record():
                y = fn(*args, **params)
            y.backward(mx.nd.ones(y.shape))
            out[cid]["grad"] = [float(v) for v in args[0].grad.asnumpy().ravel()]
    with open(path, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    main(os.path.join(here, "..", "tests", "golden", "extra_ops.json"))
