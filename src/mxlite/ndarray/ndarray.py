"""NDArray: MXNet 1.x array semantics over a NumPy array held inside.

The NumPy array lives in ``NDArray._data``; kernels and operators work on it directly.  Every
array mxlite creates is C-contiguous; ``NDArray(np_array)`` wraps the given buffer as it is.
The wrapper owns the semantics MXNet 1.9.1 users rely on:

* ``mx.nd.array`` is float32 by default, whatever the input; a scalar becomes shape ``()``.
* Elementwise ops keep the operands' dtype.  A scalar operand is first cast to the array's dtype
  (``int32 array + 2.7`` adds 2), integer ``/`` truncates toward zero, ``%`` takes the sign of
  the divisor (and ``x % 0`` is 0), comparisons give 0/1 in the operands' dtype.  Two arrays of
  different dtypes raise :class:`~mxlite.base.MXNetError`, as do shapes that do not broadcast.
* Full reductions have shape ``(1,)``; ``a[i]`` of a 1-D array is an array of shape ``(1,)``.
* Basic indexing (ints, slices, ``None``, ``...``) returns a view when the selected region is
  contiguous in memory (``a[i]``, ``a[i:j]``, ...), a copy otherwise; advanced indexing copies.
  ``reshape`` (the method) is a view; every other operator returns a new array.

The functions here that are also registered operators (math, reductions, indexing, layout,
``dot``, ``softmax``) are thin wrappers: they unwrap their NDArrays and call the NumPy-level
function the operator's forward uses (:mod:`mxlite.operator.tensor`, ``operator.nn.softmax``),
so ``mx.nd`` and ``mx.sym`` share one implementation.
"""

from __future__ import annotations

import builtins
import math
import numbers

import numpy as np

from ..base import MXNetError
from ..context import Context, check_usable, current_context
from ..operator.tensor import indexing as _indexing
from ..operator.tensor import matrix as _matrix
from ..operator.tensor import reduce as _red
from ..operator.tensor import shape as _shape_ops
from ..operator.tensor._common import _axes, _axis, _scalar_as, infer_reshape
from ..operator.tensor.elemwise import UNARY, _cast, _clip, _divide, _mod, _power

__all__ = [
    "NDArray", "abs", "arange", "argmax", "argmin", "argsort", "array", "broadcast_add",
    "broadcast_axis", "broadcast_div", "broadcast_equal", "broadcast_greater",
    "broadcast_greater_equal", "broadcast_lesser", "broadcast_lesser_equal", "broadcast_maximum",
    "broadcast_minimum", "broadcast_mod", "broadcast_mul", "broadcast_not_equal",
    "broadcast_power", "broadcast_sub", "broadcast_to", "cast", "ceil", "clip", "concat",
    "concatenate", "dot", "elemwise_add", "elemwise_div", "elemwise_mul", "elemwise_sub", "empty",
    "equal", "exp", "expand_dims", "expm1", "eye", "flatten", "flip", "floor", "full", "greater",
    "greater_equal", "lesser", "lesser_equal", "linspace", "log", "log1p", "log_softmax", "max",
    "maximum", "mean", "min", "minimum", "modulo", "moveaxis", "negative", "norm", "not_equal",
    "one_hot", "ones", "ones_like", "pick", "power", "prod", "reciprocal", "relu", "repeat",
    "reset_arrays", "reshape", "reshape_like", "round", "rsqrt", "sigmoid", "sign", "slice_axis",
    "softmax", "sort", "split", "sqrt", "square", "squeeze", "stack", "sum", "swapaxes", "take",
    "tanh", "tile", "topk", "transpose", "waitall", "where", "zeros", "zeros_like",
]

_DEFAULT_DTYPE = np.dtype(np.float32)

# MXNet keeps the builtin under this name inside its ndarray module
py_slice = slice
_SCALARS = (numbers.Number, np.generic)
#: MXNet's storage-type ids (the ``__storage_type__`` attribute and the file format), by name
_STORAGE_TYPE_STR_TO_ID = {"undefined": -1, "default": 0, "row_sparse": 1, "csr": 2}
_STORAGE_TYPE_ID_TO_STR = {v: k for k, v in _STORAGE_TYPE_STR_TO_ID.items()}


# ---------------------------------------------------------------------- argument helpers
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
        try:
            ctx = Context(kind.strip(), int(rest.rstrip(")") or 0))
        except ValueError:
            raise ValueError(f"ctx {ctx!r} is not a context like 'cpu(0)'") from None
    if not isinstance(ctx, Context):
        raise TypeError(f"ctx must be a Context, got {ctx!r}")
    return check_usable(ctx)


def _shape(shape) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    try:
        if isinstance(shape, (str, bytes)):
            raise TypeError
        shape = tuple(int(s) for s in shape)
    except (TypeError, ValueError):
        raise TypeError(f"shape must be an int or a tuple of ints, got {shape!r}") from None
    if builtins.any(s < 0 for s in shape):
        raise MXNetError(f"shape must not have negative sizes, got {shape!r}")
    return shape


def _shape_str(shape) -> str:
    return "[" + ",".join(str(s) for s in shape) + "]"


class NDArray:
    """A fixed-size multi-dimensional array on a device, with MXNet 1.x semantics.

    >>> import mxlite as mx
    >>> a = mx.nd.array([[1, 2, 3], [4, 5, 6]])
    >>> (a * 2 + 1).sum().asscalar()
    np.float32(48.0)
    """

    __slots__ = ("__weakref__", "_ag", "_ctx", "_data")
    __array_priority__ = 1000.0

    # NumPy ufuncs on NDArrays (``np.exp(a)``, ``np.ones(2) + a``) compute on the values and
    # give an NDArray back; MXNet 1.9.1 builds an object array of one-element NDArrays there
    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        if method == "__call__" and len(inputs) == 2 and out is None and not kwargs \
                and inputs[1] is self and not isinstance(inputs[0], NDArray):
            reflected = _REFLECTED.get(ufunc)
            if reflected is not None:  # numpy on the left: our reflected operator decides
                return getattr(self, reflected)(inputs[0])
        ctx = self._ctx
        args = [x._data if isinstance(x, NDArray) else x for x in inputs]
        outs = None
        if out is not None:
            outs = tuple(o._data if isinstance(o, NDArray) else o for o in out)
            kwargs["out"] = outs
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            result = getattr(ufunc, method)(*args, **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out

        def wrap(r):
            return NDArray(r, ctx) if isinstance(r, np.ndarray) and r.ndim else r

        return tuple(wrap(r) for r in result) if isinstance(result, tuple) else wrap(result)

    def __init__(self, data: np.ndarray, ctx: Context | None = None):
        if not isinstance(data, np.ndarray):
            if not isinstance(data, np.generic):
                raise TypeError(f"NDArray wraps a numpy.ndarray, got {type(data).__name__}")
            data = np.asarray(data)  # NumPy's result for a 0-d operand
        self._data = data  # shared as given (a strided view stays a view of its base)
        self._ctx = ctx if ctx is not None else Context("cpu", 0)
        self._ag = None  # autograd entry: a variable or a recorded output (see _record)

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
        """The transpose (a copy); a 0-d or 1-D array is returned as is, as in MXNet."""
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
        if dtype is not None and np.dtype(dtype) != self._data.dtype:
            return self._data.astype(dtype)
        return self._data.copy() if copy is not False else self._data

    def asscalar(self):
        """The single element as a NumPy scalar; ValueError unless the array has one element."""
        if self.size != 1:
            raise ValueError(
                f"The current array is not a scalar: shape {self.shape} has {self.size} elements"
            )
        return self._data.reshape(-1)[0]

    def astype(self, dtype, copy: bool = True) -> NDArray:
        """A cast copy; with ``copy=False`` and an unchanged dtype, ``self``."""
        dtype = _dtype(dtype)
        if not copy and self._data.dtype == dtype:
            return self
        with np.errstate(invalid="ignore", over="ignore"):
            return NDArray(self._data.astype(dtype), self._ctx)

    def copy(self) -> NDArray:
        return NDArray(self._data.copy(), self._ctx)

    def copyto(self, other):
        """Copy into ``other`` (an NDArray of the same shape, cast to its dtype) or onto a
        Context; returns the target."""
        if isinstance(other, NDArray):
            if other is self:
                return other
            if type(other) is not NDArray:  # a sparse target takes this array's values
                other[:] = self
                return other
            if other.shape != self.shape:
                raise MXNetError(
                    f"copyto: shape mismatch, source {_shape_str(self.shape)} "
                    f"vs target {_shape_str(other.shape)}"
                )
            with np.errstate(invalid="ignore", over="ignore"):
                np.copyto(other._data, self._data, casting="unsafe")
            return other
        if isinstance(other, Context):
            return NDArray(self._data.copy(), check_usable(other))
        raise TypeError(f"copyto does not support type {type(other)}")

    def as_in_context(self, context: Context) -> NDArray:
        """``self`` if already on ``context``, else a copy there."""
        if context == self._ctx:
            return self
        return self.copyto(context)

    as_in_ctx = as_in_context

    def wait_to_read(self) -> None:
        """Computation is synchronous in mxlite; kept for API compatibility."""

    def wait_to_write(self) -> None:
        """Computation is synchronous in mxlite; kept for API compatibility."""

    def tostype(self, stype: str) -> NDArray:
        """This array in storage ``stype``: ``'default'`` (itself), ``'row_sparse'`` or
        ``'csr'`` (see :mod:`mxlite.ndarray.sparse`)."""
        if stype == "default":
            return self
        if stype == "csr" and self.ndim != 2:  # MXNet checks this before casting
            raise ValueError("To convert to a CSR, the NDArray should be 2 Dimensional. "
                             f"Current shape is {self.shape}")
        from .sparse import cast_storage

        return cast_storage(self, stype)

    def tolist(self) -> list:
        return self._data.tolist()

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

    # ------------------------------------------------------------------ autograd
    def attach_grad(self, grad_req: str = "write", stype=None) -> None:
        """Allocate a zero gradient buffer and mark this array as an autograd variable.

        ``grad_req``: 'write' (each backward overwrites ``grad``), 'add' (accumulates) or
        'null' (no gradient).
        """
        from . import _record

        if grad_req not in ("write", "add", "null"):
            raise ValueError(f"grad_req must be 'write', 'add' or 'null', got {grad_req!r}")
        if stype not in (None, "default"):
            raise ValueError(f"attach_grad: only dense gradients are supported, got {stype!r}")
        self._ag = _record.Var(NDArray(np.zeros_like(self._data), self._ctx), grad_req)

    @property
    def grad(self) -> NDArray | None:
        """The gradient buffer attached by :meth:`attach_grad` (None when there is none)."""
        from . import _record

        return self._ag.grad if isinstance(self._ag, _record.Var) else None

    @property
    def _fresh_grad(self) -> bool:
        """Whether a backward wrote this array's gradient since the flag was last cleared
        (MXNet's gradient state: ``Trainer`` clears it at each step)."""
        from . import _record

        return isinstance(self._ag, _record.Var) and self._ag.fresh

    @_fresh_grad.setter
    def _fresh_grad(self, state: bool) -> None:
        from . import _record

        if isinstance(self._ag, _record.Var):
            self._ag.fresh = bool(state)

    def backward(self, out_grad=None, retain_graph: bool = False, train_mode: bool = True):
        """Back-propagate from this array (``out_grad``: the head gradient, ones by default)."""
        from . import _record

        _record.backward([self], [out_grad], retain_graph, train_mode)

    def detach(self) -> NDArray:
        """The same data, outside any recorded graph."""
        return NDArray(self._data, self._ctx)

    def __getstate__(self):
        """MXNet's pickled state: ``{'handle': <one raw NDArray record>}``."""
        from .utils import array_to_raw_bytes

        return {"handle": bytearray(array_to_raw_bytes(self))}

    def __setstate__(self, state):
        """Restore from :meth:`__getstate__`'s state (arrays saved on a GPU load on the CPU)."""
        from .utils import array_from_raw_bytes

        if not isinstance(state, dict) or "handle" not in state:
            raise ValueError(f"__setstate__: expected {{'handle': bytes}}, got {type(state)}")
        loaded = array_from_raw_bytes(bytes(state["handle"]), "<pickled NDArray>")
        self._data = loaded._data
        self._ctx = Context("cpu", 0)
        self._ag = None

    @staticmethod
    def _basic_indexing_slice_is_contiguous(slc_key, shape) -> bool:
        """Whether basic indexing ``slc_key`` of a C-contiguous array of ``shape`` gives a
        contiguous view (MXNet's helper; decided from strides, nothing is allocated)."""
        shape = tuple(int(d) for d in shape)
        strides = []
        acc = 1
        for d in reversed(shape):
            strides.append(acc)
            acc *= builtins.max(d, 1)  # this module defines its own max
        probe = np.lib.stride_tricks.as_strided(np.zeros(1, np.uint8), shape,
                                                tuple(reversed(strides)), writeable=False)
        return bool(probe[slc_key].flags.c_contiguous)

    # ------------------------------------------------------------------ interchange
    def __dlpack__(self, **kwargs):
        return self._data.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self._data.__dlpack_device__()

    def to_dlpack_for_read(self):
        """A DLPack capsule over this array's memory (for a consumer that only reads)."""
        return self._data.__dlpack__()

    def to_dlpack_for_write(self):
        """A DLPack capsule over this array's memory; the consumer's writes are seen here.

        A versioned capsule (DLPack 1.0, which carries the writable flag) where NumPy makes
        one, else a legacy one (which NumPy consumers import read-only)."""
        try:
            return self._data.__dlpack__(max_version=(1, 0))
        except TypeError:  # NumPy < 2.1
            return self._data.__dlpack__()

    # ------------------------------------------------------------------ indexing
    def __getitem__(self, key) -> NDArray:
        key, advanced = _index_key(key)
        data = self._data
        if advanced:
            out = data[key]
            if out.ndim == 0:
                out = out.reshape(1)
            return NDArray(out, self._ctx)
        view = data[key]
        if not isinstance(view, np.ndarray) or view.ndim == 0:
            view = data[_last_int_as_slice(key, data.shape)]
        if not view.flags.c_contiguous:
            view = np.ascontiguousarray(view)  # MXNet copies a non-contiguous selection
        return NDArray(view, self._ctx)

    def __setitem__(self, key, value) -> None:
        if isinstance(value, NDArray):
            value = value._data
        elif isinstance(value, (np.ndarray, list, tuple)):
            value = np.asarray(value)
            if value.dtype.kind not in "biuf":
                raise TypeError(
                    f"NDArray does not support assignment with a value of dtype {value.dtype}"
                )
        elif not isinstance(value, _SCALARS):
            raise TypeError(
                f"NDArray does not support assignment with non-array-like object {value!r} "
                f"of type {type(value)}"
            )
        key, advanced = _index_key(key)
        data = self._data
        try:
            with np.errstate(invalid="ignore", over="ignore"):
                if advanced:
                    data[key] = value
                    return
                region = data[key]
                if not isinstance(region, np.ndarray) or region.ndim == 0:
                    region = data[_last_int_as_slice(key, data.shape)]
                region[...] = value
        except ValueError:
            target = np.shape(data[key])
            raise ValueError(
                f"cannot assign a value of shape {_shape_str(np.shape(value))} to the indexed "
                f"region of shape {_shape_str(target)} of an array of shape "
                f"{_shape_str(self.shape)}"
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

    def __mod__(self, o):
        return _binary(_mod, self, o, "mod")

    def __rmod__(self, o):
        return _binary(_mod, o, self, "mod")

    def __pow__(self, o):
        return _binary(_power, self, o, "power")

    def __rpow__(self, o):
        return _binary(_power, o, self, "power")

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
        return _inplace(_power, self, o, "power")

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
        """A view with a new shape; MXNet's codes: 0 copy a dim, -1 infer, -2 copy the rest,
        -3 merge two dims, -4 split a dim in two.  ``reverse`` applies the codes right to left."""
        if "shape" in kwargs:
            shape = kwargs.pop("shape")
        if kwargs:
            raise TypeError(f"reshape got unexpected keyword arguments {sorted(kwargs)}")
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        new = infer_reshape(self.shape, shape, reverse)
        return NDArray(self._data.reshape(new), self._ctx)

    def reshape_like(self, other: NDArray | None = None, rhs: NDArray | None = None) -> NDArray:
        if (other is None) == (rhs is None):
            raise TypeError("reshape_like: give the array to match (positionally or as rhs=)")
        return reshape_like(self, other if other is not None else rhs)

    def broadcast_to(self, shape) -> NDArray:
        return broadcast_to(self, shape)

    def broadcast_like(self, other: NDArray) -> NDArray:
        return broadcast_to(self, other.shape)

    def flatten(self, inplace: bool = False) -> NDArray:
        """``(d0, rest...)`` collapsed to 2-D; ``inplace=True`` returns a view sharing memory."""
        if inplace:
            return self.reshape(self.shape[0] if self.ndim else 1, -1)
        return flatten(self)

    def expand_dims(self, axis: int, inplace: bool = False) -> NDArray:
        """A new axis at ``axis``; ``inplace=True`` returns a view sharing memory."""
        if inplace:
            return NDArray(np.expand_dims(self._data, axis), self._ctx)
        return expand_dims(self, axis)

    def squeeze(self, axis=None, inplace: bool = False) -> NDArray:
        """Drop length-1 axes; ``inplace=True`` returns a view sharing memory."""
        out = squeeze(self, axis)
        return NDArray(self._data.reshape(out.shape), self._ctx) if inplace else out

    def transpose(self, *axes, **kwargs) -> NDArray:
        if "axes" in kwargs:  # MXNet's fluent form: a.transpose(axes=(1, 0, 2))
            if axes:
                raise TypeError("transpose: give the axes positionally or as axes=, not both")
            axes = (kwargs.pop("axes"),)
        if kwargs:
            raise TypeError(f"transpose got unexpected keyword arguments {sorted(kwargs)}")
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return transpose(self, axes or None)

    def swapaxes(self, dim1=0, dim2=0) -> NDArray:
        return swapaxes(self, dim1, dim2)

    def tile(self, reps) -> NDArray:
        return tile(self, reps)

    def repeat(self, repeats, axis=None) -> NDArray:
        return repeat(self, repeats, axis)

    def flip(self, axis) -> NDArray:
        return flip(self, axis)

    def split(self, num_outputs, axis=1, squeeze_axis=False):
        return split(self, num_outputs, axis, squeeze_axis)

    def slice_axis(self, axis, begin, end) -> NDArray:
        return slice_axis(self, axis, begin, end)

    def sum(self, axis=None, keepdims=False, exclude=False, out=None, **kwargs) -> NDArray:
        return _method_out(sum(self, axis, keepdims, exclude), out)

    def mean(self, axis=None, keepdims=False, exclude=False, out=None, **kwargs) -> NDArray:
        return _method_out(mean(self, axis, keepdims, exclude), out)

    def max(self, axis=None, keepdims=False, exclude=False, out=None, **kwargs) -> NDArray:
        return _method_out(max(self, axis, keepdims, exclude), out)

    def min(self, axis=None, keepdims=False, exclude=False, out=None, **kwargs) -> NDArray:
        return _method_out(min(self, axis, keepdims, exclude), out)

    def prod(self, axis=None, keepdims=False, exclude=False, out=None, **kwargs) -> NDArray:
        return _method_out(prod(self, axis, keepdims, exclude), out)

    def norm(self, ord=2, axis=None, keepdims=False) -> NDArray:
        return norm(self, ord, axis, keepdims)

    def argmax(self, axis=None, keepdims=False, out=None) -> NDArray:
        return _method_out(argmax(self, axis, keepdims), out)

    def argmin(self, axis=None, keepdims=False, out=None) -> NDArray:
        return _method_out(argmin(self, axis, keepdims), out)

    def sort(self, axis=-1, is_ascend=True) -> NDArray:
        return sort(self, axis, is_ascend)

    def argsort(self, axis=-1, is_ascend=True, dtype="float32") -> NDArray:
        return argsort(self, axis, is_ascend, dtype)

    def topk(self, axis=-1, k=1, ret_typ="indices", is_ascend=False, dtype="float32"):
        return topk(self, axis, k, ret_typ, is_ascend, dtype)

    def one_hot(self, depth, on_value=1.0, off_value=0.0, dtype="float32") -> NDArray:
        return one_hot(self, depth, on_value, off_value, dtype)

    def clip(self, a_min, a_max, out=None, **kwargs) -> NDArray:
        return _method_out(clip(self, a_min, a_max), out)

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

    def expm1(self) -> NDArray:
        return expm1(self)

    def log(self) -> NDArray:
        return log(self)

    def log1p(self) -> NDArray:
        return log1p(self)

    def floor(self) -> NDArray:
        return floor(self)

    def ceil(self) -> NDArray:
        return ceil(self)

    def round(self, decimals=0, out=None) -> NDArray:
        if decimals != 0:
            raise ValueError(f"round: only decimals=0 is supported (MXNet's), got {decimals!r}")
        return _method_out(round(self), out)

    def reciprocal(self) -> NDArray:
        return reciprocal(self)

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


_REFLECTED = {np.add: "__radd__", np.subtract: "__rsub__", np.multiply: "__rmul__",
              np.true_divide: "__rtruediv__", np.remainder: "__rmod__", np.power: "__rpow__",
              np.equal: "__eq__", np.not_equal: "__ne__", np.less: "__gt__",
              np.less_equal: "__ge__", np.greater: "__lt__", np.greater_equal: "__le__"}


def _method_out(result: NDArray, out) -> NDArray:
    """Methods take NumPy's ``out=`` too (``np.argmax(a, axis=1)`` calls ``a.argmax``)."""
    if out is None:
        return result
    if not isinstance(out, NDArray) or out.shape != result.shape:
        raise ValueError(f"out must be an NDArray of shape {result.shape}, got {out!r}")
    out._data[...] = result._data
    return out


def _rebuild(data: np.ndarray, ctx: str) -> NDArray:
    return NDArray(np.array(data, copy=True), _ctx(ctx))


# ---------------------------------------------------------------------- indexing helpers
def _index_key(key) -> tuple[tuple, bool]:
    """Normalise an index: a tuple of ints/slices/None/Ellipsis/int arrays, and whether any
    entry is an array (advanced indexing, which copies)."""
    items = key if isinstance(key, tuple) else (key,)
    out = []
    advanced = False
    for k in items:
        if isinstance(k, NDArray):
            k = k._data
        if isinstance(k, (list, tuple, np.ndarray)):  # a tuple inside the key: an index array
            arr = np.asarray(k)
            if arr.dtype.kind not in "biu":
                if arr.dtype.kind != "f" and arr.size:
                    raise ValueError(
                        f"NDArray cannot be indexed with an array of dtype {arr.dtype}"
                    )
                arr = arr.astype(np.int64)
            out.append(arr)
            advanced = True
        elif isinstance(k, (int, np.integer)) and not isinstance(k, (bool, np.bool_)):
            out.append(int(k))
        elif k is None or k is Ellipsis or isinstance(k, slice):
            out.append(k)
        else:
            raise ValueError(f"NDArray does not support slicing with key {k!r} of type {type(k)}")
    return tuple(out), advanced


def _last_int_as_slice(key: tuple, shape: tuple) -> tuple:
    """For a key selecting a single element: the same element as a length-1 slice (a view)."""
    pos = builtins.max(i for i, k in enumerate(key) if isinstance(k, int))
    axis = pos + (len(shape) - len(key) if Ellipsis in key[:pos] else 0)
    i = key[pos] % shape[axis]
    return (*key[:pos], slice(i, i + 1), *key[pos + 1 :])


# ---------------------------------------------------------------------- elementwise helpers
def _np(x) -> np.ndarray:
    return x._data if isinstance(x, NDArray) else x


_DTYPE_AWARE = (_divide, _mod, _power)


def _apply(fn, x, y, dtype):
    if fn in _DTYPE_AWARE:
        return fn(x, y, dtype)
    return fn(x, y)


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


# comparisons accept a NumPy array on either side (arithmetic with one stays a TypeError, as
# in MXNet 1.9.1, which rejects both)
_NUMPY_COMPARABLE = ("equal", "not_equal", "lesser", "lesser_equal", "greater", "greater_equal")


def _operands(a, b, name: str):
    """Numpy operands, result dtype and context for a binary op (one side may be a scalar)."""
    if isinstance(a, NDArray):
        x, dtype, ctx = a._data, a._data.dtype, a._ctx
        if isinstance(b, NDArray):
            _check_dtypes(a, b, name)
            y = b._data
        elif isinstance(b, _SCALARS):
            y = _scalar_as(b, dtype)
        elif isinstance(b, np.ndarray) and name in _NUMPY_COMPARABLE:
            y = b.astype(dtype, copy=False)  # ``a == numpy_array``: compared in a's dtype
        else:
            raise TypeError(f"{name}: type {type(b)} not supported")
        return x, y, dtype, ctx
    if isinstance(b, NDArray):
        y, dtype, ctx = b._data, b._data.dtype, b._ctx
        if isinstance(a, np.ndarray) and name in _NUMPY_COMPARABLE:
            return a.astype(dtype, copy=False), y, dtype, ctx
        if not isinstance(a, _SCALARS):
            raise TypeError(f"{name}: type {type(a)} not supported")
        return _scalar_as(a, dtype), y, dtype, ctx
    raise TypeError(f"{name}: needs at least one NDArray, got {type(a)} and {type(b)}")


def _binary(fn, a, b, name: str) -> NDArray:
    """Elementwise op with MXNet's dtype rules: the array's dtype wins over a scalar's."""
    x, y, dtype, ctx = _operands(a, b, name)
    try:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if fn in _COMPARISONS:  # 0/1 written straight in the operands' dtype
                xs, ys = np.shape(x), np.shape(y)
                shape = xs if xs == ys or not ys else ys if not xs else np.broadcast_shapes(xs, ys)
                out = fn(x, y, out=np.empty(shape, dtype), casting="unsafe")
            else:
                out = _apply(fn, x, y, dtype)
    except ValueError:
        try:
            np.broadcast_shapes(np.shape(x), np.shape(y))
        except ValueError:
            raise _broadcast_error(name, x, y) from None
        raise
    if out.dtype != dtype:
        with np.errstate(invalid="ignore", over="ignore"):
            out = out.astype(dtype)
    return NDArray(out, ctx)


_UFUNC_INPLACE = (np.add, np.subtract, np.multiply)
_COMPARISONS = (np.equal, np.not_equal, np.less, np.less_equal, np.greater, np.greater_equal)


def _inplace(fn, a: NDArray, b, name: str) -> NDArray:
    """``a op= b``: writes into ``a``'s buffer (views of ``a`` see the change); ``b`` must
    broadcast to ``a``'s shape."""
    x, y, dtype, _ = _operands(a, b, name)
    yshape = np.shape(y)
    if yshape != x.shape:
        try:
            ok = np.broadcast_shapes(x.shape, yshape) == x.shape
        except ValueError:
            ok = False
        if not ok:
            raise _broadcast_error(name, x, y)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if fn in _UFUNC_INPLACE or (fn is _divide and dtype.kind == "f"):
            (np.true_divide if fn is _divide else fn)(x, y, out=x)
        else:
            np.copyto(x, _apply(fn, x, y, dtype), casting="unsafe")
    return a


def _finish(result: np.ndarray, out: NDArray | None, ctx: Context, dtype=None) -> NDArray:
    """Wrap ``result`` (or write it into ``out``, which must match its shape and dtype)."""
    result = np.asarray(result)
    if dtype is not None and result.dtype != dtype:
        with np.errstate(invalid="ignore", over="ignore"):
            result = result.astype(dtype)
    if out is None:
        if not result.flags.c_contiguous:
            result = np.ascontiguousarray(result)
        return NDArray(result, ctx)
    if not isinstance(out, NDArray):
        raise TypeError(f"out must be an NDArray, got {type(out).__name__}")
    if type(out) is not NDArray and out.shape == result.shape:  # a sparse out: keeps its stype
        out[:] = NDArray(result.astype(np.dtype(out.dtype), copy=False), ctx)
        return out
    if out.shape != result.shape:
        raise MXNetError(
            f"out has shape {_shape_str(out.shape)}, the result has {_shape_str(result.shape)}"
        )
    if out._data.dtype != result.dtype:
        raise MXNetError(f"out has dtype {out._data.dtype}, the result has {result.dtype}")
    np.copyto(out._data, result)
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


# ---------------------------------------------------------------------- creation
def array(source_array, ctx=None, dtype=None) -> NDArray:
    """An NDArray from any array-like (always a copy).

    dtype: the source's if it is an NDArray, else float32 (also for NumPy input), as MXNet.
    A scalar or a 0-d NumPy array gives a 0-d array (shape ``()``), inside and outside
    :func:`mxlite.util.np_shape`, as MXNet 1.9.1.  (Outside ``np_shape`` MXNet's operators then
    reject it as an array of unknown shape; mxlite's compute with it as NumPy does.)  A
    row_sparse / csr NDArray or a ``scipy.sparse.csr_matrix`` gives a sparse copy, as MXNet.
    """
    if (type(source_array) is not NDArray and isinstance(source_array, NDArray)) or \
            type(source_array).__module__.startswith("scipy.sparse"):
        from .sparse import array as sparse_array

        return sparse_array(source_array, ctx=ctx, dtype=dtype)
    if isinstance(source_array, NDArray):
        dtype = _dtype(dtype, source_array._data.dtype)
        data = source_array._data.astype(dtype, copy=True)
    else:
        dtype = _dtype(dtype)
        if isinstance(source_array, (str, bytes)):
            raise TypeError("source_array must be array like object, got a string")
        if source_array is None:
            raise TypeError(
                "source_array must be array like object (a list, a NumPy array, a number), "
                "got None"
            )
        try:
            with np.errstate(invalid="ignore", over="ignore"):
                data = np.array(source_array, dtype=dtype, copy=True)
        except (TypeError, ValueError) as err:
            raise TypeError(f"source_array must be array like object: {err}") from None
    return NDArray(data, _ctx(ctx))


def reset_arrays(*data, num_arrays=None, **attrs) -> list:
    """Set every array of ``data`` to zero in place (MXNet's ``reset_arrays``, which
    ``ParameterDict.zero_grad`` uses); ``num_arrays`` must count them; floating dtypes only, as
    MXNet.  Returns an empty list (the operator has no outputs)."""
    _check_attrs("reset_arrays", attrs)
    if num_arrays is None or int(num_arrays) != len(data):
        raise MXNetError(f"reset_arrays: num_arrays={num_arrays!r} but {len(data)} arrays "
                         "were given")
    for k, arr in enumerate(data):
        if not isinstance(arr, NDArray):
            raise TypeError(f"reset_arrays: argument {k} must be an NDArray, got "
                            f"{type(arr).__name__}")
        if np.dtype(arr.dtype).kind != "f":
            raise MXNetError(f"reset_arrays: only floating point types are supported, "
                             f"argument {k} is {np.dtype(arr.dtype).name}")
    for arr in data:
        arr[:] = 0
    return []


def empty(shape, ctx=None, dtype=None, stype=None) -> NDArray:
    if stype is not None and stype != "default":
        from .sparse import empty as sparse_empty

        return sparse_empty(stype, shape, ctx, dtype)
    return NDArray(np.empty(_shape(shape), _dtype(dtype)), _ctx(ctx))


def zeros(shape, ctx=None, dtype=None, stype=None, out=None, **kwargs) -> NDArray:
    """An array of zeros; ``stype`` ('row_sparse' / 'csr') is the fourth positional argument,
    as in MXNet's ``mx.nd.zeros(shape, ctx, dtype, stype)``."""
    if stype is not None and stype != "default":
        from .sparse import zeros as sparse_zeros

        return sparse_zeros(stype, shape, ctx, dtype)
    if out is not None:
        return _finish(np.zeros(_shape(shape), _dtype(dtype, out._data.dtype)), out, out._ctx)
    return NDArray(np.zeros(_shape(shape), _dtype(dtype)), _ctx(ctx))


def ones(shape, ctx=None, dtype=None, out=None, **kwargs) -> NDArray:
    if out is not None:
        return _finish(np.ones(_shape(shape), _dtype(dtype, out._data.dtype)), out, out._ctx)
    return NDArray(np.ones(_shape(shape), _dtype(dtype)), _ctx(ctx))


def full(shape, val, ctx=None, dtype=None, out=None) -> NDArray:
    """An array filled with ``val`` cast to ``dtype`` (C conversion: -1 as uint8 is 255)."""
    dtype = _dtype(dtype, out._data.dtype if out is not None else _DEFAULT_DTYPE)
    data = np.full(_shape(shape), _scalar_as(val, dtype), dtype)
    return _finish(data, out, out._ctx if out is not None else _ctx(ctx))


def arange(start, stop=None, step=1.0, repeat=1, infer_range=None, ctx=None, dtype=None):
    """``start, start + step, ...`` below ``stop``, each value ``repeat`` times.

    As MXNet, the length is ``ceil((stop - start) / step)`` and element ``i`` is
    ``dtype(start) + i * dtype(step)`` computed in ``dtype`` (float32 by default).
    """
    if stop is None:
        start, stop = 0, start
    if step == 0:
        raise MXNetError("arange: step must not be 0")
    if repeat < 1:
        raise MXNetError(f"arange: repeat must be >= 1, got {repeat!r}")
    n = math.ceil((stop - start) / step)
    if n <= 0:
        raise MXNetError(f"arange: invalid range, start={start}, stop={stop}, step={step}")
    dtype = _dtype(dtype)
    with np.errstate(invalid="ignore", over="ignore"):
        data = np.arange(n, dtype=dtype) * _scalar_as(step, dtype) + _scalar_as(start, dtype)
    if data.dtype != dtype:
        data = data.astype(dtype)
    if repeat > 1:
        data = np.repeat(data, repeat)
    return NDArray(data, _ctx(ctx))


def eye(N, M=0, k=0, ctx=None, dtype=None) -> NDArray:
    """An ``N x M`` array (``M=0``: square) with ones on diagonal ``k``."""
    if N < 0 or M < 0:
        raise MXNetError(f"eye: N and M must be non-negative, got {N}, {M}")
    return NDArray(np.eye(int(N), int(M) or None, int(k), dtype=_dtype(dtype)), _ctx(ctx))


def linspace(start, stop, num, endpoint=True, ctx=None, dtype=None) -> NDArray:
    """``num`` evenly spaced values from ``start`` to ``stop`` (included when ``endpoint``),
    computed in float64 and cast to ``dtype`` (float32 by default; integers truncate)."""
    if num < 0:
        raise MXNetError(f"linspace: num must be non-negative, got {num}")
    values = np.linspace(start, stop, int(num), endpoint=bool(endpoint), dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        return NDArray(values.astype(_dtype(dtype)), _ctx(ctx))


def zeros_like(data, out=None, name=None) -> NDArray:
    data = _arr(data)
    if type(data) is not NDArray and out is None:  # row_sparse / csr: same storage type
        from .sparse import zeros_like as sparse_zeros_like

        return sparse_zeros_like(data)
    return _finish(np.zeros_like(data._data), out, data._ctx)


def ones_like(data, out=None, name=None) -> NDArray:
    data = _arr(data)
    return _finish(np.ones_like(data._data), out, data._ctx)


def _ctx_first(data, name):
    if not data:
        raise MXNetError(f"{name} needs at least one array")
    return [_arr(d, "data")._data for d in data], data[0]._ctx


def concat(*data, dim: int = 1, out=None) -> NDArray:
    """Concatenate along ``dim`` (default 1, as MXNet)."""
    if any(type(d) is not NDArray and isinstance(d, NDArray) for d in data):
        from .op import invoke  # row_sparse / csr: csr stays csr along dim 0, as MXNet

        return invoke("Concat", tuple(data), {"dim": dim}, out=out)
    arrays, ctx = _ctx_first(data, "concat")
    return _finish(_shape_ops.concat(arrays, dim), out, ctx)


def concatenate(arrays, axis: int = 0, always_copy: bool = True) -> NDArray:
    return concat(*arrays, dim=axis)


def stack(*data, axis: int = 0, out=None) -> NDArray:
    """Join arrays of the same shape along a new axis."""
    arrays, ctx = _ctx_first(data, "stack")
    return _finish(_shape_ops.stack(arrays, axis), out, ctx)


def waitall() -> None:
    """Computation is synchronous in mxlite; kept for API compatibility."""


# ---------------------------------------------------------------------- elementwise
def _unary(fn, data, out):
    data = _arr(data)
    x = data._data
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if out is not None and isinstance(fn, np.ufunc) and isinstance(out, NDArray) \
                and out.shape == x.shape and out._data.dtype == x.dtype and x.dtype.kind == "f":
            fn(x, out=out._data)
            return out
        result = fn(x)
    return _finish(result, out, data._ctx, x.dtype)


def _make_unary(name, fn):
    def op(data, out=None, name=None, **attrs):
        _check_attrs(op.__name__, attrs)
        if type(data) is not NDArray and isinstance(data, NDArray):  # row_sparse / csr
            from .sparse import unary

            return unary(op.__name__, fn, data, out)
        return _unary(fn, data, out)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise ``{name}`` of ``data``; the result keeps ``data``'s dtype."
    return op


sqrt = _make_unary("sqrt", UNARY["sqrt"])
rsqrt = _make_unary("rsqrt", UNARY["rsqrt"])
square = _make_unary("square", UNARY["square"])
abs = _make_unary("abs", UNARY["abs"])
sign = _make_unary("sign", UNARY["sign"])
exp = _make_unary("exp", UNARY["exp"])
expm1 = _make_unary("expm1", UNARY["expm1"])
log = _make_unary("log", UNARY["log"])
log1p = _make_unary("log1p", UNARY["log1p"])
sigmoid = _make_unary("sigmoid", UNARY["sigmoid"])
relu = _make_unary("relu", UNARY["relu"])
tanh = _make_unary("tanh", UNARY["tanh"])
negative = _make_unary("negative", UNARY["negative"])
reciprocal = _make_unary("reciprocal", UNARY["reciprocal"])
floor = _make_unary("floor", UNARY["floor"])
ceil = _make_unary("ceil", UNARY["ceil"])
round = _make_unary("round", UNARY["round"])


def clip(data, a_min, a_max, out=None) -> NDArray:
    """Limit values to ``[a_min, a_max]`` (bounds cast to ``data``'s dtype).

    MXNet 1.9.1 silently accepts ``a_min > a_max``; mxlite raises ValueError.
    """
    data = _arr(data)
    if type(data) is not NDArray:  # row_sparse / csr
        from .sparse import clip_sparse

        return clip_sparse(data, a_min, a_max, out)
    return _finish(_clip(data._data, a_min, a_max), out, data._ctx)


def cast(data, dtype, out=None) -> NDArray:
    data = _arr(data)
    return _finish(_cast(data._data, _dtype(dtype)), out, data._ctx)


def where(condition, x, y, out=None) -> NDArray:
    """``x`` where ``condition`` is non-zero, else ``y``.  ``x`` and ``y`` must have the same
    shape and dtype; ``condition`` their shape, or be 1-D over their first axis."""
    c, x, y = _arr(condition, "condition"), _arr(x, "x"), _arr(y, "y")
    return _finish(_indexing.where(c._data, x._data, y._data), out, x._ctx)


def _check_attrs(opname: str, attrs: dict) -> None:
    """MXNet 1.9.1 keeps any keyword given to a parameter-less operator (``broadcast_*``,
    ``elemwise_*``, unary math) as an attribute that changes nothing (``broadcast_maximum(a, b,
    axis=1)``); mxlite accepts the same and ignores it.  Names must still be strings."""
    for key in attrs:
        if not isinstance(key, str) or not key.isidentifier():
            raise TypeError(f"{opname}: attribute names must be identifiers, got {key!r}")


def _make_binary(name, fn, scalars: bool):
    def op(lhs, rhs, out=None, name=None, **attrs):
        if attrs:
            if scalars:  # (the Python functions maximum, add, ... take no attributes)
                raise TypeError(f"{op.__name__}() got unexpected keyword arguments "
                                f"{sorted(attrs)}")
            _check_attrs(op.__name__, attrs)
        if not scalars:
            _arr(lhs, "lhs")
            _arr(rhs, "rhs")
        elif not isinstance(lhs, NDArray) and not isinstance(rhs, NDArray):
            if isinstance(lhs, _SCALARS) and isinstance(rhs, _SCALARS):
                return _scalar_op(fn, lhs, rhs)
            raise TypeError(f"{op.__name__}: type {type(lhs)} and {type(rhs)} not supported")
        if not scalars and (type(lhs) is not NDArray or type(rhs) is not NDArray):
            from .op import invoke  # row_sparse / csr: the operator's storage inference

            return invoke(op.__name__, (lhs, rhs), {}, out=out)
        result = _binary(fn, lhs, rhs, op.__name__)
        return result if out is None else _finish(result._data, out, result._ctx)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = (
        f"``{name}`` of two arrays with broadcasting"
        + (" (either side may also be a scalar)." if scalars else ".")
    )
    return op


def _scalar_op(fn, a, b):
    """Both operands scalars: a Python scalar, as MXNet (``maximum(2, 3) == 3``)."""
    if fn is np.maximum:
        return builtins.max(a, b)
    if fn is np.minimum:
        return builtins.min(a, b)
    result = _apply(fn, np.float64(a), np.float64(b), np.dtype(np.float64))
    return np.asarray(result).item()


def _make_elemwise(name, fn):
    def op(lhs, rhs, out=None, name=None, **attrs):
        _check_attrs(op.__name__, attrs)
        lhs, rhs = _arr(lhs, "lhs"), _arr(rhs, "rhs")
        if type(lhs) is not NDArray or type(rhs) is not NDArray:  # row_sparse / csr
            from . import sparse

            return getattr(sparse, op.__name__)(lhs, rhs, out=out)
        if lhs.shape != rhs.shape:
            raise MXNetError(
                f"{op.__name__}: shapes {_shape_str(lhs.shape)} and {_shape_str(rhs.shape)} "
                "must be equal"
            )
        result = _binary(fn, lhs, rhs, op.__name__)
        return result if out is None else _finish(result._data, out, result._ctx)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"``{name}`` of two arrays of the same shape."
    return op


broadcast_add = _make_binary("broadcast_add", np.add, False)
broadcast_sub = _make_binary("broadcast_sub", np.subtract, False)
broadcast_mul = _make_binary("broadcast_mul", np.multiply, False)
broadcast_div = _make_binary("broadcast_div", _divide, False)
broadcast_mod = _make_binary("broadcast_mod", _mod, False)
broadcast_power = _make_binary("broadcast_power", _power, False)
broadcast_maximum = _make_binary("broadcast_maximum", np.maximum, False)
broadcast_minimum = _make_binary("broadcast_minimum", np.minimum, False)
broadcast_equal = _make_binary("broadcast_equal", np.equal, False)
broadcast_not_equal = _make_binary("broadcast_not_equal", np.not_equal, False)
broadcast_greater = _make_binary("broadcast_greater", np.greater, False)
broadcast_greater_equal = _make_binary("broadcast_greater_equal", np.greater_equal, False)
broadcast_lesser = _make_binary("broadcast_lesser", np.less, False)
broadcast_lesser_equal = _make_binary("broadcast_lesser_equal", np.less_equal, False)
maximum = _make_binary("maximum", np.maximum, True)
minimum = _make_binary("minimum", np.minimum, True)
power = _make_binary("power", _power, True)
modulo = _make_binary("modulo", _mod, True)
# MXNet 1.x's arithmetic functions: broadcasting, a scalar on either side
add = _make_binary("add", np.add, True)
subtract = _make_binary("subtract", np.subtract, True)
multiply = _make_binary("multiply", np.multiply, True)
divide = _make_binary("divide", _divide, True)
true_divide = divide
__all__ += ["add", "divide", "multiply", "subtract", "true_divide"]
equal = _make_binary("equal", np.equal, True)
not_equal = _make_binary("not_equal", np.not_equal, True)
greater = _make_binary("greater", np.greater, True)
greater_equal = _make_binary("greater_equal", np.greater_equal, True)
lesser = _make_binary("lesser", np.less, True)
lesser_equal = _make_binary("lesser_equal", np.less_equal, True)
elemwise_add = _make_elemwise("elemwise_add", np.add)
elemwise_sub = _make_elemwise("elemwise_sub", np.subtract)
elemwise_mul = _make_elemwise("elemwise_mul", np.multiply)
elemwise_div = _make_elemwise("elemwise_div", _divide)


# ---------------------------------------------------------------------- reductions
def _reduce(fn, data, axis, keepdims, exclude, out, name):
    data = _arr(data)
    axes = _axes(axis, data.ndim, exclude, name)
    return _finish(_red.reduce(fn, data._data, axes, keepdims, name), out, data._ctx)


def sum(data, axis=None, keepdims=False, exclude=False, out=None) -> NDArray:
    """Sum over ``axis`` (all axes by default; ``exclude`` reduces over the other axes).

    A full reduction has shape ``(1,)``; the result keeps ``data``'s dtype.
    """
    return _reduce(np.sum, data, axis, keepdims, exclude, out, "sum")


def mean(data, axis=None, keepdims=False, exclude=False, out=None) -> NDArray:
    """Mean over ``axis``; integer arrays truncate the mean to their dtype, as MXNet."""
    return _reduce(np.mean, data, axis, keepdims, exclude, out, "mean")


def max(data, axis=None, keepdims=False, exclude=False, out=None) -> NDArray:
    return _reduce(np.max, data, axis, keepdims, exclude, out, "max")


def min(data, axis=None, keepdims=False, exclude=False, out=None) -> NDArray:
    return _reduce(np.min, data, axis, keepdims, exclude, out, "min")


def prod(data, axis=None, keepdims=False, exclude=False, out=None) -> NDArray:
    return _reduce(np.prod, data, axis, keepdims, exclude, out, "prod")


def norm(data, ord=2, axis=None, keepdims=False, out=None) -> NDArray:
    """L1 or L2 norm over ``axis`` (all elements by default, giving shape ``(1,)``).

    Accumulates in float64 (no overflow for large float32 values) and returns ``data``'s dtype.
    """
    data = _arr(data)
    if ord not in (1, 2):
        raise MXNetError(f"norm: ord must be 1 or 2, got {ord!r}")
    axes = _axes(axis, data.ndim, False, "norm")
    return _finish(_red.norm(data._data, ord, axes, keepdims), out, data._ctx)


def _arg(fn, data, axis, keepdims, out, name):
    data = _arr(data)
    return _finish(_red.arg_reduce(fn, data._data, axis, keepdims, name), out, data._ctx)


def argmax(data, axis=None, keepdims=False, out=None) -> NDArray:
    """Index of the maximum along ``axis`` (flattened when None), in ``data``'s dtype as MXNet
    (float32 for the default float32 arrays)."""
    return _arg(np.argmax, data, axis, keepdims, out, "argmax")


def argmin(data, axis=None, keepdims=False, out=None) -> NDArray:
    """Index of the minimum along ``axis``, in ``data``'s dtype (see :func:`argmax`)."""
    return _arg(np.argmin, data, axis, keepdims, out, "argmin")


def _sorted_indices(x: np.ndarray, axis: int, ascend: bool) -> np.ndarray:
    if ascend:
        return np.argsort(x, axis=axis, kind="stable")
    key = x.astype(np.int64) if x.dtype.kind in "ub" else x
    return np.argsort(-key, axis=axis, kind="stable")


def topk(data, axis=-1, k=1, ret_typ="indices", is_ascend=False, dtype="float32", out=None):
    """The ``k`` largest (``is_ascend``: smallest) entries along ``axis`` (flattened when None);
    ``k <= 0`` takes all.  ``ret_typ``: 'indices' (in ``dtype``), 'value', 'mask' or 'both'
    (a list ``[values, indices]``).  Ties keep index order."""
    data = _arr(data)
    if ret_typ not in ("indices", "value", "both", "mask"):
        raise MXNetError(
            f"topk: invalid ret_typ {ret_typ!r}, valid values are both, indices, mask, value"
        )
    x = data._data
    if axis is None:
        x, axis = x.reshape(-1), 0
    axis = _axis(axis, x.ndim, "topk")
    n = x.shape[axis]
    if k <= 0:
        k = n
    elif k > n:
        raise MXNetError(f"topk: k={k} exceeds the size {n} of axis {axis}")
    idx = _sorted_indices(x, axis, is_ascend)
    if k < n:
        idx = np.take(idx, np.arange(k), axis=axis)
    ctx = data._ctx
    if ret_typ == "indices":
        return _finish(idx, out, ctx, _dtype(dtype))
    if ret_typ == "mask":
        mask = np.zeros_like(x)
        np.put_along_axis(mask, idx, 1, axis=axis)
        return _finish(mask.reshape(data.shape), out, ctx)
    values = np.take_along_axis(x, idx, axis=axis)
    if ret_typ == "value":
        return _finish(values, out, ctx)
    return [NDArray(values, ctx), NDArray(idx.astype(_dtype(dtype)), ctx)]


def sort(data, axis=-1, is_ascend=True, out=None) -> NDArray:
    """Sorted values along ``axis`` (flattened when None)."""
    return topk(data, axis, 0, "value", is_ascend, out=out)


def argsort(data, axis=-1, is_ascend=True, dtype="float32", out=None) -> NDArray:
    """Indices that sort ``data`` along ``axis`` (flattened when None), in ``dtype``."""
    return topk(data, axis, 0, "indices", is_ascend, dtype, out=out)


# ---------------------------------------------------------------------- shape and linalg
def dot(lhs, rhs, transpose_a=False, transpose_b=False, out=None, forward_stype=None) -> NDArray:
    """MXNet's dot: the last axis of ``lhs`` with the first axis of ``rhs`` (1-D x 1-D gives
    shape ``(1,)``).  For N-D inputs ``transpose_a`` moves the first axis of ``lhs`` last and
    ``transpose_b`` moves the last axis of ``rhs`` first."""
    lhs, rhs = _arr(lhs, "lhs"), _arr(rhs, "rhs")
    if type(lhs) is not NDArray or type(rhs) is not NDArray or forward_stype not in (
            None, "default"):  # row_sparse / csr
        from .sparse import dot as sparse_dot

        return sparse_dot(lhs, rhs, transpose_a, transpose_b, forward_stype, out=out)
    return _finish(_matrix.dot(lhs._data, rhs._data, transpose_a, transpose_b), out, lhs._ctx)


def transpose(data, axes=None, out=None) -> NDArray:
    """Permute the axes (reverse them when ``axes`` is None or empty); a copy."""
    data = _arr(data)
    return _finish(_shape_ops.transpose(data._data, axes), out, data._ctx)


def swapaxes(data, dim1=0, dim2=0, out=None) -> NDArray:
    data = _arr(data)
    return _finish(_shape_ops.swapaxes(data._data, dim1, dim2), out, data._ctx)


def moveaxis(data, source, destination) -> NDArray:
    data = _arr(data)
    return _finish(np.moveaxis(data._data, source, destination), None, data._ctx)


def reshape(data, shape, reverse=False, out=None) -> NDArray:
    """The Reshape operator: a new array (the ``NDArray.reshape`` method gives a view)."""
    data = _arr(data)
    new = infer_reshape(data.shape, shape, reverse)
    return _finish(data._data.reshape(new).copy(), out, data._ctx)


def reshape_like(lhs, rhs, out=None) -> NDArray:
    """``lhs`` (a copy) reshaped to ``rhs``'s shape."""
    lhs, rhs = _arr(lhs, "lhs"), _arr(rhs, "rhs")
    return _finish(_shape_ops.reshape_like(lhs._data, rhs.shape), out, lhs._ctx)


def flatten(data, out=None) -> NDArray:
    """Collapse all but the first axis: ``(d0, d1, ..., dk) -> (d0, d1*...*dk)``; a copy."""
    data = _arr(data)
    return _finish(_shape_ops.flatten(data._data), out, data._ctx)


def expand_dims(data, axis: int, out=None) -> NDArray:
    data = _arr(data)
    return _finish(_shape_ops.expand_dims(data._data, axis), out, data._ctx)


def squeeze(data, axis=None, out=None) -> NDArray:
    """Drop axes of size 1 (a copy); squeezing everything leaves shape ``(1,)``."""
    data = _arr(data)
    return _finish(_shape_ops.squeeze(data._data, axis), out, data._ctx)


def broadcast_to(data, shape, out=None) -> NDArray:
    """Broadcast size-1 axes to ``shape`` (same number of dims; 0 keeps a dim); a copy."""
    data = _arr(data)
    return _finish(_shape_ops.broadcast_to(data._data, shape), out, data._ctx)


def broadcast_axis(data, axis=(), size=(), out=None) -> NDArray:
    data = _arr(data)
    return _finish(_shape_ops.broadcast_axis(data._data, axis, size), out, data._ctx)


def tile(data, reps, out=None) -> NDArray:
    data = _arr(data)
    return _finish(_shape_ops.tile(data._data, reps), out, data._ctx)


def repeat(data, repeats, axis=None, out=None) -> NDArray:
    """Repeat each element ``repeats`` times along ``axis`` (flattened when None)."""
    data = _arr(data)
    return _finish(_shape_ops.repeat(data._data, repeats, axis), out, data._ctx)


def flip(data, axis, out=None) -> NDArray:
    """Reverse the order of elements along ``axis`` (an int or a tuple); a copy."""
    data = _arr(data)
    return _finish(_shape_ops.flip(data._data, axis), out, data._ctx)


def slice_axis(data, axis, begin, end, out=None) -> NDArray:
    """Elements ``begin:end`` along ``axis`` (``end`` None: to the end); a copy."""
    data = _arr(data)
    return _finish(_shape_ops.slice_axis(data._data, axis, begin, end), out, data._ctx)


def split(data, num_outputs, axis=1, squeeze_axis=False):
    """Split into ``num_outputs`` equal parts along ``axis``; a list (one part: the array)."""
    data = _arr(data)
    parts = [NDArray(p, data._ctx)
             for p in _shape_ops.split(data._data, num_outputs, axis, squeeze_axis)]
    return parts[0] if num_outputs == 1 else parts


def one_hot(indices, depth, on_value=1.0, off_value=0.0, dtype="float32", out=None) -> NDArray:
    """One-hot encode ``indices`` (truncated to int) into a trailing axis of size ``depth``;
    indices outside ``[0, depth)`` give all-``off_value`` rows."""
    indices = _arr(indices, "indices")
    result = _indexing.one_hot(indices._data, depth, on_value, off_value, _dtype(dtype))
    return _finish(result, out, indices._ctx)


def take(a, indices, axis=0, mode="clip", out=None) -> NDArray:
    """Rows (entries along ``axis``) of ``a`` at ``indices``; ``mode`` 'clip', 'wrap' or
    'raise'."""
    a, indices = _arr(a, "a"), _arr(indices, "indices")
    if a.stype == "csr" and axis == 0 and out is None:  # rows of a CSR matrix stay CSR
        from .sparse import take_rows

        rows = _indexing.take(np.arange(a.shape[0]), indices._data, 0, mode)
        return take_rows(a, rows.reshape(-1))
    return _finish(_indexing.take(a._data, indices._data, axis, mode), out, a._ctx)


def pick(data, index, axis=-1, keepdims=False, mode="clip", out=None) -> NDArray:
    """``data[..., index[...], ...]`` along ``axis`` (indices clipped into range, or wrapped
    with ``mode='wrap'``)."""
    data, index = _arr(data), _arr(index, "index")
    return _finish(_indexing.pick(data._data, index._data, axis, keepdims, mode), out, data._ctx)


def _softmax(data, axis, temperature, out, log):
    from ..operator.nn.softmax import softmax as fn  # the operator family loads on first use

    data = _arr(data)
    return _finish(fn(data._data, axis, temperature, log), out, data._ctx)


def softmax(data, axis=-1, temperature=None, out=None) -> NDArray:
    """``exp(x / T) / sum(exp(x / T))`` along ``axis``."""
    return _softmax(data, axis, temperature, out, False)


def log_softmax(data, axis=-1, temperature=None, out=None) -> NDArray:
    """``x / T - logsumexp(x / T)`` along ``axis``."""
    return _softmax(data, axis, temperature, out, True)


# fluent methods over ``mx.nd`` functions (resolved on call, so operators registered later work)
_FLUENT_ND = (
    "rint", "fix", "trunc", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "arcsinh",
    "arccosh", "arctanh", "degrees", "radians", "log2", "log10", "cbrt", "rcbrt", "sin", "cos",
    "nansum", "nanprod", "softmin", "argmax_channel", "shape_array", "size_array", "split_v2",
    "slice", "slice_like", "pad", "broadcast_axes", "diag", "depth_to_space", "space_to_depth",
)


def _fluent_method(name: str):
    def method(self, *args, **kwargs):
        from .. import ndarray as _nd

        return getattr(_nd, name)(self, *args, **kwargs)

    method.__name__ = name
    method.__doc__ = f"``mx.nd.{name}(self, ...)``."
    return method


for _name in _FLUENT_ND:
    if not hasattr(NDArray, _name):
        setattr(NDArray, _name, _fluent_method(_name))


from . import _record  # noqa: E402  (recorded calls route through registered operators)

_record.install(globals(), NDArray)
