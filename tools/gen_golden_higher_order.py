"""Regenerate tests/golden/higher_order.{json,npz} from MXNet 1.9.1.

Run with the MXNet reference interpreter:
    /tmp/mxref/bin/python tools/gen_golden_higher_order.py

Two sections:

- ``unary``: for every operator MXNet 1.9.1 differentiates twice, ``y = op(a)`` and then
  ``g_k = autograd.grad(g_{k-1}, a, head_grads=h_k, create_graph=True)`` for k = 1, 2, 3; the
  fixture keeps the input, the head gradients and every ``g_k`` MXNet computed (orders 1 and 2
  always, 3 where MXNet can), plus the name of the operator MXNet's error names when an order
  fails.
- ``composite``: procedures written as Python source over ``mx`` and a dict of input arrays
  (gradient penalty ``||d f / d x||^2`` of a small two-layer tanh net back into its weights,
  the cross second derivatives of FullyConnected, ...); the source, the inputs and the
  results are stored, and the test runs the same source with mxlite.
"""

from __future__ import annotations

import json
import os
import re

os.environ["MXNET_MKLDNN_ENABLED"] = "0"

import mxnet as mx
import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden")
rng = np.random.default_rng(1419)


def U(*shape, low=-1.0, high=1.0):
    return rng.uniform(low, high, size=shape).astype(np.float32)


# (operator, low, high): input domain
UNARY = [
    ("sin", -2, 2), ("cos", -2, 2), ("tan", -1, 1), ("arcsin", -0.9, 0.9),
    ("arccos", -0.9, 0.9), ("arctan", -3, 3), ("sinh", -2, 2), ("cosh", -2, 2),
    ("tanh", -2, 2), ("arcsinh", -3, 3), ("arccosh", 1.5, 4), ("arctanh", -0.9, 0.9),
    ("radians", -3, 3), ("degrees", -3, 3), ("relu", -1, 1), ("sigmoid", -3, 3),
    ("log", 0.5, 3), ("log2", 0.5, 3), ("log10", 0.5, 3), ("log1p", 0.5, 3), ("exp", -2, 2),
    ("expm1", -2, 2), ("square", -2, 2), ("sqrt", 0.5, 3), ("rsqrt", 0.5, 3),
    ("cbrt", 0.5, 3), ("rcbrt", 0.5, 3), ("reciprocal", 0.5, 3), ("abs", -1, 1),
    ("sign", -1, 1), ("floor", -3, 3), ("ceil", -3, 3), ("round", -3, 3), ("rint", -3, 3),
    ("fix", -3, 3), ("trunc", -3, 3), ("negative", -1, 1), ("softsign", -2, 2),
    ("erf", -1.5, 1.5),
]
SHAPE = (3, 4)
ORDERS = 3

COMPOSITE = {
    # gradient penalty ||d f / d x||^2 of f = w . tanh(x) + b, back into the weights and x
    "gradient_penalty_dense": (
        """
def run(mx, a):
    x, w, b = (mx.nd.array(a[k]) for k in ("x", "w", "b"))
    for v in (x, w, b):
        v.attach_grad()
    with mx.autograd.record():
        f = mx.nd.FullyConnected(mx.nd.tanh(x), w, b, num_hidden=4)
        gx = mx.autograd.grad(f, x, head_grads=mx.nd.array(a["h"]), create_graph=True,
                              retain_graph=True)[0]
        penalty = (gx ** 2).sum()
    penalty.backward()
    return {"gx": gx, "penalty": penalty, "x": x.grad, "w": w.grad}
""", {"x": U(3, 5), "w": U(4, 5), "b": U(4), "h": U(3, 4)}),
    # the same through a two-layer net f = w2 . tanh(w1 x + b1) + b2.  MXNet 1.9.1 bug: its
    # second-order FullyConnected ignores that the head gradient of the first layer depends
    # on x (through tanh), so MXNet's x/w1/b1/w2 gradients here are wrong (mxlite's equal
    # PyTorch's); the test compares gx and penalty with MXNet, the rest with PyTorch
    "gradient_penalty_mlp": (
        """
def run(mx, a):
    x, w1, b1, w2, b2 = (mx.nd.array(a[k]) for k in ("x", "w1", "b1", "w2", "b2"))
    for v in (x, w1, b1, w2, b2):
        v.attach_grad()
    with mx.autograd.record():
        h = mx.nd.tanh(mx.nd.FullyConnected(x, w1, b1, num_hidden=5))
        f = mx.nd.FullyConnected(h, w2, b2, num_hidden=1)
        gx = mx.autograd.grad(f, x, head_grads=mx.nd.ones_like(f), create_graph=True,
                              retain_graph=True)[0]
        penalty = (gx ** 2).sum()
    penalty.backward()
    return {"gx": gx, "penalty": penalty, "x": x.grad, "w1": w1.grad, "b1": b1.grad,
            "w2": w2.grad}
""", {"x": U(4, 3), "w1": U(5, 3), "b1": U(5), "w2": U(1, 5), "b2": U(1)}),
    # cross second derivatives of FullyConnected (x -> w and w -> x), as MXNet's own test
    "fully_connected_cross": (
        """
def run(mx, a):
    x, w, b = (mx.nd.array(a[k]) for k in ("x", "w", "b"))
    for v in (x, w, b):
        v.attach_grad()
    oy, ox, ow = (mx.nd.array(a[k]) for k in ("oy", "ox", "ow"))
    with mx.autograd.record():
        y = mx.nd.FullyConnected(x, w, b, num_hidden=3, flatten=True)
        x_grad = mx.autograd.grad(y, x, head_grads=oy, create_graph=True, retain_graph=True)[0]
        w_grad_grad = mx.autograd.grad(x_grad, w, head_grads=ox, create_graph=False,
                                       retain_graph=True)[0]
        w_grad = mx.autograd.grad(y, w, head_grads=oy, create_graph=True, retain_graph=True)[0]
        x_grad_grad = mx.autograd.grad(w_grad, x, head_grads=ow, create_graph=False,
                                       retain_graph=True)[0]
    return {"x_grad": x_grad, "w_grad": w_grad, "w_grad_grad": w_grad_grad,
            "x_grad_grad": x_grad_grad}
""", {"x": U(2, 2, 2), "w": U(3, 4), "b": U(3), "oy": U(2, 3), "ox": U(2, 2, 2),
      "ow": U(3, 4)}),
    # a chain of supported unary operators, second order through all of them
    "unary_chain": (
        """
def run(mx, a):
    x = mx.nd.array(a["x"])
    x.attach_grad()
    with mx.autograd.record():
        y = mx.nd.log(mx.nd.elemwise_add(mx.nd.sigmoid(mx.nd.sin(x)),
                                         mx.nd.exp(mx.nd.tanh(x))))
        g = mx.autograd.grad(y, x, head_grads=mx.nd.array(a["h1"]), create_graph=True,
                             retain_graph=True)[0]
    g.backward(mx.nd.array(a["h2"]))
    return {"g": g, "x": x.grad}
""", {"x": U(3, 4), "h1": U(3, 4), "h2": U(3, 4)}),
    # x.grad after backward of a second-order gradient written with elemwise_add and add_n
    "sum_of_unaries": (
        """
def run(mx, a):
    x = mx.nd.array(a["x"])
    x.attach_grad()
    with mx.autograd.record():
        y = mx.nd.add_n(mx.nd.square(x), mx.nd.sin(x), mx.nd.elemwise_add(mx.nd.cos(x),
                                                                         mx.nd.exp(x)))
        g = mx.autograd.grad(y, x, head_grads=mx.nd.array(a["h1"]), create_graph=True,
                             retain_graph=True)[0]
    g.backward(mx.nd.array(a["h2"]))
    return {"g": g, "x": x.grad}
""", {"x": U(3, 4), "h1": U(3, 4), "h2": U(3, 4)}),
}


def _failing_op(err: Exception) -> str:
    m = re.search(r"Operator (\S+) is non-differentiable", str(err))
    return m.group(1) if m else str(err).strip().splitlines()[-1][:160]


def gen_unary(meta, arrays):
    for name, low, high in UNARY:
        a = rng.uniform(low, high, size=SHAPE).astype(np.float32)
        heads = [rng.normal(size=SHAPE).astype(np.float32) for _ in range(ORDERS)]
        x = mx.nd.array(a)
        x.attach_grad()
        got, error = [], None
        try:
            with mx.autograd.record():
                g = getattr(mx.nd, name)(x)
                for k in range(ORDERS):
                    g = mx.autograd.grad(g, x, head_grads=mx.nd.array(heads[k]),
                                         create_graph=True, retain_graph=True)[0]
                    got.append(g.asnumpy())
        except mx.base.MXNetError as e:
            error = _failing_op(e)
        arrays[f"{name}/in"] = a
        for k, h in enumerate(heads):
            arrays[f"{name}/head{k + 1}"] = h
        for k, g in enumerate(got):
            arrays[f"{name}/grad{k + 1}"] = g
        meta["unary"].append({"op": name, "orders": len(got), "error": error})
        print(f"{name}: orders {len(got)}{'' if error is None else ', then ' + error}")


def gen_composite(meta, arrays):
    for cid, (src, inputs) in COMPOSITE.items():
        scope: dict = {}
        exec(src, scope)
        out = scope["run"](mx, inputs)
        for k, v in inputs.items():
            arrays[f"{cid}/in_{k}"] = v
        for k, v in out.items():
            arrays[f"{cid}/out_{k}"] = v.asnumpy()
        meta["composite"].append({"id": cid, "src": src, "inputs": sorted(inputs),
                                  "outputs": sorted(out)})
        print(f"{cid}: {sorted(out)}")


def main():
    meta = {"mxnet": mx.__version__, "unary": [], "composite": []}
    arrays: dict = {}
    gen_unary(meta, arrays)
    gen_composite(meta, arrays)
    for ext, write in (("json", lambda f: f.write(json.dumps(meta, indent=1).encode())),
                       ("npz", lambda f: np.savez_compressed(f, **arrays))):
        path = os.path.join(ROOT, f"higher_order.{ext}")
        with open(path + ".tmp", "wb") as f:
            write(f)
        os.replace(path + ".tmp", path)


if __name__ == "__main__":
    main()
