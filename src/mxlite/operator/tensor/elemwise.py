"""Elementwise operators: unary functions, same-shape and broadcast binary arithmetic and
comparisons, scalar arithmetic, ``add_n``, ``identity``, ``BlockGrad``, ``MakeLoss``, ``clip``,
``Cast``, ``smooth_l1``, ``zeros_like``/``ones_like``.
"""

from __future__ import annotations

import numpy as np

from ...base import MXNetError
from ..registry import Operator, Param, ShapeError, register
from ._common import _scalar_as, _sum_to

__all__: list[str] = []

_QUIET = {"divide": "ignore", "invalid": "ignore", "over": "ignore"}


# ---------------------------------------------------------------------- NumPy-level semantics
# shared with the hand-written ``mx.nd`` functions and NDArray operators (one truth)
def _divide(a, b, dtype):
    """MXNet's division: true division for floats, C (truncating) division for integers,
    with ``x / 0 == 0`` for integers (MXNet 1.9.1 crashes there)."""
    if dtype.kind in "iub":
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.floor_divide(a - np.fmod(a, b), b)
    return np.true_divide(a, b)


def _mod(a, b, dtype):
    """Python-style modulo (the result has the sign of the divisor); ``x % 0 == 0``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.mod(a, b)
    if dtype.kind == "f":
        zero = np.equal(b, 0)
        if zero.any():
            r = np.where(zero, r.dtype.type(0), r)
        r += r.dtype.type(0)  # -0.0 -> 0.0, as MXNet
    return r


def _power(a, b, dtype):
    """Power; an integer base with a negative integer exponent goes through float64 and
    truncates, as MXNet (``2 ** -1 == 0``, ``(-1) ** -1 == -1``)."""
    if dtype.kind in "iu" and np.any(np.less(b, 0)):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return np.power(np.asarray(a, np.float64), np.asarray(b, np.float64))
    return np.power(a, b)



def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _rsqrt(x):
    return 1.0 / np.sqrt(x)


def _sign(x):
    r = np.sign(x)
    if r.dtype.kind == "f":
        np.copyto(r, 0, where=np.isnan(r))  # MXNet: sign(nan) == 0
    return r


def _relu(x):
    return np.maximum(x, x.dtype.type(0))


def _round(x):
    # MXNet rounds half away from zero (C round), not to even
    return np.trunc(x + np.copysign(x.dtype.type(0.5), x)) if x.dtype.kind == "f" else x


def _clip(x, a_min, a_max):
    """``x`` limited to ``[a_min, a_max]`` (bounds cast to ``x``'s dtype); ValueError when
    ``a_min > a_max`` (MXNet 1.9.1 accepts it silently)."""
    if a_min > a_max:
        raise ValueError(f"clip: a_min ({a_min}) must not exceed a_max ({a_max})")
    dtype = x.dtype
    return np.clip(x, _scalar_as(a_min, dtype), _scalar_as(a_max, dtype)).astype(dtype, copy=False)


def _cast(x, dtype):
    """``x`` converted to ``dtype`` (C conversion: NaN or out-of-range values wrap quietly)."""
    with np.errstate(invalid="ignore", over="ignore"):
        return x.astype(dtype)


UNARY: dict = {}  # name -> f(x), for ``mx.nd.<name>``


# ---------------------------------------------------------------------- unary elementwise
class _Unary(Operator):
    """``y = f(x)``; ``grad(x, y, og)`` gives the input gradient."""

    params: dict = {}
    partial_shapes = True
    same_shape = True

    def f(self, x):
        raise NotImplementedError

    def grad(self, x, y, og):
        raise NotImplementedError

    def forward(self, p, inputs, aux, is_train):
        x = inputs[0]
        with np.errstate(**_QUIET):
            return [np.asarray(self.f(x), dtype=x.dtype)], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        x = inputs[0]
        return [np.asarray(self.grad(x, outputs[0], out_grads[0]), dtype=x.dtype)]


def _unary(name, f, grad, aliases=()):
    UNARY[name] = f
    cls = type(f"_Op_{name}", (_Unary,), {
        "name": name, "aliases": tuple(aliases),
        "f": lambda self, x: f(x), "grad": lambda self, x, y, og: grad(x, y, og),
    })
    register(cls)


_unary("negative", np.negative, lambda x, y, og: -og)
_unary("abs", np.abs, lambda x, y, og: og * np.sign(x))
_unary("exp", np.exp, lambda x, y, og: og * y)
_unary("log", np.log, lambda x, y, og: og / x)
_unary("sqrt", np.sqrt, lambda x, y, og: og / (2 * y))
_unary("square", np.square, lambda x, y, og: og * 2 * x)
_unary("reciprocal", np.reciprocal, lambda x, y, og: -og * y * y)
_unary("sigmoid", _sigmoid, lambda x, y, og: og * y * (1 - y))
_unary("tanh", np.tanh, lambda x, y, og: og * (1 - y * y))
_unary("relu", _relu, lambda x, y, og: og * (x > 0))


@register
class Copy(Operator):
    """``identity``: the input unchanged (a copy)."""

    name = "_copy"
    aliases = ("identity",)
    params: dict = {}

    def forward(self, p, inputs, aux, is_train):
        return [inputs[0].copy()], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        return [out_grads[0]]


@register
class BlockGrad(Operator):
    """Identity forward; stops the gradient (the input gets none)."""

    name = "BlockGrad"
    aliases = ("stop_gradient",)
    params: dict = {}

    def forward(self, p, inputs, aux, is_train):
        return [inputs[0].copy()], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        return [None]


@register
class MakeLoss(Operator):
    """Marks its input as a loss: forward is identity, the input gradient is ``grad_scale``
    divided by 1 (``null``), the batch size (``batch``) or the number of elements greater than
    ``valid_thresh`` (at least 1; ``valid``)."""

    name = "MakeLoss"
    aliases = ("make_loss",)
    loss = True
    params = {
        "grad_scale": Param("float", 1.0),
        "valid_thresh": Param("float", 0.0),
        "normalization": Param("str", "null", choices=("null", "batch", "valid")),
    }

    def forward(self, p, inputs, aux, is_train):
        return [inputs[0].copy()], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        x = inputs[0]
        scale = p.grad_scale
        if p.normalization == "batch":
            scale = scale / x.shape[0]
        elif p.normalization == "valid":
            scale = scale / max(1, int(np.count_nonzero(x > p.valid_thresh)))
        return [np.full(x.shape, scale, dtype=x.dtype)]


# ---------------------------------------------------------------------- binary elementwise
class _Binary(Operator):
    """``out = f(lhs, rhs)`` of equal shapes; ``grads`` returns both input gradients."""

    params: dict = {}
    broadcast = False

    def arguments(self, p):
        return ["lhs", "rhs"]

    def infer_shape(self, p, in_shapes, aux_shapes):
        if not self.broadcast:
            return super().infer_shape(p, in_shapes, aux_shapes)
        a, b = in_shapes
        if a is None or b is None:
            return in_shapes, [None], aux_shapes
        try:
            out = np.broadcast_shapes(tuple(a), tuple(b))
        except ValueError:
            raise ShapeError(
                f"{self.name}: operand shapes {tuple(a)} and {tuple(b)} cannot be broadcast "
                "together"
            ) from None
        return in_shapes, [out], aux_shapes

    def f(self, a, b):
        raise NotImplementedError

    def grads(self, a, b, y, og):
        raise NotImplementedError

    #: the NumPy ufunc of ``f`` when it is one (the output can then go into ``out``)
    ufunc = None
    writes_outputs = True

    def forward(self, p, inputs, aux, is_train, out=None):
        a, b = inputs
        if not self.broadcast and a.shape != b.shape:
            raise MXNetError(f"{self.name}: operand shapes {a.shape} and {b.shape} differ")
        y = out[0] if out else None
        kind = self.kernel
        if kind is not None and a.shape == b.shape and a.dtype == b.dtype and (
                kind != _KERNEL_KINDS["div"] or a.dtype.kind == "f"):
            # float32/float64 of one shape: the parallel one-pass kernel (in place when the
            # executor hands the dead lhs over as ``out``); imported here, so that importing
            # mxlite does not load Numba
            from . import _elemwise_kernels

            if y is None or y.shape != a.shape or y.dtype != a.dtype:
                y = np.empty(a.shape, a.dtype)
            _elemwise_kernels.binary(kind, a, b, y)
            return [y], None
        if (y is not None and self.ufunc is not None and a.dtype == b.dtype == y.dtype
                and y.shape == np.broadcast_shapes(a.shape, b.shape)):
            with np.errstate(**_QUIET):
                self.ufunc(a, b, out=y)
            return [y], None
        with np.errstate(**_QUIET):
            return [np.asarray(self.f(a, b), dtype=a.dtype)], None

    #: :data:`._elemwise_kernels.KINDS` entry of the same-shape float kernel (None: NumPy)
    kernel = None

    def in_place(self, p):
        """``add`` and ``sub`` may write their output over the lhs (the executor's in-place
        plan): their backward reads neither input's values."""
        return self.kernel in (0, 1) and not self.broadcast

    #: ``add``, ``sub``, ``mul``: gradients of broadcast operands reduced without a full-size
    #: temporary (see :func:`_reduced_grads`)
    key = None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        a, b = inputs
        og = out_grads[0]
        if (self.key is not None and a.shape != b.shape and og.shape == outputs[0].shape
                and a.dtype == b.dtype == og.dtype):
            return _reduced_grads(self.key, a, b, og)
        ga, gb = self.grads(a, b, outputs[0], og)
        out = []
        for g, x in ((ga, a), (gb, b)):
            if g is None:
                out.append(None)
                continue
            g = np.broadcast_to(g, outputs[0].shape) if np.ndim(g) < outputs[0].ndim else g
            out.append(np.asarray(_sum_to(np.asarray(g), x.shape), dtype=x.dtype))
        return out


def _zero_grads(a, b, y, og):
    return None, None


_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _reduce_product(og, other, shape):
    """``sum_to(og * other, shape)`` in one pass (``einsum`` multiplies and sums without the
    full-size product); ``other`` broadcasts against ``og``."""
    nd = og.ndim
    lead = nd - len(shape)
    full = (1,) * lead + tuple(shape)
    sub = _LETTERS[:nd]
    keep = "".join(c for c, s, o in zip(sub, full, og.shape, strict=True) if s == o)
    o = other.reshape((1,) * (nd - other.ndim) + other.shape)
    return np.einsum(f"{sub},{sub}->{keep}", og, o).reshape(shape)


def _reduced_grads(key, a, b, og):
    """Gradients of broadcast ``add`` / ``sub`` / ``mul``: an operand of the output's shape gets
    ``og`` (``-og``, ``og * other``); a broadcast one the reduction of that, computed without
    a chain of full-size temporaries (``sub`` negates the reduced sum, ``mul`` multiplies and
    reduces in one ``einsum`` pass)."""
    grads = []
    for x, other, sign in ((a, b, 1), (b, a, -1 if key == "sub" else 1)):
        if key == "mul":
            g = og * other if x.shape == og.shape else _reduce_product(og, other, x.shape)
        else:
            g = _sum_to(og, x.shape)
            if sign < 0:
                g = np.negative(g)
        grads.append(np.asarray(g, dtype=x.dtype))
    return grads


_BINARY = {
    # name: (f, grads)
    "add": (np.add, lambda a, b, y, og: (og, og)),
    "sub": (np.subtract, lambda a, b, y, og: (og, -og)),
    "mul": (np.multiply, lambda a, b, y, og: (og * b, og * a)),
    "div": (lambda a, b: _divide(a, b, a.dtype), lambda a, b, y, og: (og / b, -og * a / (b * b))),
    "power": (lambda a, b: _power(a, b, a.dtype), lambda a, b, y, og: (
        og * b * np.power(a, b - 1), og * y * np.log(np.where(a > 0, a, 1)))),
    "maximum": (np.maximum, lambda a, b, y, og: (og * (a >= b), og * (a < b))),
    "minimum": (np.minimum, lambda a, b, y, og: (og * (a <= b), og * (a > b))),
    "mod": (lambda a, b: _mod(a, b, a.dtype), lambda a, b, y, og: (og, -og * np.floor(a / b))),
    "equal": (np.equal, _zero_grads),
    "not_equal": (np.not_equal, _zero_grads),
    "greater": (np.greater, _zero_grads),
    "greater_equal": (np.greater_equal, _zero_grads),
    "lesser": (np.less, _zero_grads),
    "lesser_equal": (np.less_equal, _zero_grads),
}

# names MXNet gives the same-shape versions: (canonical, aliases)
_ELEMWISE_NAMES = {
    "add": ("elemwise_add", ("_add", "_plus", "_Plus")),
    "sub": ("elemwise_sub", ("_sub", "_minus", "_Minus")),
    "mul": ("elemwise_mul", ("_mul", "_Mul")),
    "div": ("elemwise_div", ("_div", "_Div")),
    "power": ("_power", ("_Power",)),
    "maximum": ("_maximum", ("_Maximum",)),
    "minimum": ("_minimum", ("_Minimum",)),
    "mod": ("_mod", ("_Mod",)),
    "equal": ("_equal", ()),
    "not_equal": ("_not_equal", ()),
    "greater": ("_greater", ()),
    "greater_equal": ("_greater_equal", ()),
    "lesser": ("_lesser", ()),
    "lesser_equal": ("_lesser_equal", ()),
}


#: same-shape ops with a Numba kernel: ``_elemwise_kernels.KINDS`` (checked by its tests)
_KERNEL_KINDS = {"add": 0, "sub": 1, "mul": 2, "div": 3}


def _register_binary(key, f, grads):
    canonical, aliases = _ELEMWISE_NAMES[key]
    body = {"f": lambda self, a, b: f(a, b), "grads": lambda self, a, b, y, og: grads(a, b, y, og),
            "ufunc": f if f in (np.add, np.subtract, np.multiply, np.maximum, np.minimum)
            else None}
    register(type(f"_Op_{canonical}", (_Binary,), {
        **body, "name": canonical, "aliases": aliases, "broadcast": False,
        "kernel": _KERNEL_KINDS.get(key)}))
    bname = f"broadcast_{key}"
    register(type(f"_Op_{bname}", (_Binary,), {
        **body, "name": bname, "aliases": ("broadcast_plus",) if key == "add" else
        ("broadcast_minus",) if key == "sub" else (), "broadcast": True,
        "key": key if key in ("add", "sub", "mul") else None}))


for _key, (_f, _g) in _BINARY.items():
    _register_binary(_key, _f, _g)


@register
class AddN(Operator):
    """``add_n(*args)``: the sum of any number of equally shaped inputs."""

    name = "add_n"
    aliases = ("ElementWiseSum",)
    variadic = "num_args"
    params = {"num_args": Param("int")}

    def arguments(self, p):
        return [f"arg{i}" for i in range(p.num_args)]

    def forward(self, p, inputs, aux, is_train):
        out = inputs[0].copy()
        for x in inputs[1:]:
            out += x
        return [out], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        return [out_grads[0]] * len(inputs)


# ---------------------------------------------------------------------- scalar arithmetic
class _Scalar(Operator):
    """``out = f(data, scalar)`` with the scalar cast to the data's dtype."""

    params = {"scalar": Param("float", 1.0), "is_int": Param("bool", True)}

    def f(self, x, s):
        raise NotImplementedError

    def grad(self, x, s, y, og):
        raise NotImplementedError

    def forward(self, p, inputs, aux, is_train):
        x = inputs[0]
        s = _scalar_as(p.scalar, x.dtype)
        with np.errstate(**_QUIET):
            return [np.asarray(self.f(x, s), dtype=x.dtype)], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        x = inputs[0]
        g = self.grad(x, _scalar_as(p.scalar, x.dtype), outputs[0], out_grads[0])
        if g is None:
            return [None]
        return [np.asarray(g, dtype=x.dtype)]


_SCALAR = {
    "_plus_scalar": ("_PlusScalar", lambda x, s: x + s, lambda x, s, y, og: og),
    "_minus_scalar": ("_MinusScalar", lambda x, s: x - s, lambda x, s, y, og: og),
    "_rminus_scalar": ("_RMinusScalar", lambda x, s: s - x, lambda x, s, y, og: -og),
    "_mul_scalar": ("_MulScalar", lambda x, s: x * s, lambda x, s, y, og: og * s),
    "_div_scalar": ("_DivScalar", lambda x, s: _divide(x, s, x.dtype), lambda x, s, y, og: og / s),
    "_rdiv_scalar": ("_RDivScalar", lambda x, s: _divide(s, x, x.dtype),
                     lambda x, s, y, og: -og * y / x),
    "_power_scalar": ("_PowerScalar", lambda x, s: _power(x, s, x.dtype),
                      lambda x, s, y, og: og * s * np.power(x, s - 1)),
    "_rpower_scalar": ("_RPowerScalar", lambda x, s: _power(s, x, x.dtype),
                       lambda x, s, y, og: og * y * np.log(s)),
    "_mod_scalar": ("_ModScalar", lambda x, s: _mod(x, s, x.dtype), lambda x, s, y, og: og),
    "_rmod_scalar": ("_RModScalar", lambda x, s: _mod(s, x, x.dtype),
                     lambda x, s, y, og: -og * np.floor(s / x)),
    "_maximum_scalar": ("_MaximumScalar", lambda x, s: np.maximum(x, s),
                        lambda x, s, y, og: og * (x >= s)),
    "_minimum_scalar": ("_MinimumScalar", lambda x, s: np.minimum(x, s),
                        lambda x, s, y, og: og * (x <= s)),
    "_equal_scalar": ("_EqualScalar", np.equal, None),
    "_not_equal_scalar": ("_NotEqualScalar", np.not_equal, None),
    "_greater_scalar": ("_GreaterScalar", np.greater, None),
    "_greater_equal_scalar": ("_GreaterEqualScalar", np.greater_equal, None),
    "_lesser_scalar": ("_LesserScalar", np.less, None),
    "_lesser_equal_scalar": ("_LesserEqualScalar", np.less_equal, None),
}


def _register_scalar(name, alias, f, grad):
    register(type(f"_Op{name}", (_Scalar,), {
        "name": name, "aliases": (alias,),
        "f": lambda self, x, s: f(x, s),
        "grad": (lambda self, x, s, y, og: grad(x, s, y, og)) if grad is not None
        else (lambda self, x, s, y, og: None),
    }))


for _n, (_alias, _f, _g) in _SCALAR.items():
    _register_scalar(_n, _alias, _f, _g)


# ---------------------------------------------------------------------- clip and cast
@register
class Clip(Operator):
    """Clamp to ``[a_min, a_max]``; the gradient passes where the input is inside (inclusive)."""

    name = "clip"
    params = {"a_min": Param("float"), "a_max": Param("float")}

    def forward(self, p, inputs, aux, is_train):
        return [_clip(inputs[0], p.a_min, p.a_max)], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        x = inputs[0]
        inside = (x >= _scalar_as(p.a_min, x.dtype)) & (x <= _scalar_as(p.a_max, x.dtype))
        return [np.where(inside, out_grads[0], 0).astype(x.dtype, copy=False)]


_CAST_TYPES = ("bfloat16", "bool", "float16", "float32", "float64", "int32", "int64", "int8",
               "uint8")


@register
class Cast(Operator):
    """Convert to ``dtype``; the gradient is cast back to the input's dtype."""

    name = "Cast"
    aliases = ("cast",)
    params = {"dtype": Param("dtype", choices=_CAST_TYPES)}
    partial_shapes = True  # the default (elementwise) inference passes 0 dims through
    same_shape = True

    def _dtype(self, p):
        if p.dtype == "bfloat16":
            raise MXNetError("Cast: bfloat16 is not supported by NumPy")
        return np.dtype(p.dtype)

    def infer_type(self, p, in_types, aux_types):
        return in_types, [self._dtype(p)], aux_types

    def forward(self, p, inputs, aux, is_train):
        return [_cast(inputs[0], self._dtype(p))], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        return [out_grads[0].astype(inputs[0].dtype)]


# ---------------------------------------------------------------------- more unary functions
def _zero_grad(x, y, og):
    return np.zeros_like(x)


_unary("rsqrt", _rsqrt, lambda x, y, og: -0.5 * og * y * y * y)
_unary("sign", _sign, _zero_grad)
_unary("floor", np.floor, _zero_grad)
_unary("ceil", np.ceil, _zero_grad)
_unary("round", _round, _zero_grad)
def _rint(x):
    """MXNet's ``rint``: the nearest integer, halves rounded down (``rint(1.5) = 1``,
    ``rint(-1.5) = -2``; NumPy's ``rint`` rounds them to even)."""
    f = np.floor(x)
    return np.where(x - f > 0.5, f + 1, f).astype(np.result_type(x), copy=False)


_unary("rint", _rint, _zero_grad)
_unary("trunc", np.trunc, _zero_grad)
_unary("fix", np.fix, _zero_grad)
_unary("log1p", np.log1p, lambda x, y, og: og / (1 + x))
_unary("expm1", np.expm1, lambda x, y, og: og * (y + 1))
_unary("log2", np.log2, lambda x, y, og: og / (x * np.log(2.0)))
_unary("log10", np.log10, lambda x, y, og: og / (x * np.log(10.0)))
_unary("sin", np.sin, lambda x, y, og: og * np.cos(x))
_unary("cos", np.cos, lambda x, y, og: -og * np.sin(x))
_unary("cbrt", np.cbrt, lambda x, y, og: og / (3 * y * y))
_unary("softsign", lambda x: x / (1 + np.abs(x)), lambda x, y, og: og / np.square(1 + np.abs(x)))


@register
class SmoothL1(Operator):
    """``smooth_l1``: ``0.5 (s x)^2`` where ``|x| < 1/s^2``, else ``|x| - 0.5/s^2``."""

    name = "smooth_l1"
    params = {"scalar": Param("float", 1.0)}

    def forward(self, p, inputs, aux, is_train):
        x = inputs[0]
        s2 = x.dtype.type(p.scalar * p.scalar)
        small = np.abs(x) < 1 / s2
        return [np.where(small, 0.5 * s2 * x * x, np.abs(x) - 0.5 / s2).astype(x.dtype)], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        x = inputs[0]
        s2 = x.dtype.type(p.scalar * p.scalar)
        g = np.where(np.abs(x) < 1 / s2, s2 * x, np.sign(x))
        return [(out_grads[0] * g).astype(x.dtype)]


class _Like(Operator):
    params: dict = {}
    value = 0.0

    def forward(self, p, inputs, aux, is_train):
        return [np.full_like(inputs[0], self.value)], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        return [None]


@register
class ZerosLike(_Like):
    """An array of zeros shaped like the input (no gradient)."""

    name = "zeros_like"


@register
class OnesLike(_Like):
    """An array of ones shaped like the input (no gradient)."""

    name = "ones_like"
    value = 1.0
