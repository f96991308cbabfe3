"""Golden fixtures for the symbolic layer, recorded with MXNet 1.9.1.

Run from the repository root with the reference interpreter:

    /tmp/mxref/bin/python tools/gen_golden_symbol.py

Writes
- ``tests/golden/symbol_api.json``: for each network of ``tests/symbol/symbol_nets.py`` its JSON,
  list_arguments/outputs/auxiliary_states/inputs, internals, attr_dict, inferred shapes and
  types, plus Variable attribute cases and partial shape inference;
- ``tests/golden/symbol_tensor_ops.json`` / ``.npz``: forward outputs and input gradients of the
  tensor operators (float32) for fixed inputs and head gradients;
- ``tests/golden/symbol_nets.npz``: forward/backward of the networks with fixed parameters
  (outputs, every argument gradient, auxiliary states after a training forward).
"""

from __future__ import annotations

import json
import os
import sys

import mxnet as mx
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "symbol"))
import symbol_nets as sn  # noqa: E402

OUT = os.path.join(ROOT, "tests", "golden")

R, P, S = "randn", "pos", "small"  # small: integers 0..2 (ties for comparisons)

# id, operator, params, [(shape, kind), ...]
TENSOR_CASES = [
    ("elemwise_add", "elemwise_add", {}, [((3, 4), R), ((3, 4), R)]),
    ("elemwise_sub", "elemwise_sub", {}, [((3, 4), R), ((3, 4), R)]),
    ("elemwise_mul", "elemwise_mul", {}, [((3, 4), R), ((3, 4), R)]),
    ("elemwise_div", "elemwise_div", {}, [((3, 4), R), ((3, 4), P)]),
    ("power", "_power", {}, [((3, 4), P), ((3, 4), R)]),
    ("maximum", "_maximum", {}, [((3, 4), R), ((3, 4), R)]),
    ("minimum", "_minimum", {}, [((3, 4), R), ((3, 4), R)]),
    ("mod", "_mod", {}, [((3, 4), R), ((3, 4), P)]),
    ("broadcast_add", "broadcast_add", {}, [((3, 4), R), ((1, 4), R)]),
    ("broadcast_sub", "broadcast_sub", {}, [((2, 3, 4), R), ((2, 1, 4), R)]),
    ("broadcast_mul", "broadcast_mul", {}, [((3, 1), R), ((1, 4), R)]),
    ("broadcast_div", "broadcast_div", {}, [((3, 4), R), ((3, 1), P)]),
    ("broadcast_power", "broadcast_power", {}, [((3, 4), P), ((1, 4), R)]),
    ("broadcast_maximum", "broadcast_maximum", {}, [((3, 4), R), ((3, 1), R)]),
    ("broadcast_minimum", "broadcast_minimum", {}, [((3, 4), R), ((3, 1), R)]),
    ("broadcast_greater", "broadcast_greater", {}, [((3, 4), R), ((1, 4), R)]),
    ("plus_scalar", "_plus_scalar", {"scalar": 2.5}, [((3, 4), R)]),
    ("minus_scalar", "_minus_scalar", {"scalar": 2.5}, [((3, 4), R)]),
    ("rminus_scalar", "_rminus_scalar", {"scalar": 2.5}, [((3, 4), R)]),
    ("mul_scalar", "_mul_scalar", {"scalar": -1.5}, [((3, 4), R)]),
    ("div_scalar", "_div_scalar", {"scalar": 2.5}, [((3, 4), R)]),
    ("rdiv_scalar", "_rdiv_scalar", {"scalar": 2.5}, [((3, 4), P)]),
    ("power_scalar", "_power_scalar", {"scalar": 2.5}, [((3, 4), P)]),
    ("power_scalar_int", "_power_scalar", {"scalar": 3}, [((3, 4), R)]),
    ("rpower_scalar", "_rpower_scalar", {"scalar": 2.5}, [((3, 4), R)]),
    ("mod_scalar", "_mod_scalar", {"scalar": 0.7}, [((3, 4), R)]),
    ("rmod_scalar", "_rmod_scalar", {"scalar": 2.5}, [((3, 4), P)]),
    ("maximum_scalar", "_maximum_scalar", {"scalar": 0.2}, [((3, 4), R)]),
    ("minimum_scalar", "_minimum_scalar", {"scalar": 0.2}, [((3, 4), R)]),
    ("equal_scalar", "_equal_scalar", {"scalar": 1.0}, [((3, 4), R)]),
    ("greater_scalar", "_greater_scalar", {"scalar": 0.3}, [((3, 4), R)]),
    ("lesser_equal_scalar", "_lesser_equal_scalar", {"scalar": 0.3}, [((3, 4), R)]),
    ("greater", "_greater", {}, [((3, 4), R), ((3, 4), R)]),
    ("negative", "negative", {}, [((3, 4), R)]),
    ("abs", "abs", {}, [((3, 4), R)]),
    ("exp", "exp", {}, [((3, 4), R)]),
    ("log", "log", {}, [((3, 4), P)]),
    ("sqrt", "sqrt", {}, [((3, 4), P)]),
    ("square", "square", {}, [((3, 4), R)]),
    ("reciprocal", "reciprocal", {}, [((3, 4), P)]),
    ("sigmoid", "sigmoid", {}, [((3, 4), R)]),
    ("tanh", "tanh", {}, [((3, 4), R)]),
    ("relu", "relu", {}, [((3, 4), R)]),
    ("reshape_0_m1", "Reshape", {"shape": (0, -1)}, [((2, 3, 4), R)]),
    ("reshape_m1", "Reshape", {"shape": (-1,)}, [((2, 3, 4), R)]),
    ("reshape_m2", "Reshape", {"shape": (2, -2)}, [((2, 3, 4), R)]),
    ("reshape_m3", "Reshape", {"shape": (-3, 0)}, [((2, 3, 4), R)]),
    ("reshape_m4", "Reshape", {"shape": (-4, 1, 2, -2)}, [((2, 3, 4), R)]),
    ("reshape_reverse", "Reshape", {"shape": (0, -1), "reverse": True}, [((2, 3, 4), R)]),
    ("flatten", "Flatten", {}, [((2, 3, 4), R)]),
    ("concat_dim1", "Concat", {"dim": 1}, [((2, 1, 3), R), ((2, 2, 3), R), ((2, 3, 3), R)]),
    ("concat_dim0", "Concat", {"dim": 0}, [((1, 3), R), ((2, 3), R)]),
    ("split_axis1", "SliceChannel", {"num_outputs": 3, "axis": 1}, [((2, 6, 2), R)]),
    ("split_squeeze", "SliceChannel", {"num_outputs": 3, "axis": 1, "squeeze_axis": True},
     [((2, 3, 4), R)]),
    ("split_last", "SliceChannel", {"num_outputs": 2, "axis": -1}, [((2, 3, 4), R)]),
    ("transpose", "transpose", {}, [((2, 3, 4), R)]),
    ("transpose_axes", "transpose", {"axes": (1, 0, 2)}, [((2, 3, 4), R)]),
    ("expand_dims_1", "expand_dims", {"axis": 1}, [((2, 3), R)]),
    ("expand_dims_m1", "expand_dims", {"axis": -1}, [((2, 3), R)]),
    ("sum_all", "sum", {}, [((2, 3, 4), R)]),
    ("sum_axis1", "sum", {"axis": 1}, [((2, 3, 4), R)]),
    ("sum_axes_keepdims", "sum", {"axis": (0, 2), "keepdims": True}, [((2, 3, 4), R)]),
    ("sum_exclude", "sum", {"axis": 1, "exclude": True}, [((2, 3, 4), R)]),
    ("mean_all", "mean", {}, [((2, 3, 4), R)]),
    ("mean_axis2_keepdims", "mean", {"axis": 2, "keepdims": True}, [((2, 3, 4), R)]),
    ("mean_exclude", "mean", {"axis": (0, 1), "exclude": True}, [((2, 3, 4), R)]),
    ("clip", "clip", {"a_min": -0.5, "a_max": 0.5}, [((3, 4), R)]),
    ("cast_float64", "Cast", {"dtype": "float64"}, [((3, 4), R)]),
    ("cast_float16", "Cast", {"dtype": "float16"}, [((3, 4), R)]),
    ("blockgrad", "BlockGrad", {}, [((3, 4), R)]),
    ("copy", "_copy", {}, [((3, 4), R)]),
    ("add_n", "add_n", {}, [((3, 4), R), ((3, 4), R), ((3, 4), R)]),
    ("makeloss", "MakeLoss", {}, [((3, 4), R)]),
    ("makeloss_batch", "MakeLoss", {"grad_scale": 0.5, "normalization": "batch"},
     [((3, 4), R)]),
    ("makeloss_valid", "MakeLoss", {"normalization": "valid", "valid_thresh": 0.1},
     [((3, 4), R)]),
    ("rsqrt", "rsqrt", {}, [((3, 4), P)]),
    ("sign", "sign", {}, [((3, 4), R)]),
    ("floor", "floor", {}, [((3, 4), R)]),
    ("ceil", "ceil", {}, [((3, 4), R)]),
    ("round", "round", {}, [((3, 4), R)]),
    ("rint", "rint", {}, [((3, 4), R)]),
    ("trunc", "trunc", {}, [((3, 4), R)]),
    ("fix", "fix", {}, [((3, 4), R)]),
    ("log1p", "log1p", {}, [((3, 4), P)]),
    ("expm1", "expm1", {}, [((3, 4), R)]),
    ("log2", "log2", {}, [((3, 4), P)]),
    ("log10", "log10", {}, [((3, 4), P)]),
    ("sin", "sin", {}, [((3, 4), R)]),
    ("cos", "cos", {}, [((3, 4), R)]),
    ("cbrt", "cbrt", {}, [((3, 4), P)]),
    ("softsign", "softsign", {}, [((3, 4), R)]),
    ("smooth_l1", "smooth_l1", {"scalar": 1.0}, [((3, 4), R)]),
    ("smooth_l1_s2", "smooth_l1", {"scalar": 2.0}, [((3, 4), R)]),
    ("zeros_like", "zeros_like", {}, [((3, 4), R)]),
    ("ones_like", "ones_like", {}, [((3, 4), R)]),
    ("dot", "dot", {}, [((3, 4), R), ((4, 5), R)]),
    ("dot_ta", "dot", {"transpose_a": True}, [((4, 3), R), ((4, 5), R)]),
    ("dot_tb", "dot", {"transpose_b": True}, [((3, 4), R), ((5, 4), R)]),
    ("dot_3d", "dot", {}, [((2, 3, 4), R), ((4, 5), R)]),
    ("dot_3d_ta", "dot", {"transpose_a": True}, [((4, 3, 2), R), ((4, 5), R)]),
    ("dot_vec", "dot", {}, [((4,), R), ((4,), R)]),
    ("batch_dot", "batch_dot", {}, [((2, 3, 4), R), ((2, 4, 5), R)]),
    ("batch_dot_ta", "batch_dot", {"transpose_a": True}, [((2, 4, 3), R), ((2, 4, 5), R)]),
    ("batch_dot_tb", "batch_dot", {"transpose_b": True}, [((2, 3, 4), R), ((2, 5, 4), R)]),
    ("slice", "slice", {"begin": (0, 1), "end": (2, 3)}, [((3, 4), R)]),
    ("slice_step", "slice", {"begin": (None, 0), "end": (None, 4), "step": (-1, 2)},
     [((3, 4), R)]),
    ("slice_partial", "slice", {"begin": (1,), "end": (3,)}, [((3, 4, 2), R)]),
    ("slice_axis", "slice_axis", {"axis": 1, "begin": 1, "end": 3}, [((2, 4, 3), R)]),
    ("slice_axis_none", "slice_axis", {"axis": -1, "begin": -2, "end": None},
     [((2, 4, 3), R)]),
    ("swapaxis", "SwapAxis", {"dim1": 0, "dim2": 2}, [((2, 3, 4), R)]),
    ("flip", "flip", {"axis": 1}, [((2, 3, 4), R)]),
    ("flip_two", "flip", {"axis": (0, 2)}, [((2, 3, 4), R)]),
    ("squeeze", "squeeze", {}, [((2, 1, 3, 1), R)]),
    ("squeeze_axis", "squeeze", {"axis": 1}, [((2, 1, 3, 1), R)]),
    ("tile", "tile", {"reps": (2, 1)}, [((2, 3), R)]),
    ("tile_short", "tile", {"reps": (2,)}, [((2, 3), R)]),
    ("tile_long", "tile", {"reps": (2, 1, 2)}, [((2, 3), R)]),
    ("repeat_axis", "repeat", {"repeats": 2, "axis": 1}, [((2, 3), R)]),
    ("repeat_flat", "repeat", {"repeats": 3}, [((2, 3), R)]),
    ("stack", "stack", {"axis": 1}, [((2, 3), R), ((2, 3), R), ((2, 3), R)]),
    ("broadcast_to", "broadcast_to", {"shape": (3, 4)}, [((1, 4), R)]),
    ("broadcast_to_zero", "broadcast_to", {"shape": (0, 3, 0)}, [((2, 1, 4), R)]),
    ("broadcast_axis", "broadcast_axis", {"axis": 1, "size": 3}, [((2, 1, 4), R)]),
    ("broadcast_axes", "broadcast_axis", {"axis": (0, 2), "size": (2, 3)}, [((1, 4, 1), R)]),
    ("broadcast_like", "broadcast_like", {}, [((1, 4), R), ((3, 4), R)]),
    ("reshape_like", "reshape_like", {}, [((2, 6), R), ((3, 4), R)]),
    ("max_axis", "max", {"axis": 1}, [((2, 3, 4), R)]),
    ("max_all", "max", {}, [((2, 3, 4), R)]),
    ("min_keepdims", "min", {"axis": (0, 2), "keepdims": True}, [((2, 3, 4), R)]),
    ("max_exclude", "max", {"axis": 1, "exclude": True}, [((2, 3, 4), R)]),
    ("norm", "norm", {}, [((2, 3, 4), R)]),
    ("norm_l1_axis", "norm", {"ord": 1, "axis": 1}, [((2, 3, 4), R)]),
    ("norm_keepdims", "norm", {"axis": (0, 2), "keepdims": True}, [((2, 3, 4), R)]),
    ("where", "where", {}, [((3, 4), "mask"), ((3, 4), R), ((3, 4), R)]),
    ("where_rows", "where", {}, [((3,), "mask"), ((3, 4), R), ((3, 4), R)]),
    ("pick", "pick", {"axis": 1}, [((3, 4), R), ((3,), "idx:4")]),
    ("pick_keepdims", "pick", {"axis": 0, "keepdims": True}, [((3, 4), R), ((1, 4), "idx:3")]),
    ("pick_wrap", "pick", {"axis": -1, "mode": "wrap"}, [((3, 4), R), ((3,), "idx:9")]),
    ("take", "take", {}, [((5, 4), R), ((2, 3), "idx:5")]),
    ("take_axis1", "take", {"axis": 1}, [((3, 5), R), ((4,), "idx:5")]),
    ("take_wrap", "take", {"mode": "wrap"}, [((5, 2), R), ((6,), "idx:12")]),
    ("one_hot", "one_hot", {"depth": 5}, [((3,), "idx:5")]),
    ("one_hot_values", "one_hot", {"depth": 4, "on_value": 2.0, "off_value": -1.0,
                                   "dtype": "float64"}, [((2, 2), "idx:4")]),
    ("argmax", "argmax", {"axis": 1}, [((3, 4), R)]),
    ("argmax_all", "argmax", {}, [((3, 4), R)]),
    ("argmin_keepdims", "argmin", {"axis": 0, "keepdims": True}, [((3, 4), R)]),
    ("equal", "_equal", {}, [((3, 4), S), ((3, 4), S)]),
    ("not_equal", "_not_equal", {}, [((3, 4), S), ((3, 4), S)]),
    ("greater_equal", "_greater_equal", {}, [((3, 4), S), ((3, 4), S)]),
    ("lesser", "_lesser", {}, [((3, 4), S), ((3, 4), S)]),
    ("lesser_equal", "_lesser_equal", {}, [((3, 4), S), ((3, 4), S)]),
    ("equal_scalar_int", "_equal_scalar", {"scalar": 1}, [((3, 4), S)]),
    ("not_equal_scalar", "_not_equal_scalar", {"scalar": 1}, [((3, 4), S)]),
    ("greater_equal_scalar", "_greater_equal_scalar", {"scalar": 1}, [((3, 4), S)]),
    ("lesser_scalar", "_lesser_scalar", {"scalar": 1}, [((3, 4), S)]),
    ("broadcast_equal", "broadcast_equal", {}, [((3, 4), S), ((1, 4), S)]),
    ("broadcast_not_equal", "broadcast_not_equal", {}, [((3, 4), S), ((3, 1), S)]),
    ("broadcast_greater_equal", "broadcast_greater_equal", {}, [((3, 4), S), ((1, 4), S)]),
    ("broadcast_lesser", "broadcast_lesser", {}, [((3, 4), S), ((1, 4), S)]),
    ("broadcast_lesser_equal", "broadcast_lesser_equal", {}, [((3, 4), S), ((3, 1), S)]),
    ("broadcast_mod", "broadcast_mod", {}, [((3, 4), R), ((1, 4), P)]),
    ("zeros", "_zeros", {"shape": (2, 3)}, []),
    ("ones_float64", "_ones", {"shape": (2,), "dtype": "float64"}, []),
    ("full", "_full", {"shape": (2, 2), "value": 1.5}, []),
    ("arange", "_arange", {"start": 1, "stop": 7, "step": 2, "repeat": 2}, []),
]


def _op(name):
    fn = getattr(mx.sym, name, None)
    return fn if fn is not None else getattr(mx.sym._internal, name)


def _draw(rng, shape, kind):
    if kind.startswith("idx:"):
        return rng.integers(0, int(kind[4:]), size=shape).astype(np.float32)
    if kind == S:
        return rng.integers(0, 3, size=shape).astype(np.float32)
    if kind == "mask":
        return rng.integers(0, 2, size=shape).astype(np.float32)
    if kind == P:
        return rng.uniform(0.5, 2.0, size=shape).astype(np.float32)
    return rng.standard_normal(shape).astype(np.float32)


def tensor_ops():
    rng = np.random.default_rng(6)
    cases, arrays = [], {}
    for cid, opname, params, specs in TENSOR_CASES:
        ins = [mx.sym.Variable(f"in{i}") for i in range(len(specs))]
        sym = _op(opname)(*ins, **params)
        data = [_draw(rng, shape, kind) for shape, kind in specs]
        args = {f"in{i}": mx.nd.array(x) for i, x in enumerate(data)}
        grads = {f"in{i}": mx.nd.zeros(x.shape) for i, x in enumerate(data)}
        exe = sym.bind(mx.cpu(), args=args, args_grad=grads)
        outs = exe.forward(is_train=True)
        ogs = [rng.standard_normal(o.shape).astype(np.float32) for o in outs]
        if data:
            exe.backward([mx.nd.array(g, dtype=o.dtype) for g, o in zip(ogs, outs, strict=True)])
        for i, x in enumerate(data):
            arrays[f"{cid}:in{i}"] = x
            arrays[f"{cid}:grad{i}"] = grads[f"in{i}"].asnumpy()
        for k, (o, g) in enumerate(zip(outs, ogs, strict=False)):
            arrays[f"{cid}:out{k}"] = o.asnumpy()
            arrays[f"{cid}:og{k}"] = g
        cases.append({"id": cid, "op": opname, "params": _jsonable(params),
                      "n_in": len(data), "n_out": len(outs),
                      "kinds": [kind for _, kind in specs]})
    return cases, arrays


def _jsonable(params):
    return {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()}


# index-like inputs (indices, masks, small integers compared for ties) get no gradient check
NO_GRAD_KINDS = ("idx:", "mask", "small")


def symbol_api():
    api = {}
    for name in sn.NETS:
        sym = sn.build(mx, name)
        shapes = sn.SHAPES[name]
        arg_s, out_s, aux_s = sym.infer_shape(**shapes)
        arg_t, out_t, aux_t = sym.infer_type(**{k: "float32" for k in shapes})
        if name == "custom_net":  # MXNet calls the Python infer_shape with unknown shapes
            p_arg, p_out = [], []
        else:
            p_arg, p_out, _ = sym.infer_shape_partial()
        api[name] = {
            "json": json.loads(sym.tojson()),
            "json_text": sym.tojson(),
            "list_arguments": sym.list_arguments(),
            "list_outputs": sym.list_outputs(),
            "list_auxiliary_states": sym.list_auxiliary_states(),
            "list_inputs": sym.list_inputs(),
            "internals": sym.get_internals().list_outputs(),
            "attr_dict": sym.attr_dict(),
            "arg_shapes": arg_s, "out_shapes": out_s, "aux_shapes": aux_s,
            "arg_types": [np.dtype(t).name for t in arg_t],
            "out_types": [np.dtype(t).name for t in out_t],
            "aux_types": [np.dtype(t).name for t in aux_t],
            "partial_arg_shapes": p_arg, "partial_out_shapes": p_out,
        }
    variables = {}
    for vid, kwargs in VARIABLE_CASES.items():
        kw = dict(kwargs)
        if kw.get("init") == "xavier-instance":
            kw["init"] = mx.init.Xavier(magnitude=2.0)
        v = mx.sym.Variable("v", **kw)
        variables[vid] = {"json": json.loads(v.tojson()), "attr_dict": v.attr_dict()}
    mlp = sn.build(mx, "mlp")
    partial = mlp.infer_shape_partial(fc1_weight=(16, 12))
    return {"nets": api, "variables": variables,
            "mlp_partial_fc1_weight": [list(map(list, x)) for x in partial]}


VARIABLE_CASES = {
    "shape": {"shape": (2, 3)},
    "mults": {"lr_mult": 2.0, "wd_mult": 0},
    "dtype": {"dtype": "float16"},
    "init_str": {"init": "zeros"},
    "init_obj": {"init": "xavier-instance"},
    "stype": {"stype": "row_sparse"},
    "attr": {"attr": {"__foo__": "bar"}, "__extra__": 3},
    "all": {"shape": (4,), "lr_mult": 0.5, "dtype": "float64", "init": "ones"},
}


def nets_run():
    """Forward/backward of each network with fixed inputs."""
    rng = np.random.default_rng(7)
    arrays = {}
    for name in ("mlp", "lenet", "bn_net", "tensor_net", "arithmetic", "custom_net"):
        sym = sn.build(mx, name)
        shapes = sn.SHAPES[name]
        arg_s, out_s, aux_s = sym.infer_shape(**shapes)
        args = {}
        for an, s in zip(sym.list_arguments(), arg_s, strict=False):
            if an.endswith("label"):
                ncls = out_s[0][1]
                x = rng.integers(0, ncls, size=s).astype(np.float32) if name != "bn_net" \
                    else rng.standard_normal(s).astype(np.float32)
            elif name == "arithmetic":
                x = rng.uniform(0.5, 2.0, size=s).astype(np.float32)
            else:
                x = (rng.standard_normal(s) * (1.0 if an in shapes or name == "tensor_net"
                                               else 0.3)).astype(np.float32)
            args[an] = x
        aux = {}
        for xn, s in zip(sym.list_auxiliary_states(), aux_s, strict=False):
            aux[xn] = (rng.uniform(0.5, 1.5, size=s) if xn.endswith("var")
                       else rng.standard_normal(s) * 0.1).astype(np.float32)
        nd_args = {k: mx.nd.array(v) for k, v in args.items()}
        nd_grads = {k: mx.nd.zeros(v.shape) for k, v in args.items()}
        nd_aux = {k: mx.nd.array(v) for k, v in aux.items()}
        exe = sym.bind(mx.cpu(), args=nd_args, args_grad=nd_grads, aux_states=nd_aux)
        outs = exe.forward(is_train=True)
        heads = None
        if name == "arithmetic":
            heads = [rng.standard_normal(o.shape).astype(np.float32) for o in outs]
            exe.backward([mx.nd.array(h, dtype=o.dtype) for h, o in zip(heads, outs, strict=False)])
            for k, h in enumerate(heads):
                arrays[f"{name}:og{k}"] = h
        else:
            exe.backward()
        for k, o in enumerate(outs):
            arrays[f"{name}:out{k}"] = o.asnumpy()
        for k, v in args.items():
            arrays[f"{name}:arg:{k}"] = v
            arrays[f"{name}:grad:{k}"] = nd_grads[k].asnumpy()
        for k, v in aux.items():
            arrays[f"{name}:aux:{k}"] = v
            arrays[f"{name}:aux_after:{k}"] = nd_aux[k].asnumpy()
        if aux:
            outs = exe.forward(is_train=False)
            for k, o in enumerate(outs):
                arrays[f"{name}:infer_out{k}"] = o.asnumpy()
    return arrays


def main():
    cases, arrays = tensor_ops()
    nets = nets_run()
    with open(os.path.join(OUT, "symbol_tensor_ops.json"), "w") as f:
        json.dump({"mxnet_version": mx.__version__, "cases": cases}, f, indent=1)
    np.savez_compressed(os.path.join(OUT, "symbol_tensor_ops.npz"), **arrays)
    api = symbol_api()
    with open(os.path.join(OUT, "symbol_api.json"), "w") as f:
        json.dump({"mxnet_version": mx.__version__, **api}, f, indent=1)
    np.savez_compressed(os.path.join(OUT, "symbol_nets.npz"), **nets)


if __name__ == "__main__":
    main()
