"""Record the storage types MXNet 1.9.1's executors give outputs and gradients into
tests/golden/sparse_executor.json.

Run with the MXNet reference interpreter::

    /tmp/mxref/bin/python tools/gen_golden_sparse_executor.py

Every case is a symbol expression over variables of given storage types (``CASES``: id,
expression, and ``(variable, array, stype)`` per input; ``mx`` is bound to mxnet, the arrays
are those of ``ARRAYS``).  For each case the fixture holds:

* ``bind``: ``sym.bind(args=...)`` with arrays of the given storage types, then
  ``forward(is_train=False)``: the output storage types and dense values, or the error;
* ``simple_bind``: ``sym.simple_bind(stype_dict=..., grad_req='write')``: the storage types of
  the gradient arrays it allocates, then after ``forward(is_train=True)`` with the case's
  values and ``backward`` (head gradients of ones): output storage types and gradient values,
  or the error (``None`` values where MXNet raises at that stage);
* ``nd``: the same expression imperatively (``mx.sym`` read as ``mx.nd``, the variables bound
  to the arrays): the result's storage type and values, or the error.

tests/sparse/test_executor_stypes.py replays every case with mxlite.
"""

from __future__ import annotations

import json
import os
import sys
import warnings

import numpy as np

os.environ.setdefault("MXNET_STORAGE_FALLBACK_LOG_VERBOSE", "0")
warnings.simplefilter("ignore")

HERE = os.path.dirname(os.path.abspath(__file__))
OUT_JSON = os.path.join(HERE, "..", "tests", "golden", "sparse_executor.json")

#: named float32 inputs: rows 0 and 2 of ``x`` are zero, ``y`` overlaps it on row 1
ARRAYS = {
    "x": [[0, 0, 0], [2, 0.5, 3], [0, 0, 0], [0, 4, 1.5]],
    "y": [[1, 0, 2], [0, 3, 0], [0, 0, 0], [0, 0.25, 0]],
    "p": [[1, 2, 0.5], [2, 0.5, 3], [4, 1, 2], [1, 4, 1.5]],  # no zeros (divisors)
    "w": [[1, -1], [0.5, 2], [-2, 0.25]],  # (3, 2)
    "wt": [[1, 0.5, -2], [-1, 2, 0.25]],  # (2, 3)
    "v": [[1, 2], [0, -1], [3, 0.5], [-2, 1]],  # (4, 2)
    "c": [[1, 0, 1], [0, 0, 1], [1, 1, 0], [0, 1, 0]],  # where's condition
    "idx": [0, 3],
    "tok": [0, 2, 2],  # Embedding's data
    "emb": [[1, 2], [3, 4], [5, 6], [7, 8]],  # (4, 2) Embedding weight
    "g3": [1, 2, 0.5],  # BatchNorm's gamma / beta / stats over 3 channels
}

S3 = ("default", "row_sparse", "csr")
UNARY = ("abs", "sign", "round", "rint", "ceil", "floor", "trunc", "fix", "square", "sqrt",
         "cbrt", "rsqrt", "exp", "log", "log1p", "expm1", "relu", "sigmoid", "tanh", "sinh",
         "arcsinh", "arctanh", "sin", "tan", "arcsin", "arctan", "cos", "degrees", "radians",
         "negative", "_copy", "BlockGrad", "zeros_like", "ones_like", "reciprocal", "softsign",
         "erf", "gamma")
SCALAR = (("mul_scalar", "x * 2.5"), ("div_scalar", "x / 2"), ("plus_scalar", "x + 1"),
          ("minus_scalar", "x - 1"), ("rminus_scalar", "1 - x"), ("rdiv_scalar", "2 / x"),
          ("power_scalar", "x ** 2"), ("greater_scalar", "x > 0"),
          ("scatter_plus_scalar", "mx.sym._internal._scatter_plus_scalar(x, scalar=1.5)"),
          ("scatter_minus_scalar", "mx.sym._internal._scatter_minus_scalar(x, scalar=1.5)"),
          ("clip_keeps_zero", "mx.sym.clip(x, -1, 2)"),
          ("clip_moves_zero", "mx.sym.clip(x, 0.5, 2)"))
BINARY = ("elemwise_add", "elemwise_sub", "elemwise_mul", "elemwise_div", "_maximum",
          "_minimum", "_hypot", "_scatter_elemwise_div", "broadcast_add", "broadcast_mul",
          "broadcast_div", "broadcast_sub")


def _ns(op: str) -> str:
    return "mx.sym._internal" if op.startswith("_") else "mx.sym"


def _cases():
    cases = []
    for op in UNARY:
        for st in S3:
            cases.append((f"{op}-{st}", f"{_ns(op)}.{op}(x)", [("x", "x", st)]))
    for name, expr in SCALAR:
        for st in S3:
            cases.append((f"{name}-{st}", expr, [("x", "x", st)]))
    for op in BINARY:
        for a in S3:
            for b in S3:
                rhs = "p" if op in ("elemwise_div", "_scatter_elemwise_div") else "y"
                cases.append((f"{op}-{a}-{b}", f"{_ns(op)}.{op}(x, y)",
                              [("x", "x", a), ("y", rhs, b)]))
    for a in S3:
        for b in S3:
            cases.append((f"plus-{a}-{b}", "x + y", [("x", "x", a), ("y", "y", b)]))
            cases.append((f"add_n-{a}-{b}", "mx.sym.add_n(x, y)", [("x", "x", a), ("y", "y", b)]))
            cases.append((f"add_n3-{a}-{b}", "mx.sym.add_n(x, y, x)",
                          [("x", "x", a), ("y", "y", b)]))
            cases.append((f"concat0-{a}-{b}", "mx.sym.concat(x, y, dim=0)",
                          [("x", "x", a), ("y", "y", b)]))
            cases.append((f"concat1-{a}-{b}", "mx.sym.concat(x, y, dim=1)",
                          [("x", "x", a), ("y", "y", b)]))
    for a in S3:
        for b in S3:
            cases.append((f"dot-{a}-{b}", "mx.sym.dot(x, w)", [("x", "x", a), ("w", "w", b)]))
            cases.append((f"dot_ta-{a}-{b}", "mx.sym.dot(x, v, transpose_a=True)",
                          [("x", "x", a), ("v", "v", b)]))
            cases.append((f"dot_tb-{a}-{b}", "mx.sym.dot(x, wt, transpose_b=True)",
                          [("x", "x", a), ("wt", "wt", b)]))
            cases.append((f"dot_vx-{a}-{b}", "mx.sym.dot(wt, x, transpose_b=True)",
                          [("wt", "wt", a), ("x", "x", b)]))
            cases.append((f"dot_vtx-{a}-{b}", "mx.sym.dot(v, x, transpose_a=True)",
                          [("v", "v", a), ("x", "x", b)]))
    for st in S3:
        x = [("x", "x", st)]
        cases += [
            (f"sum-{st}", "mx.sym.sum(x)", x),
            (f"sum0-{st}", "mx.sym.sum(x, axis=0)", x),
            (f"sum1-{st}", "mx.sym.sum(x, axis=1)", x),
            (f"sum1k-{st}", "mx.sym.sum(x, axis=1, keepdims=True)", x),
            (f"mean0-{st}", "mx.sym.mean(x, axis=0)", x),
            (f"mean1-{st}", "mx.sym.mean(x, axis=1)", x),
            (f"norm-{st}", "mx.sym.norm(x)", x),
            (f"square_sum0-{st}", "mx.sym._internal._square_sum(x, axis=0)", x),
            (f"square_sum1-{st}", "mx.sym._internal._square_sum(x, axis=1)", x),
            (f"square_sum1k-{st}", "mx.sym._internal._square_sum(x, axis=1, keepdims=True)", x),
            (f"cast_default-{st}", "mx.sym.cast_storage(x, stype='default')", x),
            (f"cast_rsp-{st}", "mx.sym.cast_storage(x, stype='row_sparse')", x),
            (f"cast_csr-{st}", "mx.sym.cast_storage(x, stype='csr')", x),
            (f"retain-{st}", "mx.sym.sparse.retain(x, i)", [*x, ("i", "idx", "default")]),
            (f"slice_rows-{st}", "mx.sym.slice(x, begin=(1,), end=(3,))", x),
            (f"slice_cols-{st}", "mx.sym.slice(x, begin=(0, 1), end=(4, 3))", x),
            (f"relu_sqrt-{st}", "mx.sym.sqrt(mx.sym.relu(x))", x),
            (f"chain_add_mul-{st}", "mx.sym.elemwise_mul(x + x, x)", x),
            (f"chain_fallback_back-{st}", "mx.sym.square(mx.sym.exp(x))", x),
            (f"softmax-{st}", "mx.sym.softmax(x)", x),
            (f"reshape-{st}", "mx.sym.reshape(x, shape=(3, 4))", x),
            (f"fc-{st}", "mx.sym.FullyConnected(x, wt, num_hidden=2, no_bias=True)",
             [*x, ("wt", "wt", "default")]),
            (f"fc_w-{st}", "mx.sym.FullyConnected(x, wt, num_hidden=2, no_bias=True)",
             [("x", "x", "default"), ("wt", "wt", st)]),
            (f"where_cond-{st}", "mx.sym.where(c, x, y)",
             [("c", "c", st), ("x", "x", "default"), ("y", "y", "default")]),
            (f"where_all-{st}", "mx.sym.where(c, x, y)",
             [("c", "c", st), ("x", "x", st), ("y", "y", st)]),
            (f"make_loss-{st}", "mx.sym.make_loss(mx.sym.square(x))", x),
            (f"scatter_div_chain-{st}",
             "mx.sym._internal._scatter_elemwise_div(mx.sym._internal._scatter_plus_scalar("
             "x, scalar=2), p)", [*x, ("p", "p", "default")]),
            (f"sum_of_sparse-{st}", "mx.sym.sum(mx.sym.square(x) * 3, axis=1)", x),
            (f"two_heads-{st}", "mx.sym.Group([mx.sym.abs(x), mx.sym.exp(x)])", x),
            (f"shared_input-{st}", "mx.sym.elemwise_add(mx.sym.square(x), mx.sym.abs(x))", x),
        ]
    for st in ("default", "row_sparse"):
        for sg in (False, True):
            cases.append((f"embedding-sg{int(sg)}-{st}",
                          f"mx.sym.Embedding(t, e, input_dim=4, output_dim=2, sparse_grad={sg})",
                          [("t", "tok", "default"), ("e", "emb", st)]))
    for st in S3:
        gst = "default" if st == "default" else "row_sparse"  # 1-D: no csr
        for fix in (False, True):
            cases.append((f"batchnorm-fix{int(fix)}-{st}",
                          f"mx.sym.BatchNorm(x, g, b, m, s, fix_gamma={fix})",
                          [("x", "x", st), ("g", "g3", gst), ("b", "g3", gst),
                           ("m", "g3", "aux"), ("s", "g3", "aux")]))
    return cases


CASES = _cases()


def make_symbol(mx, expr, inputs):
    env = {"mx": mx}
    for var, _, st in inputs:
        kw = {} if st in ("default", "aux") else {"stype": st}
        env[var] = mx.sym.Variable(var, **kw)
    return eval(expr, env)


def make_array(mx, name, stype):
    arr = mx.nd.array(np.asarray(ARRAYS[name], dtype=np.float32))
    return arr if stype in ("default", "aux") else arr.tostype(stype)


def error_name(err) -> str:
    return type(err).__name__


def run_case(mx, expr, inputs):
    sym = make_symbol(mx, expr, inputs)
    args = {v: make_array(mx, a, st) for v, a, st in inputs if st != "aux"}
    aux = {v: make_array(mx, a, st) for v, a, st in inputs if st == "aux"}
    arg_names = sym.list_arguments()
    aux_names = sym.list_auxiliary_states()
    out = {"arguments": arg_names}
    try:
        exe = sym.bind(mx.cpu(), args={n: args[n] for n in arg_names},
                       aux_states={n: aux[n].copy() for n in aux_names} or None)
        exe.forward(is_train=False)
        out["bind"] = {"stypes": [o.stype for o in exe.outputs],
                       "values": [o.asnumpy().astype(np.float64).tolist()
                                  for o in exe.outputs]}
    except Exception as err:
        out["bind"] = {"error": error_name(err)}
    res = {}
    try:
        stype_dict = {n: args[n].stype for n in arg_names}
        shapes = {n: args[n].shape for n in arg_names}
        reqs = {n: ("null" if n in ("i", "t", "c") else "write") for n in arg_names}
        exe = sym.simple_bind(mx.cpu(), grad_req=reqs, stype_dict=stype_dict, **shapes)
        res["grad_stypes"] = {n: g.stype for n, g in exe.grad_dict.items() if g is not None}
        res["arg_stypes"] = {n: a.stype for n, a in exe.arg_dict.items()}
        for n in arg_names:
            args[n].copyto(exe.arg_dict[n])
        for n in aux_names:
            aux[n].copyto(exe.aux_dict[n])
        exe.forward(is_train=True)
        res["out_stypes"] = [o.stype for o in exe.outputs]
        exe.backward([mx.nd.ones(o.shape) for o in exe.outputs])
        res["grads"] = {n: g.asnumpy().astype(np.float64).tolist()
                        for n, g in exe.grad_dict.items() if g is not None}
    except Exception as err:
        res["error"] = error_name(err)
    out["simple_bind"] = res
    if "Group" not in expr and not aux:
        try:
            env = {"mx": mx, **args}
            value = eval(expr.replace("mx.sym", "mx.nd"), env)
            out["nd"] = {"stype": value.stype,
                         "values": value.asnumpy().astype(np.float64).tolist()}
        except Exception as err:
            out["nd"] = {"error": error_name(err)}
    return out


def main() -> int:
    import mxnet as mx

    if not mx.__version__.startswith("1.9"):
        print(f"needs MXNet 1.9.x, found {mx.__version__}", file=sys.stderr)
        return 1
    results = {}
    for cid, expr, inputs in CASES:
        results[cid] = {"expr": expr, "inputs": [list(i) for i in inputs],
                        **run_case(mx, expr, inputs)}
    doc = {"mxnet_version": mx.__version__, "arrays": ARRAYS, "cases": results}
    tmp = OUT_JSON + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=0, sort_keys=True, allow_nan=True)
        f.write("\n")
    os.replace(tmp, OUT_JSON)
    print(f"wrote {len(results)} cases to {os.path.relpath(OUT_JSON)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
