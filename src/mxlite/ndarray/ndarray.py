"""NDArray: MXNet 1.x array semantics over a NumPy array held inside.

The NumPy array lives in ``NDArray._data``; kernels and operators work on it directly.  The wrapper
owns the semantics MXNet users rely on: float32 by default, full reductions of shape ``(1,)``,
``a[i]`` of a 1-D array still an array, comparisons in the operands' dtype, operator errors as
:class:`~mxlite.base.MXNetError`.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

from ..base import MXNetError
from ..context import Context, check_usable, current_context

__all__ = [
    "NDArray", "abs", "arange", "argmax", "argmin", "array", "broadcast_add", "broadcast_axis",
    "broadcast_div", "broadcast_equal", "broadcast_greater", "broadcast_lesser",
    "broadcast_maximum", "broadcast_minimum", "broadcast_mul", "broadcast_sub", "broadcast_to",
    "cast", "ceil", "clip", "concat", "concatenate", "dot", "elemwise_add", "elemwise_div",
    "elemwise_mul", "elemwise_sub", "empty", "equal", "exp", "expand_dims", "flatten", "floor",
    "full", "greater", "greater_equal", "lesser", "lesser_equal", "log", "log_softmax", "max",
    "maximum", "mean", "min", "minimum", "moveaxis", "negative", "norm", "not_equal", "one_hot",
    "ones", "ones_like", "pick", "power", "prod", "reciprocal", "relu", "reshape", "round",
    "rsqrt", "sigmoid", "sign", "softmax", "sqrt", "square", "squeeze", "stack", "sum", "swapaxes",
    "take", "tanh", "tile", "topk", "transpose", "waitall", "where", "zeros", "zeros_like",
]

_DEFAULT_DTYPE = np.float32


def _dtype(dtype, default=_DEFAULT_DTYPE) -> np.dtype:
    if dtype is None:
        return np.dtype(default)
    try:
        return np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype {dtype!r} is not a valid data type") from None


def _ctx(ctx) -> Context:
    if ctx is None:
        return check_usable(current_context())
    if isinstance(ctx, str):
        kind, _, rest = ctx.partition("(")
        ctx = Context(kind, int(rest.rstrip(")") or 0))
    if not isinstance(ctx, Context):
        raise TypeError(f"ctx must be a Context, got {ctx!r}")
    return check_usable(ctx)


def _shape(shape) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    try:
        shape = tuple(int(s) for s in shape)
    except TypeError:
        raise TypeError(f"shape must be an int or a tuple of ints, got {shape!r}") from None
    if any(s < 0 for s in shape):
        raise ValueError(f"shape must not have negative sizes, got {shape!r}")
    return shape


def _shape_str(shape) -> str:
    return "[" + ",".join(str(s) for s in shape) + "]"


class NDArray:
    """A fixed-size multi-dimensional array on a device, with MXNet 1.x semantics.

    >>> import mxlite as mx
    >>> a = mx.nd.array([[1, 2, 3], [4, 5, 6]])
    >>> (a * 2 + 1).sum().asscalar()
    48.0
    """

    __slots__ = ("__weakref__", "_ctx", "_data")
    __array_priority__ = 1000.0
    __array_ufunc__ = None  # NumPy defers to our reflected operators

    def __init__(self, data: np.ndarray, ctx: Context | None = None):
        if not isinstance(data, np.ndarray):
            raise TypeError(f"NDArray wraps a numpy.ndarray, got {type(data).__name__}")
        self._data = data
        self._ctx = ctx if ctx is not None else Context("cpu", 0)

    # ------------------------------------------------------------------ attributes
    @property
    def shape(self) -> tuple[int, ...]:
        return self._data.shape

    @property
    def dtype(self) -> type:
        return self._data.dtype.type

    @property
    def size(self) -> int:
        return self._data.size

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def context(self) -> Context:
        return self._ctx

    ctx = context

    @property
    def stype(self) -> str:
        return "default"

    @property
    def T(self) -> NDArray:
        if self.ndim < 2:
            return self
        return transpose(self)

    @property
    def handle(self) -> np.ndarray:
        """The NumPy buffer behind this array (shared, not copied)."""
        return self._data

    # ------------------------------------------------------------------ conversion
    def asnumpy(self) -> np.ndarray:
        """A NumPy copy of the data."""
        return self._data.copy()

    def __array__(self, dtype=None, copy=None):
        return self._data.astype(dtype) if dtype is not None else self._data.copy()

    def asscalar(self):
        """The single element as a NumPy scalar; ValueError unless the array has one element."""
        if self.size != 1:
            raise ValueError(
                f"The current array is not a scalar: shape {self.shape} has {self.size} elements"
            )
        return self._data.reshape(-1)[0]

    def astype(self, dtype, copy: bool = True) -> NDArray:
        dtype = _dtype(dtype)
        if not copy and self._data.dtype == dtype:
            return self
        return NDArray(self._data.astype(dtype), self._ctx)

    def copy(self) -> NDArray:
        return NDArray(self._data.copy(), self._ctx)

    def copyto(self, other):
        """Copy into ``other`` (an NDArray of the same shape) or onto a Context; returns the copy."""
        if isinstance(other, NDArray):
            if other is self:
                return other
            if other.shape != self.shape:
                raise MXNetError(
                    f"copyto: shape mismatch, source {_shape_str(self.shape)} "
                    f"vs target {_shape_str(other.shape)}"
                )
            np.copyto(other._data, self._data, casting="unsafe")
            return other
        if isinstance(other, Context):
            return NDArray(self._data.copy(), check_usable(other))
        raise TypeError(f"copyto does not support type {type(other).__name__}")

    def as_in_context(self, context: Context) -> NDArray:
        if context == self._ctx:
            return self
        return self.copyto(context)

    as_in_ctx = as_in_context

    def wait_to_read(self) -> None:
        """Computation is synchronous in mxlite; kept for API compatibility."""

    def wait_to_write(self) -> None:
        """Computation is synchronous in mxlite; kept for API compatibility."""

    def tostype(self, stype: str) -> NDArray:
        if stype != "default":
            raise MXNetError(f"storage type {stype!r} is not supported by mxlite")
        return self

    # ------------------------------------------------------------------ python protocol
    def __repr__(self) -> str:
        shape = "x".join(str(s) for s in self.shape)
        return f"\n{self._data}\n<NDArray {shape} @{self._ctx}>"

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d NDArray")
        return self.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __bool__(self) -> bool:
        if self.size == 0:
            return False
        if self.size == 1:
            return bool(self._data.reshape(-1)[0])
        raise ValueError("The truth value of an NDArray with multiple elements is ambiguous.")

    __hash__ = object.__hash__

    def __reduce__(self):
        return (_rebuild, (self._data, str(self._ctx)))

    def __getstate__(self):  # pragma: no cover - __reduce__ is used
        return {"data": self._data, "ctx": str(self._ctx)}

    # ------------------------------------------------------------------ indexing
    def __getitem__(self, key) -> NDArray:
        key = _index(key)
        data = self._data
        if isinstance(key, (int, np.integer)):
            n = data.shape[0] if data.ndim else 0
            if not -n <= key < n:
                raise IndexError(f"index {key} is out of bounds for axis 0 with size {n}")
            key = int(key) % n
            if data.ndim == 1:  # MXNet 1.x keeps a 1-D result for a[i]
                return NDArray(data[key : key + 1], self._ctx)
            return NDArray(data[key], self._ctx)
        if isinstance(key, slice) and key.step in (None, 1):
            return NDArray(data[key], self._ctx)  # a view, as MXNet's _slice on axis 0
        out = data[key]
        if not isinstance(out, np.ndarray) or out.ndim == 0:
            out = np.asarray(out).reshape(1)
        elif np.shares_memory(out, data):
            out = out.copy()  # MXNet copies for any other indexing
        return NDArray(out, self._ctx)

    def __setitem__(self, key, value) -> None:
        key = _index(key)
        if isinstance(value, NDArray):
            value = value._data
        elif not isinstance(value, (numbers.Number, np.generic, np.ndarray)):
            value = np.asarray(value)
        try:
            if isinstance(key, (int, np.integer)) and self.ndim == 1:
                self._data[key : key + 1 if key != -1 else None] = value
            else:
                self._data[key] = value
        except ValueError as err:
            vshape = np.shape(value)
            raise MXNetError(
                f"cannot assign a value of shape {_shape_str(vshape)} to a slice of "
                f"an array of shape {_shape_str(self.shape)}: {err}"
            ) from None

    # ------------------------------------------------------------------ arithmetic
    def __add__(self, o):
        return _binary(np.add, self, o, "add")

    def __radd__(self, o):
        return _binary(np.add, o, self, "add")

    def __sub__(self, o):
        return _binary(np.subtract, self, o, "sub")

    def __rsub__(self, o):
        return _binary(np.subtract, o, self, "sub")

    def __mul__(self, o):
        return _binary(np.multiply, self, o, "mul")

    def __rmul__(self, o):
        return _binary(np.multiply, o, self, "mul")

    def __truediv__(self, o):
        return _binary(_divide, self, o, "div")

    def __rtruediv__(self, o):
        return _binary(_divide, o, self, "div")

    __div__, __rdiv__ = __truediv__, __rtruediv__

    def __floordiv__(self, o):
        return _binary(np.floor_divide, self, o, "floor_div")

    def __rfloordiv__(self, o):
        return _binary(np.floor_divide, o, self, "floor_div")

    def __mod__(self, o):
        return _binary(_mod, self, o, "mod")

    def __rmod__(self, o):
        return _binary(_mod, o, self, "mod")

    def __pow__(self, o):
        return _binary(np.power, self, o, "power")

    def __rpow__(self, o):
        return _binary(np.power, o, self, "power")

    def __neg__(self):
        return NDArray(np.negative(self._data), self._ctx)

    def __pos__(self):
        return self

    def __abs__(self):
        return abs(self)

    def __iadd__(self, o):
        return _inplace(np.add, self, o, "add")

    def __isub__(self, o):
        return _inplace(np.subtract, self, o, "sub")

    def __imul__(self, o):
        return _inplace(np.multiply, self, o, "mul")

    def __itruediv__(self, o):
        return _inplace(_divide, self, o, "div")

    __idiv__ = __itruediv__

    def __imod__(self, o):
        return _inplace(_mod, self, o, "mod")

    def __ipow__(self, o):
        return _inplace(np.power, self, o, "power")

    def __eq__(self, o):
        return _binary(np.equal, self, o, "equal")

    def __ne__(self, o):
        return _binary(np.not_equal, self, o, "not_equal")

    def __lt__(self, o):
        return _binary(np.less, self, o, "lesser")

    def __le__(self, o):
        return _binary(np.less_equal, self, o, "lesser_equal")

    def __gt__(self, o):
        return _binary(np.greater, self, o, "greater")

    def __ge__(self, o):
        return _binary(np.greater_equal, self, o, "greater_equal")

    # ------------------------------------------------------------------ methods
    def reshape(self, *shape, reverse: bool = False, **kwargs) -> NDArray:
        """Reshape with MXNet's codes: 0 copy, -1 infer, -2 copy rest, -3 merge, -4 split."""
        if "shape" in kwargs:
            shape = kwargs.pop("shape")
        if kwargs:
            raise TypeError(f"reshape got unexpected keyword arguments {sorted(kwargs)}")
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        new = infer_reshape(self.shape, shape, reverse)
        return NDArray(self._data.reshape(new), self._ctx)

    def reshape_like(self, other: NDArray) -> NDArray:
        return self.reshape(other.shape)

    def broadcast_to(self, shape) -> NDArray:
        return broadcast_to(self, shape)

    def broadcast_like(self, other: NDArray) -> NDArray:
        return broadcast_to(self, other.shape)

    def flatten(self) -> NDArray:
        return flatten(self)

    def expand_dims(self, axis: int) -> NDArray:
        return expand_dims(self, axis)

    def squeeze(self, axis=None) -> NDArray:
        return squeeze(self, axis)

    def transpose(self, *axes) -> NDArray:
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return transpose(self, axes or None)

    def swapaxes(self, dim1=0, dim2=0) -> NDArray:
        return swapaxes(self, dim1, dim2)

    def tile(self, reps) -> NDArray:
        return tile(self, reps)

    def sum(self, axis=None, keepdims=False, exclude=False) -> NDArray:
        return sum(self, axis, keepdims, exclude)

    def mean(self, axis=None, keepdims=False, exclude=False) -> NDArray:
        return mean(self, axis, keepdims, exclude)

    def max(self, axis=None, keepdims=False, exclude=False) -> NDArray:
        return max(self, axis, keepdims, exclude)

    def min(self, axis=None, keepdims=False, exclude=False) -> NDArray:
        return min(self, axis, keepdims, exclude)

    def prod(self, axis=None, keepdims=False, exclude=False) -> NDArray:
        return prod(self, axis, keepdims, exclude)

    def norm(self, ord=2, axis=None, keepdims=False) -> NDArray:
        return norm(self, ord, axis, keepdims)

    def argmax(self, axis=None, keepdims=False) -> NDArray:
        return argmax(self, axis, keepdims)

    def argmin(self, axis=None, keepdims=False) -> NDArray:
        return argmin(self, axis, keepdims)

    def topk(self, axis=-1, k=1, ret_typ="indices", is_ascend=False, dtype="float32"):
        return topk(self, axis, k, ret_typ, is_ascend, dtype)

    def one_hot(self, depth, on_value=1.0, off_value=0.0, dtype="float32") -> NDArray:
        return one_hot(self, depth, on_value, off_value, dtype)

    def clip(self, a_min, a_max) -> NDArray:
        return clip(self, a_min, a_max)

    def abs(self) -> NDArray:
        return abs(self)

    def sign(self) -> NDArray:
        return sign(self)

    def sqrt(self) -> NDArray:
        return sqrt(self)

    def rsqrt(self) -> NDArray:
        return rsqrt(self)

    def square(self) -> NDArray:
        return square(self)

    def exp(self) -> NDArray:
        return exp(self)

    def log(self) -> NDArray:
        return log(self)

    def relu(self) -> NDArray:
        return relu(self)

    def sigmoid(self) -> NDArray:
        return sigmoid(self)

    def tanh(self) -> NDArray:
        return tanh(self)

    def softmax(self, axis=-1) -> NDArray:
        return softmax(self, axis)

    def log_softmax(self, axis=-1) -> NDArray:
        return log_softmax(self, axis)

    def zeros_like(self) -> NDArray:
        return zeros_like(self)

    def ones_like(self) -> NDArray:
        return ones_like(self)

    def take(self, indices, axis=0, mode="clip") -> NDArray:
        return take(self, indices, axis, mode)

    def pick(self, index, axis=-1, keepdims=False) -> NDArray:
        return pick(self, index, axis, keepdims)


def _rebuild(data: np.ndarray, ctx: str) -> NDArray:
    return NDArray(np.array(data, copy=True), _ctx(ctx))


# ---------------------------------------------------------------------- helpers
def _index(key):
    if isinstance(key, NDArray):
        return key._data.astype(np.int64)
    if isinstance(key, tuple):
        return tuple(_index(k) for k in key)
    if isinstance(key, list):
        return np.asarray(key, dtype=np.int64)
    return key


def _np(x) -> np.ndarray:
    return x._data if isinstance(x, NDArray) else x


def _divide(a, b, out=None):
    if np.issubdtype(np.result_type(a), np.integer):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.floor_divide(a, b, out=out) if out is not None else np.floor_divide(a, b)
    return np.true_divide(a, b, out=out) if out is not None else np.true_divide(a, b)


def _mod(a, b, out=None):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.mod(a, b, out=out) if out is not None else np.mod(a, b)


def _check_dtypes(a: NDArray, b: NDArray, name: str) -> None:
    if a._data.dtype != b._data.dtype:
        raise MXNetError(
            f"{name}: incompatible dtypes, expected {a._data.dtype} at input 1, "
            f"got {b._data.dtype}"
        )


def _broadcast_error(name: str, a, b) -> MXNetError:
    return MXNetError(
        f"{name}: operands could not be broadcast together with shapes "
        f"{_shape_str(np.shape(a))} {_shape_str(np.shape(b))}"
    )


def _binary(fn, a, b, name: str) -> NDArray:
    """Elementwise op with MXNet's dtype rules: the array's dtype wins over a scalar's."""
    if isinstance(a, NDArray) and isinstance(b, NDArray):
        _check_dtypes(a, b, name)
        dtype, ctx = a._data.dtype, a._ctx
    elif isinstance(a, NDArray):
        dtype, ctx = a._data.dtype, a._ctx
        if not isinstance(b, (numbers.Number, np.generic)):
            return _binary(fn, a, array(b, dtype=dtype), name)
    elif isinstance(b, NDArray):
        dtype, ctx = b._data.dtype, b._ctx
        if not isinstance(a, (numbers.Number, np.generic)):
            return _binary(fn, array(a, dtype=dtype), b, name)
    else:
        return NotImplemented
    x, y = _np(a), _np(b)
    if not isinstance(x, np.ndarray):
        x = np.asarray(x).astype(dtype)
    if not isinstance(y, np.ndarray):
        y = np.asarray(y).astype(dtype)
    try:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            out = fn(x, y)
    except ValueError:
        raise _broadcast_error(name, x, y) from None
    out = np.asarray(out)
    if out.dtype != dtype:
        out = out.astype(dtype)
    return NDArray(out, ctx)


def _inplace(fn, a: NDArray, b, name: str) -> NDArray:
    if isinstance(b, NDArray):
        _check_dtypes(a, b, name)
    y = _np(b)
    if not isinstance(y, np.ndarray):
        y = np.asarray(y)
    try:
        out_shape = np.broadcast_shapes(a.shape, y.shape)
    except ValueError:
        raise _broadcast_error(name, a._data, y) from None
    if out_shape != a.shape:
        raise _broadcast_error(name, a._data, y)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if fn in (np.add, np.subtract, np.multiply, np.power):
            fn(a._data, y, out=a._data, casting="unsafe")
        else:
            a._data[...] = fn(a._data, y)
    return a


def _finish(result: np.ndarray, out: NDArray | None, ctx: Context, dtype=None) -> NDArray:
    """Wrap ``result`` (or write it into ``out``) as the op's output."""
    result = np.asarray(result)
    if dtype is not None and result.dtype != dtype:
        result = result.astype(dtype)
    if out is None:
        return NDArray(result, ctx)
    if not isinstance(out, NDArray):
        raise TypeError(f"out must be an NDArray, got {type(out).__name__}")
    if out.shape != result.shape:
        raise MXNetError(
            f"out has shape {_shape_str(out.shape)}, the result has {_shape_str(result.shape)}"
        )
    np.copyto(out._data, result, casting="unsafe")
    return out


def _arr(x, name: str = "data") -> NDArray:
    if not isinstance(x, NDArray):
        raise TypeError(f"{name} must be an NDArray, got {type(x).__name__}")
    return x


def _ctx_of(*xs) -> Context:
    for x in xs:
        if isinstance(x, NDArray):
            return x._ctx
    return current_context()


def infer_reshape(src: Sequence[int], target: Sequence[int], reverse: bool = False) -> tuple:
    """The output shape of MXNet's ``Reshape`` for ``target`` with codes 0, -1, -2, -3, -4."""
    src = tuple(int(s) for s in src)
    target = [int(t) for t in target]
    if reverse:
        out = infer_reshape(src[::-1], _reverse_codes(target), False)
        return tuple(out[::-1])
    out: list[int] = []
    infer_at = -1
    i = j = 0
    while j < len(target):
        t = target[j]
        if t > 0:
            out.append(t)
            i += 1
        elif t == 0:
            if i >= len(src):
                raise MXNetError(f"Reshape: code 0 at position {j} has no input dim, src {src}")
            out.append(src[i])
            i += 1
        elif t == -1:
            if infer_at >= 0:
                raise MXNetError(f"Reshape: more than one -1 in shape {tuple(target)}")
            infer_at = len(out)
            out.append(1)
            i += 1
        elif t == -2:
            out.extend(src[i:])
            i = len(src)
        elif t == -3:
            if i + 1 >= len(src):
                raise MXNetError(f"Reshape: -3 needs two input dims, src {src}")
            out.append(src[i] * src[i + 1])
            i += 2
        elif t == -4:
            if j + 2 >= len(target) or i >= len(src):
                raise MXNetError(f"Reshape: -4 must be followed by two dims, got {tuple(target)}")
            d0, d1 = target[j + 1], target[j + 2]
            whole = src[i]
            if d0 == -1 and d1 == -1:
                raise MXNetError("Reshape: -4 split cannot infer both dims")
            if d0 == -1:
                d0 = whole // d1
            if d1 == -1:
                d1 = whole // d0
            if d0 * d1 != whole:
                raise MXNetError(f"Reshape: cannot split dim {whole} into ({d0}, {d1})")
            out.extend([d0, d1])
            i += 1
            j += 2
        else:
            raise MXNetError(f"Reshape: invalid code {t} in shape {tuple(target)}")
        j += 1
    total = int(np.prod(src, dtype=np.int64))
    if infer_at >= 0:
        known = int(np.prod([d for k, d in enumerate(out) if k != infer_at], dtype=np.int64))
        if known == 0 or total % known:
            raise MXNetError(f"Reshape: cannot infer -1 reshaping {src} to {tuple(target)}")
        out[infer_at] = total // known
    if int(np.prod(out, dtype=np.int64)) != total:
        raise MXNetError(
            f"Reshape: target shape {tuple(target)} -> {tuple(out)} does not have the same size "
            f"as source {src}"
        )
    return tuple(out)


def _reverse_codes(target: list[int]) -> list[int]:
    # -4 a b groups must stay in order after reversal
    groups: list[list[int]] = []
    j = 0
    while j < len(target):
        if target[j] == -4:
            groups.append([-4, target[j + 2], target[j + 1]])
            j += 3
        else:
            groups.append([target[j]])
            j += 1
    return [t for g in reversed(groups) for t in g]


# ---------------------------------------------------------------------- creation
def array(source_array, ctx=None, dtype=None) -> NDArray:
    """An NDArray from any array-like.  dtype: the source's if it is an NDArray, else float32."""
    if isinstance(source_array, NDArray):
        dtype = _dtype(dtype, source_array._data.dtype)
        data = source_array._data.astype(dtype, copy=True)
    else:
        dtype = _dtype(dtype)
        try:
            data = np.array(source_array, dtype=dtype, copy=True)
        except (TypeError, ValueError) as err:
            raise TypeError(f"source_array cannot be converted to an array: {err}") from None
        if data.ndim == 0:
            data = data.reshape(1)
    return NDArray(data, _ctx(ctx))


def empty(shape, ctx=None, dtype=None) -> NDArray:
    return NDArray(np.empty(_shape(shape), _dtype(dtype)), _ctx(ctx))


def zeros(shape, ctx=None, dtype=None, **kwargs) -> NDArray:
    return NDArray(np.zeros(_shape(shape), _dtype(dtype)), _ctx(ctx))


def ones(shape, ctx=None, dtype=None, **kwargs) -> NDArray:
    return NDArray(np.ones(_shape(shape), _dtype(dtype)), _ctx(ctx))


def full(shape, val, ctx=None, dtype=None, out=None) -> NDArray:
    data = np.full(_shape(shape), val, _dtype(dtype))
    return _finish(data, out, _ctx(ctx))


def arange(start, stop=None, step=1.0, repeat=1, infer_range=None, ctx=None, dtype=None):
    if stop is None:
        start, stop = 0, start
    if step == 0:
        raise ValueError("step must not be 0")
    if repeat < 1:
        raise ValueError(f"repeat must be >= 1, got {repeat!r}")
    data = np.arange(start, stop, step, dtype=np.float64).astype(_dtype(dtype))
    if repeat > 1:
        data = np.repeat(data, repeat)
    return NDArray(data, _ctx(ctx))


def zeros_like(data, out=None) -> NDArray:
    data = _arr(data)
    return _finish(np.zeros_like(data._data), out, data._ctx)


def ones_like(data, out=None) -> NDArray:
    data = _arr(data)
    return _finish(np.ones_like(data._data), out, data._ctx)


def concat(*data, dim: int = 1, out=None) -> NDArray:
    """Concatenate along ``dim`` (default 1, as MXNet)."""
    if not data:
        raise ValueError("concat needs at least one array")
    arrays = [_arr(d)._data for d in data]
    try:
        result = np.concatenate(arrays, axis=dim)
    except (ValueError, np.exceptions.AxisError if hasattr(np, "exceptions") else ValueError):
        raise MXNetError(
            f"concat: cannot join shapes {[a.shape for a in arrays]} along dim {dim}"
        ) from None
    return _finish(result, out, data[0]._ctx)


def concatenate(arrays, axis: int = 0, always_copy: bool = True) -> NDArray:
    return concat(*arrays, dim=axis)


def stack(*data, axis: int = 0, out=None) -> NDArray:
    if not data:
        raise ValueError("stack needs at least one array")
    arrays = [_arr(d)._data for d in data]
    try:
        result = np.stack(arrays, axis=axis)
    except ValueError:
        raise MXNetError(f"stack: shapes {[a.shape for a in arrays]} differ") from None
    return _finish(result, out, data[0]._ctx)


def waitall() -> None:
    """Computation is synchronous in mxlite; kept for API compatibility."""


# ---------------------------------------------------------------------- elementwise
def _unary(fn, data, out, name):
    data = _arr(data)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        result = fn(data._data)
    return _finish(result, out, data._ctx, data._data.dtype)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _rsqrt(x):
    return 1.0 / np.sqrt(x)


_UNARY = {
    "sqrt": np.sqrt, "rsqrt": _rsqrt, "square": np.square, "abs": np.abs, "sign": np.sign,
    "exp": np.exp, "log": np.log, "sigmoid": _sigmoid, "relu": lambda x: np.maximum(x, 0),
    "tanh": np.tanh, "negative": np.negative, "reciprocal": np.reciprocal, "floor": np.floor,
    "ceil": np.ceil, "round": np.round,
}


def _make_unary(name, fn):
    def op(data, out=None, name=None):
        return _unary(fn, data, out, name)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise ``{name}`` of ``data``; the result keeps ``data``'s dtype."
    return op


sqrt = _make_unary("sqrt", _UNARY["sqrt"])
rsqrt = _make_unary("rsqrt", _UNARY["rsqrt"])
square = _make_unary("square", _UNARY["square"])
abs = _make_unary("abs", _UNARY["abs"])  # noqa: A001
sign = _make_unary("sign", _UNARY["sign"])
exp = _make_unary("exp", _UNARY["exp"])
log = _make_unary("log", _UNARY["log"])
sigmoid = _make_unary("sigmoid", _UNARY["sigmoid"])
relu = _make_unary("relu", _UNARY["relu"])
tanh = _make_unary("tanh", _UNARY["tanh"])
negative = _make_unary("negative", _UNARY["negative"])
reciprocal = _make_unary("reciprocal", _UNARY["reciprocal"])
floor = _make_unary("floor", _UNARY["floor"])
ceil = _make_unary("ceil", _UNARY["ceil"])
round = _make_unary("round", _UNARY["round"])  # noqa: A001


def clip(data, a_min, a_max, out=None) -> NDArray:
    data = _arr(data)
    if a_min > a_max:
        raise ValueError(f"clip: a_min ({a_min}) must not exceed a_max ({a_max})")
    return _finish(np.clip(data._data, a_min, a_max), out, data._ctx, data._data.dtype)


def cast(data, dtype, out=None) -> NDArray:
    data = _arr(data)
    return _finish(data._data.astype(_dtype(dtype)), out, data._ctx)


def where(condition, x, y, out=None) -> NDArray:
    c, x, y = _arr(condition, "condition"), _arr(x, "x"), _arr(y, "y")
    if x.shape != y.shape:
        raise MXNetError(f"where: x {_shape_str(x.shape)} and y {_shape_str(y.shape)} differ")
    cond = c._data
    if cond.shape != x.shape:
        if cond.ndim == 1 and cond.shape[0] == x.shape[0]:
            cond = cond.reshape((-1,) + (1,) * (x.ndim - 1))
        else:
            raise MXNetError(
                f"where: condition {_shape_str(c.shape)} must match x {_shape_str(x.shape)} "
                "or be 1-D of its first dim"
            )
    return _finish(np.where(cond != 0, x._data, y._data), out, x._ctx, x._data.dtype)


def _make_binary(name, fn):
    def op(lhs, rhs, out=None, name=None):
        return _write_out(_binary(fn, lhs, rhs, op.__name__), out)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"``{name}`` of two arrays (or an array and a scalar), with broadcasting."
    return op


def _write_out(result: NDArray, out):
    if out is None:
        return result
    return _finish(result._data, out, result._ctx)


def _make_elemwise(name, fn):
    def op(lhs, rhs, out=None, name=None):
        lhs, rhs = _arr(lhs, "lhs"), _arr(rhs, "rhs")
        if lhs.shape != rhs.shape:
            raise MXNetError(
                f"{op.__name__}: shapes {_shape_str(lhs.shape)} and {_shape_str(rhs.shape)} "
                "must be equal"
            )
        return _write_out(_binary(fn, lhs, rhs, op.__name__), out)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"``{name}`` of two arrays of the same shape."
    return op


broadcast_add = _make_binary("broadcast_add", np.add)
broadcast_sub = _make_binary("broadcast_sub", np.subtract)
broadcast_mul = _make_binary("broadcast_mul", np.multiply)
broadcast_div = _make_binary("broadcast_div", _divide)
broadcast_maximum = _make_binary("broadcast_maximum", np.maximum)
broadcast_minimum = _make_binary("broadcast_minimum", np.minimum)
broadcast_equal = _make_binary("broadcast_equal", np.equal)
broadcast_greater = _make_binary("broadcast_greater", np.greater)
broadcast_lesser = _make_binary("broadcast_lesser", np.less)
maximum = _make_binary("maximum", np.maximum)
minimum = _make_binary("minimum", np.minimum)
power = _make_binary("power", np.power)
equal = _make_binary("equal", np.equal)
not_equal = _make_binary("not_equal", np.not_equal)
greater = _make_binary("greater", np.greater)
greater_equal = _make_binary("greater_equal", np.greater_equal)
lesser = _make_binary("lesser", np.less)
lesser_equal = _make_binary("lesser_equal", np.less_equal)
elemwise_add = _make_elemwise("elemwise_add", np.add)
elemwise_sub = _make_elemwise("elemwise_sub", np.subtract)
elemwise_mul = _make_elemwise("elemwise_mul", np.multiply)
elemwise_div = _make_elemwise("elemwise_div", _divide)


# ---------------------------------------------------------------------- reductions
def _axes(axis, ndim: int, exclude: bool = False):
    if axis is None or axis == ():
        axes = tuple(range(ndim))
        return axes if not exclude else ()
    if isinstance(axis, (int, np.integer)):
        axis = (int(axis),)
    axes = []
    for a in axis:
        if not -ndim <= a < ndim:
            raise MXNetError(f"axis {a} is out of bounds for an array of {ndim} dimensions")
        axes.append(a % ndim)
    if exclude:
        return tuple(i for i in range(ndim) if i not in axes)
    return tuple(sorted(set(axes)))


def _reduce(fn, data, axis, keepdims, exclude, out, name, dtype=None):
    data = _arr(data)
    axes = _axes(axis, data.ndim, exclude)
    if data.size == 0 and fn in (np.max, np.min):
        raise MXNetError(f"{name}: cannot reduce an empty array")
    result = fn(data._data, axis=axes, keepdims=keepdims)
    result = np.asarray(result)
    if result.ndim == 0:
        result = result.reshape(1)
    return _finish(result, out, data._ctx, dtype or data._data.dtype)


def sum(data, axis=None, keepdims=False, exclude=False, out=None) -> NDArray:  # noqa: A001
    """Sum over ``axis`` (all axes by default); a full reduction has shape ``(1,)``."""
    return _reduce(np.sum, data, axis, keepdims, exclude, out, "sum")


def mean(data, axis=None, keepdims=False, exclude=False, out=None) -> NDArray:
    return _reduce(np.mean, data, axis, keepdims, exclude, out, "mean")


def max(data, axis=None, keepdims=False, exclude=False, out=None) -> NDArray:  # noqa: A001
    return _reduce(np.max, data, axis, keepdims, exclude, out, "max")


def min(data, axis=None, keepdims=False, exclude=False, out=None) -> NDArray:  # noqa: A001
    return _reduce(np.min, data, axis, keepdims, exclude, out, "min")


def prod(data, axis=None, keepdims=False, exclude=False, out=None) -> NDArray:
    return _reduce(np.prod, data, axis, keepdims, exclude, out, "prod")


def norm(data, ord=2, axis=None, keepdims=False, out=None) -> NDArray:  # noqa: A002
    """L1 or L2 norm over ``axis`` (all elements by default, giving shape ``(1,)``)."""
    data = _arr(data)
    if ord not in (1, 2):
        raise ValueError(f"norm: ord must be 1 or 2, got {ord!r}")
    axes = _axes(axis, data.ndim)
    x = data._data
    acc = np.float64 if x.dtype == np.float64 else np.float32
    if ord == 1:
        result = np.sum(np.abs(x), axis=axes, keepdims=keepdims, dtype=acc)
    else:
        xf = x.astype(acc, copy=False)
        result = np.sqrt(np.sum(xf * xf, axis=axes, keepdims=keepdims))
    result = np.asarray(result)
    if result.ndim == 0:
        result = result.reshape(1)
    return _finish(result, out, data._ctx, x.dtype)


def _arg(fn, data, axis, keepdims, out, name):
    data = _arr(data)
    if data.size == 0:
        raise MXNetError(f"{name}: cannot reduce an empty array")
    if axis is None:
        result = np.asarray(fn(data._data.reshape(-1))).reshape(1)
    else:
        result = fn(data._data, axis=axis, keepdims=keepdims)
    return _finish(result, out, data._ctx, np.float32)


def argmax(data, axis=None, keepdims=False, out=None) -> NDArray:
    """Indices of maxima as float32, as MXNet returns them."""
    return _arg(np.argmax, data, axis, keepdims, out, "argmax")


def argmin(data, axis=None, keepdims=False, out=None) -> NDArray:
    return _arg(np.argmin, data, axis, keepdims, out, "argmin")


def topk(data, axis=-1, k=1, ret_typ="indices", is_ascend=False, dtype="float32", out=None):
    """The ``k`` largest (or smallest) entries along ``axis``: ``ret_typ`` is 'indices',
    'value', 'both' or 'mask'."""
    data = _arr(data)
    if ret_typ not in ("indices", "value", "both", "mask"):
        raise ValueError(f"ret_typ must be indices, value, both or mask, got {ret_typ!r}")
    x = data._data
    if axis is None:
        x, axis = x.reshape(-1), 0
    n = x.shape[axis]
    if k < 1 or k > n:
        if k <= 0:
            k = n
        else:
            raise MXNetError(f"topk: k={k} exceeds the size {n} of axis {axis}")
    key = x if is_ascend else -x
    idx = np.argsort(key, axis=axis, kind="stable")
    idx = np.take(idx, np.arange(k), axis=axis)
    values = np.take_along_axis(x, idx, axis=axis)
    ctx = data._ctx
    if ret_typ == "indices":
        return _finish(idx, out, ctx, _dtype(dtype))
    if ret_typ == "value":
        return _finish(values, out, ctx, x.dtype)
    if ret_typ == "mask":
        mask = np.zeros_like(x)
        np.put_along_axis(mask, idx, 1, axis=axis)
        return _finish(mask, out, ctx, x.dtype)
    return NDArray(values, ctx), NDArray(idx.astype(_dtype(dtype)), ctx)


# ---------------------------------------------------------------------- shape and linalg
def dot(lhs, rhs, transpose_a=False, transpose_b=False, out=None) -> NDArray:
    """MXNet's dot: the last axis of ``lhs`` with the first axis of ``rhs``."""
    lhs, rhs = _arr(lhs, "lhs"), _arr(rhs, "rhs")
    _check_dtypes(lhs, rhs, "dot")
    a, b = lhs._data, rhs._data
    if transpose_a:
        a = a.T if a.ndim == 2 else np.moveaxis(a, 0, -1)
    if transpose_b:
        b = b.T if b.ndim == 2 else np.moveaxis(b, -1, 0)
    if a.shape[-1] != b.shape[0]:
        raise MXNetError(
            f"dot: shapes {_shape_str(a.shape)} and {_shape_str(b.shape)} are not aligned "
            f"({a.shape[-1]} != {b.shape[0]})"
        )
    result = np.tensordot(a, b, axes=1)
    if result.ndim == 0:
        result = result.reshape(1)
    return _finish(result, out, lhs._ctx, a.dtype)


def transpose(data, axes=None, out=None) -> NDArray:
    data = _arr(data)
    if axes == ():
        axes = None
    return _finish(np.ascontiguousarray(np.transpose(data._data, axes)), out, data._ctx)


def swapaxes(data, dim1=0, dim2=0, out=None) -> NDArray:
    data = _arr(data)
    return _finish(np.ascontiguousarray(np.swapaxes(data._data, dim1, dim2)), out, data._ctx)


def moveaxis(data, source, destination) -> NDArray:
    data = _arr(data)
    return NDArray(np.ascontiguousarray(np.moveaxis(data._data, source, destination)), data._ctx)


def reshape(data, shape, reverse=False, out=None) -> NDArray:
    data = _arr(data)
    return _finish(data._data.reshape(infer_reshape(data.shape, shape, reverse)), out, data._ctx)


def flatten(data, out=None) -> NDArray:
    """Collapse all but the first axis: ``(d0, d1, ..., dk) -> (d0, d1*...*dk)``."""
    data = _arr(data)
    n = data.shape[0] if data.ndim else 1
    return _finish(data._data.reshape(n, -1), out, data._ctx)


def expand_dims(data, axis: int, out=None) -> NDArray:
    data = _arr(data)
    return _finish(np.expand_dims(data._data, axis), out, data._ctx)


def squeeze(data, axis=None, out=None) -> NDArray:
    data = _arr(data)
    result = np.squeeze(data._data, axis=axis)
    if result.ndim == 0:
        result = result.reshape(1)
    return _finish(result, out, data._ctx)


def broadcast_to(data, shape, out=None) -> NDArray:
    data = _arr(data)
    shape = tuple(int(s) for s in shape)
    if len(shape) != data.ndim:
        raise MXNetError(
            f"broadcast_to: target {_shape_str(shape)} must have {data.ndim} dims like the "
            f"input {_shape_str(data.shape)}"
        )
    shape = tuple(d if s == 0 else s for s, d in zip(shape, data.shape))
    try:
        result = np.broadcast_to(data._data, shape).copy()
    except ValueError:
        raise MXNetError(
            f"broadcast_to: cannot broadcast {_shape_str(data.shape)} to {_shape_str(shape)}"
        ) from None
    return _finish(result, out, data._ctx)


def broadcast_axis(data, axis=(), size=(), out=None) -> NDArray:
    data = _arr(data)
    axis = (axis,) if isinstance(axis, int) else tuple(axis)
    size = (size,) if isinstance(size, int) else tuple(size)
    shape = list(data.shape)
    for a, s in zip(axis, size):
        if shape[a] != 1:
            raise MXNetError(f"broadcast_axis: axis {a} has size {shape[a]}, not 1")
        shape[a] = s
    return broadcast_to(data, tuple(shape), out=out)


def tile(data, reps, out=None) -> NDArray:
    data = _arr(data)
    return _finish(np.tile(data._data, reps), out, data._ctx)


def one_hot(indices, depth, on_value=1.0, off_value=0.0, dtype="float32", out=None) -> NDArray:
    """One-hot encode ``indices`` into a trailing axis of size ``depth``."""
    indices = _arr(indices, "indices")
    if depth < 1:
        raise ValueError(f"one_hot: depth must be >= 1, got {depth!r}")
    idx = indices._data.astype(np.int64)
    result = np.full(idx.shape + (int(depth),), off_value, dtype=_dtype(dtype))
    valid = (idx >= 0) & (idx < depth)
    hot = np.where(valid, idx, 0)
    np.put_along_axis(result, hot[..., None], np.asarray(on_value, result.dtype), axis=-1)
    result[~valid] = off_value
    return _finish(result, out, indices._ctx)


def take(a, indices, axis=0, mode="clip", out=None) -> NDArray:
    a, indices = _arr(a, "a"), _arr(indices, "indices")
    if mode not in ("clip", "wrap", "raise"):
        raise ValueError(f"take: mode must be clip, wrap or raise, got {mode!r}")
    idx = indices._data.astype(np.int64)
    return _finish(np.take(a._data, idx, axis=axis, mode=mode), out, a._ctx)


def pick(data, index, axis=-1, keepdims=False, mode="clip", out=None) -> NDArray:
    data, index = _arr(data), _arr(index, "index")
    axis = axis % data.ndim
    idx = np.clip(index._data.astype(np.int64), 0, data.shape[axis] - 1)
    idx = np.expand_dims(idx, axis)
    result = np.take_along_axis(data._data, idx, axis=axis)
    if not keepdims:
        result = np.squeeze(result, axis=axis)
    return _finish(result, out, data._ctx)


def softmax(data, axis=-1, temperature=None, out=None) -> NDArray:
    data = _arr(data)
    x = data._data if temperature is None else data._data / temperature
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return _finish(e / np.sum(e, axis=axis, keepdims=True), out, data._ctx, data._data.dtype)


def log_softmax(data, axis=-1, temperature=None, out=None) -> NDArray:
    data = _arr(data)
    x = data._data if temperature is None else data._data / temperature
    shifted = x - np.max(x, axis=axis, keepdims=True)
    result = shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
    return _finish(result, out, data._ctx, data._data.dtype)
