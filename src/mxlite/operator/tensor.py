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
