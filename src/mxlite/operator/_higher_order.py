"""Differentiable backward rules: the gradient of an operator written with recorded ``mx.nd``
operations, used by ``mx.autograd.grad(..., create_graph=True)``.

A normal backward pass runs each operator's NumPy ``backward`` (fast, not recorded).  With
``create_graph=True`` the tape asks :func:`input_grads` for every node instead; the gradients it
returns are NDArrays computed by recorded operator calls, so they can be differentiated again
(second, third, ... order gradients).  Operators fall into four groups:

- **smooth rules** (:data:`_RULES`): the gradient as an expression of the inputs, outputs and
  output gradients, e.g. ``d sin(x) = g * cos(x)``, ``d tanh(x) = g * (1 - y * y)``,
  ``d (a * b) = (g * b, g * a)`` summed back to broadcast shapes, ``dot`` and
  ``FullyConnected`` as transposed products;
- **linear operators** (:data:`_LINEAR`, shape functions, sums, slicing, concatenation, ...):
  their gradient is a linear map ``L`` of the output gradient that does not depend on the input;
  it is recorded as one node whose own gradient is the adjoint of ``L`` -- the operator's forward
  pass itself, applied to the incoming gradient;
- **piecewise-linear elementwise operators** (:data:`_PIECEWISE`: relu, abs, clip, Dropout, the
  rounding functions, ...): ``g * m`` with the constant mask ``m`` (the NumPy backward of ones);
  the input's second derivative is zero, as MXNet returns it;
- a gradient that ends up not depending on its variable (``d (2 x) = 2``) is returned tied to
  the variable by :func:`connect`, so that differentiating it again gives zeros;
- everything else gets a node that raises :class:`~mxlite.base.MXNetError` naming
  ``_backward_<op>`` when a higher-order gradient reaches it, as MXNet 1.9.1 does for operators
  without a differentiable gradient.  (MXNet 1.9.1 raises for many operators mxlite supports
  here -- ``broadcast_mul``, ``sum``, ``dot``, ``softmax``, ``Activation`` -- and also whenever
  such a node merely lies in the graph; mxlite raises only when a gradient actually flows
  through it.)
"""

from __future__ import annotations

import math

import numpy as np

from ..base import MXNetError

__all__ = ["connect", "input_grads", "supported_operators"]


# ---------------------------------------------------------------------- helpers
def _op(name, *inputs, **params):
    """Call operator ``name`` on NDArrays, recorded when an input is tracked."""
    from ..ndarray.op import invoke

    return invoke(name, inputs, params)


def _const(array, ctx):
    from ..ndarray import NDArray

    return NDArray(np.asarray(array), ctx)


def _sum_to(g, shape):
    """Sum ``g`` over the axes a broadcast expanded from ``shape`` (recorded)."""
    shape = tuple(shape)
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, s in enumerate(shape) if s == 1 and g.shape[lead + i] != 1)
    if axes:
        g = _op("sum", g, axis=axes, keepdims=True)
    return _op("Reshape", g, shape=shape) if g.shape != shape else g


def _where_positive(x, fill, ctx):
    """``x`` where ``x > 0`` else ``fill`` -- keeps ``log`` finite as the NumPy path does."""
    return _op("where", _const(x._data > 0, ctx).astype(x.dtype), x,
               _const(np.full(x.shape, fill, x.dtype), ctx))


# ---------------------------------------------------------------------- smooth rules
# rule(p, g, x, y, ctx) -> input gradients (NDArray or None); g: output gradients,
# x: inputs and y: outputs as NDArrays carrying their autograd entries
_RULES: dict = {}


def _rule(*names):
    def deco(fn):
        for n in names:
            _RULES[n] = fn
        return fn

    return deco


def _unary(name, grad):
    """A rule ``d x = grad(g, x, y)`` for a one-input elementwise operator."""
    _RULES[name] = lambda p, g, x, y, ctx: [grad(g[0], x[0], y[0])]


_LN2, _LN10 = math.log(2.0), math.log(10.0)
_unary("sin", lambda g, x, y: g * _op("cos", x))
_unary("cos", lambda g, x, y: -(g * _op("sin", x)))
_unary("tan", lambda g, x, y: g * (y * y + 1.0))
_unary("arcsin", lambda g, x, y: g * _op("rsqrt", 1.0 - x * x))
_unary("arccos", lambda g, x, y: -(g * _op("rsqrt", 1.0 - x * x)))
_unary("arctan", lambda g, x, y: g / (x * x + 1.0))
_unary("sinh", lambda g, x, y: g * _op("cosh", x))
_unary("cosh", lambda g, x, y: g * _op("sinh", x))
_unary("tanh", lambda g, x, y: g * (1.0 - y * y))
_unary("arcsinh", lambda g, x, y: g * _op("rsqrt", x * x + 1.0))
_unary("arccosh", lambda g, x, y: g * _op("rsqrt", x * x - 1.0))
_unary("arctanh", lambda g, x, y: g / (1.0 - x * x))
_unary("sigmoid", lambda g, x, y: g * y * (1.0 - y))
_unary("log", lambda g, x, y: g / x)
_unary("log2", lambda g, x, y: g / (x * _LN2))
_unary("log10", lambda g, x, y: g / (x * _LN10))
_unary("log1p", lambda g, x, y: g / (x + 1.0))
_unary("exp", lambda g, x, y: g * y)
_unary("expm1", lambda g, x, y: g * (y + 1.0))
_unary("square", lambda g, x, y: g * x * 2.0)
_unary("sqrt", lambda g, x, y: g * 0.5 / y)
_unary("rsqrt", lambda g, x, y: g * -0.5 * y / x)
_unary("cbrt", lambda g, x, y: g / (y * y * 3.0))
_unary("rcbrt", lambda g, x, y: g * (-1.0 / 3.0) * y / x)
_unary("reciprocal", lambda g, x, y: -(g * y * y))
_unary("erf", lambda g, x, y: g * (2.0 / math.sqrt(math.pi)) * _op("exp", -(x * x)))
_unary("softsign", lambda g, x, y: g / _op("square", _op("abs", x) + 1.0))


@_rule("_plus_scalar", "_minus_scalar")
def _shift(p, g, x, y, ctx):
    return [g[0]]


@_rule("_rminus_scalar")
def _rminus(p, g, x, y, ctx):
    return [-g[0]]


@_rule("_rdiv_scalar")
def _rdiv(p, g, x, y, ctx):
    return [-(g[0] * y[0] / x[0])]


@_rule("_power_scalar")
def _power_scalar(p, g, x, y, ctx):
    return [g[0] * p.scalar * _op("_power_scalar", x[0], scalar=p.scalar - 1.0)]


@_rule("_rpower_scalar")
def _rpower_scalar(p, g, x, y, ctx):
    return [g[0] * y[0] * math.log(p.scalar)]


@_rule("BlockGrad")
def _block(p, g, x, y, ctx):
    return [None]


@_rule("elemwise_mul", "broadcast_mul")
def _mul(p, g, x, y, ctx):
    a, b = x
    return [_sum_to(g[0] * b, a.shape), _sum_to(g[0] * a, b.shape)]


@_rule("elemwise_div", "broadcast_div")
def _div(p, g, x, y, ctx):
    a, b = x
    return [_sum_to(g[0] / b, a.shape), _sum_to(-(g[0] * y[0] / b), b.shape)]


@_rule("_power", "broadcast_power")
def _power(p, g, x, y, ctx):
    a, b = x
    da = g[0] * b * _op("broadcast_power", a, b - 1.0)
    db = g[0] * y[0] * _op("log", _where_positive(a, 1, ctx))
    return [_sum_to(da, a.shape), _sum_to(db, b.shape)]


def _extremum(pick):
    """``maximum``/``minimum``: the gradient goes to ``a`` where ``pick(a, b)``, else to ``b``
    (ties to ``a``, as the NumPy path)."""

    def rule(p, g, x, y, ctx):
        to_a = np.broadcast_to(pick(x[0]._data, x[1]._data), y[0].shape).astype(y[0].dtype)
        return [_sum_to(g[0] * _const(to_a, ctx), x[0].shape),
                _sum_to(g[0] * _const(1 - to_a, ctx), x[1].shape)]

    return rule


for _n in ("_maximum", "broadcast_maximum"):
    _RULES[_n] = _extremum(np.greater_equal)
for _n in ("_minimum", "broadcast_minimum"):
    _RULES[_n] = _extremum(np.less_equal)


def _dot_rule(op):
    return lambda p, g, x, y, ctx: _dot(op, p, g, x)


def _dot(op, p, g, x):
    """``dot``/``batch_dot``: ``d a = g op(b)^T``, ``d b = op(a)^T g`` with the transposes
    folded into the flags."""
    a, b = x
    if not all(isinstance(v._data, np.ndarray) for v in x):
        raise MXNetError(f"Operator _backward_{op} is non-differentiable for sparse inputs")
    ta, tb = p.transpose_a, p.transpose_b
    if op == "dot" and (a.ndim > 2 or b.ndim > 2):  # contract the last axis with the first
        k = b.shape[0]
        a2 = _op("Reshape", a, shape=(-1, k))
        b2 = _op("Reshape", b, shape=(k, -1))
        g2 = _op("Reshape", g[0], shape=(a2.shape[0], b2.shape[1]))
        return [_op("Reshape", _op("dot", g2, b2, transpose_b=True), shape=a.shape),
                _op("Reshape", _op("dot", a2, g2, transpose_a=True), shape=b.shape)]
    gg = g[0]
    if not ta and not tb:
        da, db = _op(op, gg, b, transpose_b=True), _op(op, a, gg, transpose_a=True)
    elif ta and not tb:
        da, db = _op(op, b, gg, transpose_b=True), _op(op, a, gg)
    elif not ta and tb:
        da, db = _op(op, gg, b), _op(op, gg, a, transpose_a=True)
    else:
        da = _op(op, b, gg, transpose_a=True, transpose_b=True)
        db = _op(op, gg, a, transpose_a=True, transpose_b=True)
    return [da, db]


_RULES["dot"] = _dot_rule("dot")
_RULES["batch_dot"] = _dot_rule("batch_dot")


@_rule("FullyConnected")
def _fully_connected(p, g, x, y, ctx):
    data, weight = x[0], x[1]
    n_in = weight.shape[1]
    x2 = _op("Reshape", data, shape=(data.shape[0], -1) if p.flatten else (-1, n_in))
    g2 = _op("Reshape", g[0], shape=(-1, p.num_hidden))
    grads = [_op("Reshape", _op("dot", g2, weight), shape=data.shape),
             _op("dot", g2, x2, transpose_a=True)]
    if not p.no_bias:
        grads.append(_op("sum", g2, axis=0))
    return grads


def _softmax_like(log):
    def rule(p, g, x, y, ctx):
        if p.get("use_length"):
            raise MXNetError("Operator _backward_softmax is not differentiable with use_length")
        gg, yy = g[0], y[0]
        if log:
            dx = gg - _op("exp", yy) * _op("sum", gg, axis=p.axis, keepdims=True)
        else:
            dx = yy * (gg - _op("sum", gg * yy, axis=p.axis, keepdims=True))
        if p.temperature is not None and p.temperature != 1.0:
            dx = dx / p.temperature
        return [dx]

    return rule


_RULES["softmax"] = _softmax_like(False)
_RULES["log_softmax"] = _softmax_like(True)


@_rule("Activation")
def _activation(p, g, x, y, ctx):
    kind = p.act_type
    if kind == "sigmoid":
        return _RULES["sigmoid"](p, g, x, y, ctx)
    if kind == "tanh":
        return _RULES["tanh"](p, g, x, y, ctx)
    if kind == "softrelu":
        return [g[0] * _op("sigmoid", x[0])]
    if kind == "softsign":
        return _RULES["softsign"](p, g, x, y, ctx)
    return None  # relu: piecewise linear


@_rule("LeakyReLU")
def _leaky_relu(p, g, x, y, ctx):
    if p.act_type == "elu":
        positive = _const(x[0]._data > 0, ctx).astype(x[0].dtype)
        slope = y[0] + p.slope
        return [g[0] * _op("where", positive, _const(np.ones(x[0].shape, x[0].dtype), ctx),
                                slope)]
    if p.act_type == "leaky":
        return None  # piecewise linear
    raise MXNetError(f"Operator _backward_LeakyReLU is not differentiable for "
                     f"act_type={p.act_type!r} (higher-order gradients: 'leaky' and 'elu')")


# ---------------------------------------------------------------------- linear operators
# name -> positions of the inputs the operator is linear in (None: all of them)
_LINEAR: dict = {
    **{n: None for n in (
        "Reshape", "Flatten", "expand_dims", "squeeze", "transpose", "SwapAxis", "broadcast_to",
        "broadcast_axis", "_copy", "Cast", "sum", "mean", "Concat", "stack", "add_n",
        "elemwise_add", "elemwise_sub", "broadcast_add", "broadcast_sub", "negative",
        "_mul_scalar", "_div_scalar", "radians", "degrees", "slice_axis", "slice",
        "SliceChannel", "tile", "repeat", "reverse", "_getitem")},
    "reshape_like": (0,), "broadcast_like": (0,), "take": (0,), "pick": (0,),
    "where": (1, 2),
}

# one-input elementwise operators whose derivative is locally constant
_PIECEWISE = frozenset((
    "relu", "abs", "sign", "clip", "floor", "ceil", "round", "rint", "fix", "trunc", "Dropout",
    "_maximum_scalar", "_minimum_scalar", "_mod_scalar", "Activation", "LeakyReLU",
))


def _forward_of(node_op, params, arrays, aux, saved, out_shapes):
    """The forward pass of a linear node's operator on new input arrays."""
    from ..ndarray._record import _GETITEM

    if node_op is _GETITEM:
        key = saved[0]
        return [np.ascontiguousarray(arrays[0][key]).reshape(out_shapes[0])], saved
    return node_op.forward(params, arrays, aux, False)


class _Adjoint:
    """Node operator of a linear operator's recorded gradient ``L(g)``; its backward is the
    adjoint ``L^T(h)`` -- the original operator's forward applied to ``h``."""

    def __init__(self, node, lin):
        self.op = node.op
        self.name = f"_backward_{node.op.name}"
        self.lin = lin
        self.in_arrays = node.in_arrays
        self.aux = node.aux
        self.saved = node.saved
        self.out_shapes = [o.shape for o in node.out_arrays]

    def is_loss(self, p) -> bool:
        return False

    def arrays(self, hs):
        arrays = list(self.in_arrays)
        for pos, h in zip(self.lin, hs, strict=True):
            arrays[pos] = np.asarray(h, dtype=self.in_arrays[pos].dtype)
        return arrays

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        outs, _ = _forward_of(self.op, p, self.arrays(out_grads), self.aux, self.saved,
                              self.out_shapes)
        return outs

    def graph_grads(self, p, hs, ctx):
        """The adjoint as a recorded call of the original operator (third order and up)."""
        from ..ndarray import NDArray
        from ..ndarray._record import record_node

        arrays = self.arrays([h._data for h in hs])
        outs, saved = _forward_of(self.op, p, arrays, self.aux, self.saved, self.out_shapes)
        inputs = [_const(a, ctx) for a in arrays]
        for pos, h in zip(self.lin, hs, strict=True):
            inputs[pos] = h
        results = [NDArray(o, ctx) for o in outs]
        record_node(self.op, p, inputs, arrays, results, self.aux, saved)
        return results


class _Connect:
    """Node operator tying a constant gradient to the variable it is the gradient of: its
    value does not depend on the variable, so its own gradient is zero -- and a further order
    gives zeros instead of an unrecorded array."""

    name = "_constant_gradient"

    def is_loss(self, p) -> bool:
        return False

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        return [np.zeros_like(inputs[0])]


_CONNECT = _Connect()


def connect(value, x):
    """``value`` (an unrecorded gradient of ``x``) as a recorded array depending on ``x``."""
    from ..ndarray import NDArray
    from ..ndarray._record import record_node

    out = NDArray(value._data, x.context)
    record_node(_CONNECT, None, [x], [x._data], [out])
    return out


class _NonDifferentiable:
    """Node operator of a gradient computed without a differentiable rule: differentiating
    through it raises MXNetError naming the operator."""

    def __init__(self, name):
        self.name = f"_backward_{name}"

    def is_loss(self, p) -> bool:
        return False

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        raise MXNetError(
            f"Operator {self.name} is non-differentiable: it has no higher-order gradient "
            f"rule (see mxlite.operator._higher_order.supported_operators())")


def supported_operators() -> list[str]:
    """Names of the operators whose gradient can itself be differentiated."""
    return sorted(set(_RULES) | set(_LINEAR) | _PIECEWISE)


# ---------------------------------------------------------------------- entry point
def _numpy_grads(node, g):
    return node.op.backward(node.params, [v._data for v in g], node.in_arrays, node.out_arrays,
                            node.aux, node.saved)


def input_grads(node, g, ctx):
    """The gradients of ``node``'s inputs given output gradients ``g`` (NDArrays), computed by
    recorded operator calls so that they can be differentiated again."""
    from ..ndarray import NDArray
    from ..ndarray._record import Out, record_node

    op = node.op
    hook = getattr(op, "graph_grads", None)
    if hook is not None and not isinstance(op, (_Adjoint, _Connect)):
        return hook(node, g, ctx)  # e.g. a hybridized block's recorded call
    x = [NDArray(a, ctx) for a in node.in_arrays]
    for v, e in zip(x, node.entries, strict=True):
        v._ag = e
    if isinstance(op, _Adjoint):
        return op.graph_grads(node.params, g, ctx)
    if op is _CONNECT:
        return [connect(_const(np.zeros_like(node.in_arrays[0]), ctx), x[0])]
    if isinstance(op, _NonDifferentiable):
        op.backward(None, None, None, None, None, None)
    name = op.name
    params = node.params
    if name in _RULES:
        y = [NDArray(a, ctx) for a in node.out_arrays]
        for i, v in enumerate(y):
            v._ag = Out(node, i)
        grads = _RULES[name](params, g, x, y, ctx)
        if grads is not None:
            return grads
    if name in _PIECEWISE and len(x) == 1 and node.out_arrays[0].shape == x[0].shape:
        ones = np.ones_like(node.out_arrays[0])
        mask = node.op.backward(params, [ones], node.in_arrays, node.out_arrays, node.aux,
                                node.saved)[0]
        if mask is None:  # no gradient at all (floor, round, ...): zero
            return [_const(np.zeros_like(node.in_arrays[0]), ctx)]
        return [g[0] * _const(np.asarray(mask, dtype=x[0].dtype), ctx)]
    grads = _numpy_grads(node, g)
    if name in _LINEAR:
        lin = _LINEAR[name]
        lin = tuple(range(len(x))) if lin is None else lin
        lin = tuple(i for i in lin if i < len(grads) and grads[i] is not None)
        if not lin:
            return [None] * len(x)
        adj = _Adjoint(node, lin)
        outs = [NDArray(np.asarray(grads[i]), ctx) for i in lin]
        record_node(adj, node.params, list(g), [v._data for v in g], outs, node.aux)
        full = [None] * len(x)
        for i, o in zip(lin, outs, strict=True):
            full[i] = o
        return full
    # no differentiable rule: the values are right, a further gradient through them raises
    from ..ndarray._record import _dense_grad

    stub = _NonDifferentiable(name)
    outs = [None if a is None else NDArray(np.asarray(_dense_grad(a)), ctx) for a in grads]
    present = [o for o in outs if o is not None]
    sources = [v for v in (*g, *x) if v._ag is not None]
    if present and sources:
        record_node(stub, None, sources, [v._data for v in sources], present)
    return outs

