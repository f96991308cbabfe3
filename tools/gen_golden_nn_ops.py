"""Regenerate tests/golden/nn_ops.npz + nn_ops.json from MXNet 1.9.1.

Run with the MXNet reference interpreter:  /tmp/mxref/bin/python tools/gen_golden_nn_ops.py

Each case binds one operator with ``simple_bind`` (inputs are variables named after the
operator's arguments), runs ``forward(is_train)`` and, for training cases, ``backward`` with a
random head gradient (loss operators get none), and records inputs, outputs, input gradients
and auxiliary states before/after.  MKLDNN is switched off: MXNet's MKLDNN BatchNorm path does
not update the moving statistics under ``simple_bind``.
"""

from __future__ import annotations

import json
import os
import sys

os.environ["MXNET_MKLDNN_ENABLED"] = "0"
os.environ["MXNET_STORAGE_FALLBACK_LOG_VERBOSE"] = "0"

import mxnet as mx
import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden")
rng = np.random.default_rng(2024)


def U(*shape, low=-1.0, high=1.0):
    return rng.uniform(low, high, size=shape).astype(np.float32)


def distinct(*shape):
    """Distinct values (a shuffled grid): no ties for max pooling."""
    n = int(np.prod(shape))
    vals = np.linspace(-2.0, 2.0, n, dtype=np.float32)
    return rng.permutation(vals).reshape(shape)


def labels(n, k, *extra):
    return rng.integers(0, k, size=(n, *extra)).astype(np.float32)


# Case: (id, op, params, inputs {arg: array}, aux {name: array}, is_train, extra)
CASES: list = []


def case(cid, op, params, inputs, aux=None, is_train=True, **extra):
    CASES.append((cid, op, params, inputs, aux or {}, is_train, extra))


# ---- FullyConnected
case("fc", "FullyConnected", {"num_hidden": 4}, {"data": U(3, 5), "weight": U(4, 5), "bias": U(4)})
case("fc_flatten_4d", "FullyConnected", {"num_hidden": 3},
     {"data": U(2, 2, 2, 3), "weight": U(3, 12), "bias": U(3)})
case("fc_no_flatten", "FullyConnected", {"num_hidden": 3, "flatten": False},
     {"data": U(2, 3, 4), "weight": U(3, 4), "bias": U(3)})
case("fc_no_bias", "FullyConnected", {"num_hidden": 2, "no_bias": True},
     {"data": U(3, 4), "weight": U(2, 4)})
# ---- Activation / LeakyReLU
for t in ("relu", "sigmoid", "tanh", "softrelu", "softsign"):
    case(f"act_{t}", "Activation", {"act_type": t}, {"data": U(2, 3, 4, low=-3, high=3)})
for t in ("leaky", "elu", "selu", "gelu"):
    # MXNet 1.9.1's selu gradient for x < 0 is lambda * (y + alpha) instead of the derivative
    # y + lambda * alpha of its own forward; mxlite uses the true derivative (CHANGELOG.md).
    case(f"leaky_{t}", "LeakyReLU", {"act_type": t, "slope": 0.2},
         {"data": U(2, 3, 4, low=-3, high=3)}, no_grad=["data"] if t == "selu" else [])
case("leaky_default", "LeakyReLU", {}, {"data": U(3, 4, low=-3, high=3)})
case("prelu", "LeakyReLU", {"act_type": "prelu"},
     {"data": U(2, 3, 4, low=-3, high=3), "gamma": U(3, low=0.1, high=0.5)})
case("prelu_shared_gamma", "LeakyReLU", {"act_type": "prelu"},
     {"data": U(2, 3, 4, low=-3, high=3), "gamma": U(1, low=0.1, high=0.5)},
     infer_from_data=False)  # gamma (1,) is given; from data alone it would be (3,)
case("rrelu_inference", "LeakyReLU", {"act_type": "rrelu", "lower_bound": 0.1, "upper_bound": 0.4},
     {"data": U(3, 4, low=-3, high=3)}, is_train=False, outputs=1)
# ---- softmax family
case("softmax", "softmax", {}, {"data": U(3, 5, low=-3, high=3)})
case("softmax_axis0_temp", "softmax", {"axis": 0, "temperature": 2.0},
     {"data": U(3, 4, 2, low=-3, high=3)})
case("softmax_length", "softmax", {"axis": 1, "use_length": True},
     {"data": U(2, 4, 3, low=-3, high=3), "length": np.array([[1, 4, 2], [3, 2, 4]], np.int32)},
     no_grad=["length"], types={"length": "int32"})
case("log_softmax", "log_softmax", {}, {"data": U(3, 5, low=-3, high=3)})
case("softmax_dtype_float64", "softmax", {"dtype": "float64"}, {"data": U(3, 5, low=-3, high=3)},
     atol=1e-7)
case("log_softmax_axis1_temp", "log_softmax", {"axis": 1, "temperature": 0.5},
     {"data": U(2, 3, 4, low=-3, high=3)})
case("softmax_activation_instance", "SoftmaxActivation", {}, {"data": U(3, 4)})
# For data with more than 2 axes MXNet 1.9.1 normalizes over the last axis in forward but its
# backward reduces over axis 1; mxlite's gradient matches its forward (CHANGELOG.md).
case("softmax_activation_instance_4d", "SoftmaxActivation", {}, {"data": U(2, 3, 2, 2)},
     no_grad=["data"])
case("softmax_activation_channel", "SoftmaxActivation", {"mode": "channel"},
     {"data": U(2, 3, 2, 2)})
# ---- loss outputs
lab = np.array([0, 2, -1, 1, 2], np.float32)
for cid, params in [
    ("softmax_output", {}),
    ("softmax_output_batch", {"normalization": "batch", "grad_scale": 2.0}),
    ("softmax_output_ignore", {"use_ignore": True, "ignore_label": -1}),
    ("softmax_output_ignore_valid", {"use_ignore": True, "ignore_label": 2,
                                     "normalization": "valid"}),
    ("softmax_output_smooth", {"smooth_alpha": 0.1}),
]:
    case(cid, "SoftmaxOutput", params, {"data": U(5, 3, low=-2, high=2), "label": lab})
multi_lab = np.array([[0, 1, 2, -1], [2, 2, 1, 0]], np.float32)
for cid, params in [
    ("softmax_output_multi", {"multi_output": True}),
    ("softmax_output_multi_batch", {"multi_output": True, "normalization": "batch"}),
    ("softmax_output_multi_valid", {"multi_output": True, "normalization": "valid",
                                    "use_ignore": True}),
]:
    case(cid, "SoftmaxOutput", params, {"data": U(2, 3, 4, low=-2, high=2), "label": multi_lab})
case("softmax_output_multi_4d", "SoftmaxOutput", {"multi_output": True},
     {"data": U(2, 3, 2, 2), "label": labels(2, 3, 2, 2)})
# (MXNet 1.9.1 silently ignores smooth_alpha with multi_output; mxlite applies it: CHANGELOG.md)
case("softmax_output_multi_ignore_valid_scale", "SoftmaxOutput",
     {"multi_output": True, "use_ignore": True, "ignore_label": 1,
      "normalization": "valid", "grad_scale": 0.5},
     {"data": U(2, 3, 4, low=-2, high=2), "label": multi_lab})
case("softmax_output_preserve_ignore_valid", "SoftmaxOutput",
     {"preserve_shape": True, "use_ignore": True, "ignore_label": 0, "normalization": "valid"},
     {"data": U(2, 3, 4), "label": labels(2, 4, 3)})
case("softmax_output_preserve", "SoftmaxOutput", {"preserve_shape": True},
     {"data": U(2, 3, 4), "label": labels(2, 4, 3)})
case("softmax_output_preserve_batch", "SoftmaxOutput",
     {"preserve_shape": True, "normalization": "batch"},
     {"data": U(2, 3, 4), "label": labels(2, 4, 3)})
for op in ("LinearRegressionOutput", "LogisticRegressionOutput", "MAERegressionOutput"):
    short = op.replace("RegressionOutput", "").lower()
    case(f"{short}_regression", op, {}, {"data": U(4, 3), "label": U(4, 3)})
    case(f"{short}_regression_scale_column", op, {"grad_scale": 2.5},
         {"data": U(4, 1), "label": U(4)})

# ---- Convolution / Deconvolution
for cid, params, dshape in [
    ("conv2d", {"kernel": (3, 3), "num_filter": 4}, (2, 3, 5, 5)),
    ("conv2d_stride_pad", {"kernel": (3, 3), "num_filter": 2, "stride": (2, 2), "pad": (1, 1)},
     (2, 3, 6, 5)),
    ("conv2d_dilate_group", {"kernel": (2, 3), "num_filter": 4, "dilate": (2, 1),
                             "num_group": 2, "pad": (1, 0)}, (1, 4, 6, 6)),
    ("conv2d_no_bias", {"kernel": (1, 1), "num_filter": 3, "no_bias": True}, (2, 2, 3, 3)),
    ("conv1d", {"kernel": (3,), "num_filter": 3, "stride": (2,), "pad": (1,)}, (2, 2, 9)),
    ("conv1d_dilate", {"kernel": (2,), "num_filter": 2, "dilate": (3,), "layout": "NCW"},
     (2, 3, 8)),
    ("conv3d", {"kernel": (2, 3, 2), "num_filter": 2, "stride": (1, 2, 1), "pad": (1, 1, 0)},
     (1, 2, 3, 5, 4)),
    ("conv3d_group_dilate", {"kernel": (2, 2, 2), "num_filter": 4, "num_group": 2,
                             "dilate": (1, 2, 1)}, (1, 4, 3, 4, 3)),
]:
    c = dshape[1]
    g = params.get("num_group", 1)
    inputs = {"data": U(*dshape), "weight": U(params["num_filter"], c // g, *params["kernel"])}
    if not params.get("no_bias"):
        inputs["bias"] = U(params["num_filter"])
    case(cid, "Convolution", params, inputs)
for cid, params, dshape in [
    ("deconv2d", {"kernel": (3, 3), "num_filter": 2}, (2, 3, 4, 4)),
    ("deconv2d_bias_stride_pad_adj", {"kernel": (3, 3), "num_filter": 2, "stride": (2, 2),
                                      "pad": (1, 1), "adj": (1, 0), "no_bias": False},
     (2, 3, 3, 4)),
    ("deconv2d_group_dilate", {"kernel": (2, 2), "num_filter": 4, "num_group": 2,
                               "dilate": (2, 1)}, (1, 4, 3, 3)),
    ("deconv2d_target_shape", {"kernel": (4, 4), "num_filter": 2, "stride": (2, 2),
                               "target_shape": (8, 7)}, (1, 2, 4, 4)),
    ("deconv1d", {"kernel": (3,), "num_filter": 2, "stride": (2,), "no_bias": False}, (2, 3, 5)),
]:  # MXNet's native CPU Deconvolution is 1-D/2-D only: no 3-D fixture
    c = dshape[1]
    g = params.get("num_group", 1)
    inputs = {"data": U(*dshape), "weight": U(c, params["num_filter"] // g, *params["kernel"])}
    if params.get("no_bias") is False:
        inputs["bias"] = U(params["num_filter"])
    case(cid, "Deconvolution", params, inputs)
# ---- Pooling
for cid, params, dshape in [
    ("pool_max", {"kernel": (2, 2), "stride": (2, 2)}, (2, 2, 4, 4)),
    ("pool_max_pad", {"kernel": (3, 3), "stride": (2, 2), "pad": (1, 1)}, (1, 2, 5, 5)),
    ("pool_max_full", {"kernel": (3, 3), "stride": (2, 2), "pooling_convention": "full"},
     (1, 2, 6, 6)),
    ("pool_avg", {"kernel": (2, 2), "pool_type": "avg"}, (2, 2, 3, 4)),
    ("pool_avg_pad", {"kernel": (3, 3), "stride": (2, 2), "pad": (1, 1), "pool_type": "avg"},
     (1, 2, 5, 5)),
    ("pool_avg_pad_exclude", {"kernel": (3, 3), "stride": (2, 2), "pad": (1, 1),
                              "pool_type": "avg", "count_include_pad": False}, (1, 2, 5, 5)),
    ("pool_avg_full_pad", {"kernel": (3, 3), "stride": (2, 2), "pad": (1, 1),
                           "pool_type": "avg", "pooling_convention": "full"}, (1, 2, 6, 6)),
    ("pool_avg_full_exclude", {"kernel": (3, 3), "stride": (2, 2), "pad": (1, 1),
                               "pool_type": "avg", "pooling_convention": "full",
                               "count_include_pad": False}, (1, 2, 6, 6)),
    ("pool_sum", {"kernel": (3, 2), "stride": (1, 2), "pool_type": "sum"}, (2, 2, 4, 4)),
    ("pool_global_max", {"global_pool": True}, (2, 3, 3, 4)),
    ("pool_global_avg", {"global_pool": True, "pool_type": "avg", "kernel": (1, 1)},
     (2, 3, 3, 4)),
    ("pool1d_max", {"kernel": (3,), "stride": (2,), "pad": (1,)}, (2, 2, 7)),
    ("pool1d_avg_full", {"kernel": (2,), "stride": (2,), "pool_type": "avg",
                         "pooling_convention": "full"}, (2, 2, 7)),
    ("pool1d_global_sum", {"global_pool": True, "pool_type": "sum"}, (2, 2, 5)),
    ("pool1d_max_full_empty_window", {"kernel": (2,), "stride": (3,), "pad": (1,),
                                      "pooling_convention": "full"}, (1, 2, 7)),
    ("pool_avg_full_empty_window", {"kernel": (1, 1), "stride": (1, 2), "pool_type": "avg",
                                    "pooling_convention": "full"}, (1, 1, 2, 6)),
    ("pool3d_max", {"kernel": (2, 2, 2), "stride": (2, 1, 2), "pad": (1, 0, 1)},
     (1, 2, 3, 3, 4)),
    ("pool3d_avg_full", {"kernel": (2, 3, 2), "stride": (2, 2, 2), "pool_type": "avg",
                         "pooling_convention": "full"}, (1, 2, 3, 4, 5)),
    ("pool3d_global_avg", {"global_pool": True, "pool_type": "avg"}, (2, 2, 2, 3, 2)),
    ("pool_lp1", {"kernel": (2, 2), "stride": (2, 2), "pool_type": "lp", "p_value": 1},
     (1, 2, 4, 4)),
    ("pool_lp2_pad", {"kernel": (3, 3), "stride": (2, 2), "pad": (1, 1), "pool_type": "lp",
                      "p_value": 2}, (1, 2, 5, 5)),
    ("pool_lp3", {"kernel": (2, 2), "stride": (1, 1), "pool_type": "lp", "p_value": 3},
     (1, 2, 3, 3)),
]:
    case(cid, "Pooling", params, {"data": distinct(*dshape)})

# ---- BatchNorm (moving statistics recorded after the training step)
for cid, params, dshape, is_train in [
    ("bn_fix_gamma", {}, (4, 3, 2, 2), True),
    ("bn_train", {"fix_gamma": False, "momentum": 0.8, "eps": 1e-5}, (4, 3, 2, 2), True),
    ("bn_2d", {"fix_gamma": False}, (5, 3), True),
    ("bn_axis_last", {"fix_gamma": False, "axis": -1}, (3, 2, 4), True),
    ("bn_global_stats", {"fix_gamma": False, "use_global_stats": True}, (4, 3, 2), True),
    ("bn_global_stats_fix_gamma", {"use_global_stats": True}, (4, 3, 2), True),
    ("bn_axis0_eps", {"fix_gamma": False, "axis": 0, "eps": 0.1}, (3, 4, 2), True),
    ("bn_output_mean_var", {"fix_gamma": False, "output_mean_var": True}, (4, 3, 2), True),
    ("bn_inference", {"fix_gamma": False, "output_mean_var": True}, (4, 3, 2), False),
]:
    ax = params.get("axis", 1)
    c = dshape[ax]
    case(cid, "BatchNorm", params,
         {"data": U(*dshape, low=-2, high=3), "gamma": U(c, low=0.5, high=2), "beta": U(c)},
         {"moving_mean": U(c), "moving_var": U(c, low=0.5, high=2)}, is_train=is_train)

# ---- Dropout (random masks differ from MXNet's generator: only the deterministic cases)
case("dropout_inference", "Dropout", {"p": 0.3}, {"data": U(3, 4)}, is_train=False)
case("dropout_p0_train", "Dropout", {"p": 0.0}, {"data": U(3, 4)})
# ---- Embedding (out-of-range and fractional indices: truncated and clipped)
case("embedding", "Embedding", {"input_dim": 5, "output_dim": 3},
     {"data": np.array([[0, 4, 2], [2, 2, 1]], np.float32), "weight": U(5, 3)}, no_grad=["data"])
case("embedding_clip", "Embedding", {"input_dim": 4, "output_dim": 2},
     {"data": np.array([-1, 0, 3, 5, 2.7], np.float32), "weight": U(4, 2)}, no_grad=["data"])
# ---- UpSampling
case("upsampling_nearest", "UpSampling", {"scale": 2, "sample_type": "nearest"},
     {"arg0": U(2, 2, 2, 3)})
case("upsampling_nearest_concat", "UpSampling",
     {"scale": 2, "sample_type": "nearest", "num_args": 2},
     {"arg0": U(1, 2, 2, 2), "arg1": U(1, 3, 1, 1)})
case("upsampling_nearest_sum", "UpSampling",
     {"scale": 3, "sample_type": "nearest", "num_args": 2, "multi_input_mode": "sum"},
     {"arg0": U(1, 2, 1, 2), "arg1": U(1, 2, 3, 6)})
case("upsampling_bilinear", "UpSampling",
     {"scale": 2, "sample_type": "bilinear", "num_filter": 2},
     {"data": U(1, 2, 3, 3), "weight": U(2, 1, 4, 4)})
case("upsampling_bilinear_scale3", "UpSampling",
     {"scale": 3, "sample_type": "bilinear", "num_filter": 1},
     {"data": U(1, 1, 2, 2), "weight": U(1, 1, 5, 5)})


def run_case(cid, op, params, inputs, aux, is_train, extra):
    variables = {name: mx.sym.Variable(name) for name in list(inputs) + list(aux)}
    if op == "UpSampling" and params["sample_type"] == "nearest":  # variadic: positional
        sym = mx.sym.UpSampling(*variables.values(), name="op", **params)
    else:
        sym = getattr(mx.sym, op)(name="op", **variables, **params)
    arg_names = sym.list_arguments()
    aux_names = sym.list_auxiliary_states()
    if sorted(arg_names) != sorted(inputs) or sorted(aux_names) != sorted(aux):
        sys.exit(f"{cid}: MXNet arguments {arg_names} / aux {aux_names} do not match the case")
    shapes = {k: v.shape for k, v in {**inputs, **aux}.items()}
    types = extra.get("types", {})
    type_dict = {k: str(v.dtype) for k, v in {**inputs, **aux}.items()}
    no_grad = extra.get("no_grad", ())
    grad_req = {k: "null" if k in no_grad or not is_train else "write" for k in inputs}
    exe = sym.simple_bind(mx.cpu(), grad_req=grad_req, type_dict=type_dict, **shapes)
    for k, v in inputs.items():
        exe.arg_dict[k][:] = v
    for k, v in aux.items():
        exe.aux_dict[k][:] = v
    outs = exe.forward(is_train=is_train)
    nout = extra.get("outputs", len(outs))
    rec = {}
    for k, v in inputs.items():
        rec[f"{cid}:in:{k}"] = v
    for k, v in aux.items():
        rec[f"{cid}:aux_in:{k}"] = v
    for i in range(nout):
        rec[f"{cid}:out:{i}"] = outs[i].asnumpy()
    grads = []
    if is_train:
        if op in ("SoftmaxOutput", "LinearRegressionOutput", "LogisticRegressionOutput",
                  "MAERegressionOutput"):
            exe.backward()
        else:
            heads = [U(*o.shape) for o in outs]
            for i, h in enumerate(heads[:nout]):
                rec[f"{cid}:head:{i}"] = h
            exe.backward([mx.nd.array(h) for h in heads])
        for k in inputs:
            if k in no_grad:
                continue
            rec[f"{cid}:grad:{k}"] = exe.grad_dict[k].asnumpy()
            grads.append(k)
    for k in aux:
        rec[f"{cid}:aux_out:{k}"] = exe.aux_dict[k].asnumpy()
    meta = {
        "id": cid, "op": op, "params": params, "is_train": is_train,
        "inputs": list(inputs), "aux": list(aux), "num_outputs": nout, "grads": grads,
        "types": types, "infer_from_data": extra.get("infer_from_data", True),
        "rtol": extra.get("rtol", 1e-5), "atol": extra.get("atol", 1e-6),
    }
    return meta, rec


def main():
    index, arrays = [], {}
    for c in CASES:
        meta, rec = run_case(*c)
        index.append(meta)
        arrays.update(rec)
    os.makedirs(ROOT, exist_ok=True)
    np.savez_compressed(os.path.join(ROOT, "nn_ops.npz"), **arrays)
    with open(os.path.join(ROOT, "nn_ops.json"), "w") as f:
        json.dump({"mxnet_version": mx.__version__, "cases": index}, f, indent=1)
        f.write("\n")
    size = os.path.getsize(os.path.join(ROOT, "nn_ops.npz"))
    print(f"{len(index)} cases, {len(arrays)} arrays, {size} bytes")


if __name__ == "__main__":
    main()
