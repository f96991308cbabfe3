"""Property tests over random graphs: JSON round-trips, and the executor's gradients (with values
feeding several consumers) against finite differences in float64."""

from __future__ import annotations

import json

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import mxlite as mx

UNARY = ["tanh", "sigmoid", "square", "sin", "negative"]
BINARY = ["elemwise_add", "elemwise_sub", "elemwise_mul", "broadcast_mul", "_maximum"]
SCALAR = ["_plus_scalar", "_mul_scalar", "_rminus_scalar", "_div_scalar"]


@st.composite
def graphs(draw):
    """A random DAG over variables a, b (shape (2, 3)) built from smooth operators; earlier
    nodes may be reused, so values feed several consumers."""
    steps = draw(st.lists(st.tuples(st.sampled_from(["u", "b", "s"]), st.integers(0, 99),
                                    st.integers(0, 99), st.integers(0, 3),
                                    st.floats(0.5, 2.0)), min_size=1, max_size=8))
    return steps


def _build(steps):
    nodes = [mx.sym.Variable("a"), mx.sym.Variable("b")]
    for kind, i, j, k, scalar in steps:
        x, y = nodes[i % len(nodes)], nodes[j % len(nodes)]
        if kind == "u":
            nodes.append(getattr(mx.sym, UNARY[k % len(UNARY)])(x))
        elif kind == "b":
            nodes.append(getattr(mx.sym, BINARY[k % len(BINARY)])(x, y))
        else:
            nodes.append(getattr(mx.sym, SCALAR[k % len(SCALAR)])(x, scalar=scalar))
    # two heads: the last node and a scaled earlier node (which may also feed the last one)
    return mx.sym.Group([nodes[-1], nodes[len(nodes) // 2] * 0.5])


def _run(sym, arrays, heads):
    args = {k: mx.nd.array(v, dtype=np.float64) for k, v in arrays.items()
            if k in sym.list_arguments()}
    grads = {k: mx.nd.zeros(v.shape, dtype=np.float64) for k, v in args.items()}
    exe = sym.bind(mx.cpu(), args=args, args_grad=grads)
    outs = exe.forward(is_train=True)
    exe.backward([mx.nd.array(h, dtype=np.float64) for h in heads])
    return [o.asnumpy() for o in outs], {k: g.asnumpy() for k, g in grads.items()}


@settings(max_examples=40, deadline=None)
@given(graphs())
def test_json_roundtrip_preserves_graph_and_results(steps):
    sym = _build(steps)
    again = mx.sym.load_json(sym.tojson())
    assert again.tojson() == sym.tojson()
    assert again.list_arguments() == sym.list_arguments()
    rng = np.random.default_rng(0)
    arrays = {"a": rng.standard_normal((2, 3)), "b": rng.standard_normal((2, 3))}
    heads = [np.ones((2, 3)), np.ones((2, 3))]
    out1, g1 = _run(sym, arrays, heads)
    out2, g2 = _run(again, arrays, heads)
    for x, y in zip(out1, out2, strict=True):
        np.testing.assert_array_equal(x, y)
    assert g1.keys() == g2.keys()
    for k in g1:
        np.testing.assert_array_equal(g1[k], g2[k])


@settings(max_examples=40, deadline=None)
@given(graphs())
def test_executor_gradients_match_finite_differences(steps):
    sym = _build(steps)
    rng = np.random.default_rng(1)
    arrays = {"a": rng.uniform(-1, 1, (2, 3)), "b": rng.uniform(-1, 1, (2, 3))}
    heads = [rng.standard_normal((2, 3)), rng.standard_normal((2, 3))]
    _, grads = _run(sym, arrays, heads)

    def objective(values):
        outs, _ = _run(sym, values, heads)
        return sum(float(np.sum(h * o)) for h, o in zip(heads, outs, strict=True))

    eps = 1e-6
    for name, grad in grads.items():
        num = np.zeros_like(grad)
        for idx in np.ndindex(grad.shape):
            plus = {k: v.copy() for k, v in arrays.items()}
            minus = {k: v.copy() for k, v in arrays.items()}
            plus[name][idx] += eps
            minus[name][idx] -= eps
            num[idx] = (objective(plus) - objective(minus)) / (2 * eps)
        np.testing.assert_allclose(grad, num, rtol=1e-5, atol=1e-6, err_msg=name)


def test_json_of_random_graph_is_valid_mxnet_layout():
    sym = _build([("b", 0, 1, 2, 1.0), ("u", 2, 0, 0, 1.0), ("s", 3, 0, 1, 2.0)])
    graph = json.loads(sym.tojson())
    assert graph["arg_nodes"] == [0, 1]
    assert graph["node_row_ptr"] == list(range(len(graph["nodes"]) + 1))
    assert [h[0] for h in graph["heads"]] == [4, 5]
