"""Weight initializers: ``mx.initializer`` (alias ``mx.init``), with MXNet 1.9.1's semantics.

An initializer is called as ``init(desc, arr)`` with an :class:`InitDesc` (the variable's name,
its symbol attributes and the global initializer) and the :class:`~mxlite.ndarray.NDArray` to fill
in place.  What gets filled how is decided in this order:

1. an ``__init__`` attribute on the variable (a ``dumps()`` JSON string or a registered name)
   wins: that initializer's ``_init_weight`` fills the array, whatever the name;
2. otherwise the name's suffix picks the method (first match in this table)::

       weight -> _init_weight        bias -> _init_bias (0)       gamma -> _init_gamma (1)
       beta   -> _init_beta (0)      min  -> 0                    max   -> 1
       weight_quantize -> random int8 in [-127, 126]              bias_quantize -> 0
       moving_mean -> 0   moving_var -> 1   moving_inv_var -> 0   moving_avg -> 0

3. anything else raises ``ValueError`` naming the variable and how to give it an initializer.

Calling with a plain string name (``init("fc_weight", arr)``) is MXNet's legacy path: it still
works, with a ``DeprecationWarning``, and keeps its own rules (``upsampling*`` names get
:class:`Bilinear`, ``stn_loc*`` names get the identity affine transform).

Random initializers draw from :func:`mxlite.random.generator` (reseeded by ``mx.random.seed``)
straight into the array's buffer in its own dtype, and scale in place with one fused kernel.

>>> import mxlite as mx
>>> w = mx.nd.zeros((2, 3))
>>> mx.init.Constant(0.5)(mx.init.InitDesc("fc_weight"), w)
>>> w.asnumpy().tolist()
[[0.5, 0.5, 0.5], [0.5, 0.5, 0.5]]
>>> mx.init.Xavier(factor_type="in", magnitude=2.34).dumps()
'["xavier", {"rnd_type": "uniform", "factor_type": "in", "magnitude": 2.34}]'

Writing your own: subclass :class:`Initializer`, override ``_init_weight`` (and, if wanted,
``_init_bias``), register it, and create it by name::

    @mx.init.register
    class HalfInit(mx.init.Initializer):
        def _init_weight(self, name, arr):
            arr[:] = 0.5

    mx.init.create("halfinit")
"""

from __future__ import annotations

import json
import logging
import math
import numbers
import os
import re
import warnings
from collections.abc import Callable

import numpy as np

from . import random as _random
from .base import Registry
from .kernels import random as _kr
from .ndarray.ndarray import NDArray

__all__ = [
    "Bilinear", "Constant", "FusedRNN", "InitDesc", "Initializer", "LSTMBias", "Load", "MSRAPrelu",
    "Mixed", "Normal", "One", "Orthogonal", "Uniform", "Xavier", "Zero", "alias", "create",
    "fan_in_out", "fused_rnn_layout", "register",
]

_log = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------- kernels
# the fast fills live in mxlite.kernels.random (shared with SGLD and nd.random)
_float_dtype = _kr.float_dtype


def _fill_uniform(data: np.ndarray, low: float, high: float) -> None:
    """Fill ``data`` with U(low, high) (see :func:`mxlite.kernels.random.fill_uniform`)."""
    _kr.fill_uniform(data, low, high)


def _fill_normal(data: np.ndarray, scale: float) -> None:
    """Fill ``data`` with N(0, scale^2) (see :func:`mxlite.kernels.random.fill_normal`)."""
    _kr.fill_normal(data, 0.0, scale)


def _orthonormal_columns(a: np.ndarray) -> np.ndarray:
    """The Q of ``a = QR`` (``a`` tall, full column rank) with ``diag(R) > 0``.

    Cholesky-QR twice (``Q = A L^-T`` with ``L L^T = A^T A``, repeated once on the result):
    matrix products only, several times faster than Householder QR, and orthonormal to working
    precision for the well-conditioned random matrices initializers draw.  The positive
    diagonal of the Cholesky factor makes it the same unique factor as a sign-normalized QR
    (so Gaussian draws give Haar-distributed matrices).  Should ``A^T A`` not be numerically
    positive definite (a nearly rank-deficient draw), Householder QR takes over.
    """
    try:
        q = a
        for _ in range(2):
            low = np.linalg.cholesky(q.T @ q)
            q = q @ np.linalg.inv(low).T
        if np.isfinite(q).all():
            return q
    except np.linalg.LinAlgError:
        pass
    q, r = np.linalg.qr(a)
    q *= np.where(np.diagonal(r) < 0, -1.0, 1.0).astype(q.dtype)
    return q


# --------------------------------------------------------------------------------------- helpers
def _shape_str(shape) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")"


def _data(arr, name) -> np.ndarray:
    if not isinstance(arr, NDArray):
        raise TypeError(f"arr for {str(name)!r} must be an NDArray, got {type(arr).__name__}")
    return arr._data


def _assign(name, data: np.ndarray, value, what: str) -> None:
    """``data[...] = value`` with a broadcasting failure reported by variable name and shapes."""
    try:
        data[...] = value
    except ValueError:
        raise ValueError(
            f"{what} of shape {_shape_str(np.shape(value))} cannot be broadcast to "
            f"{str(name)!r} of shape {_shape_str(data.shape)}"
        ) from None


def fan_in_out(name, shape, who: str = "initializer") -> tuple[float, float]:
    """Fan-in and fan-out of a weight of ``shape`` as MXNet counts them.

    ``fan_in = shape[1] * prod(shape[2:])`` and ``fan_out = shape[0] * prod(shape[2:])``, so a
    convolution kernel ``(out, in, kh, kw)`` counts its receptive field on both sides.  Shared by
    :class:`Xavier` and :class:`MSRAPrelu`; ``who`` names the caller in the error raised for
    arrays with fewer than 2 dimensions.
    """
    shape = tuple(shape)
    if len(shape) < 2:
        raise ValueError(
            f"{who} initializer cannot be applied to {str(name)!r} of shape {_shape_str(shape)}: "
            f"it needs an array with at least 2 dimensions"
        )
    receptive = float(math.prod(shape[2:]))
    return shape[1] * receptive, shape[0] * receptive


def _check_real(cls: str, arg: str, value, nonneg: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{cls}: {arg} must be a real number, got {value!r}")
    if not math.isfinite(value) or (nonneg and value < 0):
        kind = "a finite non-negative" if nonneg else "a finite"
        raise ValueError(f"{cls}: {arg} must be {kind} number, got {value!r}")
    return float(value)


def _check_choice(cls: str, arg: str, value, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(
            f"{cls}: unknown {arg} {value!r}; expected one of {', '.join(map(repr, choices))}"
        )
    return value


def _check_int(cls: str, arg: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{cls}: {arg} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _jsonable(value):
    """A constructor argument as ``dumps()`` writes it: arrays as nested lists, NumPy scalars as
    Python numbers."""
    if isinstance(value, NDArray):
        return value._data.tolist()
    if isinstance(value, (np.ndarray, np.generic)):
        return value.tolist()
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value


def _default_stat(x: NDArray) -> str:
    """norm(x) / sqrt(size(x)) in the array's float precision, as MXNet's verbose mode prints."""
    data = x._data
    fdt = _float_dtype(data.dtype).type
    with np.errstate(invalid="ignore", divide="ignore"):
        norm = fdt(np.sqrt(np.sum(np.square(data, dtype=fdt), dtype=fdt)))
        return str(fdt(norm / fdt(math.sqrt(data.size))))


# ------------------------------------------------------------------------------------ descriptor
class InitDesc(str):
    """A variable's name (it *is* that ``str``) plus what initialization needs to know of it.

    ``attrs`` are the variable's symbol attributes (``Symbol.attr_dict()``); an ``__init__`` entry
    in them selects the initializer.  ``global_init`` is the initializer to fall back to (filled
    in by the first :class:`Initializer` that sees the descriptor).
    """

    attrs: dict
    global_init: Initializer | None

    def __new__(cls, name, attrs=None, global_init=None):
        if not isinstance(name, str):
            raise TypeError(f"InitDesc name must be a str, got {name!r}")
        if attrs is not None and not isinstance(attrs, dict):
            raise TypeError(f"InitDesc attrs must be a dict, got {attrs!r}")
        desc = super().__new__(cls, name)
        desc.attrs = attrs or {}
        desc.global_init = global_init
        return desc


# name-suffix dispatch of ``init(InitDesc, arr)``: first match wins
_DESC_RULES = (
    ("weight", "_init_weight"),
    ("bias", "_init_bias"),
    ("gamma", "_init_gamma"),
    ("beta", "_init_beta"),
    ("min", "_init_zero"),
    ("max", "_init_one"),
    ("weight_quantize", "_init_quantized_weight"),
    ("bias_quantize", "_init_quantized_bias"),
    ("moving_mean", "_init_zero"),
    ("moving_var", "_init_one"),
    ("moving_inv_var", "_init_zero"),
    ("moving_avg", "_init_zero"),
)

# suffix dispatch of the legacy ``init(str, arr)`` path (after its upsampling/stn_loc prefixes)
_LEGACY_RULES = (
    ("bias", "_init_bias"),
    ("gamma", "_init_gamma"),
    ("beta", "_init_beta"),
    ("weight", "_init_weight"),
    ("moving_mean", "_init_zero"),
    ("moving_var", "_init_one"),
    ("moving_inv_var", "_init_zero"),
    ("moving_avg", "_init_zero"),
    ("min", "_init_zero"),
    ("max", "_init_one"),
)


# ------------------------------------------------------------------------------------ base class
class Initializer:
    """Base class of the initializers; subclasses override ``_init_weight`` (and optionally the
    other ``_init_*`` methods).  Constructor keyword arguments passed to ``__init__`` are what
    :meth:`dumps` writes, in that order.
    """

    _kwargs: dict = {}
    _verbose = False
    _print_func: Callable[[NDArray], str] | None = None

    def __init__(self, **kwargs):
        self._kwargs = kwargs
        self._verbose = False
        self._print_func = None

    # ------------------------------------------------------------------ public
    def set_verbosity(self, verbose: bool = False, print_func=None) -> Initializer:
        """Log ``Initialized <name> as <pattern>: <print_func(arr)>`` after each array.

        ``print_func`` maps the filled NDArray to a string; the default is
        ``norm(arr) / sqrt(arr.size)``.  Lines go to the ``mxlite.initializer`` logger at INFO.
        Returns ``self``.
        """
        if print_func is not None and not callable(print_func):
            raise TypeError(f"print_func must be callable, got {print_func!r}")
        self._verbose = bool(verbose)
        self._print_func = print_func if print_func is not None else _default_stat
        return self

    def dumps(self) -> str:
        """``'["<lowercase class name>", {kwargs}]'``, readable back by :func:`create`."""
        return json.dumps([type(self).__name__.lower(), self._json_kwargs()])

    def __call__(self, desc, arr) -> None:
        """Fill ``arr`` in place for the variable described by ``desc`` (see the module doc)."""
        if isinstance(arr, NDArray) and type(arr) is not NDArray:
            # row_sparse / csr: initialise the dense values, then store them in arr's storage
            dense = NDArray(np.zeros(arr.shape, arr.dtype), arr.context)
            self(desc, dense)
            arr[:] = dense
            return
        if not isinstance(desc, InitDesc):
            self._legacy_init(desc, arr)
            return
        _data(arr, desc)
        if desc.global_init is None:
            desc.global_init = self
        spec = desc.attrs.get("__init__", "")
        if spec:
            create(spec)._init_weight(desc, arr)
            self._verbose_print(desc, spec, arr)
            return
        for suffix, method in _DESC_RULES:
            if desc.endswith(suffix):
                getattr(self, method)(desc, arr)
                self._verbose_print(desc, suffix, arr)
                return
        self._init_default(desc, arr)

    def __eq__(self, other):
        if not isinstance(other, Initializer):
            return NotImplemented
        return type(self) is type(other) and self._json_kwargs() == other._json_kwargs()

    __hash__ = None  # mutable configuration compared by value, as in MXNet

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._json_kwargs().items())
        return f"{type(self).__name__}({args})"

    # ------------------------------------------------------------------ internals
    def _json_kwargs(self) -> dict:
        return {key: _jsonable(value) for key, value in self._kwargs.items()}

    def _verbose_print(self, desc, pattern, arr) -> None:
        if self._verbose and self._print_func is not None:
            _log.info("Initialized %s as %s: %s", desc, pattern, self._print_func(arr))

    def _legacy_init(self, name, arr) -> None:
        warnings.warn(
            "Calling an initializer with init(str, NDArray) is deprecated; "
            "use init(mx.init.InitDesc(name), NDArray) instead",
            DeprecationWarning,
            stacklevel=3,
        )
        if not isinstance(name, str):
            raise TypeError(f"name must be a str or an InitDesc, got {name!r}")
        _data(arr, name)
        if name.startswith("upsampling"):
            self._init_bilinear(name, arr)
            return
        if name.startswith("stn_loc") and name.endswith("weight"):
            self._init_zero(name, arr)
            return
        if name.startswith("stn_loc") and name.endswith("bias"):
            self._init_loc_bias(name, arr)
            return
        for suffix, method in _LEGACY_RULES:
            if name.endswith(suffix):
                getattr(self, method)(name, arr)
                return
        self._init_default(name, arr)

    def _init_weight(self, name, arr) -> None:
        raise NotImplementedError(
            f"{type(self).__name__} must override _init_weight(name, arr) to initialize "
            f"{str(name)!r}"
        )

    def _init_bias(self, name, arr) -> None:
        _data(arr, name)[...] = 0

    def _init_gamma(self, name, arr) -> None:
        _data(arr, name)[...] = 1

    def _init_beta(self, name, arr) -> None:
        _data(arr, name)[...] = 0

    def _init_zero(self, name, arr) -> None:
        _data(arr, name)[...] = 0

    def _init_one(self, name, arr) -> None:
        _data(arr, name)[...] = 1

    def _init_quantized_bias(self, name, arr) -> None:
        _data(arr, name)[...] = 0

    def _init_quantized_weight(self, name, arr) -> None:
        data = _data(arr, name)
        data[...] = _random.generator().integers(-127, 127, size=data.shape, dtype=np.int32)

    def _init_bilinear(self, name, arr) -> None:
        data = _data(arr, name)
        if data.ndim != 4:
            raise ValueError(
                f"Bilinear initializer needs a 4-D (out, in, h, w) array, got {str(name)!r} of "
                f"shape {_shape_str(data.shape)}"
            )
        height, width = data.shape[2:]
        f = math.ceil(width / 2.0)
        c = (2 * f - 1 - f % 2) / (2.0 * f)
        wx = 1 - np.abs(np.arange(width) / f - c)
        wy = 1 - np.abs(np.arange(height) / f - c)
        data[...] = np.outer(wy, wx).astype(np.float32)

    def _init_loc_bias(self, name, arr) -> None:
        data = _data(arr, name)
        if data.ndim < 1 or data.shape[0] != 6:
            raise ValueError(
                f"the stn_loc bias {str(name)!r} must have 6 entries (a 2x3 affine transform), "
                f"got shape {_shape_str(data.shape)}"
            )
        _assign(name, data, np.array([1.0, 0, 0, 0, 1.0, 0]), "the identity transform")

    def _init_default(self, name, arr) -> None:
        raise ValueError(
            f"Unknown initialization pattern for {str(name)!r}: without an explicit initializer "
            f"only names ending in 'weight', 'bias' (0), 'gamma' (1), 'beta' (0), 'min' (0), "
            f"'max' (1), 'moving_mean' (0), 'moving_var' (1), 'moving_inv_var' (0), "
            f"'moving_avg' (0), 'weight_quantize' or 'bias_quantize' are initialized. Give the "
            f"variable its own initializer, e.g. mx.sym.Variable({str(name)!r}, "
            f"init=mx.init.Zero()), or cover it with mx.init.Mixed([...], [...])"
        )


_registry = Registry(Initializer, "initializer")


def register(klass: type) -> type:
    """Register an :class:`Initializer` subclass under its lower-case class name (a decorator)."""
    return _registry.register(klass)


def alias(*aliases: str) -> Callable[[type], type]:
    """Decorator registering an initializer class under extra names."""
    return _registry.alias(*aliases)


def create(initializer, *args, **kwargs) -> Initializer:
    """An initializer from a registered name, a ``dumps()`` JSON string, or an instance."""
    return _registry.create(initializer, *args, **kwargs)


# --------------------------------------------------------------------------- composite callables
class Load:
    """Initialize from saved arrays: a ``dict`` name -> array or a ``.params`` file path.

    ``arg:`` / ``aux:`` prefixes are dropped from the saved names.  A name not found is handed to
    ``default_init`` (an error if there is none); a shape mismatch is an error.  With
    ``verbose=True`` each array logs where its values came from.
    """

    def __init__(self, param, default_init=None, verbose: bool = False):
        if isinstance(param, (str, os.PathLike)):
            from . import ndarray as nd

            param = nd.load(os.fspath(param))
        if not isinstance(param, dict):
            raise TypeError(
                f"Load: param must be a dict of name -> array or a .params file path holding "
                f"named arrays, got {type(param).__name__}"
            )
        self.param: dict = {}
        for key, value in param.items():
            name = key[4:] if key.startswith(("arg:", "aux:")) else key
            if name in self.param:
                raise ValueError(f"Load: saved names {key!r} and another entry both give {name!r}")
            if not isinstance(value, (NDArray, np.ndarray)):
                raise TypeError(f"Load: param[{key!r}] must be an NDArray, got {value!r}")
            self.param[name] = value
        if default_init is not None and not callable(default_init):
            raise TypeError(f"Load: default_init must be an initializer, got {default_init!r}")
        self.default_init = default_init
        self.verbose = verbose

    def __call__(self, name, arr) -> None:
        data = _data(arr, name)
        if name in self.param:
            saved = self.param[name]
            src = saved._data if isinstance(saved, NDArray) else saved
            if src.shape != data.shape:
                raise ValueError(
                    f"Parameter {str(name)!r} cannot be initialized from loading: shape mismatch, "
                    f"target {_shape_str(data.shape)} vs loaded {_shape_str(src.shape)}"
                )
            data[...] = src
            if self.verbose:
                _log.info("Initialized %s by loading", name)
            return
        if self.default_init is None:
            raise ValueError(
                f"Cannot initialize {str(name)!r}: not found in the loaded parameters and no "
                f"default_init was given to Load"
            )
        self.default_init(name, arr)
        if self.verbose:
            _log.info("Initialized %s by default", name)


class Mixed:
    """Pick the initializer by the first regular expression (``re.match``) the name matches.

    >>> import mxlite as mx
    >>> init = mx.init.Mixed([".*bias", ".*"], [mx.init.Zero(), mx.init.Uniform(0.1)])
    """

    def __init__(self, patterns, initializers):
        patterns, initializers = list(patterns), list(initializers)
        if len(patterns) != len(initializers):
            raise ValueError(
                f"Mixed: got {len(patterns)} patterns but {len(initializers)} initializers"
            )
        compiled = []
        for pattern in patterns:
            try:
                compiled.append(re.compile(pattern))
            except (re.error, TypeError) as err:
                raise ValueError(f"Mixed: invalid pattern {pattern!r}: {err}") from None
        inits = [create(i) if isinstance(i, str) else i for i in initializers]
        for init in inits:
            if not callable(init):
                raise TypeError(f"Mixed: initializers must be callable, got {init!r}")
        self.patterns = patterns
        self.map = list(zip(compiled, inits, strict=True))

    def __call__(self, name, arr) -> None:
        for prog, init in self.map:
            if prog.match(name):
                init(name, arr)
                return
        raise ValueError(
            f"Parameter name {str(name)!r} did not match any pattern of Mixed "
            f"{self.patterns!r}. Consider adding a '.*' pattern at the end with a default "
            f"initializer"
        )


# ---------------------------------------------------------------------------------- initializers
@register
@alias("zeros")
class Zero(Initializer):
    """Fill weights with 0."""

    def __init__(self):
        super().__init__()

    def _init_weight(self, name, arr) -> None:
        _data(arr, name)[...] = 0


@register
@alias("ones")
class One(Initializer):
    """Fill weights with 1."""

    def __init__(self):
        super().__init__()

    def _init_weight(self, name, arr) -> None:
        _data(arr, name)[...] = 1


@register
class Constant(Initializer):
    """Fill weights with ``value``: a scalar, or an array (NDArray, NumPy array or nested list)
    that broadcasts to the weight's shape (an error naming both shapes otherwise).

    ``dumps()`` writes an array value as a nested list (of its float values).
    """

    def __init__(self, value):
        if isinstance(value, (list, tuple)):
            try:
                np.asarray(value, dtype=np.float64)
            except (TypeError, ValueError):
                raise TypeError(f"Constant: value must be numeric, got {value!r}") from None
        elif isinstance(value, bool) or not isinstance(
            value, (numbers.Real, np.ndarray, NDArray)
        ):
            raise TypeError(
                f"Constant: value must be a number or an array, got {type(value).__name__}"
            )
        # _kwargs holds the JSON form (an array as a nested list), as MXNet 1.9.1 keeps it
        listed = value.asnumpy().tolist() if isinstance(value, NDArray) else \
            value.tolist() if isinstance(value, np.ndarray) else value
        super().__init__(value=listed)
        self.value = value

    def _init_weight(self, name, arr) -> None:
        value = self.value
        if isinstance(value, NDArray):
            value = value._data
        elif isinstance(value, (list, tuple)):
            value = np.asarray(value, dtype=np.float64)
        _assign(name, _data(arr, name), value, "Constant value")


@register
class Uniform(Initializer):
    """Weights ~ U(-scale, scale)."""

    def __init__(self, scale=0.07):
        self.scale = _check_real("Uniform", "scale", scale)
        super().__init__(scale=scale)

    def _init_weight(self, name, arr) -> None:
        _fill_uniform(_data(arr, name), -self.scale, self.scale)


@register
class Normal(Initializer):
    """Weights ~ N(0, sigma^2)."""

    def __init__(self, sigma=0.01):
        self.sigma = _check_real("Normal", "sigma", sigma, nonneg=True)
        super().__init__(sigma=sigma)

    def _init_weight(self, name, arr) -> None:
        _fill_normal(_data(arr, name), self.sigma)


@register
class Orthogonal(Initializer):
    """``scale`` times an orthogonal matrix (Saxe et al., 2013, arXiv:1312.6120).

    The weight is viewed as ``(n_out, n_in)`` with ``n_in = prod(shape[1:])``.  A random matrix of
    that shape (entries U(-1, 1) for ``rand_type="uniform"``, N(0, 1) for ``"normal"``) is
    orthonormalized: its columns when ``n_out >= n_in``, its rows otherwise, so
    ``W W^T = scale^2 I`` for wide weights and ``W^T W = scale^2 I`` for tall ones.  MXNet takes
    the SVD's left or right factor; mxlite takes the QR factor with ``diag(R) > 0`` (by
    Cholesky-QR, see :func:`_orthonormal_columns`), which spans the same space and has the same
    distribution for Gaussian draws, at a fraction of the cost.
    """

    def __init__(self, scale=1.414, rand_type="uniform"):
        self.scale = _check_real("Orthogonal", "scale", scale)
        self.rand_type = _check_choice("Orthogonal", "rand_type", rand_type,
                                       ("uniform", "normal"))
        super().__init__(scale=scale, rand_type=rand_type)

    def _init_weight(self, name, arr) -> None:
        data = _data(arr, name)
        if data.ndim < 2:
            raise ValueError(
                f"Orthogonal initializer cannot be applied to {str(name)!r} of shape "
                f"{_shape_str(data.shape)}: it needs an array with at least 2 dimensions"
            )
        if data.size == 0:
            return
        n_out, n_in = data.shape[0], math.prod(data.shape[1:])
        tmp = np.empty((n_out, n_in), dtype=_float_dtype(data.dtype))
        if self.rand_type == "uniform":
            _fill_uniform(tmp, -1.0, 1.0)
        else:
            _fill_normal(tmp, 1.0)
        tall = tmp if n_out >= n_in else tmp.T
        q = _orthonormal_columns(tall)
        q *= q.dtype.type(self.scale)
        res = q if n_out >= n_in else q.T
        data[...] = res.reshape(data.shape)


@register
class Xavier(Initializer):
    """Glorot & Bengio (2010): variance scaled by the layer's fan.

    With ``fan_in, fan_out`` from :func:`fan_in_out` and ``factor`` their mean (``"avg"``),
    ``fan_in`` (``"in"``) or ``fan_out`` (``"out"``), ``s = sqrt(magnitude / factor)``; weights
    are U(-s, s) for ``rnd_type="uniform"`` and N(0, s^2) for ``"gaussian"``.
    """

    def __init__(self, rnd_type="uniform", factor_type="avg", magnitude=3):
        who = type(self).__name__
        self.rnd_type = _check_choice(who, "rnd_type", rnd_type, ("uniform", "gaussian"))
        self.factor_type = _check_choice(who, "factor_type", factor_type, ("avg", "in", "out"))
        self.magnitude = _check_real(who, "magnitude", magnitude, nonneg=True)
        super().__init__(rnd_type=rnd_type, factor_type=factor_type, magnitude=magnitude)

    def _scale(self, name, shape) -> float:
        fan_in, fan_out = fan_in_out(name, shape, type(self).__name__)
        factor = {"avg": (fan_in + fan_out) / 2.0, "in": fan_in, "out": fan_out}[
            self.factor_type
        ]
        return math.sqrt(self.magnitude / factor) if factor > 0 else 0.0

    def _init_weight(self, name, arr) -> None:
        data = _data(arr, name)
        scale = self._scale(name, data.shape)
        if self.rnd_type == "uniform":
            _fill_uniform(data, -scale, scale)
        else:
            _fill_normal(data, scale)


@register
class MSRAPrelu(Xavier):
    """He et al. (2015), arXiv:1502.01852: Gaussian :class:`Xavier` with
    ``magnitude = 2 / (1 + slope^2)`` for PReLU networks of initial negative slope ``slope``.
    """

    def __init__(self, factor_type="avg", slope=0.25):
        slope_f = _check_real("MSRAPrelu", "slope", slope)
        super().__init__("gaussian", factor_type, 2.0 / (1 + slope_f**2))
        self._kwargs = {"factor_type": factor_type, "slope": slope}


@register
class Bilinear(Initializer):
    """Bilinear-interpolation kernels for upsampling (deconvolution) weights ``(o, i, h, w)``."""

    def __init__(self):
        super().__init__()

    def _init_weight(self, name, arr) -> None:
        self._init_bilinear(name, arr)


@register
class LSTMBias(Initializer):
    """LSTM gate biases ``(4 * num_hidden,)`` in gate order i, f, c, o: all 0 except the forget
    gate, set to ``forget_bias`` (Jozefowicz et al., 2015 suggest 1.0).
    """

    def __init__(self, forget_bias=1.0):
        self.forget_bias = _check_real("LSTMBias", "forget_bias", forget_bias)
        super().__init__(forget_bias=forget_bias)

    def _init_weight(self, name, arr) -> None:
        data = _data(arr, name)
        if data.ndim < 1 or data.shape[0] % 4:
            raise ValueError(
                f"LSTMBias needs a bias of 4 * num_hidden entries (gates i, f, c, o), got "
                f"{str(name)!r} of shape {_shape_str(data.shape)}"
            )
        hidden = data.shape[0] // 4
        data[...] = 0
        data[hidden : 2 * hidden] = self.forget_bias

    # called directly or through Mixed on a ``*_bias`` name, MXNet 1.9.1 zeroes the whole bias
    # (the forget gate too): the bias an LSTMBias is given is the one it initializes
    _init_bias = _init_weight


_RNN_GATES = {
    "rnn_relu": ("",),
    "rnn_tanh": ("",),
    "lstm": ("_i", "_f", "_c", "_o"),
    "gru": ("_r", "_z", "_o"),
}


def fused_rnn_layout(size: int, num_hidden: int, num_layers: int, mode: str,
                     bidirectional: bool, name="parameters"):
    """Unpack MXNet's fused RNN parameter vector of ``size`` elements.

    Returns ``(num_input, slices)`` with ``slices`` a list of ``(name, start, stop, shape)``.  The
    layout: for each layer, each direction (``l``, then ``r``), the input-to-hidden weights of every
    gate, then the hidden-to-hidden weights of every gate; after all weights, the biases in the
    same order.  Gate weights are ``(H, num_input)`` in layer 0, ``(H, D*H)`` above, ``(H, H)``
    hidden-to-hidden; biases ``(H,)``.  Names read ``l0_i2h_f_weight``, ``r1_h2h_bias``, ...
    """
    gates = _RNN_GATES[mode]
    h, m, d = num_hidden, len(gates), 2 if bidirectional else 1
    per_input = h * m * d  # elements added per input feature
    upper = (num_layers - 1) * (h + d * h + 2)
    rest = h + 2 + upper  # per_input multiples besides num_input

    def total(ni: int) -> int:
        return (ni + rest) * per_input

    num_input = size // per_input - rest
    if size % per_input or num_input < 1:
        lo = max(num_input, 1)
        hint = (f"{total(lo)} (num_input={lo})" if size < total(1) else
                f"{total(lo)} (num_input={lo}) or {total(lo + 1)} (num_input={lo + 1})")
        raise ValueError(
            f"FusedRNN(mode={mode!r}, num_hidden={h}, num_layers={num_layers}, "
            f"bidirectional={bool(bidirectional)}): {str(name)!r} has {size} elements, which is "
            f"not a packed layout size (num_input + {rest}) * {per_input}; expected {hint}, "
            f"got {size}"
        )
    directions = ("l", "r")[:d]
    slices, p = [], 0
    for layer in range(num_layers):
        width = num_input if layer == 0 else d * h
        for direction in directions:
            for kind, shape in (("i2h", (h, width)), ("h2h", (h, h))):
                for gate in gates:
                    n = shape[0] * shape[1]
                    slices.append((f"{direction}{layer}_{kind}{gate}_weight", p, p + n, shape))
                    p += n
    for layer in range(num_layers):
        for direction in directions:
            for kind in ("i2h", "h2h"):
                for gate in gates:
                    slices.append((f"{direction}{layer}_{kind}{gate}_bias", p, p + h, (h,)))
                    p += h
    assert p == size
    return num_input, slices


@register
class FusedRNN(Initializer):
    """Initialize the packed parameter vector of a fused RNN layer gate by gate.

    The vector is unpacked as in :func:`fused_rnn_layout`; each gate's weight or bias is
    initialized by ``init`` (an initializer, a name or a ``dumps()`` string; ``None`` falls back to
    the global initializer of the descriptor) under its unpacked name, so ``*_weight`` slices get
    ``_init_weight`` and ``*_bias`` slices ``_init_bias``.  In ``lstm`` mode both forget-gate
    biases (``i2h`` and ``h2h``) are set to ``forget_bias``.
    """

    def __init__(self, init, num_hidden, num_layers, mode, bidirectional=False, forget_bias=1.0):
        if isinstance(init, str):
            init = create(init)
        if init is not None and not isinstance(init, Initializer):
            raise TypeError(f"FusedRNN: init must be an Initializer, a name or None, got {init!r}")
        self._init = init
        self._num_hidden = _check_int("FusedRNN", "num_hidden", num_hidden)
        self._num_layers = _check_int("FusedRNN", "num_layers", num_layers)
        self._mode = _check_choice("FusedRNN", "mode", mode, tuple(_RNN_GATES))
        self._bidirectional = bool(bidirectional)
        self._forget_bias = _check_real("FusedRNN", "forget_bias", forget_bias)
        super().__init__(init=init.dumps() if init is not None else None,
                         num_hidden=num_hidden, num_layers=num_layers, mode=mode,
                         bidirectional=bidirectional, forget_bias=forget_bias)

    def _init_weight(self, desc, arr) -> None:
        data = _data(arr, desc)
        if data.ndim != 1:
            raise ValueError(
                f"FusedRNN initializes the packed 1-D parameter vector, got {str(desc)!r} of "
                f"shape {_shape_str(data.shape)}"
            )
        _, slices = fused_rnn_layout(data.size, self._num_hidden, self._num_layers, self._mode,
                                     self._bidirectional, desc)
        global_init = getattr(desc, "global_init", None)
        inner = self._init
        if inner is None:
            if global_init is None or global_init is self:
                raise ValueError(
                    f"FusedRNN(init=None) for {str(desc)!r} needs a global initializer to fall "
                    f"back to: give FusedRNN an init, or use it as the variable's __init__ "
                    f"attribute under another initializer"
                )
            inner = global_init
        work = data if data.flags.c_contiguous else np.ascontiguousarray(data)
        for name, start, stop, shape in slices:
            part = work[start:stop].reshape(shape)
            if self._mode == "lstm" and name.endswith("_f_bias"):
                part[...] = self._forget_bias
            else:
                inner(InitDesc(name, global_init=global_init), NDArray(part, arr.context))
        if work is not data:
            data[...] = work
