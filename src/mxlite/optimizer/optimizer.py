"""The optimizer contract: :class:`Optimizer`, its registry, and :class:`FusedOptimizer`.

:class:`Optimizer` carries MXNet 1.9.1's bookkeeping (learning rate and scheduler, per-parameter
lr/wd multipliers, update counts); subclasses implement ``create_state`` and ``update``.

:class:`FusedOptimizer` is the base of every built-in optimizer.  It splits an update into

* ``_hyper(index)``: the scalars of this step (learning rate after schedule and multiplier,
  weight decay after multiplier, bias corrections, ...), computed once in Python;
* ``_reference(w, g, states, hp)``: the update written in plain NumPy, readable next to the
  docstring's equations (:meth:`FusedOptimizer.step` runs it);
* the fused path: one Numba kernel (``_kernel``, see :mod:`mxlite.kernels.optimizer`) doing the
  same arithmetic in one pass over memory (:meth:`FusedOptimizer.update` runs it).

Both paths share ``_hyper``, so they differ only in the element-wise code, and a test checks they
agree for every optimizer.
"""

from __future__ import annotations

import inspect
import json
import math
import numbers
import warnings
from operator import is_ as _is
from typing import Any

import numpy as np

from ..base import Registry
from ..ndarray import NDArray

__all__ = ["FusedOptimizer", "Optimizer", "create", "register"]


# --------------------------------------------------------------------------- validation helpers
def _number(name: str, value, *, allow_none: bool = False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    return value


def check_nonnegative(name: str, value, *, allow_none: bool = False):
    """ValueError unless ``value`` is a number >= 0 (NaN rejected)."""
    value = _number(name, value, allow_none=allow_none)
    if value is not None and not value >= 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return value


def check_unit_interval(name: str, value):
    """ValueError unless ``0 <= value < 1``."""
    value = _number(name, value)
    if not 0 <= value < 1:
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")
    return value


def check_arrays(weight, grad) -> None:
    """TypeError/ValueError unless ``weight`` and ``grad`` are NDArrays of equal shape and dtype."""
    if type(weight) is NDArray and type(grad) is NDArray:  # the fast, common case
        wd, gd = weight._data, grad._data
        if wd.shape == gd.shape and wd.dtype == gd.dtype:
            return
    if not isinstance(weight, NDArray):
        raise TypeError(f"weight must be an NDArray, got {type(weight).__name__}")
    if not isinstance(grad, NDArray):
        raise TypeError(f"grad must be an NDArray, got {type(grad).__name__}")
    if weight.shape != grad.shape:
        raise ValueError(
            f"weight and grad shapes differ: weight {weight.shape}, grad {grad.shape}"
        )
    if np.dtype(weight.dtype) != np.dtype(grad.dtype):  # .dtype: a sparse grad stays sparse
        raise TypeError(
            f"weight and grad dtypes differ: weight {np.dtype(weight.dtype)}, "
            f"grad {np.dtype(grad.dtype)}"
        )


# --------------------------------------------------------------------------- base class
class Optimizer:
    """Base class of all optimizers, with MXNet 1.9.1's constructor and bookkeeping.

    Parameters
    ----------
    rescale_grad : float
        Gradients are multiplied by it (often ``1 / batch_size``).
    param_idx2name : dict of int -> str, optional
        Names of the parameters by index; names that end neither in ``_weight`` nor ``_gamma``
        get a weight-decay multiplier of 0.
    wd : float
        Weight decay (L2) coefficient, >= 0.
    clip_gradient : float, optional
        Clip gradients to ``[-clip_gradient, clip_gradient]``; ``None`` (or a negative value)
        disables clipping.
    learning_rate : float, optional
        Initial learning rate (>= 0).  Default 0.01 when neither it nor ``lr_scheduler`` is
        given; when both are given and differ, it overwrites the scheduler's ``base_lr`` (with a
        warning), as MXNet does.
    lr_scheduler : callable, optional
        An object with a ``base_lr`` attribute, called as ``lr_scheduler(num_update)``.
    sym : Symbol, optional
        Read for ``__lr_mult__`` / ``__wd_mult__`` attributes (via ``attr_dict()`` and
        ``list_arguments()``).
    begin_num_update : int
        Update count to start from.
    multi_precision : bool
        With float16 weights, keep a float32 master copy and update in float32.
    param_dict : dict of int -> Parameter, optional
        Objects with ``lr_mult`` and ``wd_mult`` attributes, looked up by index first.

    Example
    -------
    >>> import mxlite as mx
    >>> opt = mx.optimizer.create('sgd', learning_rate=0.1, momentum=0.9)
    >>> opt.dumps()  # the constructor arguments; create(opt.dumps()) rebuilds it
    '["sgd", {"learning_rate": 0.1, "momentum": 0.9}]'
    >>> upd = mx.optimizer.get_updater(opt)
    >>> w, g = mx.nd.ones((3,)), mx.nd.ones((3,))
    >>> upd(0, g, w)
    >>> w.asnumpy().tolist()
    [0.8999999761581421, 0.8999999761581421, 0.8999999761581421]
    """

    opt_registry: dict[str, type]  # set below, the registry's name -> class table

    def __new__(cls, *args, **kwargs):
        # Record the constructor arguments once, for dumps(); every subclass (built-in or
        # user-registered) gets this without code of its own.  Binding them to parameter names
        # and converting them to JSON waits until dumps() is called.
        self = super().__new__(cls)
        self._ctor_args = (args, kwargs)
        return self

    def __init__(self, rescale_grad=1.0, param_idx2name=None, wd=0.0, clip_gradient=None,
                 learning_rate=None, lr_scheduler=None, sym=None, begin_num_update=0,
                 multi_precision=False, param_dict=None):
        _number("rescale_grad", rescale_grad)
        check_nonnegative("wd", wd)
        check_nonnegative("learning_rate", learning_rate, allow_none=True)
        _number("clip_gradient", clip_gradient, allow_none=True)
        if isinstance(begin_num_update, bool) or not isinstance(begin_num_update, numbers.Integral):
            raise TypeError(f"begin_num_update must be an int, got {begin_num_update!r}")
        if begin_num_update < 0:
            raise ValueError(f"begin_num_update must be >= 0, got {begin_num_update!r}")
        if param_idx2name is None:
            param_idx2name = {}
        if not isinstance(param_idx2name, dict):
            raise TypeError(
                f"param_idx2name must be a dict of parameter index to name, got {param_idx2name!r}"
            )
        if lr_scheduler is not None and not callable(lr_scheduler):
            raise TypeError(f"lr_scheduler must be callable, got {lr_scheduler!r}")

        self.rescale_grad = rescale_grad
        self.lr_scheduler = lr_scheduler
        if lr_scheduler is None and learning_rate is None:
            learning_rate = 0.01
        self.lr = learning_rate
        if lr_scheduler is not None and learning_rate is not None:
            if lr_scheduler.base_lr != learning_rate:
                warnings.warn(
                    "learning rate from ``lr_scheduler`` has been overwritten by "
                    "``learning_rate`` in optimizer.",
                    UserWarning,
                    stacklevel=2,
                )
                lr_scheduler.base_lr = learning_rate
        self.wd = wd
        self.lr_mult: dict = {}
        self.wd_mult: dict = {}
        self.begin_num_update = int(begin_num_update)
        self.num_update = int(begin_num_update)
        self._all_index_update_counts: dict = {0: {}}
        self._index_update_count = self._all_index_update_counts[0]
        self.clip_gradient = clip_gradient
        self.multi_precision = bool(multi_precision)
        self.aggregate_num = 0
        self.idx2name = param_idx2name.copy()
        self.sym_info = (sym.attr_dict(), sym.list_arguments()) if sym is not None else ()
        self.param_dict = param_dict if param_dict else {}
        self.set_lr_mult({})
        self.set_wd_mult({})

    # ------------------------------------------------------------------ registry
    @staticmethod
    def register(klass):
        """Register an optimizer class under its lower-cased class name (a decorator).

        >>> import mxlite as mx
        >>> @mx.optimizer.Optimizer.register
        ... class MyOpt(mx.optimizer.Optimizer):
        ...     pass
        >>> type(mx.optimizer.create('myopt')).__name__
        'MyOpt'
        """
        return _REGISTRY.register(klass)

    @staticmethod
    def create_optimizer(name, **kwargs):
        """Create an optimizer from a (case-insensitive) name, a :meth:`dumps` JSON string or
        an instance; ValueError lists the known names."""
        if isinstance(name, str) and name.lstrip().startswith("["):
            try:
                spec = json.loads(name)
            except ValueError:
                spec = None  # the registry reports the malformed JSON
            if (isinstance(spec, list) and len(spec) == 2 and isinstance(spec[0], str)
                    and isinstance(spec[1], dict)):
                params = _from_json_kwargs(spec[1])
                params.update(kwargs)
                return _REGISTRY.create(spec[0], **params)
        return _REGISTRY.create(name, **kwargs)

    # ------------------------------------------------------------------ serialization
    def dumps(self) -> str:
        """``'["<registered name>", {constructor kwargs}]'``, readable back by :func:`create`.

        The arguments are the ones given to the constructor (positional ones by name).
        ``param_idx2name`` with non-string keys is written as a list of ``[index, name]`` pairs
        (turned back into a dict by :func:`create`).  ValueError, naming the argument, for one
        without a JSON form: an ``lr_scheduler`` object, a ``sym``, a non-empty ``param_dict``,
        any other object.

        >>> import mxlite as mx
        >>> s = mx.optimizer.Adam(learning_rate=0.01, beta1=0.8).dumps()
        >>> s
        '["adam", {"learning_rate": 0.01, "beta1": 0.8}]'
        >>> mx.optimizer.create(s).beta1
        0.8
        """
        kwargs, error = self._json_kwargs()
        if error is not None:
            raise ValueError(error)
        return json.dumps([self._registered_name(), kwargs])

    def _registered_name(self) -> str:
        cls = type(self)
        name = cls.__name__.lower()
        if _REGISTRY._classes.get(name) is cls:
            return name
        for key, klass in _REGISTRY._classes.items():
            if klass is cls:
                return key
        raise ValueError(
            f"cannot dump optimizer {cls.__name__}: it is not registered "
            "(use @mx.optimizer.Optimizer.register)"
        )

    def _json_kwargs(self):
        """``(kwargs in JSON form, None)``, or ``(None, message)`` when one cannot be written."""
        if "_ctor_args" not in self.__dict__:
            dumped = self.__dict__.get("_ctor_dump")
            if dumped is not None:
                return dumped[0], dumped[1]
            return None, (
                f"cannot dump {type(self).__name__}: its constructor arguments were not recorded "
                "(an optimizer restored from MXNet's pickled states)"
            )
        args, kwargs = self._ctor_args
        try:
            named = _bind_ctor(type(self), args, kwargs)
            return {k: _to_json(k, v) for k, v in named.items()}, None
        except ValueError as err:
            return None, str(err)

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("param_dict", None)
        if "_ctor_args" in state:  # saved as their JSON form (or why there is none)
            state["_ctor_dump"] = list(self._json_kwargs())
            del state["_ctor_args"]
        return state

    # ------------------------------------------------------------------ learning rate
    @property
    def learning_rate(self):
        """The current learning rate (from the scheduler at ``num_update`` when there is one)."""
        if self.lr_scheduler is not None:
            return self.lr_scheduler(self.num_update)
        return self.lr

    def set_learning_rate(self, lr):
        """Set the learning rate; UserWarning (raised, as MXNet) when a scheduler is set."""
        if self.lr_scheduler is not None:
            raise UserWarning(
                "LRScheduler of the optimizer has already been defined. Note that "
                "set_learning_rate can mutate the value of the learning rate of the optimizer "
                "only when the LRScheduler of the optimizer is undefined."
            )
        check_nonnegative("lr", lr)
        self.lr = lr

    def set_lr_scale(self, args_lrscale):
        """Deprecated in MXNet; raises DeprecationWarning.  Use :meth:`set_lr_mult`."""
        raise DeprecationWarning("set_lr_scale is deprecated; use set_lr_mult")

    def set_lr_mult(self, args_lr_mult):
        """Set learning-rate multipliers by parameter name or index.

        Multipliers from ``sym``'s ``__lr_mult__`` attributes come first; ``args_lr_mult``
        entries override them.
        """
        if not isinstance(args_lr_mult, dict):
            raise TypeError(f"args_lr_mult must be a dict, got {args_lr_mult!r}")
        self.lr_mult = self._sym_mults("__lr_mult__")
        self.lr_mult.update(args_lr_mult)

    def set_wd_mult(self, args_wd_mult):
        """Set weight-decay multipliers by parameter name or index.

        Every name in ``param_idx2name`` not ending in one of ``_wd_kept_suffixes``
        (``_weight`` or ``_gamma``) defaults to 0; then ``sym``'s ``__wd_mult__`` attributes,
        then ``args_wd_mult``, override.
        """
        if not isinstance(args_wd_mult, dict):
            raise TypeError(f"args_wd_mult must be a dict, got {args_wd_mult!r}")
        self.wd_mult = {}
        for n in self.idx2name.values():
            if not n.endswith(self._wd_kept_suffixes):
                self.wd_mult[n] = 0.0
        self.wd_mult.update(self._sym_mults("__wd_mult__"))
        self.wd_mult.update(args_wd_mult)

    #: parameter names with these endings keep their weight decay by default
    _wd_kept_suffixes = ("_weight", "_gamma")

    def _sym_mults(self, key):
        """Multipliers by name from the ``key`` attributes of ``sym`` (empty without one)."""
        mults = {}
        if self.sym_info:
            attr, arg_names = self.sym_info
            for name in arg_names:
                if name in attr and key in attr[name]:
                    mults[name] = float(attr[name][key])
        return mults

    # ------------------------------------------------------------------ update counts
    def _set_current_context(self, device_id):
        if device_id not in self._all_index_update_counts:
            self._all_index_update_counts[device_id] = {}
        self._index_update_count = self._all_index_update_counts[device_id]

    def _update_count(self, index):
        """Count one more update of ``index`` (an index or a list of them)."""
        if not isinstance(index, (list, tuple)):
            index = [index]
        counts = self._index_update_count
        for idx in index:
            if idx not in counts:
                counts[idx] = self.begin_num_update
            counts[idx] += 1
            if counts[idx] > self.num_update:
                self.num_update = counts[idx]

    def _scheduled_lr(self):
        """The learning rate of this update: the schedule's value, else ``lr``."""
        return self.lr_scheduler(self.num_update) if self.lr_scheduler is not None else self.lr

    def _scaled(self, value, index, mults, attr):
        """``value`` times the multiplier of ``index``: its Parameter's ``attr``, else
        ``mults`` by index, else ``mults`` by name (unchanged when none applies)."""
        if index in self.param_dict:
            return value * getattr(self.param_dict[index], attr)
        if index in mults:
            return value * mults[index]
        if index in self.idx2name:
            return value * mults.get(self.idx2name[index], 1.0)
        return value

    def _scaled_lrs(self, lr, indices):
        """``lr`` times the lr multiplier of each of ``indices``."""
        return [self._scaled(lr, index, self.lr_mult, "lr_mult") for index in indices]

    def _get_lrs(self, indices):
        """Learning rates of ``indices``: schedule (or lr) times the lr multiplier."""
        return self._scaled_lrs(self._scheduled_lr(), indices)

    def _get_lr(self, index):
        if type(self)._get_lrs is not Optimizer._get_lrs:  # a subclass hooks _get_lrs
            return self._get_lrs([index])[0]
        lr = self.lr_scheduler(self.num_update) if self.lr_scheduler is not None else self.lr
        return self._scaled(lr, index, self.lr_mult, "lr_mult")

    def _get_wds(self, indices):
        """Weight decays of ``indices``: wd times the wd multiplier."""
        return [self._scaled(self.wd, index, self.wd_mult, "wd_mult") for index in indices]

    def _get_wd(self, index):
        if type(self)._get_wds is not Optimizer._get_wds:  # a subclass hooks _get_wds
            return self._get_wds([index])[0]
        return self._scaled(self.wd, index, self.wd_mult, "wd_mult")

    # ------------------------------------------------------------------ states and updates
    def create_state(self, index, weight):
        """Auxiliary state for ``weight`` (momentum, moments, ...); None when there is none."""
        return None

    def create_state_multi_precision(self, index, weight):
        """State for ``weight``; with float16 weights and ``multi_precision``,
        ``(float32 master copy, create_state(index, master))``."""
        if self.multi_precision and weight.dtype == np.float16:
            master = weight.astype(np.float32)
            return (master, self.create_state(index, master))
        if weight.dtype == np.float16 and not self.multi_precision:
            warnings.warn(
                "Accumulating with float16 in optimizer can lead to poor accuracy or slow "
                "convergence. Consider using multi_precision=True option of the optimizer",
                UserWarning,
                stacklevel=2,
            )
        return self.create_state(index, weight)

    def update(self, index, weight, grad, state):
        """Update ``weight`` in place from ``grad`` and ``state``."""
        raise NotImplementedError(f"{type(self).__name__} does not implement update()")

    def update_multi_precision(self, index, weight, grad, state):
        """:meth:`update`, through the float32 master copy for float16 weights."""
        if self.multi_precision and weight.dtype == np.float16:
            master, inner = state
            self.update(index, master, grad.astype(np.float32), inner)
            np.copyto(weight._data, master._data, casting="unsafe")
        else:
            self.update(index, weight, grad, state)

    def __setstate__(self, state):
        self.__dict__ = state
        self.param_dict = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(learning_rate={self.lr!r}, wd={self.wd!r})"


# --------------------------------------------------------------------------- dumps() helpers
def _bind_ctor(cls, args, kwargs) -> dict:
    """The constructor arguments of ``cls`` by name (``**kwargs`` flattened)."""
    if not args:
        return dict(kwargs)
    sig = inspect.signature(cls.__init__)
    try:
        bound = sig.bind(None, *args, **kwargs)
    except TypeError as err:
        raise ValueError(f"cannot dump {cls.__name__}: its arguments do not bind ({err})") from None
    params = sig.parameters
    named: dict = {}
    for i, (key, value) in enumerate(bound.arguments.items()):
        if i == 0:
            continue  # self
        kind = params[key].kind
        if kind is inspect.Parameter.VAR_KEYWORD:
            named.update(value)
        elif kind is inspect.Parameter.VAR_POSITIONAL:
            if value:
                raise ValueError(
                    f"cannot dump {cls.__name__}: positional arguments *{key}={value!r} have no "
                    "name to be written under"
                )
        else:
            named[key] = value
    return named


def _to_json(name: str, value, top: bool = True):
    """Constructor argument ``name`` in JSON form; ValueError naming it when there is none."""
    if value is None or isinstance(value, (bool, str, int, float)):
        return value
    if isinstance(value, np.generic) and isinstance(value.item(), (bool, int, float)):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_to_json(name, v, False) for v in value]
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {k: _to_json(name, v, False) for k, v in value.items()}
        if top and name == "param_idx2name" and all(
            isinstance(k, (int, str)) and not isinstance(k, bool) for k in value
        ):
            return [[k, _to_json(name, v, False)] for k, v in value.items()]
        raise ValueError(
            f"cannot dump optimizer argument {name}: dict keys {list(value)!r} are not strings"
        )
    if name == "lr_scheduler":
        raise ValueError(
            f"cannot dump optimizer argument lr_scheduler={value!r}: learning-rate schedulers "
            "have no JSON form; dump without it and pass lr_scheduler= to create() again"
        )
    raise ValueError(
        f"cannot dump optimizer argument {name}={value!r}: a {type(value).__name__} has no "
        "JSON form"
    )


def _from_json_kwargs(params: dict) -> dict:
    """Undo :func:`_to_json` where it changed a type: ``param_idx2name`` pairs back to a dict."""
    pairs = params.get("param_idx2name")
    if isinstance(pairs, list):
        table = {}
        for pair in pairs:
            if not (isinstance(pair, list) and len(pair) == 2
                    and isinstance(pair[0], (int, str)) and not isinstance(pair[0], bool)):
                raise ValueError(
                    f"param_idx2name must be a list of [index, name] pairs, got {pairs!r}"
                )
            table[pair[0]] = pair[1]
        params = dict(params, param_idx2name=table)
    return params


_REGISTRY = Registry(Optimizer, "optimizer")
Optimizer.opt_registry = _REGISTRY._classes

register = Optimizer.register
create = Optimizer.create_optimizer


# --------------------------------------------------------------------------- fused built-ins
def _flat(a: np.ndarray) -> np.ndarray:
    return a.reshape(-1)


_EMPTY16 = np.empty(0, dtype=np.uint16)
_EMPTY32 = np.empty(0, dtype=np.float32)
_EMPTY64 = np.empty(0, dtype=np.float64)


def _addresses(arrays) -> np.ndarray:
    """Table of the data addresses of C-contiguous arrays (the caller keeps them alive)."""
    return np.array([a.__array_interface__["data"][0] for a in arrays], dtype=np.uintp)


class FusedOptimizer(Optimizer):
    """Base of the built-in optimizers: reference ``step`` and fused ``update`` share ``_hyper``.

    Subclasses set ``_kernel`` (or override ``_fused``) and implement ``_hyper`` and
    ``_reference``; ``_arrays(state)`` lists the state arrays in kernel order.
    """

    _kernel: Any = None
    #: multi-precision state is ``(master, state)``; SGD-like optimizers use ``(state, master)``
    _master_first = True
    #: as MXNet's update operators, ``clip_gradient=0`` means no clipping (else: clip to 0)
    _zero_clip_disables = True

    # ------------------------------------------------------------------ public paths
    def update(self, index, weight, grad, state):
        """Fused update of ``weight`` in place (one kernel pass per tensor)."""
        self._dispatch(index, weight, grad, state, False, True)

    def update_multi_precision(self, index, weight, grad, state):
        if type(self).update is not FusedOptimizer.update:
            # a subclass customized update(): route through it, as MXNet's base class does
            if isinstance(index, (list, tuple)):
                for i, w, g, s in zip(index, weight, grad, state, strict=True):
                    Optimizer.update_multi_precision(self, i, w, g, s)
            else:
                Optimizer.update_multi_precision(self, index, weight, grad, state)
            return
        first = weight[0] if isinstance(index, (list, tuple)) else weight
        mp = self.multi_precision and first.dtype == np.float16
        self._dispatch(index, weight, grad, state, mp, True)

    def step(self, index, weight, grad, state):
        """The reference update (plain NumPy), with :meth:`update_multi_precision`'s semantics."""
        first = weight[0] if isinstance(index, (list, tuple)) else weight
        mp = self.multi_precision and first.dtype == np.float16
        self._dispatch(index, weight, grad, state, mp, False)

    def _updater_call(self, indices, weights, grads, states):
        """The Updater's list form for one same-dtype group: MXNet's bookkeeping (indices
        counted ``aggregate_num`` at a time) with as few kernel calls as possible.  Returns
        False when a subclass customizes ``update`` (the Updater then goes the MXNet way)."""
        cls = type(self)
        if (cls.update is not FusedOptimizer.update
                or cls.update_multi_precision is not FusedOptimizer.update_multi_precision):
            return False
        mp = self.multi_precision and weights[0].dtype == np.float16
        self._dispatch(indices, weights, grads, states, mp, True, chunk=self.aggregate_num)
        return True

    def _updater_call_one(self, index, weight, grad, state):
        """The Updater's per-index form: :meth:`update_multi_precision` of one tensor without
        the list machinery.  False when a subclass customizes ``update``."""
        cls = type(self)
        if (cls.update is not FusedOptimizer.update
                or cls.update_multi_precision is not FusedOptimizer.update_multi_precision):
            return False
        mp = self.multi_precision and weight._data.dtype == np.float16
        self._dispatch(index, weight, grad, state, mp, True)
        return True

    # ------------------------------------------------------------------ machinery
    def _dispatch(self, index, weight, grad, state, mp, fused, chunk=None):
        if isinstance(index, (list, tuple)):
            if not (len(index) == len(weight) == len(grad) == len(state)):
                raise ValueError(
                    f"index, weight, grad and state lists differ in length: {len(index)}, "
                    f"{len(weight)}, {len(grad)}, {len(state)}"
                )
            self._update_group(list(index), list(weight), list(grad), list(state), mp, fused,
                               chunk)
        else:
            check_arrays(weight, grad)
            self._update_count(index)
            hp = self._hyper(index)
            self._apply(index, weight, grad, state, hp, mp, fused)

    def _update_group(self, indices, weights, grads, states, mp, fused, chunk=None):
        """A list of tensors.  Aggregating optimizers (``aggregate_num > 0``) count a chunk of
        indices (all of them, or ``chunk`` at a time as MXNet's Updater hands them over) before
        reading its learning rates, as MXNet's multi-tensor path; others go index by index."""
        for w, g in zip(weights, grads, strict=True):
            check_arrays(w, g)
        if any(type(g) is not NDArray for g in grads):  # sparse gradients (issue 16)
            # MXNet does not aggregate sparse gradients: one tensor at a time
            for i, w, g, s in zip(indices, weights, grads, states, strict=True):
                self._update_count(i)
                self._apply(i, w, g, s, self._hyper(i), mp, fused)
            return
        if self.aggregate_num > 0:
            step = chunk or len(indices) or 1
            hps = []
            for start in range(0, len(indices), step):
                part = indices[start:start + step]
                self._update_count(part)
                hps.extend(self._hyper_group(part))
        else:
            hps = []
            for i in indices:
                self._update_count(i)
                hps.append(self._hyper(i))
        if fused and not mp and self._multi and len(indices) > 1:
            if self._apply_multi(indices, weights, grads, states, hps):
                return
        for i, w, g, s, hp in zip(indices, weights, grads, states, hps, strict=True):
            self._apply(i, w, g, s, hp, mp, fused)

    #: number of state arrays -> multi-tensor kernel name (``kernels.optimizer.MULTI_KERNELS``)
    _multi: dict | None = None

    def _apply_multi(self, indices, weights, grads, states, hps) -> bool:
        """One multi-tensor kernel call for the small tensors of a group; the large ones get
        their own (multi-threaded) kernel call.  False (nothing done) when the group does not
        qualify: mixed or float16 dtypes, non-contiguous arrays, mixed state layouts."""
        from ..kernels import optimizer as K

        dtype = weights[0]._data.dtype
        if dtype != np.float32 and dtype != np.float64:
            return False
        arrays = [self._arrays(s) for s in states]
        k = len(arrays[0])
        name = self._multi.get(k)
        if name is None:
            return False
        for w, g, arrs in zip(weights, grads, arrays, strict=True):
            wd, gd = w._data, g._data
            if wd.dtype != dtype or not (wd.flags.c_contiguous and gd.flags.c_contiguous):
                return False
            if len(arrs) != k:
                return False
            for a in arrs:
                if a.dtype != dtype or not a.flags.c_contiguous:
                    return False
        small = []
        threshold = K.PARALLEL_THRESHOLD
        for t, w in enumerate(weights):
            if w._data.size >= threshold:
                self._apply(indices[t], w, grads[t], states[t], hps[t], False, True)
            else:
                small.append(t)
        if not small:
            return True
        if len(small) == 1:
            t = small[0]
            self._apply(indices[t], weights[t], grads[t], states[t], hps[t], False, True)
            return True
        width = self._multi_width.get(k)
        if width is None:
            sc = np.array([hps[t] for t in small], dtype=dtype)
        else:
            sc = np.array([hps[t][:width] for t in small], dtype=dtype)
        key = tuple(indices[t] for t in small)
        tables = [self._table(key, "w", [weights[t]._data for t in small]),
                  self._table(key, "g", [grads[t]._data for t in small])]
        for j in range(k):
            tables.append(self._table(key, j, [arrays[t][j] for t in small]))
        sizes = np.array([weights[t]._data.size for t in small], dtype=np.int64)
        like = _EMPTY32 if dtype == np.float32 else _EMPTY64
        K.MULTI_KERNELS[name](*tables, sizes, like, _EMPTY16, sc, total=int(sizes.sum()))
        return True

    #: number of state arrays -> how many leading ``_hyper`` values the multi kernel reads
    _multi_width: dict = {}

    def _table(self, key, role, arrays) -> np.ndarray:
        """Address table of ``arrays``, reused while the very same arrays come back (they are
        kept referenced meanwhile, so their buffers cannot move or be freed)."""
        cache = self.__dict__.setdefault("_tables", {})
        hit = cache.get((key, role))
        if hit is not None and len(hit[0]) == len(arrays) and all(map(_is, hit[0], arrays)):
            return hit[1]
        table = _addresses(arrays)
        cache[(key, role)] = (arrays, table)
        return table

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_tables", None)  # address tables of the last call: not part of the state
        return state

    def _hyper_group(self, indices):
        return [self._hyper(i) for i in indices]

    def _clip(self) -> float:
        """Clip bound for the kernels: negative means no clipping."""
        c = self.clip_gradient
        if c is None or (self._zero_clip_disables and not c):
            return -1.0
        return float(c)

    def _hyper(self, index):
        raise NotImplementedError

    def _arrays(self, state) -> tuple:
        """State arrays (NumPy) in kernel order."""
        if state is None:
            return ()
        if isinstance(state, NDArray):
            return (state._data,)
        return tuple([s._data for s in state])

    def _split_mp(self, state):
        if self._master_first:
            return state[0], state[1]
        return state[1], state[0]

    # ---- sparse gradients (issue 16): the row_sparse dispatch -------------------------
    def _apply_row_sparse(self, index, weight, grad, state, hp, mp, fused):
        """A row_sparse / csr ``grad``.  Optimizers with a row_sparse path in MXNet 1.9.1
        override this (lazy: only the stored rows, :func:`mxlite.kernels.sparse.lazy_apply`);
        for the others MXNet computes on the dense gradient, and so does this default."""
        from ..kernels.sparse import dense_apply

        dense_apply(self, index, weight, grad, state, hp, mp, fused)

    def _apply(self, index, weight, grad, state, hp, mp, fused):
        if type(grad) is not NDArray:  # row_sparse / csr gradient
            self._apply_row_sparse(index, weight, grad, state, hp, mp, fused)
            return
        if mp:
            master, inner = self._split_mp(state)
            w = master._data
            low = weight._data
        else:
            inner = state
            w = weight._data
            low = None
        arrays = self._arrays(inner)
        if fused:
            g = grad._data
            if (low is None and w.dtype != np.float16 and w.flags.c_contiguous
                    and g.flags.c_contiguous and all(a.flags.c_contiguous for a in arrays)):
                # the common case, without fused_call's conversions
                self._fused(index, w.reshape(-1), g.reshape(-1),
                            tuple([a.reshape(-1) for a in arrays]), _EMPTY16,
                            np.array(hp, dtype=w.dtype))
                return
            self._run_kernel(index, w, g, arrays, low, hp)
        else:
            g = grad._data.astype(w.dtype) if grad._data.dtype != w.dtype else grad._data
            self._reference(index, w, g, arrays, hp)
            if low is not None:
                low[...] = w.astype(low.dtype)

    def _run_kernel(self, index, w, g, arrays, low, hp):
        fused_call(lambda *a: self._fused(index, *a), w, g, arrays, low, hp)

    def _fused(self, index, w, g, arrays, w16, sc):
        self._kernel(w, g, *arrays, w16, sc)

    def _reference(self, index, w, g, arrays, hp):
        raise NotImplementedError


def fused_call(fn, w: np.ndarray, g: np.ndarray, arrays, low, hp) -> None:
    """Run ``fn(w, g, arrays, w16, sc)`` on flat views: float16 without a master goes through a
    float32 copy, float16 gradients through ``uint16`` views, non-contiguous arrays through
    contiguous copies (written back afterwards); ``low`` is the float16 weight to refresh."""
    back: list = []
    if w.dtype == np.float16:  # float16 without multi-precision: compute in float32
        arrays = tuple(_promote(a, back) for a in arrays)
        w = _promote(w, back)
        g = g.astype(np.float32)
    else:
        arrays = tuple(_contiguous(a, back) for a in arrays)
        w = _contiguous(w, back)
        if g.dtype == np.float16:
            g = np.ascontiguousarray(g).view(np.uint16)
        elif not g.flags.c_contiguous:
            g = np.ascontiguousarray(g)
    low16 = _contiguous(low, back).view(np.uint16) if low is not None else _EMPTY16
    sc = np.array(hp, dtype=w.dtype)
    fn(_flat(w), _flat(g), tuple(_flat(a) for a in arrays), _flat(low16), sc)
    for src, dst in back:
        np.copyto(dst, src, casting="unsafe")


def _contiguous(a: np.ndarray, back: list) -> np.ndarray:
    if a.flags.c_contiguous:
        return a
    c = np.ascontiguousarray(a)
    back.append((c, a))
    return c


def _promote(a: np.ndarray, back: list) -> np.ndarray:
    if a.dtype != np.float16:
        return _contiguous(a, back)
    c = a.astype(np.float32)
    back.append((c, a))
    return c


def clip_ref(x: np.ndarray, c: float) -> np.ndarray:
    """Reference clipping: ``c < 0`` means none; NaN passes through."""
    if c < 0:
        return x
    return np.where(x > c, c, np.where(x < -c, -c, x)).astype(x.dtype)


def bias_power(beta: float, t: int) -> float:
    """``beta ** t`` as a Python float (shared by reference and fused paths)."""
    return math.pow(beta, t)
