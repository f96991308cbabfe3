"""Shape and layout operators: ``Reshape``, ``Flatten``, ``Concat``, ``SliceChannel``,
``transpose``, ``expand_dims``, ``slice``, ``slice_axis``, ``SwapAxis``, ``flip``, ``squeeze``,
``tile``, ``repeat``, ``stack``, ``broadcast_to``/``broadcast_axis``/``broadcast_like``,
``reshape_like``.
"""

from __future__ import annotations

import math

import numpy as np

from ...base import MXNetError
from ..registry import Operator, Param, ShapeError, register
from ._common import (
    _axes,
    _axis,
    _full_shape,
    _OneInput,
    _shape_error,
    _shape_list,
    _sum_to,
    infer_reshape,
)

__all__: list[str] = []


# ---------------------------------------------------------------------- NumPy-level semantics
# The single implementation of each layout operator, shared with the ``mx.nd`` functions of
# the same names.  Each returns a new C-contiguous array (never a view of its input) and
# raises MXNetError naming the operator and the bad argument.
def _fmt(shape) -> str:
    return "[" + ",".join(str(d) for d in shape) + "]"


def permutation(axes, ndim: int):
    """``axes`` checked to be a permutation of ``ndim`` axes (None or empty: reversed)."""
    if axes is None or not len(axes):
        return tuple(range(ndim - 1, -1, -1))
    axes = tuple(axes)
    if len(axes) != ndim or sorted(a % max(ndim, 1) for a in axes) != list(range(ndim)):
        raise MXNetError(f"transpose: axes {axes} are not a permutation of the {ndim} axes")
    return tuple(a % ndim for a in axes)


def transpose(x: np.ndarray, axes=None) -> np.ndarray:
    """Permute the axes (reverse them when ``axes`` is None or empty)."""
    if axes is None or not len(axes):
        return np.transpose(x).copy()
    return np.transpose(x, permutation(axes, x.ndim)).copy()


def swapaxes(x: np.ndarray, dim1: int = 0, dim2: int = 0) -> np.ndarray:
    d1, d2 = _axis(dim1, x.ndim, "swapaxes"), _axis(dim2, x.ndim, "swapaxes")
    return np.swapaxes(x, d1, d2).copy()


def flatten(x: np.ndarray) -> np.ndarray:
    """``(d0, d1, ..., dk) -> (d0, d1*...*dk)``."""
    n = x.shape[0] if x.ndim else 1
    return x.reshape(n, math.prod(x.shape[1:])).copy()


def expand_dims(x: np.ndarray, axis: int) -> np.ndarray:
    """A size-1 axis inserted at ``axis`` (``-ndim-1 <= axis <= ndim``)."""
    return np.expand_dims(x, _axis(axis, x.ndim, "expand_dims", extra=1)).copy()


def squeeze_shape(shape: tuple, axis=None) -> tuple:
    """``shape`` without its size-1 axes (those in ``axis``); ``(1,)`` when nothing is left."""
    if axis is None:
        out = tuple(d for d in shape if d != 1)
    else:
        axes = _axes(axis, len(shape), False, "squeeze")
        for a in axes:
            if shape[a] != 1:
                raise MXNetError(f"squeeze: axis {a} of {_fmt(shape)} is not 1")
        out = tuple(d for i, d in enumerate(shape) if i not in axes)
    return out or (1,)


def squeeze(x: np.ndarray, axis=None) -> np.ndarray:
    if axis is None:
        return _full_shape(np.squeeze(x)).copy()
    return x.reshape(squeeze_shape(x.shape, axis)).copy()


def reshape_like(x: np.ndarray, like_shape: tuple) -> np.ndarray:
    if x.size != math.prod(like_shape):
        raise MXNetError(f"reshape_like: cannot reshape {_fmt(x.shape)} to {_fmt(like_shape)}")
    return x.reshape(like_shape).copy()


def broadcast_shape(shape: tuple, target) -> tuple:
    """``target`` with 0 entries replaced by ``shape``'s sizes, checked to be a broadcast of
    ``shape`` with the same number of dims."""
    target = tuple(target)
    if len(target) != len(shape):
        raise MXNetError(f"broadcast_to: target {_fmt(target)} must have {len(shape)} dims like "
                         f"the input {_fmt(shape)}")
    out = []
    for s, d in zip(target, shape, strict=True):
        s = d if s == 0 else int(s)
        if d != s and d != 1:
            raise MXNetError(f"broadcast_to: cannot broadcast {_fmt(shape)} to {_fmt(target)}")
        out.append(s)
    return tuple(out)


def broadcast_to(x: np.ndarray, shape) -> np.ndarray:
    """Size-1 axes broadcast to ``shape`` (same number of dims; 0 keeps a dim)."""
    return np.array(np.broadcast_to(x, broadcast_shape(x.shape, shape)))


def broadcast_axis_shape(shape: tuple, axis, size) -> tuple:
    axis = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    size = (size,) if isinstance(size, (int, np.integer)) else tuple(size)
    if len(axis) != len(size):
        raise MXNetError(f"broadcast_axis: axis {axis} and size {size} differ in length")
    out = list(shape)
    for a, s in zip(axis, size, strict=True):
        a = _axis(a, len(shape), "broadcast_axis")
        if out[a] != 1:
            raise MXNetError(f"broadcast_axis: axis {a} has size {out[a]}, not 1")
        out[a] = int(s)
    return tuple(out)


def broadcast_axis(x: np.ndarray, axis=(), size=()) -> np.ndarray:
    """The size-1 axes ``axis`` broadcast to sizes ``size``."""
    return np.array(np.broadcast_to(x, broadcast_axis_shape(x.shape, axis, size)))


def tile(x: np.ndarray, reps) -> np.ndarray:
    return np.tile(x, reps)


def repeat(x: np.ndarray, repeats: int, axis=None) -> np.ndarray:
    """Each element ``repeats`` times along ``axis`` (of the flattened array when None)."""
    if repeats < 0:
        raise MXNetError(f"repeat: repeats must be >= 0, got {repeats}")
    if axis is not None:
        axis = _axis(axis, x.ndim, "repeat")
    return np.repeat(x, repeats, axis=axis)


def flip(x: np.ndarray, axis) -> np.ndarray:
    """The order of elements along ``axis`` (an int or a tuple) reversed."""
    return np.ascontiguousarray(np.flip(x, _axes(axis, x.ndim, False, "flip")))


def slice_axis_index(shape: tuple, axis: int, begin: int, end) -> tuple:
    """The index selecting ``begin:end`` along ``axis`` (``end`` None: to the end); MXNetError
    for an empty or out-of-range slice."""
    axis = _axis(axis, len(shape), "slice_axis")
    n = shape[axis]
    b = begin + n if begin < 0 else begin
    e = n if end is None else (end + n if end < 0 else end)
    if not 0 <= b < e <= n:
        raise MXNetError(f"slice_axis: invalid range [{begin}, {end}) for axis of size {n}")
    return (slice(None),) * axis + (slice(b, e),) + (slice(None),) * (len(shape) - axis - 1)


def slice_axis(x: np.ndarray, axis: int, begin: int, end) -> np.ndarray:
    return x[slice_axis_index(x.shape, axis, begin, end)].copy()


def split_shape(shape: tuple, num_outputs: int, axis: int, squeeze_axis: bool) -> tuple:
    """(the split axis, the shape of each part); MXNetError unless the parts are equal."""
    axis = _axis(axis, len(shape), "split")
    n = shape[axis]
    if num_outputs < 1 or n % num_outputs:
        raise MXNetError(f"split: axis {axis} of size {n} is not divisible by {num_outputs}")
    if squeeze_axis and n != num_outputs:
        raise MXNetError("split: squeeze_axis needs num_outputs equal to the axis size")
    if squeeze_axis:
        return axis, shape[:axis] + shape[axis + 1:] or (1,)
    return axis, (*shape[:axis], n // num_outputs, *shape[axis + 1:])


def split(x: np.ndarray, num_outputs: int, axis: int = 1, squeeze_axis: bool = False) -> list:
    """``num_outputs`` equal parts along ``axis`` (``squeeze_axis`` drops it when each part has
    size 1)."""
    axis = split_shape(x.shape, num_outputs, axis, squeeze_axis)[0]
    parts = []
    for part in np.split(x, num_outputs, axis=axis):
        if squeeze_axis:
            part = _full_shape(np.squeeze(part, axis=axis))
        parts.append(np.array(part))  # a copy, C-contiguous
    return parts


def _joinable(arrays, name):
    if not arrays:
        raise MXNetError(f"{name} needs at least one array")
    for k, a in enumerate(arrays[1:], start=2):
        if a.dtype != arrays[0].dtype:
            raise MXNetError(f"{name}: incompatible dtypes, expected {arrays[0].dtype} at input "
                             f"{k}, got {a.dtype}")


def concat(arrays: list, dim: int = 1) -> np.ndarray:
    """The arrays joined along ``dim``."""
    _joinable(arrays, "concat")
    ndim = arrays[0].ndim
    if -ndim <= dim < ndim and all(a.ndim == ndim for a in arrays):
        try:
            return np.concatenate(arrays, axis=dim)
        except ValueError:
            pass
    raise MXNetError(f"concat: cannot join shapes {[a.shape for a in arrays]} along dim {dim}")


def stack(arrays: list, axis: int = 0) -> np.ndarray:
    """Arrays of one shape joined along a new axis."""
    _joinable(arrays, "stack")
    if any(a.shape != arrays[0].shape for a in arrays):
        raise MXNetError(f"stack: shapes {[a.shape for a in arrays]} differ")
    ndim = arrays[0].ndim + 1
    if not -ndim <= axis < ndim:
        raise MXNetError(f"stack: axis {axis} is out of bounds for the result's {ndim} dims")
    return np.stack(arrays, axis=axis)


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
        return [flatten(inputs[0])], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        return [out_grads[0].reshape(inputs[0].shape)]


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
        return [concat(inputs, p.dim)], None

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
        s, n = in_shapes[0], p.num_outputs
        if n < 1:
            raise ShapeError(f"SliceChannel: num_outputs must be positive, got {n}")
        if s is None:
            return in_shapes, [None] * n, aux_shapes
        part = _shape_error(split_shape, tuple(s), n, p.axis, p.squeeze_axis)[1]
        return in_shapes, [part] * n, aux_shapes

    def forward(self, p, inputs, aux, is_train):
        return split(inputs[0], p.num_outputs, p.axis, p.squeeze_axis), None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        axis = p.axis % inputs[0].ndim
        part = list(inputs[0].shape)
        part[axis] //= p.num_outputs
        grads = [g.reshape(part) for g in out_grads]
        return [np.concatenate(grads, axis=axis)]


@register
class Transpose(_OneInput):
    """Permute axes (reverse them when ``axes`` is empty)."""

    name = "transpose"
    params = {"axes": Param("shape", ())}

    def out_shape(self, p, s):
        return tuple(s[a] for a in permutation(p.axes, len(s)))

    def forward(self, p, inputs, aux, is_train):
        return [transpose(inputs[0], p.axes)], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        axes = permutation(p.axes, inputs[0].ndim)
        return [np.ascontiguousarray(out_grads[0].transpose(np.argsort(axes)))]


@register
class ExpandDims(_OneInput):
    """Insert a size-1 axis at ``axis`` (``-ndim-1 <= axis <= ndim``)."""

    name = "expand_dims"
    params = {"axis": Param("int")}

    def out_shape(self, p, s):
        axis = _axis(p.axis, len(s), "expand_dims", extra=1)
        return (*s[:axis], 1, *s[axis:])

    def forward(self, p, inputs, aux, is_train):
        return [expand_dims(inputs[0], p.axis)], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        return [out_grads[0].reshape(inputs[0].shape)]


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
class SliceAxis(_OneInput):
    """``slice_axis(data, axis, begin, end)``; ``end=None`` runs to the end of the axis."""

    name = "slice_axis"
    params = {
        "axis": Param("int"),
        "begin": Param("int"),
        "end": Param("int", optional=True),
    }

    def out_shape(self, p, s):
        return _sliced_shape(slice_axis_index(s, p.axis, p.begin, p.end), s)

    def forward(self, p, inputs, aux, is_train):
        x = inputs[0]
        return [slice_axis(x, p.axis, p.begin, p.end)], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        x = inputs[0]
        g = np.zeros_like(x)
        g[slice_axis_index(x.shape, p.axis, p.begin, p.end)] = out_grads[0]
        return [g]


@register
class SwapAxis(_OneInput):
    """Exchange axes ``dim1`` and ``dim2``."""

    name = "SwapAxis"
    aliases = ("swapaxes",)
    params = {"dim1": Param("int", 0), "dim2": Param("int", 0)}

    def out_shape(self, p, s):
        a, b = _axis(p.dim1, len(s), "SwapAxis"), _axis(p.dim2, len(s), "SwapAxis")
        out = list(s)
        out[a], out[b] = out[b], out[a]
        return tuple(out)

    def forward(self, p, inputs, aux, is_train):
        return [swapaxes(inputs[0], p.dim1, p.dim2)], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        return [np.ascontiguousarray(np.swapaxes(out_grads[0], p.dim1, p.dim2))]


@register
class Flip(_OneInput):
    """Reverse the order of elements along ``axis``."""

    name = "flip"
    aliases = ("reverse",)
    params = {"axis": Param("shape")}

    def out_shape(self, p, s):
        _axes(p.axis, len(s), False, "flip")
        return s

    def forward(self, p, inputs, aux, is_train):
        return [flip(inputs[0], p.axis)], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        return [np.ascontiguousarray(np.flip(out_grads[0], p.axis))]


@register
class Squeeze(_OneInput):
    """Drop size-1 axes (all of them, or those in ``axis``)."""

    name = "squeeze"
    params = {"axis": Param("shape", None, optional=True)}

    def out_shape(self, p, s):
        return squeeze_shape(s, p.axis)

    def forward(self, p, inputs, aux, is_train):
        return [squeeze(inputs[0], p.axis)], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        return [out_grads[0].reshape(inputs[0].shape)]


@register
class Tile(_OneInput):
    """Repeat the whole array ``reps`` times along each axis (numpy.tile)."""

    name = "tile"
    params = {"reps": Param("shape")}

    def out_shape(self, p, s):
        nd = max(len(s), len(p.reps))
        s = (1,) * (nd - len(s)) + s
        reps = (1,) * (nd - len(p.reps)) + tuple(p.reps)
        return tuple(a * b for a, b in zip(s, reps, strict=True))

    def forward(self, p, inputs, aux, is_train):
        return [tile(inputs[0], p.reps)], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        x = inputs[0]
        reps = tuple(p.reps)
        nd = max(x.ndim, len(reps))
        reps = (1,) * (nd - len(reps)) + reps
        xs = (1,) * (nd - x.ndim) + x.shape
        g = out_grads[0].reshape([v for r, d in zip(reps, xs, strict=True) for v in (r, d)])
        g = g.sum(axis=tuple(range(0, 2 * nd, 2)))
        return [g.reshape(x.shape)]


@register
class Repeat(_OneInput):
    """Repeat each element ``repeats`` times along ``axis`` (the flattened array if None)."""

    name = "repeat"
    params = {"repeats": Param("int"), "axis": Param("int", None, optional=True)}

    def out_shape(self, p, s):
        if p.axis is None:
            return (math.prod(s) * p.repeats,)
        axis = _axis(p.axis, len(s), "repeat")
        return (*s[:axis], s[axis] * p.repeats, *s[axis + 1:])

    def forward(self, p, inputs, aux, is_train):
        return [repeat(inputs[0], p.repeats, p.axis)], None

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
        return [stack(inputs, p.axis)], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        axis = p.axis % (inputs[0].ndim + 1)
        return [np.ascontiguousarray(np.take(out_grads[0], i, axis=axis))
                for i in range(len(inputs))]


# ---------------------------------------------------------------------- broadcasting
class _BroadcastOne(_OneInput):
    """Broadcast the input to ``out_shape(p, shape)``; the gradient is summed back."""

    def forward(self, p, inputs, aux, is_train):
        x = inputs[0]
        return [np.array(np.broadcast_to(x, self.out_shape(p, x.shape)))], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        return [_sum_to(out_grads[0], inputs[0].shape)]


@register
class BroadcastTo(_BroadcastOne):
    """Broadcast size-1 axes to ``shape`` (0 keeps the input's size)."""

    name = "broadcast_to"
    params = {"shape": Param("shape", ())}

    def out_shape(self, p, s):
        return broadcast_shape(s, p.shape)


@register
class BroadcastAxis(_BroadcastOne):
    """Broadcast the size-1 axes ``axis`` to sizes ``size``."""

    name = "broadcast_axis"
    aliases = ("broadcast_axes",)
    params = {"axis": Param("shape", ()), "size": Param("shape", ())}

    def out_shape(self, p, s):
        return broadcast_axis_shape(s, p.axis, p.size)


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
            if not p.lhs_axes:
                raise ShapeError("broadcast_like: empty axes tuple is not allowed (as MXNet)")
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
        return [reshape_like(inputs[0], inputs[1].shape)], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        return [out_grads[0].reshape(inputs[0].shape), None]
