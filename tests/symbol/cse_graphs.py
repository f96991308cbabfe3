"""Graphs for common-subexpression elimination, shared by tools/gen_golden_cse.py (run with
MXNet 1.9.1) and tests/symbol/test_cse.py, so both sides build the very same graph.

Each builder takes the framework module (``mxnet`` or ``mxlite``) and returns ``(symbol,
input shapes)``; names are made inside a fresh ``NameManager``.
"""

from __future__ import annotations

import json


def _vars(mx, *names):
    return [mx.sym.Variable(n) for n in names]


def different_scalars(mx):
    (a,) = _vars(mx, "a")
    return (a + 1) + (a + 2), {"a": (3, 4)}


def same_sum_twice(mx):
    a, b = _vars(mx, "a", "b")
    return (a + b) + (a + b), {"a": (3, 4), "b": (3, 4)}


def nested_twice(mx):
    a, b, c = _vars(mx, "a", "b", "c")
    return ((a + b) + c) + ((a + b) + c), {"a": (3, 4), "b": (3, 4), "c": (3, 4)}


def two_equal_outputs(mx):
    (a,) = _vars(mx, "a")
    d = a + 1
    return mx.sym.Group([a * d, a * d]), {"a": (3, 4)}


def three_equal_outputs(mx):
    a, b = _vars(mx, "a", "b")
    d = a + 1
    return mx.sym.Group([a * d + b, a * d + b, a * d + b]), {"a": (3, 4), "b": (3, 4)}


def repeated_outputs_get_copies(mx):
    a, b = _vars(mx, "a", "b")
    x = a * 2
    return mx.sym.Group([a, a, x, x, b + 1, b + 1]), {"a": (3, 4), "b": (3, 4)}


def repeated_outputs_alone(mx):
    (a,) = _vars(mx, "a")
    x = a * 2
    return mx.sym.Group([x, x]), {"a": (3, 4)}


def int_and_float_scalar(mx):
    (a,) = _vars(mx, "a")
    return (a + 1) * (a + 1.0), {"a": (3, 4)}


def attribute_differs(mx):
    (a,) = _vars(mx, "a")
    return (mx.sym.exp(a, name="e1") + mx.sym.exp(a, name="e2", attr={"__lr_mult__": "2"}),
            {"a": (3, 4)})


def dropout(mx):
    (a,) = _vars(mx, "a")
    return mx.sym.Dropout(a) + mx.sym.Dropout(a), {"a": (3, 4)}


def split_is_never_merged(mx):
    (a,) = _vars(mx, "a")
    s1 = mx.sym.split(a, num_outputs=2, axis=1, name="s1")
    s2 = mx.sym.split(a, num_outputs=2, axis=1, name="s2")
    return s1[0] + s2[0], {"a": (3, 4)}


def batchnorm_is_never_merged(mx):
    a, g, b, m, v = _vars(mx, "a", "g", "b", "m", "v")
    return (mx.sym.BatchNorm(a, g, b, m, v, name="bn1") + mx.sym.BatchNorm(a, g, b, m, v,
                                                                          name="bn2"),
            {"a": (2, 3, 2, 2)})


def shared_weight_layers(mx):
    x, w, b = _vars(mx, "x", "w", "b")
    c1 = mx.sym.Convolution(x, w, b, kernel=(1, 1), num_filter=2, name="c1")
    c2 = mx.sym.Convolution(x, w, b, kernel=(1, 1), num_filter=2, name="c2")
    r1 = mx.sym.Activation(c1, act_type="relu", name="r1")
    r2 = mx.sym.Activation(c2, act_type="relu", name="r2")
    p = mx.sym.Pooling(r1 + r2, kernel=(1, 1), pool_type="max", name="p")
    return mx.sym.softmax(mx.sym.flatten(p)) + mx.sym.softmax(mx.sym.flatten(p)), \
        {"x": (2, 3, 2, 2)}


GRAPHS = {f.__name__: f for f in (
    different_scalars, same_sum_twice, nested_twice, two_equal_outputs, three_equal_outputs,
    repeated_outputs_get_copies, repeated_outputs_alone, int_and_float_scalar, attribute_differs,
    dropout, split_is_never_merged, batchnorm_is_never_merged, shared_weight_layers,
)}


def build(mx, name):
    manager = mx.name.NameManager() if hasattr(mx, "name") else mx.sym.name.NameManager()
    with manager:
        return GRAPHS[name](mx)


def describe(sym) -> dict:
    """What the golden file records of an optimized symbol: its nodes (op, name, inputs), heads,
    output names and internals count."""
    graph = json.loads(sym.tojson())
    return {
        "nodes": [[n["op"], n["name"], [i[:2] for i in n["inputs"]]] for n in graph["nodes"]],
        "heads": [h[:2] for h in graph["heads"]],
        "outputs": sym.list_outputs(),
        "internals": len(sym.get_internals()),
    }
