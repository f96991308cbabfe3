"""Tensor operators: elementwise, broadcast and scalar arithmetic, shape manipulation,
reductions, ``clip``, ``Cast``, ``BlockGrad``, ``MakeLoss`` and ``identity``.

Each is an :class:`~mxlite.operator.registry.Operator` with MXNet 1.9.1's name, aliases and
parameters, and a forward and backward on NumPy arrays.  Results keep the input dtype (scalars
are cast to it, as MXNet does).
"""

from __future__ import annotations

import numpy as np

from ..base import MXNetError
from ..ndarray.ndarray import infer_reshape
from .registry import Operator, Param, Params, ShapeError, register

__all__: list[str] = []


def _shape_list(shapes) -> list:
    return [tuple(s) if s is not None else None for s in shapes]


# ---------------------------------------------------------------------- unary elementwise
class _Unary(Operator):
    """``y = f(x)``; ``grad(x, y, og)`` gives the input gradient."""

    params: dict = {}

    def f(self, x):
        raise NotImplementedError

    def grad(self, x, y, og):
        raise NotImplementedError

    def forward(self, p, inputs, aux, is_train):
        x = inputs[0]
        return [np.asarray(self.f(x), dtype=x.dtype)], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        x = inputs[0]
        return [np.asarray(self.grad(x, outputs[0], out_grads[0]), dtype=x.dtype)]


def _unary(name, f, grad, aliases=()):
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
_unary("sigmoid", lambda x: 1 / (1 + np.exp(-x)), lambda x, y, og: og * y * (1 - y))
_unary("tanh", np.tanh, lambda x, y, og: og * (1 - y * y))
_unary("relu", lambda x: np.maximum(x, 0), lambda x, y, og: og * (x > 0))


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
def _sum_to(g: np.ndarray, shape: tuple) -> np.ndarray:
    """Reduce a broadcast gradient back to ``shape``."""
    if g.shape == tuple(shape):
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, s in enumerate(shape) if s == 1 and g.shape[lead + i] != 1
    )
    return g.sum(axis=axes, keepdims=True).reshape(shape)


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

    def forward(self, p, inputs, aux, is_train):
        a, b = inputs
        if not self.broadcast and a.shape != b.shape:
            raise MXNetError(f"{self.name}: operand shapes {a.shape} and {b.shape} differ")
        return [np.asarray(self.f(a, b), dtype=a.dtype)], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        a, b = inputs
        ga, gb = self.grads(a, b, outputs[0], out_grads[0])
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


_BINARY = {
    # name: (f, grads)
    "add": (np.add, lambda a, b, y, og: (og, og)),
    "sub": (np.subtract, lambda a, b, y, og: (og, -og)),
    "mul": (np.multiply, lambda a, b, y, og: (og * b, og * a)),
    "div": (np.divide, lambda a, b, y, og: (og / b, -og * a / (b * b))),
    "power": (np.power, lambda a, b, y, og: (
        og * b * np.power(a, b - 1), og * y * np.log(np.where(a > 0, a, 1)))),
    "maximum": (np.maximum, lambda a, b, y, og: (og * (a >= b), og * (a < b))),
    "minimum": (np.minimum, lambda a, b, y, og: (og * (a <= b), og * (a > b))),
    "mod": (np.mod, lambda a, b, y, og: (og, -og * np.floor(a / b))),
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


def _register_binary(key, f, grads):
    canonical, aliases = _ELEMWISE_NAMES[key]
    body = {"f": lambda self, a, b: f(a, b), "grads": lambda self, a, b, y, og: grads(a, b, y, og)}
    register(type(f"_Op_{canonical}", (_Binary,), {
        **body, "name": canonical, "aliases": aliases, "broadcast": False}))
    bname = f"broadcast_{key}"
    register(type(f"_Op_{bname}", (_Binary,), {
        **body, "name": bname, "aliases": ("broadcast_plus",) if key == "add" else
        ("broadcast_minus",) if key == "sub" else (), "broadcast": True}))


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
        s = x.dtype.type(p.scalar)
        return [np.asarray(self.f(x, s), dtype=x.dtype)], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        x = inputs[0]
        g = self.grad(x, x.dtype.type(p.scalar), outputs[0], out_grads[0])
        if g is None:
            return [None]
        return [np.asarray(g, dtype=x.dtype)]


_SCALAR = {
    "_plus_scalar": ("_PlusScalar", lambda x, s: x + s, lambda x, s, y, og: og),
    "_minus_scalar": ("_MinusScalar", lambda x, s: x - s, lambda x, s, y, og: og),
    "_rminus_scalar": ("_RMinusScalar", lambda x, s: s - x, lambda x, s, y, og: -og),
    "_mul_scalar": ("_MulScalar", lambda x, s: x * s, lambda x, s, y, og: og * s),
    "_div_scalar": ("_DivScalar", lambda x, s: x / s, lambda x, s, y, og: og / s),
    "_rdiv_scalar": ("_RDivScalar", lambda x, s: s / x, lambda x, s, y, og: -og * y / x),
    "_power_scalar": ("_PowerScalar", lambda x, s: np.power(x, s),
                      lambda x, s, y, og: og * s * np.power(x, s - 1)),
    "_rpower_scalar": ("_RPowerScalar", lambda x, s: np.power(s, x),
                       lambda x, s, y, og: og * y * np.log(s)),
    "_mod_scalar": ("_ModScalar", lambda x, s: np.mod(x, s), lambda x, s, y, og: og),
    "_rmod_scalar": ("_RModScalar", lambda x, s: np.mod(s, x),
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


# ---------------------------------------------------------------------- shape manipulation
@register
class Reshape(Operator):
    """Reshape with MXNet's codes 0 (copy dim), -1 (infer), -2 (copy rest), -3 (merge two),
    -4 (split one into the next two); ``reverse`` applies the codes from the right."""

    name = "Reshape"
    aliases = ("reshape",)
    params = {
        "shape": Param("shape", ()),
        "reverse": Param("bool", False),
        "target_shape": Param("shape", ()),
        "keep_highest": Param("bool", False),
    }

    def _target(self, p, src):
        if p.shape:
            return infer_reshape(src, p.shape, p.reverse)
        if p.target_shape:  # legacy parameter: 0 means infer
            tgt = list(p.target_shape)
            if p.keep_highest:
                tgt = [src[0], *tgt]
            known = int(np.prod([t for t in tgt if t != 0]))
            tgt = [int(np.prod(src)) // known if t == 0 else t for t in tgt]
            return infer_reshape(src, tgt)
        raise MXNetError("Reshape: parameter 'shape' is required")

    def infer_shape(self, p, in_shapes, aux_shapes):
        if in_shapes[0] is None:
            return in_shapes, [None], aux_shapes
        try:
            out = self._target(p, tuple(in_shapes[0]))
        except MXNetError as err:
            raise ShapeError(f"{err} (input shape {tuple(in_shapes[0])})") from None
        return in_shapes, [out], aux_shapes

    def forward(self, p, inputs, aux, is_train):
        x = inputs[0]
        return [x.reshape(self._target(p, x.shape))], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        return [out_grads[0].reshape(inputs[0].shape)]


@register
class Flatten(Operator):
    """``(d0, d1, ..., dk) -> (d0, d1*...*dk)``."""

    name = "Flatten"
    aliases = ("flatten",)
    params: dict = {}

    def infer_shape(self, p, in_shapes, aux_shapes):
        s = in_shapes[0]
        if s is None:
            return in_shapes, [None], aux_shapes
        if len(s) == 0:
            raise ShapeError("Flatten: input must have at least one dimension")
        return in_shapes, [(s[0], int(np.prod(s[1:], dtype=np.int64)))], aux_shapes

    def forward(self, p, inputs, aux, is_train):
        x = inputs[0]
        return [x.reshape(x.shape[0], -1)], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        return [out_grads[0].reshape(inputs[0].shape)]


def _axis(axis: int, ndim: int, who: str, extra: int = 0) -> int:
    if not -ndim - extra <= axis < ndim + extra:
        raise ShapeError(f"{who}: axis {axis} is out of range for {ndim} dimensions")
    return axis % (ndim + extra)


@register
class Concat(Operator):
    """Join ``num_args`` inputs along ``dim``."""

    name = "Concat"
    aliases = ("concat",)
    variadic = "num_args"
    params = {"num_args": Param("int"), "dim": Param("int", 1)}

    def arguments(self, p):
        return [f"arg{i}" for i in range(p.num_args)]

    def infer_shape(self, p, in_shapes, aux_shapes):
        known = [s for s in in_shapes if s is not None]
        if not known:
            return in_shapes, [None], aux_shapes
        ndim = len(known[0])
        dim = _axis(p.dim, ndim, "Concat")
        for s in known:
            if len(s) != ndim or any(s[i] != known[0][i] for i in range(ndim) if i != dim):
                raise ShapeError(f"Concat: input shapes {_shape_list(in_shapes)} differ outside "
                                 f"dim {p.dim}")
        if len(known) != len(in_shapes):
            return in_shapes, [None], aux_shapes
        out = list(known[0])
        out[dim] = sum(s[dim] for s in in_shapes)
        return in_shapes, [tuple(out)], aux_shapes

    def forward(self, p, inputs, aux, is_train):
        return [np.concatenate(inputs, axis=p.dim)], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        dim = p.dim % inputs[0].ndim
        cuts = np.cumsum([x.shape[dim] for x in inputs])[:-1]
        return list(np.split(out_grads[0], cuts, axis=dim))


@register
class SliceChannel(Operator):
    """``split``: ``num_outputs`` equal parts along ``axis`` (``squeeze_axis`` drops it when
    each part has size 1)."""

    name = "SliceChannel"
    aliases = ("split",)
    params = {
        "num_outputs": Param("int"),
        "axis": Param("int", 1),
        "squeeze_axis": Param("bool", False),
    }

    def outputs(self, p):
        return [f"output{i}" for i in range(p.num_outputs)]

    def infer_shape(self, p, in_shapes, aux_shapes):
        s = in_shapes[0]
        n = p.num_outputs
        if n < 1:
            raise ShapeError(f"SliceChannel: num_outputs must be positive, got {n}")
        if s is None:
            return in_shapes, [None] * n, aux_shapes
        axis = _axis(p.axis, len(s), "SliceChannel")
        if s[axis] % n:
            raise ShapeError(f"SliceChannel: dimension {axis} of input shape {tuple(s)} is not "
                             f"divisible by num_outputs={n}")
        part = list(s)
        part[axis] = s[axis] // n
        if p.squeeze_axis:
            if part[axis] != 1:
                raise ShapeError(f"SliceChannel: squeeze_axis needs input dim {axis} of "
                                 f"{tuple(s)} to equal num_outputs={n}")
            del part[axis]
        return in_shapes, [tuple(part)] * n, aux_shapes

    def forward(self, p, inputs, aux, is_train):
        x = inputs[0]
        axis = p.axis % x.ndim
        parts = np.split(x, p.num_outputs, axis=axis)
        if p.squeeze_axis:
            parts = [np.squeeze(q, axis=axis) for q in parts]
        return [np.ascontiguousarray(q) for q in parts], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        axis = p.axis % inputs[0].ndim
        grads = [np.expand_dims(g, axis) if p.squeeze_axis else g for g in out_grads]
        return [np.concatenate(grads, axis=axis)]


@register
class Transpose(Operator):
    """Permute axes (reverse them when ``axes`` is empty)."""

    name = "transpose"
    params = {"axes": Param("shape", ())}

    def _axes(self, p, ndim):
        if not p.axes:
            return tuple(range(ndim - 1, -1, -1))
        if sorted(a % ndim for a in p.axes) != list(range(ndim)) or len(p.axes) != ndim:
            raise ShapeError(f"transpose: axes {p.axes} are not a permutation of {ndim} dims")
        return tuple(a % ndim for a in p.axes)

    def infer_shape(self, p, in_shapes, aux_shapes):
        s = in_shapes[0]
        if s is None:
            return in_shapes, [None], aux_shapes
        return in_shapes, [tuple(s[a] for a in self._axes(p, len(s)))], aux_shapes

    def forward(self, p, inputs, aux, is_train):
        x = inputs[0]
        return [np.ascontiguousarray(x.transpose(self._axes(p, x.ndim)))], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        axes = self._axes(p, inputs[0].ndim)
        return [np.ascontiguousarray(out_grads[0].transpose(np.argsort(axes)))]


@register
class ExpandDims(Operator):
    """Insert a size-1 axis at ``axis`` (``-ndim-1 <= axis <= ndim``)."""

    name = "expand_dims"
    params = {"axis": Param("int")}

    def infer_shape(self, p, in_shapes, aux_shapes):
        s = in_shapes[0]
        if s is None:
            return in_shapes, [None], aux_shapes
        axis = _axis(p.axis, len(s), "expand_dims", extra=1)
        out = list(s)
        out.insert(axis, 1)
        return in_shapes, [tuple(out)], aux_shapes

    def forward(self, p, inputs, aux, is_train):
        x = inputs[0]
        return [np.expand_dims(x, _axis(p.axis, x.ndim, "expand_dims", extra=1))], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        return [out_grads[0].reshape(inputs[0].shape)]


# ---------------------------------------------------------------------- reductions
def _red_axes(p: Params, ndim: int, who: str) -> tuple[int, ...]:
    if p.axis is None or p.axis == ():
        return () if p.exclude else tuple(range(ndim))
    axes = sorted({_axis(a, ndim, who) for a in p.axis})
    if p.exclude:
        return tuple(i for i in range(ndim) if i not in axes)
    return tuple(axes)


class _Reduce(Operator):
    params = {
        "axis": Param("shape", None, optional=True),
        "keepdims": Param("bool", False),
        "exclude": Param("bool", False),
    }
    mean = False

    def _out_shape(self, p, s):
        axes = _red_axes(p, len(s), self.name)
        if p.keepdims:
            return tuple(1 if i in axes else d for i, d in enumerate(s))
        out = tuple(d for i, d in enumerate(s) if i not in axes)
        return out if out else (1,)

    def infer_shape(self, p, in_shapes, aux_shapes):
        s = in_shapes[0]
        if s is None:
            return in_shapes, [None], aux_shapes
        return in_shapes, [self._out_shape(p, s)], aux_shapes

    def forward(self, p, inputs, aux, is_train):
        x = inputs[0]
        axes = _red_axes(p, x.ndim, self.name)
        fn = np.mean if self.mean else np.sum
        out = np.asarray(fn(x, axis=axes, keepdims=p.keepdims), dtype=x.dtype)
        return [out.reshape(self._out_shape(p, x.shape))], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        x = inputs[0]
        axes = _red_axes(p, x.ndim, self.name)
        keep = tuple(1 if i in axes else d for i, d in enumerate(x.shape))
        g = out_grads[0].reshape(keep)
        if self.mean:
            count = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
            g = g / max(count, 1)
        return [np.ascontiguousarray(np.broadcast_to(g, x.shape), dtype=x.dtype)]


@register
class Sum(_Reduce):
    """Sum over ``axis`` (all by default; ``exclude`` inverts the set)."""

    name = "sum"
    aliases = ("sum_axis",)


@register
class Mean(_Reduce):
    """Mean over ``axis`` (all by default; ``exclude`` inverts the set)."""

    name = "mean"
    mean = True


# ---------------------------------------------------------------------- clip and cast
@register
class Clip(Operator):
    """Clamp to ``[a_min, a_max]``; the gradient passes where the input is inside (inclusive)."""

    name = "clip"
    params = {"a_min": Param("float"), "a_max": Param("float")}

    def forward(self, p, inputs, aux, is_train):
        x = inputs[0]
        return [np.clip(x, x.dtype.type(p.a_min), x.dtype.type(p.a_max))], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        x = inputs[0]
        inside = (x >= x.dtype.type(p.a_min)) & (x <= x.dtype.type(p.a_max))
        return [np.where(inside, out_grads[0], 0).astype(x.dtype, copy=False)]


_CAST_TYPES = ("bfloat16", "bool", "float16", "float32", "float64", "int32", "int64", "int8",
               "uint8")


@register
class Cast(Operator):
    """Convert to ``dtype``; the gradient is cast back to the input's dtype."""

    name = "Cast"
    aliases = ("cast",)
    params = {"dtype": Param("dtype", choices=_CAST_TYPES)}

    def _dtype(self, p):
        if p.dtype == "bfloat16":
            raise MXNetError("Cast: bfloat16 is not supported by NumPy")
        return np.dtype(p.dtype)

    def infer_type(self, p, in_types, aux_types):
        return in_types, [self._dtype(p)], aux_types

    def forward(self, p, inputs, aux, is_train):
        return [inputs[0].astype(self._dtype(p))], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        return [out_grads[0].astype(inputs[0].dtype)]


# ---------------------------------------------------------------------- more unary functions
def _zero_grad(x, y, og):
    return np.zeros_like(x)


_unary("rsqrt", lambda x: 1 / np.sqrt(x), lambda x, y, og: -0.5 * og * y * y * y)
_unary("sign", np.sign, _zero_grad)
_unary("floor", np.floor, _zero_grad)
_unary("ceil", np.ceil, _zero_grad)
_unary("round", np.round, _zero_grad)
_unary("rint", np.rint, _zero_grad)
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


# ---------------------------------------------------------------------- matrix products
def _dot_shapes(p, a, b, batch: bool):
    a = tuple(a)
    b = tuple(b)
    if batch:
        if len(a) != 3 or len(b) != 3 or a[0] != b[0]:
            raise ShapeError(f"batch_dot: operands must be 3-D with equal batch size, got "
                             f"{a} and {b}")
        m, k = (a[2], a[1]) if p.transpose_a else (a[1], a[2])
        k2, n = (b[2], b[1]) if p.transpose_b else (b[1], b[2])
        if k != k2:
            raise ShapeError(f"batch_dot: inner dimensions differ for {a} and {b} "
                             f"(transpose_a={p.transpose_a}, transpose_b={p.transpose_b})")
        return (a[0], m, n)
    ka, ra = (a[0], a[1:]) if p.transpose_a else (a[-1], a[:-1])
    kb, rb = (b[-1], b[:-1]) if p.transpose_b else (b[0], b[1:])
    if ka != kb:
        raise ShapeError(f"dot: inner dimensions differ for {a} and {b} "
                         f"(transpose_a={p.transpose_a}, transpose_b={p.transpose_b})")
    out = ra + rb
    return out if out else (1,)


class _DotBase(Operator):
    params = {
        "transpose_a": Param("bool", False),
        "transpose_b": Param("bool", False),
        "forward_stype": Param("str", None, choices=(None, "default"), optional=True),
    }
    batch = False

    def arguments(self, p):
        return ["lhs", "rhs"]

    def infer_shape(self, p, in_shapes, aux_shapes):
        a, b = in_shapes
        if a is None or b is None:
            return in_shapes, [None], aux_shapes
        return in_shapes, [_dot_shapes(p, a, b, self.batch)], aux_shapes


def _as_2d(x, transpose: bool, lead: bool):
    """View an N-d dot operand as a matrix (MXNet transposes N-d operands as 2-d reshapes)."""
    if lead:  # lhs: (..., K)
        m = x.reshape(-1, x.shape[-1]) if not transpose else x.reshape(x.shape[0], -1).T
    else:  # rhs: (K, ...)
        m = x.reshape(x.shape[0], -1) if not transpose else x.reshape(-1, x.shape[-1]).T
    return m


@register
class Dot(_DotBase):
    """``dot(lhs, rhs)``: contracts the last axis of ``lhs`` with the first of ``rhs``
    (``transpose_a``/``transpose_b`` transpose 2-D operands first)."""

    name = "dot"

    def forward(self, p, inputs, aux, is_train):
        a, b = inputs
        out_shape = _dot_shapes(p, a.shape, b.shape, False)
        out = _as_2d(a, p.transpose_a, True) @ _as_2d(b, p.transpose_b, False)
        return [np.asarray(out, dtype=a.dtype).reshape(out_shape)], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        a, b = inputs
        am = _as_2d(a, p.transpose_a, True)
        bm = _as_2d(b, p.transpose_b, False)
        g = out_grads[0].reshape(am.shape[0], bm.shape[1])
        ga = g @ bm.T
        gb = am.T @ g
        if p.transpose_a:
            ga = ga.T
        if p.transpose_b:
            gb = gb.T
        return [ga.reshape(a.shape).astype(a.dtype), gb.reshape(b.shape).astype(b.dtype)]


@register
class BatchDot(_DotBase):
    """``batch_dot``: ``out[i] = op(lhs[i]) @ op(rhs[i])`` for 3-D operands."""

    name = "batch_dot"
    batch = True

    def forward(self, p, inputs, aux, is_train):
        a, b = inputs
        _dot_shapes(p, a.shape, b.shape, True)
        am = a.transpose(0, 2, 1) if p.transpose_a else a
        bm = b.transpose(0, 2, 1) if p.transpose_b else b
        return [np.matmul(am, bm).astype(a.dtype)], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        a, b = inputs
        g = out_grads[0]
        am = a.transpose(0, 2, 1) if p.transpose_a else a
        bm = b.transpose(0, 2, 1) if p.transpose_b else b
        ga = np.matmul(g, bm.transpose(0, 2, 1))
        gb = np.matmul(am.transpose(0, 2, 1), g)
        if p.transpose_a:
            ga = ga.transpose(0, 2, 1)
        if p.transpose_b:
            gb = gb.transpose(0, 2, 1)
        return [np.ascontiguousarray(ga, dtype=a.dtype), np.ascontiguousarray(gb, dtype=b.dtype)]


# ---------------------------------------------------------------------- slicing and layout
def _slice_bounds(begin, end, step, shape, who):
    if len(begin) != len(end) or (step and len(step) != len(begin)):
        raise ShapeError(f"{who}: begin {begin}, end {end} and step {step} differ in length")
    if len(begin) > len(shape):
        raise ShapeError(f"{who}: {len(begin)} slice dims for input shape {tuple(shape)}")
    index = []
    for i, _d in enumerate(shape):
        if i >= len(begin):
            index.append(slice(None))
            continue
        st = step[i] if step and step[i] is not None else 1
        if st == 0:
            raise ShapeError(f"{who}: step must not be 0")
        index.append(slice(begin[i], end[i], st))
    return tuple(index)


def _sliced_shape(index, shape):
    return tuple(len(range(*s.indices(d))) for s, d in zip(index, shape, strict=True))


@register
class Slice(Operator):
    """``slice(data, begin, end, step)`` with None entries meaning the full extent."""

    name = "slice"
    aliases = ("crop",)
    params = {
        "begin": Param("opt_ints"),
        "end": Param("opt_ints"),
        "step": Param("opt_ints", ()),
    }

    def _index(self, p, shape):
        return _slice_bounds(p.begin, p.end, p.step, shape, "slice")

    def infer_shape(self, p, in_shapes, aux_shapes):
        s = in_shapes[0]
        if s is None:
            return in_shapes, [None], aux_shapes
        out = _sliced_shape(self._index(p, s), s)
        if 0 in out:
            raise ShapeError(f"slice: begin {p.begin} / end {p.end} give an empty slice of "
                             f"{tuple(s)}")
        return in_shapes, [out], aux_shapes

    def forward(self, p, inputs, aux, is_train):
        x = inputs[0]
        return [np.ascontiguousarray(x[self._index(p, x.shape)])], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        x = inputs[0]
        g = np.zeros_like(x)
        g[self._index(p, x.shape)] = out_grads[0]
        return [g]


@register
class SliceAxis(Operator):
    """``slice_axis(data, axis, begin, end)``; ``end=None`` runs to the end of the axis."""

    name = "slice_axis"
    params = {
        "axis": Param("int"),
        "begin": Param("int"),
        "end": Param("int", optional=True),
    }

    def _index(self, p, shape):
        axis = _axis(p.axis, len(shape), "slice_axis")
        index = [slice(None)] * len(shape)
        index[axis] = slice(p.begin, p.end)
        return tuple(index)

    def infer_shape(self, p, in_shapes, aux_shapes):
        s = in_shapes[0]
        if s is None:
            return in_shapes, [None], aux_shapes
        out = _sliced_shape(self._index(p, s), s)
        if 0 in out:
            raise ShapeError(f"slice_axis: begin={p.begin}, end={p.end} select nothing of axis "
                             f"{p.axis} in {tuple(s)}")
        return in_shapes, [out], aux_shapes

    def forward(self, p, inputs, aux, is_train):
        x = inputs[0]
        return [np.ascontiguousarray(x[self._index(p, x.shape)])], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        x = inputs[0]
        g = np.zeros_like(x)
        g[self._index(p, x.shape)] = out_grads[0]
        return [g]


@register
class SwapAxis(Operator):
    """Exchange axes ``dim1`` and ``dim2``."""

    name = "SwapAxis"
    aliases = ("swapaxes",)
    params = {"dim1": Param("int", 0), "dim2": Param("int", 0)}

    def infer_shape(self, p, in_shapes, aux_shapes):
        s = in_shapes[0]
        if s is None:
            return in_shapes, [None], aux_shapes
        a, b = _axis(p.dim1, len(s), "SwapAxis"), _axis(p.dim2, len(s), "SwapAxis")
        out = list(s)
        out[a], out[b] = out[b], out[a]
        return in_shapes, [tuple(out)], aux_shapes

    def forward(self, p, inputs, aux, is_train):
        return [np.ascontiguousarray(np.swapaxes(inputs[0], p.dim1, p.dim2))], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        return [np.ascontiguousarray(np.swapaxes(out_grads[0], p.dim1, p.dim2))]


@register
class Flip(Operator):
    """Reverse the order of elements along ``axis``."""

    name = "flip"
    aliases = ("reverse",)
    params = {"axis": Param("shape")}

    def infer_shape(self, p, in_shapes, aux_shapes):
        s = in_shapes[0]
        if s is not None:
            for a in p.axis:
                _axis(a, len(s), "flip")
        return super().infer_shape(p, in_shapes, aux_shapes)

    def forward(self, p, inputs, aux, is_train):
        return [np.ascontiguousarray(np.flip(inputs[0], p.axis))], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        return [np.ascontiguousarray(np.flip(out_grads[0], p.axis))]


@register
class Squeeze(Operator):
    """Drop size-1 axes (all of them, or those in ``axis``)."""

    name = "squeeze"
    params = {"axis": Param("shape", None, optional=True)}

    def _out(self, p, s):
        if p.axis is None:
            out = tuple(d for d in s if d != 1)
        else:
            axes = {_axis(a, len(s), "squeeze") for a in p.axis}
            for a in axes:
                if s[a] != 1:
                    raise ShapeError(f"squeeze: axis {a} of shape {tuple(s)} has size {s[a]}, "
                                     "not 1")
            out = tuple(d for i, d in enumerate(s) if i not in axes)
        return out if out else (1,)

    def infer_shape(self, p, in_shapes, aux_shapes):
        s = in_shapes[0]
        if s is None:
            return in_shapes, [None], aux_shapes
        return in_shapes, [self._out(p, s)], aux_shapes

    def forward(self, p, inputs, aux, is_train):
        x = inputs[0]
        return [x.reshape(self._out(p, x.shape))], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        return [out_grads[0].reshape(inputs[0].shape)]


@register
class Tile(Operator):
    """Repeat the whole array ``reps`` times along each axis (numpy.tile)."""

    name = "tile"
    params = {"reps": Param("shape")}

    def infer_shape(self, p, in_shapes, aux_shapes):
        s = in_shapes[0]
        if s is None:
            return in_shapes, [None], aux_shapes
        return in_shapes, [_tile_shape(s, p.reps)], aux_shapes

    def forward(self, p, inputs, aux, is_train):
        return [np.tile(inputs[0], p.reps)], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        x = inputs[0]
        reps = tuple(p.reps)
        nd = max(x.ndim, len(reps))
        reps = (1,) * (nd - len(reps)) + reps
        xs = (1,) * (nd - x.ndim) + x.shape
        g = out_grads[0].reshape([v for r, d in zip(reps, xs, strict=True) for v in (r, d)])
        g = g.sum(axis=tuple(range(0, 2 * nd, 2)))
        return [g.reshape(x.shape)]


def _tile_shape(s, reps):
    nd = max(len(s), len(reps))
    s = (1,) * (nd - len(s)) + tuple(s)
    reps = (1,) * (nd - len(reps)) + tuple(reps)
    return tuple(a * b for a, b in zip(s, reps, strict=True))


@register
class Repeat(Operator):
    """Repeat each element ``repeats`` times along ``axis`` (the flattened array if None)."""

    name = "repeat"
    params = {"repeats": Param("int"), "axis": Param("int", None, optional=True)}

    def infer_shape(self, p, in_shapes, aux_shapes):
        s = in_shapes[0]
        if s is None:
            return in_shapes, [None], aux_shapes
        if p.axis is None:
            return in_shapes, [(int(np.prod(s)) * p.repeats,)], aux_shapes
        axis = _axis(p.axis, len(s), "repeat")
        out = list(s)
        out[axis] *= p.repeats
        return in_shapes, [tuple(out)], aux_shapes

    def forward(self, p, inputs, aux, is_train):
        return [np.repeat(inputs[0], p.repeats, axis=p.axis)], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        x = inputs[0]
        if p.axis is None:
            return [out_grads[0].reshape(-1, p.repeats).sum(axis=1).reshape(x.shape)]
        axis = p.axis % x.ndim
        shape = (*x.shape[:axis], x.shape[axis], p.repeats, *x.shape[axis + 1:])
        return [out_grads[0].reshape(shape).sum(axis=axis + 1)]


@register
class Stack(Operator):
    """Join ``num_args`` equally shaped inputs along a new axis."""

    name = "stack"
    variadic = "num_args"
    params = {"num_args": Param("int"), "axis": Param("int", 0)}

    def arguments(self, p):
        return [f"arg{i}" for i in range(p.num_args)]

    def infer_shape(self, p, in_shapes, aux_shapes):
        in_shapes, outs, aux_shapes = super().infer_shape(p, in_shapes, aux_shapes)
        s = outs[0]
        if s is None:
            return in_shapes, outs, aux_shapes
        axis = _axis(p.axis, len(s), "stack", extra=1)
        out = list(s)
        out.insert(axis, len(in_shapes))
        return in_shapes, [tuple(out)], aux_shapes

    def forward(self, p, inputs, aux, is_train):
        return [np.stack(inputs, axis=p.axis)], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        axis = p.axis % (inputs[0].ndim + 1)
        return [np.ascontiguousarray(np.take(out_grads[0], i, axis=axis))
                for i in range(len(inputs))]


# ---------------------------------------------------------------------- broadcasting
@register
class BroadcastTo(Operator):
    """Broadcast size-1 axes to ``shape`` (0 keeps the input's size)."""

    name = "broadcast_to"
    params = {"shape": Param("shape", ())}

    def _out(self, p, s):
        if len(p.shape) != len(s):
            raise ShapeError(f"broadcast_to: target {p.shape} and input {tuple(s)} differ in "
                             "rank")
        out = tuple(d if t == 0 else t for d, t in zip(s, p.shape, strict=True))
        for d, t in zip(s, out, strict=True):
            if d != t and d != 1:
                raise ShapeError(f"broadcast_to: cannot broadcast {tuple(s)} to {p.shape}")
        return out

    def infer_shape(self, p, in_shapes, aux_shapes):
        s = in_shapes[0]
        if s is None:
            return in_shapes, [None], aux_shapes
        return in_shapes, [self._out(p, s)], aux_shapes

    def forward(self, p, inputs, aux, is_train):
        x = inputs[0]
        return [np.ascontiguousarray(np.broadcast_to(x, self._out(p, x.shape)))], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        return [_sum_to(out_grads[0], inputs[0].shape)]


@register
class BroadcastAxis(Operator):
    """Broadcast the size-1 axes ``axis`` to sizes ``size``."""

    name = "broadcast_axis"
    aliases = ("broadcast_axes",)
    params = {"axis": Param("shape", ()), "size": Param("shape", ())}

    def _out(self, p, s):
        if len(p.axis) != len(p.size):
            raise ShapeError(f"broadcast_axis: axis {p.axis} and size {p.size} differ in length")
        out = list(s)
        for a, n in zip(p.axis, p.size, strict=True):
            a = _axis(a, len(s), "broadcast_axis")
            if s[a] != 1:
                raise ShapeError(f"broadcast_axis: axis {a} of {tuple(s)} has size {s[a]}, "
                                 "not 1")
            out[a] = n
        return tuple(out)

    def infer_shape(self, p, in_shapes, aux_shapes):
        s = in_shapes[0]
        if s is None:
            return in_shapes, [None], aux_shapes
        return in_shapes, [self._out(p, s)], aux_shapes

    def forward(self, p, inputs, aux, is_train):
        x = inputs[0]
        return [np.ascontiguousarray(np.broadcast_to(x, self._out(p, x.shape)))], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        return [_sum_to(out_grads[0], inputs[0].shape)]


@register
class BroadcastLike(Operator):
    """Broadcast ``lhs`` to the shape of ``rhs`` (``rhs`` gets no gradient)."""

    name = "broadcast_like"
    params = {
        "lhs_axes": Param("shape", None, optional=True),
        "rhs_axes": Param("shape", None, optional=True),
    }

    def arguments(self, p):
        return ["lhs", "rhs"]

    def _out(self, p, a, b):
        if p.lhs_axes is None and p.rhs_axes is None:
            target = tuple(b)
            if len(a) != len(b):
                raise ShapeError(f"broadcast_like: {tuple(a)} and {tuple(b)} differ in rank")
        else:
            if p.lhs_axes is None or p.rhs_axes is None or len(p.lhs_axes) != len(p.rhs_axes):
                raise ShapeError("broadcast_like: lhs_axes and rhs_axes must both be given "
                                 "with equal lengths")
            target = list(a)
            for la, ra in zip(p.lhs_axes, p.rhs_axes, strict=True):
                target[_axis(la, len(a), "broadcast_like")] = b[_axis(ra, len(b),
                                                                      "broadcast_like")]
            target = tuple(target)
        for d, t in zip(a, target, strict=True):
            if d != t and d != 1:
                raise ShapeError(f"broadcast_like: cannot broadcast {tuple(a)} to {target}")
        return target

    def infer_shape(self, p, in_shapes, aux_shapes):
        a, b = in_shapes
        if a is None or b is None:
            return in_shapes, [None], aux_shapes
        return in_shapes, [self._out(p, a, b)], aux_shapes

    def forward(self, p, inputs, aux, is_train):
        a, b = inputs
        return [np.ascontiguousarray(np.broadcast_to(a, self._out(p, a.shape, b.shape)))], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        return [_sum_to(out_grads[0], inputs[0].shape), None]


@register
class ReshapeLike(Operator):
    """Reshape ``lhs`` to the shape of ``rhs`` (same size; ``rhs`` gets no gradient)."""

    name = "reshape_like"
    params: dict = {}

    def arguments(self, p):
        return ["lhs", "rhs"]

    def infer_shape(self, p, in_shapes, aux_shapes):
        a, b = in_shapes
        if a is None or b is None:
            return in_shapes, [None], aux_shapes
        if int(np.prod(a)) != int(np.prod(b)):
            raise ShapeError(f"reshape_like: sizes of {tuple(a)} and {tuple(b)} differ")
        return in_shapes, [tuple(b)], aux_shapes

    def forward(self, p, inputs, aux, is_train):
        return [inputs[0].reshape(inputs[1].shape)], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        return [out_grads[0].reshape(inputs[0].shape), None]


# ---------------------------------------------------------------------- max / min / norm
class _ArgReduce(_Reduce):
    """max/min: the gradient goes to every element equal to the result (as in MXNet)."""

    fn = staticmethod(np.max)

    def forward(self, p, inputs, aux, is_train):
        x = inputs[0]
        axes = _red_axes(p, x.ndim, self.name)
        out = self.fn(x, axis=axes, keepdims=True)
        return [np.asarray(out, dtype=x.dtype).reshape(self._out_shape(p, x.shape))], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        x = inputs[0]
        axes = _red_axes(p, x.ndim, self.name)
        keep = tuple(1 if i in axes else d for i, d in enumerate(x.shape))
        mask = x == outputs[0].reshape(keep)
        return [(out_grads[0].reshape(keep) * mask).astype(x.dtype)]


@register
class Max(_ArgReduce):
    """Maximum over ``axis`` (all by default)."""

    name = "max"
    aliases = ("max_axis",)
    fn = staticmethod(np.max)


@register
class Min(_ArgReduce):
    """Minimum over ``axis`` (all by default)."""

    name = "min"
    aliases = ("min_axis",)
    fn = staticmethod(np.min)


@register
class Norm(Operator):
    """L1 (``ord=1``) or L2 (``ord=2``) norm over ``axis`` (all by default)."""

    name = "norm"
    params = {
        "ord": Param("int", 2, choices=(1, 2)),
        "axis": Param("shape", None, optional=True),
        "out_dtype": Param("dtype", None, optional=True),
        "keepdims": Param("bool", False),
    }

    def _axes(self, p, ndim):
        if p.axis is None or p.axis == ():
            return tuple(range(ndim))
        return tuple(sorted({_axis(a, ndim, "norm") for a in p.axis}))

    def _out_shape(self, p, s):
        axes = self._axes(p, len(s))
        if p.keepdims:
            return tuple(1 if i in axes else d for i, d in enumerate(s))
        out = tuple(d for i, d in enumerate(s) if i not in axes)
        return out if out else (1,)

    def infer_shape(self, p, in_shapes, aux_shapes):
        s = in_shapes[0]
        if s is None:
            return in_shapes, [None], aux_shapes
        return in_shapes, [self._out_shape(p, s)], aux_shapes

    def infer_type(self, p, in_types, aux_types):
        out = p.out_dtype if p.out_dtype is not None else in_types[0]
        return in_types, [None if out is None else np.dtype(out)], aux_types

    def forward(self, p, inputs, aux, is_train):
        x = inputs[0]
        axes = self._axes(p, x.ndim)
        if p.ord == 1:
            out = np.sum(np.abs(x), axis=axes, keepdims=True)
        else:
            out = np.sqrt(np.sum(np.square(x), axis=axes, keepdims=True))
        dtype = p.out_dtype or x.dtype
        return [out.astype(dtype).reshape(self._out_shape(p, x.shape))], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        x = inputs[0]
        axes = self._axes(p, x.ndim)
        keep = tuple(1 if i in axes else d for i, d in enumerate(x.shape))
        g = out_grads[0].reshape(keep).astype(x.dtype)
        if p.ord == 1:
            return [(g * np.sign(x)).astype(x.dtype)]
        n = outputs[0].reshape(keep).astype(x.dtype)
        return [np.where(n > 0, g * x / np.where(n > 0, n, 1), 0).astype(x.dtype)]


# ---------------------------------------------------------------------- indexing
@register
class Where(Operator):
    """``x`` where ``condition`` is non-zero, else ``y``."""

    name = "where"
    params: dict = {}

    def arguments(self, p):
        return ["condition", "x", "y"]

    def infer_shape(self, p, in_shapes, aux_shapes):
        c, x, y = in_shapes
        known = [s for s in (x, y) if s is not None]
        if known and any(tuple(s) != tuple(known[0]) for s in known):
            raise ShapeError(f"where: x {x} and y {y} must have the same shape")
        shape = known[0] if known else None
        if c is not None and shape is not None and tuple(c) != tuple(shape) and \
                not (len(c) == 1 and c[0] == shape[0]):
            raise ShapeError(f"where: condition {tuple(c)} must match x {tuple(shape)} or be "
                             "its first dimension")
        return [c, shape, shape], [shape], aux_shapes

    def _cond(self, c, x):
        if c.shape != x.shape:
            c = c.reshape(c.shape + (1,) * (x.ndim - 1))
        return c != 0

    def forward(self, p, inputs, aux, is_train):
        c, x, y = inputs
        return [np.where(self._cond(c, x), x, y).astype(x.dtype)], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        c, x, y = inputs
        m = self._cond(c, x)
        g = out_grads[0]
        return [None, np.where(m, g, 0).astype(x.dtype), np.where(m, 0, g).astype(y.dtype)]


def _wrap_index(idx, n, mode):
    idx = np.asarray(idx).astype(np.int64)
    if mode == "wrap":
        return np.mod(idx, n)
    if mode == "raise" and (np.any(idx < 0) or np.any(idx >= n)):
        raise MXNetError(f"index out of range [0, {n}): {idx.min()}..{idx.max()}")
    return np.clip(idx, 0, n - 1)


@register
class Pick(Operator):
    """``pick(data, index, axis)``: one element per position along ``axis``."""

    name = "pick"
    aliases = ("choose_element_0index",)
    params = {
        "axis": Param("int", -1, optional=True),
        "keepdims": Param("bool", False),
        "mode": Param("str", "clip", choices=("clip", "wrap")),
    }

    def arguments(self, p):
        return ["data", "index"]

    def infer_shape(self, p, in_shapes, aux_shapes):
        s, i = in_shapes
        if s is None:
            return in_shapes, [None], aux_shapes
        if p.axis is None:
            raise ShapeError("pick: axis=None is not supported (as in MXNet); give an axis")
        axis = _axis(p.axis, len(s), "pick")
        idx = tuple(1 if k == axis else d for k, d in enumerate(s)) if p.keepdims else \
            tuple(d for k, d in enumerate(s) if k != axis)
        if i is not None and int(np.prod(i)) != int(np.prod(idx)):
            raise ShapeError(f"pick: index shape {tuple(i)} does not fit data {tuple(s)} "
                             f"along axis {p.axis}")
        return [s, i if i is not None else idx], [idx], aux_shapes

    def _index(self, p, x, index):
        axis = p.axis % x.ndim
        idx = _wrap_index(index, x.shape[axis], p.mode)
        shape = list(x.shape)
        shape[axis] = 1
        return axis, idx.reshape(shape)

    def forward(self, p, inputs, aux, is_train):
        x, index = inputs
        if p.axis is None:
            raise MXNetError("pick: axis=None is not supported (as in MXNet); give an axis")
        axis, idx = self._index(p, x, index)
        out = np.take_along_axis(x, idx, axis=axis)
        if not p.keepdims:
            out = np.squeeze(out, axis=axis)
        return [np.ascontiguousarray(out)], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        x, index = inputs
        g = np.zeros_like(x)
        axis, idx = self._index(p, x, index)
        og = out_grads[0].reshape(idx.shape)
        np.put_along_axis(g, idx, og, axis=axis)
        return [g, None]


@register
class Take(Operator):
    """``take(a, indices, axis)``: gather slices of ``a``; gradients are scatter-added."""

    name = "take"
    params = {
        "axis": Param("int", 0),
        "mode": Param("str", "clip", choices=("clip", "raise", "wrap")),
    }

    def arguments(self, p):
        return ["a", "indices"]

    def infer_shape(self, p, in_shapes, aux_shapes):
        a, i = in_shapes
        if a is None or i is None:
            return in_shapes, [None], aux_shapes
        axis = _axis(p.axis, len(a), "take")
        return in_shapes, [tuple(a[:axis]) + tuple(i) + tuple(a[axis + 1:])], aux_shapes

    def forward(self, p, inputs, aux, is_train):
        a, indices = inputs
        axis = p.axis % a.ndim
        idx = _wrap_index(indices, a.shape[axis], p.mode)
        return [np.take(a, idx, axis=axis)], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        a, indices = inputs
        axis = p.axis % a.ndim
        idx = _wrap_index(indices, a.shape[axis], p.mode).reshape(-1)
        g = np.zeros_like(a)
        moved = np.moveaxis(g, axis, 0)
        og = out_grads[0]
        og = og.reshape((*a.shape[:axis], idx.size, *a.shape[axis + 1:]))
        np.add.at(moved, idx, np.moveaxis(og, axis, 0))
        return [g, None]


@register
class OneHot(Operator):
    """``one_hot(indices, depth)``: a new last axis of ``depth`` (no gradient)."""

    name = "one_hot"
    params = {
        "depth": Param("int"),
        "on_value": Param("float", 1.0),
        "off_value": Param("float", 0.0),
        "dtype": Param("dtype", "float32", choices=("float16", "float32", "float64", "int32",
                                                    "int64", "int8", "uint8")),
    }

    def arguments(self, p):
        return ["indices"]

    def infer_shape(self, p, in_shapes, aux_shapes):
        s = in_shapes[0]
        return in_shapes, [None if s is None else (*tuple(s), p.depth)], aux_shapes

    def infer_type(self, p, in_types, aux_types):
        return in_types, [np.dtype(p.dtype)], aux_types

    def forward(self, p, inputs, aux, is_train):
        idx = inputs[0].astype(np.int64)
        out = np.full((*idx.shape, p.depth), p.off_value, dtype=p.dtype)
        valid = (idx >= 0) & (idx < p.depth)
        pos = np.nonzero(valid)
        out[(*pos, idx[pos])] = p.on_value
        return [out], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        return [None]


class _ArgIndex(Operator):
    """argmax/argmin: indices as float32 like MXNet (no gradient)."""

    params = {"axis": Param("int", None, optional=True), "keepdims": Param("bool", False)}
    fn = staticmethod(np.argmax)

    def infer_shape(self, p, in_shapes, aux_shapes):
        s = in_shapes[0]
        if s is None:
            return in_shapes, [None], aux_shapes
        if p.axis is None:
            return in_shapes, [(1,) * len(s) if p.keepdims else (1,)], aux_shapes
        axis = _axis(p.axis, len(s), self.name)
        out = tuple(1 if i == axis else d for i, d in enumerate(s)) if p.keepdims else \
            tuple(d for i, d in enumerate(s) if i != axis)
        return in_shapes, [out if out else (1,)], aux_shapes

    def infer_type(self, p, in_types, aux_types):
        return in_types, [np.dtype(np.float32)], aux_types

    def forward(self, p, inputs, aux, is_train):
        x = inputs[0]
        out = self.fn(x, axis=p.axis, keepdims=p.keepdims)
        out = np.asarray(out, dtype=np.float32)
        return [out.reshape(self.infer_shape(p, [x.shape], [])[1][0])], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        return [None]


@register
class ArgMax(_ArgIndex):
    """Index of the maximum along ``axis`` (of the flattened array if None)."""

    name = "argmax"
    fn = staticmethod(np.argmax)


@register
class ArgMin(_ArgIndex):
    """Index of the minimum along ``axis`` (of the flattened array if None)."""

    name = "argmin"
    fn = staticmethod(np.argmin)


# ---------------------------------------------------------------------- creation (no inputs)
_CREATE_TYPES = ("bool", "float16", "float32", "float64", "int32", "int64", "int8", "uint8")


class _Create(Operator):
    """An operator without inputs producing a constant array."""

    def arguments(self, p):
        return []

    def _shape(self, p):
        return tuple(p.shape)

    def infer_shape(self, p, in_shapes, aux_shapes):
        return in_shapes, [self._shape(p)], aux_shapes

    def infer_type(self, p, in_types, aux_types):
        return in_types, [np.dtype(p.dtype)], aux_types

    def value(self, p):
        raise NotImplementedError

    def forward(self, p, inputs, aux, is_train):
        return [np.full(self._shape(p), self.value(p), dtype=p.dtype)], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        return []


_CREATE_PARAMS = {
    "shape": Param("shape", ()),
    "ctx": Param("str", ""),
    "dtype": Param("dtype", "float32", choices=_CREATE_TYPES),
}


@register
class Zeros(_Create):
    """``mx.sym.zeros(shape)``."""

    name = "_zeros"
    params = dict(_CREATE_PARAMS)

    def value(self, p):
        return 0


@register
class Ones(_Create):
    """``mx.sym.ones(shape)``."""

    name = "_ones"
    params = dict(_CREATE_PARAMS)

    def value(self, p):
        return 1


@register
class Full(_Create):
    """``mx.sym.full(shape, value)``."""

    name = "_full"
    params = {**_CREATE_PARAMS, "value": Param("float")}

    def value(self, p):
        return p.value


@register
class Arange(_Create):
    """``mx.sym.arange(start, stop, step, repeat)``: evenly spaced values, each repeated."""

    name = "_arange"
    params = {
        "start": Param("float"),
        "stop": Param("float", None, optional=True),
        "step": Param("float", 1.0),
        "repeat": Param("int", 1),
        "infer_range": Param("bool", False),
        "ctx": Param("str", ""),
        "dtype": Param("dtype", "float32", choices=_CREATE_TYPES),
    }

    def _range(self, p):
        start, stop = (0.0, p.start) if p.stop is None else (p.start, p.stop)
        if p.step == 0:
            raise ShapeError("_arange: step must not be 0")
        if p.infer_range:
            raise ShapeError("_arange: infer_range=True is not supported")
        n = int(np.ceil((stop - start) / p.step))
        if n <= 0 or p.repeat < 1:
            raise ShapeError(f"_arange: start={start}, stop={stop}, step={p.step} give no values")
        return start, n

    def _shape(self, p):
        return (self._range(p)[1] * p.repeat,)

    def forward(self, p, inputs, aux, is_train):
        start, n = self._range(p)
        values = start + p.step * np.arange(n, dtype=np.float64)
        return [np.repeat(values, p.repeat).astype(p.dtype)], None
