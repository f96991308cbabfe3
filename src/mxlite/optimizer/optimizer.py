"""The optimizer contract: :class:`Optimizer`, MXNet 1.9.1's constructor and bookkeeping.

:class:`Optimizer` carries the learning rate and its scheduler, the per-parameter lr/wd
multipliers and the update counts; a subclass implements ``create_state`` and ``update``
(MXNet's way, which user-written optimizers follow).  The built-in optimizers derive from
:class:`~mxlite.optimizer.engine.FusedOptimizer`, which implements ``update`` once for all of them
(see :mod:`mxlite.optimizer`).  The registry and ``dumps()``'s JSON form live in
:mod:`mxlite.optimizer.registry`, the argument checks in :mod:`mxlite.optimizer.validation`.
"""

from __future__ import annotations

import json
import warnings

import numpy as np

from .validation import (
    check_arrays,
    check_bool,
    check_clip,
    check_count,
    check_finite,
    check_nonnegative,
    check_unit_interval,
)

__all__ = ["Optimizer", "check_arrays", "check_nonnegative", "check_unit_interval"]


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
    use_fused_step : bool
        The built-in optimizers update through their fused kernels (``fused_step``) when True
        (the default), through their NumPy reference (``step``) when False, as MXNet 2.0.

    Hyperparameters are checked here: ``learning_rate``, ``wd`` and ``rescale_grad`` must be
    finite, ``clip_gradient`` must not be NaN (ValueError naming argument and value).

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

    opt_registry: dict[str, type]  # the registry's name -> class table (set by .registry)
    #: class default, for optimizers restored from files written before the flag existed
    use_fused_step = True

    def __new__(cls, *args, **kwargs):
        # Record the constructor arguments once, for dumps(); every subclass (built-in or
        # user-registered) gets this without code of its own.  Binding them to parameter names
        # and converting them to JSON waits until dumps() is called.
        self = super().__new__(cls)
        self._ctor_args = (args, kwargs)
        return self

    def __init__(self, rescale_grad=1.0, param_idx2name=None, wd=0.0, clip_gradient=None,
                 learning_rate=None, lr_scheduler=None, sym=None, begin_num_update=0,
                 multi_precision=False, param_dict=None, use_fused_step=True):
        check_finite("rescale_grad", rescale_grad)
        check_nonnegative("wd", wd)
        check_nonnegative("learning_rate", learning_rate, allow_none=True)
        check_clip("clip_gradient", clip_gradient)
        begin_num_update = check_count("begin_num_update", begin_num_update)
        multi_precision = check_bool("multi_precision", multi_precision)
        use_fused_step = check_bool("use_fused_step", use_fused_step)
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
        self.multi_precision = multi_precision
        self.use_fused_step = use_fused_step
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
        from .registry import register

        return register(klass)

    @staticmethod
    def create_optimizer(name, **kwargs):
        """Create an optimizer from a (case-insensitive) name, a :meth:`dumps` JSON string or
        an instance; ValueError lists the known names."""
        from .registry import create

        return create(name, **kwargs)

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
        from .registry import json_kwargs, registered_name

        kwargs, error = json_kwargs(self)
        if error is not None:
            raise ValueError(error)
        return json.dumps([registered_name(self), kwargs])

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("param_dict", None)
        if "_ctor_args" in state:  # saved as their JSON form (or why there is none)
            from .registry import json_kwargs

            state["_ctor_dump"] = list(json_kwargs(self))
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


