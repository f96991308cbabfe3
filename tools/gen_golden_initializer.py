"""Regenerate ``tests/golden/initializer.{json,npz}`` from MXNet 1.9.1.

Run with the reference interpreter (not mxlite's venv)::

    /tmp/mxref/bin/python tools/gen_golden_initializer.py

Every case names an initializer as a small JSON spec ``["classname", {kwargs}]`` whose kwargs may
hold ``{"__nd__": nested list}`` (an NDArray), ``{"__np__": nested list}`` (a float32 NumPy
array) or ``{"__init__": spec}`` (another initializer), so the tests can build the same objects in
mxlite.  Results of deterministic initializers go to the ``.npz`` (one key per case); ``dumps()``
strings, error/no-error outcomes and verbose log lines go to the ``.json``; the Load case's
parameters are also saved as ``initializer.params`` (MXNet's file format) for ``Load(path)``.
"""

from __future__ import annotations

import io
import json
import logging
import os
import sys
import warnings

import mxnet as mx
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import init_spec  # noqa: E402  (tools/ is not a package)

OUT = os.path.join(HERE, "..", "tests", "golden")


def build(spec):
    """An MXNet object from a spec (see ``tools/init_spec.py``)."""
    return init_spec.build(spec, mx)


def one():
    return ["one", {}]


def const(v):
    return ["constant", {"value": v}]


DUMPS = [
    ("zero", ["zero", {}]),
    ("one", ["one", {}]),
    ("constant-int", const(3)),
    ("constant-float", const(-0.75)),
    ("constant-ndarray", const({"__nd__": [[1.0, 2.0], [3.0, 0.1]]})),
    ("constant-numpy", const({"__np__": [0.5, 1.5, 2.5]})),
    ("uniform-default", ["uniform", {}]),
    ("uniform-0.1", ["uniform", {"scale": 0.1}]),
    ("normal-default", ["normal", {}]),
    ("normal-0.5", ["normal", {"sigma": 0.5}]),
    ("orthogonal-default", ["orthogonal", {}]),
    ("orthogonal-normal", ["orthogonal", {"scale": 0.5, "rand_type": "normal"}]),
    ("xavier-default", ["xavier", {}]),
    ("xavier-in-2.34", ["xavier", {"factor_type": "in", "magnitude": 2.34}]),
    ("xavier-gaussian-out", ["xavier", {"rnd_type": "gaussian", "factor_type": "out",
                                        "magnitude": 2}]),
    ("msraprelu-default", ["msraprelu", {}]),
    ("msraprelu-in-0", ["msraprelu", {"factor_type": "in", "slope": 0.0}]),
    ("bilinear", ["bilinear", {}]),
    ("lstmbias-default", ["lstmbias", {}]),
    ("lstmbias-2", ["lstmbias", {"forget_bias": 2.0}]),
    ("fusedrnn-one-lstm", ["fusedrnn", {"init": {"__init__": one()}, "num_hidden": 4,
                                        "num_layers": 2, "mode": "lstm",
                                        "bidirectional": True}]),
    ("fusedrnn-none-gru", ["fusedrnn", {"init": None, "num_hidden": 3, "num_layers": 1,
                                        "mode": "gru"}]),
    ("fusedrnn-xavier-tanh", ["fusedrnn", {"init": {"__init__": ["xavier", {"magnitude": 2}]},
                                           "num_hidden": 8, "num_layers": 1,
                                           "mode": "rnn_tanh", "forget_bias": 0.5}]),
]


def fused_size(mode, num_input, h, layers, bidirectional):
    m = {"rnn_relu": 1, "rnn_tanh": 1, "lstm": 4, "gru": 3}[mode]
    b = 2 if bidirectional else 1
    return (num_input + h + 2) * h * m * b + (layers - 1) * m * h * (h + b * h + 2) * b


def array_cases():
    """(id, init spec, name, attrs, shape, path) for deterministic results."""
    cases = []
    w = "fc_weight"
    for shape in [(3, 4), (2, 3, 2, 2)]:
        s = "x".join(map(str, shape))
        cases += [
            (f"zero-{s}", ["zero", {}], w, {}, shape),
            (f"one-{s}", one(), w, {}, shape),
            (f"constant-scalar-{s}", const(2.5), w, {}, shape),
        ]
    cases += [
        ("constant-row-3x4", const({"__np__": [1.0, 2.0, 3.0, 4.0]}), w, {}, (3, 4)),
        ("constant-col-3x4", const({"__np__": [[1.0], [2.0], [3.0]]}), w, {}, (3, 4)),
        ("constant-nd-full-2x2", const({"__nd__": [[1.0, -2.0], [0.5, 7.0]]}), w, {}, (2, 2)),
        ("constant-list-row-2x3", const([0.25, 0.5, 0.75]), w, {}, (2, 3)),
    ]
    for shape in [(1, 1, 4, 4), (2, 3, 5, 5), (3, 1, 3, 4), (1, 2, 2, 2), (2, 2, 1, 7),
                  (1, 1, 6, 3)]:
        s = "x".join(map(str, shape))
        cases.append((f"bilinear-{s}", ["bilinear", {}], "up_weight", {}, shape))
    for fb, shape in [(1.0, (8,)), (2.5, (16,)), (-1.0, (4,))]:
        cases.append((f"lstmbias-{fb}-{shape[0]}", ["lstmbias", {"forget_bias": fb}],
                      "lstm_bias_weight", {}, shape))
    for mode in ["lstm", "gru", "rnn_tanh", "rnn_relu"]:
        for bidir in [False, True]:
            for layers in [1, 2]:
                for inner in [one(), const(0.5)]:
                    size = fused_size(mode, 5, 3, layers, bidir)
                    tag = f"fusedrnn-{inner[0]}-{mode}-{'bi' if bidir else 'uni'}-L{layers}"
                    spec = ["fusedrnn", {"init": {"__init__": inner}, "num_hidden": 3,
                                         "num_layers": layers, "mode": mode,
                                         "bidirectional": bidir, "forget_bias": 1.5}]
                    cases.append((tag, spec, "rnn_weight", {}, (size,)))
    # FusedRNN with init=None under a global Constant through the ``__init__`` attribute
    for mode in ["lstm", "gru"]:
        spec = ["fusedrnn", {"init": None, "num_hidden": 2, "num_layers": 2, "mode": mode,
                             "bidirectional": True}]
        size = fused_size(mode, 3, 2, 2, True)
        cases.append((f"fusedrnn-global-{mode}", const(0.25), "rnn_parameters",
                      {"__init__": json.dumps(spec_dumps(spec))}, (size,)))
    # ``__init__`` attributes win over the name and over the global initializer
    cases += [
        ("attr-one-on-unknown-name", ["uniform", {}], "foo", {"__init__": '["one", {}]'}, (2, 3)),
        ("attr-constant-on-bias", ["uniform", {}], "fc_bias",
         {"__init__": '["constant", {"value": 2}]'}, (4,)),
        ("attr-zero-on-moving-var", ["one", {}], "bn_moving_var", {"__init__": '["zero", {}]'},
         (3,)),
        ("attr-plain-name", ["uniform", {}], "foo", {"__init__": "ones"}, (2, 2)),
        ("attr-lstmbias", ["uniform", {}], "lstm_i2h_bias",
         {"__init__": '["lstmbias", {"forget_bias": 3.0}]'}, (8,)),
        ("attr-empty-falls-back-to-name", const(4.0), "fc_weight", {"__init__": ""}, (2,)),
    ]
    return cases


def spec_dumps(spec):
    return json.loads(build(spec).dumps())


DISPATCH_NAMES = [
    "fc_weight", "fc_bias", "bn_gamma", "bn_beta", "quant_min", "quant_max",
    "bn_moving_mean", "bn_moving_var", "bn_moving_inv_var", "bn_moving_avg",
    "fc_bias_quantize", "upsampling0_weight", "stn_loc_weight", "stn_loc_bias",
    "foo", "data", "weight", "bias", "gamma", "beta", "min", "max", "softmax_label",
    "stn_loc_fc_weight",
]


def dispatch_shape(name):
    if name.startswith("upsampling"):
        return (1, 1, 4, 4)
    if name == "stn_loc_bias":
        return (6,)
    return (2, 3)


def run_dispatch(init, name, shape, legacy):
    arr = mx.nd.full(shape, -9.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if legacy:
                init(name, arr)
            else:
                init(mx.init.InitDesc(name), arr)
        except Exception as err:  # the outcome is what we record
            return None, type(err).__name__
    deprecated = any(issubclass(c.category, DeprecationWarning) for c in caught)
    return arr.asnumpy(), ("deprecated" if deprecated else "ok")


def main():
    golden = {"dumps": {}, "arrays": [], "dispatch": [], "mixed": [], "load": [],
              "verbose": {}}
    arrays = {}

    for cid, spec in DUMPS:
        golden["dumps"][cid] = {"spec": spec, "dumps": build(spec).dumps()}

    for cid, spec, name, attrs, shape in array_cases():
        init = build(spec)
        arr = mx.nd.full(shape, -9.0)
        init(mx.init.InitDesc(name, attrs=attrs), arr)
        arrays[cid] = arr.asnumpy()
        golden["arrays"].append({"id": cid, "spec": spec, "name": name, "attrs": attrs,
                                 "shape": list(shape)})

    for legacy in (False, True):
        init = build(const(7.0))
        for name in DISPATCH_NAMES:
            shape = dispatch_shape(name)
            out, outcome = run_dispatch(init, name, shape, legacy)
            key = f"dispatch-{'legacy' if legacy else 'desc'}-{name}"
            if out is not None:
                arrays[key] = out
            golden["dispatch"].append({"id": key, "name": name, "legacy": legacy,
                                       "shape": list(shape), "outcome": outcome})

    mixed_spec = ["mixed", {"patterns": [".*bias", "fc.*", ".*"],
                            "initializers": [["zero", {}], const(3.0), one()]}]
    for name in ["fc1_bias", "fc1_weight", "conv_weight", "bn_gamma", "xfc_weight"]:
        arr = mx.nd.full((2, 2), -9.0)
        build(mixed_spec)(mx.init.InitDesc(name), arr)
        arrays[f"mixed-{name}"] = arr.asnumpy()
        golden["mixed"].append({"id": f"mixed-{name}", "spec": mixed_spec, "name": name,
                                "shape": [2, 2]})

    param = {"arg:fc_weight": [[1.0, 2.0], [3.0, 4.0]], "aux:bn_moving_mean": [0.5, -0.5],
             "plain_bias": [9.0, 8.0]}
    load_spec = ["load", {"param": param, "default_init": const(6.0)}]
    for name, shape in [("fc_weight", (2, 2)), ("bn_moving_mean", (2,)), ("plain_bias", (2,)),
                        ("other_weight", (3,)), ("other_bias", (2,))]:
        arr = mx.nd.full(shape, -9.0)
        build(load_spec)(mx.init.InitDesc(name), arr)
        arrays[f"load-{name}"] = arr.asnumpy()
        golden["load"].append({"id": f"load-{name}", "spec": load_spec, "name": name,
                               "shape": list(shape)})

    # verbose log lines: default statistic and a custom print_func
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    init = mx.init.Constant(0.5).set_verbosity(True)
    for name, attrs, shape in [("fc_weight", {}, (3, 4)), ("fc_bias", {}, (4,)),
                               ("bn_gamma", {}, (2,)), ("bn_beta", {}, (2,)),
                               ("q_min", {}, (1,)), ("q_max", {}, (1,)),
                               ("foo", {"__init__": '["constant", {"value": 3.0}]'}, (2, 2))]:
        init(mx.init.InitDesc(name, attrs=attrs), mx.nd.zeros(shape))
    golden["verbose"]["default"] = stream.getvalue().splitlines()
    stream.truncate(0)
    stream.seek(0)
    init = mx.init.One().set_verbosity(True, print_func=lambda x: f"sum={x.sum().asscalar()}")
    init(mx.init.InitDesc("fc_weight"), mx.nd.zeros((2, 5)))
    golden["verbose"]["custom"] = stream.getvalue().splitlines()
    root.removeHandler(handler)

    # MXNet's unpacked layout of the fused RNN vector: (name, offset, shape) in order
    from mxnet.rnn import rnn_cell

    golden["fused_layout"] = []
    for mode, hidden, layers, bidir, num_input in [
        ("lstm", 3, 2, True, 5), ("gru", 2, 3, False, 4), ("rnn_tanh", 4, 1, True, 1),
        ("rnn_relu", 1, 2, False, 2), ("lstm", 2, 1, False, 3),
    ]:
        size = fused_size(mode, num_input, hidden, layers, bidir)
        cell = rnn_cell.FusedRNNCell(hidden, layers, mode, bidir, prefix="")
        parts = cell._slice_weights(mx.nd.arange(size), num_input, hidden)
        golden["fused_layout"].append({
            "mode": mode, "num_hidden": hidden, "num_layers": layers, "bidirectional": bidir,
            "size": size, "num_input": num_input,
            "slices": [[name, int(a.asnumpy().ravel()[0]), list(a.shape)]
                       for name, a in parts.items()]})

    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "initializer.json"), "w") as f:
        json.dump(golden, f, indent=1, sort_keys=False)
        f.write("\n")
    np.savez_compressed(os.path.join(OUT, "initializer.npz"), **arrays)
    # the Load case's parameters as a .params file, for Load(path)
    mx.nd.save(os.path.join(OUT, "initializer.params"),
               {k: mx.nd.array(v) for k, v in param.items()})
    print(f"wrote {len(arrays)} arrays, {len(golden['dumps'])} dumps strings", file=sys.stderr)


if __name__ == "__main__":
    main()
