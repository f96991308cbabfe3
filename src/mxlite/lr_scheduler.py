"""Learning-rate schedules: MXNet 1.9.1's ``mx.lr_scheduler``, composition, and a picture.

A scheduler is a callable ``sched(num_update) -> lr``. An optimizer calls it with the number of
updates done so far (``1, 2, 3, ...`` in training) and may set ``sched.base_lr`` once, when it is
built with an explicit ``learning_rate``.

Every built-in schedule can start with a warmup of ``warmup_steps`` updates, during which
(``w`` = ``warmup_steps``, ``eta_b`` = ``warmup_begin_lr``, ``eta_0`` = ``base_lr``)::

    linear:    lr(t) = eta_b + (eta_0 - eta_b) * t / w        for t < w
    constant:  lr(t) = eta_b                                   for t < w

MXNet's classes (:class:`FactorScheduler`, :class:`MultiFactorScheduler`, :class:`PolyScheduler`,
:class:`CosineScheduler`) give MXNet 1.9.1's values, including the state that Factor and
MultiFactor keep (they multiply ``base_lr`` in place as updates pass), pinned by golden fixtures
recorded from MXNet 1.9.1. Where MXNet misbehaves, mxlite differs and each docstring says how.

Beyond MXNet: :class:`ConstantScheduler`, :class:`CosineRestartScheduler` (SGDR),
:class:`SequentialScheduler` (schedules joined at boundaries), :func:`create` by name,
:func:`lr_values` and :func:`plot` to look at a schedule (``pip install 'mxlite[plot]'``).

>>> import mxlite as mx
>>> sched = mx.lr_scheduler.CosineScheduler(max_update=10, base_lr=0.1, warmup_steps=2)
>>> [round(sched(t), 4) for t in (0, 1, 2, 6, 10, 20)]
[0.0, 0.05, 0.1, 0.05, 0.0, 0.0]
"""

from __future__ import annotations

import bisect
import copy
import io
import logging
import math
import numbers
import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .base import Registry, atomic_write

__all__ = [
    "ConstantScheduler",
    "CosineRestartScheduler",
    "CosineScheduler",
    "FactorScheduler",
    "LRScheduler",
    "MultiFactorScheduler",
    "PolyScheduler",
    "SequentialScheduler",
    "create",
    "lr_values",
    "plot",
    "register",
]

_log = logging.getLogger(__name__)
_WARMUP_MODES = ("linear", "constant")


# ----------------------------------------------------------------------------- validation helpers
def _real(name: str, value: Any) -> float:
    """``value`` as a finite float, or a TypeError/ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return value


def _nonneg(name: str, value: Any) -> float:
    value = _real(name, value)
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return value


def _integer(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value!r}")
    return int(value)


def _factor(value: Any) -> float:
    value = _real("factor", value)
    if value > 1.0:
        raise ValueError(f"factor must be <= 1 so that the lr decreases, got {value!r}")
    if value <= 0.0:
        raise ValueError(f"factor must be > 0, got {value!r}")
    return value


def _check_update(num_update: Any) -> None:
    if num_update < 0:
        raise ValueError(f"num_update must be >= 0, got {num_update!r}")


# ----------------------------------------------------------------------------- base class
class LRScheduler:
    """Base class: ``sched(num_update) -> lr``, with an optional warmup.

    Subclass it and implement ``__call__(num_update)`` (the recipe of MXNet's docs); call
    :meth:`get_warmup_lr` for ``num_update < warmup_steps`` if you want the warmup. The warmup is
    (:math:`w` = ``warmup_steps``, :math:`\\eta_b` = ``warmup_begin_lr``, :math:`\\eta_0` =
    ``base_lr``)::

        linear:    lr(t) = eta_b + (eta_0 - eta_b) * t / w      (t < w)
        constant:  lr(t) = eta_b                                 (t < w)

    Parameters
    ----------
    base_lr : float
        The peak learning rate, >= 0. An optimizer built with ``learning_rate=x`` sets
        ``base_lr = x``; the warmup then climbs to ``x`` (MXNet 1.9.1 kept climbing to the value
        given here, then jumped). Any write to ``base_lr`` moves the warmup target; the
        built-in stateful schedules decay a private copy, so their warmup keeps its target.
    warmup_steps : int
        Number of warmup updates, >= 0.
    warmup_begin_lr : float
        Learning rate at update 0 of the warmup, ``0 <= warmup_begin_lr <= base_lr``.
    warmup_mode : {'linear', 'constant'}

    >>> class Halving(LRScheduler):
    ...     def __call__(self, num_update):
    ...         return self.base_lr * 0.5 ** (num_update // 10)
    >>> Halving(base_lr=1.0)(25)
    0.25
    """

    _verbose = True  # built-in stateful schedules log lr changes (lr_values turns this off)

    def __init__(
        self,
        base_lr: float = 0.01,
        warmup_steps: int = 0,
        warmup_begin_lr: float = 0,
        warmup_mode: str = "linear",
    ):
        base_lr = _nonneg("base_lr", base_lr)
        self.warmup_steps = _integer("warmup_steps", warmup_steps, 0)
        warmup_begin_lr = _nonneg("warmup_begin_lr", warmup_begin_lr)
        if warmup_begin_lr > base_lr:
            raise ValueError(
                f"warmup_begin_lr ({warmup_begin_lr!r}) must not exceed base_lr ({base_lr!r})"
            )
        if warmup_mode not in _WARMUP_MODES:
            raise ValueError(f"warmup_mode must be 'linear' or 'constant', got {warmup_mode!r}")
        self.warmup_mode = warmup_mode
        self.warmup_begin_lr = warmup_begin_lr
        self.warmup_final_lr = base_lr
        self._base_lr = base_lr

    # ``base_lr`` is a property so that an optimizer setting it also moves the warmup target
    # (and, for closed-form schedules, the start of the decay): see ``_rebase``.
    @property
    def base_lr(self) -> float:
        try:
            return self.__dict__["_base_lr"]
        except KeyError:
            raise AttributeError(
                f"{type(self).__name__} has no base_lr yet: call LRScheduler.__init__ from its "
                "__init__ or set self.base_lr"
            ) from None

    @base_lr.setter
    def base_lr(self, value: float) -> None:
        value = _nonneg("base_lr", value)
        self._rebase(value)
        self.warmup_final_lr = value
        self._base_lr = value

    def _rebase(self, value: float) -> None:
        """Hook for subclasses whose schedule depends on the peak lr given at construction."""

    def get_warmup_lr(self, num_update: int) -> float:
        """Learning rate at ``num_update < warmup_steps`` (see the class docstring)."""
        if not num_update < self.warmup_steps:
            raise ValueError(
                f"get_warmup_lr: num_update ({num_update!r}) must be < warmup_steps "
                f"({self.warmup_steps!r})"
            )
        if self.warmup_mode == "linear":
            span = self.warmup_final_lr - self.warmup_begin_lr
            return self.warmup_begin_lr + span * float(num_update) / float(self.warmup_steps)
        return self.warmup_begin_lr

    def __call__(self, num_update: int) -> float:
        """The learning rate after ``num_update`` updates (the largest count over all weights)."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement __call__(num_update) -> lr"
        )

    def _set_verbose(self, flag: bool) -> None:
        self._verbose = flag


_registry = Registry(LRScheduler, "lr_scheduler")
register = _registry.register


def create(spec: Any, *args: Any, **kwargs: Any) -> LRScheduler:
    """Create a scheduler from a name (``'cosine'``, ``'FactorScheduler'``, ...), a JSON string
    ``'["factor", {"step": 10}]'`` or an instance (returned as is).

    >>> create("multifactor", step=[2, 4], factor=0.1, base_lr=1.0)(5)
    0.010000000000000002
    """
    return _registry.create(spec, *args, **kwargs)


# ----------------------------------------------------------------------------- MXNet's schedules
@register
@_registry.alias("factor")
class FactorScheduler(LRScheduler):
    """Multiply the lr by ``factor`` every ``step`` updates, never below ``stop_factor_lr``.

    After warmup, with :math:`\\eta_0` = ``base_lr``, :math:`f` = ``factor``, :math:`s` = ``step``::

        lr(t) = max(eta_0 * f ** k(t), stop_factor_lr),   k(t) = max(0, ceil(t / s) - 1)

    i.e. the first decay happens at update ``s + 1``; ``k`` counts from update 0, not from the
    end of the warmup (as in MXNet 1.9.1: with ``warmup_steps > step`` the decays missed during
    the warmup all apply at its end). As in MXNet 1.9.1 the schedule is
    *stateful*: each call multiplies ``base_lr`` in place once per step boundary passed since the
    last call (``count`` remembers where it got to), so a jump in ``num_update`` applies all the
    missed decays, and a smaller ``num_update`` later does not undo them. Each change is logged
    with ``logging.info`` (``Update[t]: Change learning rate to ...``, or ``... now learning rate
    arrived at ..., will not change in the future`` once clamped at ``stop_factor_lr``).

    Differences from MXNet 1.9.1: ``factor <= 0``, a negative ``base_lr`` and a
    ``stop_factor_lr`` above ``base_lr`` (which made the first "decay" raise the lr) are rejected.

    >>> sched = FactorScheduler(step=2, factor=0.5, base_lr=1.0)
    >>> [sched(t) for t in range(1, 8)]
    [1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.125]
    >>> sched.base_lr, sched.count
    (0.125, 6)
    """

    def __init__(
        self,
        step: float,
        factor: float = 1,
        stop_factor_lr: float = 1e-8,
        base_lr: float = 0.01,
        warmup_steps: int = 0,
        warmup_begin_lr: float = 0,
        warmup_mode: str = "linear",
    ):
        super().__init__(base_lr, warmup_steps, warmup_begin_lr, warmup_mode)
        step_value = _real("step", step)
        if step_value < 1:
            raise ValueError(f"step must be >= 1, got {step!r}")
        self.step = step
        self.factor = _factor(factor)
        self.stop_factor_lr = _nonneg("stop_factor_lr", stop_factor_lr)
        if self.stop_factor_lr > self._base_lr:
            raise ValueError(
                f"stop_factor_lr ({stop_factor_lr!r}) must not exceed base_lr ({base_lr!r})"
            )
        self.count = 0

    def __call__(self, num_update: int) -> float:
        _check_update(num_update)
        if num_update < self.warmup_steps:
            return self.get_warmup_lr(num_update)
        while num_update > self.count + self.step:
            self.count += self.step
            lr = self._base_lr * self.factor
            if lr < self.stop_factor_lr:
                lr = self.stop_factor_lr
                if self._verbose:
                    _log.info(
                        "Update[%d]: now learning rate arrived at %0.5e, will not change in "
                        "the future",
                        num_update,
                        lr,
                    )
            elif self._verbose:
                _log.info("Update[%d]: Change learning rate to %0.5e", num_update, lr)
            self._base_lr = lr
        return self._base_lr


@register
@_registry.alias("multifactor")
class MultiFactorScheduler(LRScheduler):
    """Multiply the lr by ``factor`` each time a boundary in ``step`` is passed.

    After warmup, with boundaries :math:`s_0 < s_1 < \\dots`::

        lr(t) = eta_0 * factor ** #{i : s_i < t}

    so the decay for boundary ``s_i`` applies from update ``s_i + 1``. Stateful as in MXNet
    1.9.1: ``base_lr`` is multiplied in place and ``cur_step_ind`` counts the boundaries passed;
    a smaller ``num_update`` later does not undo them. Each change is logged with
    ``logging.info("Update[t]: Change learning rate to ...")``.

    Differences from MXNet 1.9.1: ``factor <= 0`` and a negative ``base_lr`` are rejected; any
    non-empty sequence of steps is accepted (MXNet asserted a ``list``); ``self.step`` is a list.

    >>> sched = MultiFactorScheduler(step=[3, 5], factor=0.1, base_lr=1.0)
    >>> [round(sched(t), 6) for t in range(1, 8)]
    [1.0, 1.0, 1.0, 0.1, 0.1, 0.01, 0.01]
    """

    def __init__(
        self,
        step: Sequence[float],
        factor: float = 1,
        base_lr: float = 0.01,
        warmup_steps: int = 0,
        warmup_begin_lr: float = 0,
        warmup_mode: str = "linear",
    ):
        super().__init__(base_lr, warmup_steps, warmup_begin_lr, warmup_mode)
        if isinstance(step, (str, bytes)) or not isinstance(step, Sequence):
            raise TypeError(f"step must be a list of update counts, got {step!r}")
        if len(step) == 0:
            raise ValueError("step must contain at least one update count, got []")
        for i, s in enumerate(step):
            if _real(f"step[{i}]", s) < 1:
                raise ValueError(f"step[{i}] must be >= 1, got {s!r}")
            if i and s <= step[i - 1]:
                raise ValueError(
                    f"step must be strictly increasing, got step[{i}]={s!r} after "
                    f"step[{i - 1}]={step[i - 1]!r}"
                )
        self.step = list(step)
        self.factor = _factor(factor)
        self.cur_step_ind = 0
        self.count = 0

    def __call__(self, num_update: int) -> float:
        _check_update(num_update)
        if num_update < self.warmup_steps:
            return self.get_warmup_lr(num_update)
        while self.cur_step_ind < len(self.step) and num_update > self.step[self.cur_step_ind]:
            self.count = self.step[self.cur_step_ind]
            self.cur_step_ind += 1
            self._base_lr *= self.factor
            if self._verbose:
                _log.info("Update[%d]: Change learning rate to %0.5e", num_update, self._base_lr)
        return self._base_lr


class _DecayToFinal(LRScheduler):
    """Shared parts of Poly and Cosine: a decay from ``base_lr`` to ``final_lr`` over
    ``max_update - warmup_steps`` updates, then ``final_lr``.  Its signature is Cosine's."""

    def __init__(
        self,
        max_update: int,
        base_lr: float = 0.01,
        final_lr: float = 0,
        warmup_steps: int = 0,
        warmup_begin_lr: float = 0,
        warmup_mode: str = "linear",
    ):
        super().__init__(base_lr, warmup_steps, warmup_begin_lr, warmup_mode)
        self.max_update = _integer("max_update", max_update, 1)
        if self.warmup_steps >= self.max_update:
            raise ValueError(
                f"warmup_steps ({warmup_steps!r}) must be < max_update ({max_update!r})"
            )
        self.final_lr = _nonneg("final_lr", final_lr)
        self.base_lr_orig = self._base_lr
        self.max_steps = self.max_update - self.warmup_steps

    def _rebase(self, value: float) -> None:
        self.base_lr_orig = value

    def _decay(self, progress: float) -> float:
        raise NotImplementedError

    def __call__(self, num_update: int) -> float:
        _check_update(num_update)
        if num_update < self.warmup_steps:
            return self.get_warmup_lr(num_update)
        if num_update <= self.max_update:
            self._base_lr = self.final_lr + (self.base_lr_orig - self.final_lr) * self._decay(
                num_update - self.warmup_steps
            )
        else:
            self._base_lr = self.final_lr
        return self._base_lr


@register
@_registry.alias("poly")
class PolyScheduler(_DecayToFinal):
    """Polynomial decay from ``base_lr`` to ``final_lr`` at ``max_update``.

    After warmup (:math:`w` = ``warmup_steps``, :math:`T` = ``max_update``, :math:`p` = ``pwr``)::

        lr(t) = final_lr + (eta_0 - final_lr) * (1 - (t - w) / (T - w)) ** p    for w <= t <= T
        lr(t) = final_lr                                                         for t > T

    As in MXNet 1.9.1, ``base_lr`` holds the last lr computed after warmup, and ``base_lr_orig``
    the start of the decay.

    Differences from MXNet 1.9.1: the value is a closed form of ``num_update``: MXNet returned the
    last value it had computed for ``t > T`` (``eta_0`` when the first call was already past
    ``T``). Setting ``base_lr`` (as an optimizer given ``learning_rate`` does) moves the start of
    the decay and the warmup target; MXNet ignored it. ``pwr <= 0``, ``warmup_steps >=
    max_update`` (MXNet divided by zero), negative lrs are rejected.

    >>> sched = PolyScheduler(max_update=4, base_lr=1.0, pwr=2, final_lr=0.2)
    >>> [round(sched(t), 4) for t in range(6)]
    [1.0, 0.65, 0.4, 0.25, 0.2, 0.2]
    """

    def __init__(
        self,
        max_update: int,
        base_lr: float = 0.01,
        pwr: float = 2,
        final_lr: float = 0,
        warmup_steps: int = 0,
        warmup_begin_lr: float = 0,
        warmup_mode: str = "linear",
    ):
        super().__init__(max_update, base_lr, final_lr, warmup_steps, warmup_begin_lr, warmup_mode)
        self.power = _real("pwr", pwr)
        if self.power <= 0:
            raise ValueError(f"pwr must be > 0, got {pwr!r}")

    def _decay(self, progress: float) -> float:
        return pow(1 - float(progress) / float(self.max_steps), self.power)


@register
@_registry.alias("cosine")
class CosineScheduler(_DecayToFinal):
    """Cosine decay from ``base_lr`` to ``final_lr`` at ``max_update``.

    After warmup (:math:`w` = ``warmup_steps``, :math:`T` = ``max_update``)::

        lr(t) = final_lr + (eta_0 - final_lr) * (1 + cos(pi * (t - w) / (T - w))) / 2
                                                                      for w <= t <= T
        lr(t) = final_lr                                              for t > T

    As in MXNet 1.9.1, ``base_lr`` holds the last lr computed after warmup. Differences from
    MXNet 1.9.1 are those of :class:`PolyScheduler` (closed form past ``max_update``, ``base_lr``
    settable, ``warmup_steps >= max_update`` and negative lrs rejected).

    >>> sched = CosineScheduler(max_update=4, base_lr=1.0, final_lr=0.2)
    >>> [round(sched(t), 4) for t in range(6)]
    [1.0, 0.8828, 0.6, 0.3172, 0.2, 0.2]
    """

    def _decay(self, progress: float) -> float:
        return (1 + math.cos(math.pi * progress / self.max_steps)) / 2


# ----------------------------------------------------------------------------- beyond MXNet
@register
@_registry.alias("constant")
class ConstantScheduler(LRScheduler):
    """``base_lr`` after the warmup: ``lr(t) = eta_0`` for ``t >= warmup_steps``.

    >>> sched = ConstantScheduler(base_lr=0.1, warmup_steps=4)
    >>> [round(sched(t), 4) for t in (0, 2, 4, 100)]
    [0.0, 0.05, 0.1, 0.1]
    """

    def __call__(self, num_update: int) -> float:
        _check_update(num_update)
        if num_update < self.warmup_steps:
            return self.get_warmup_lr(num_update)
        return self._base_lr


@register
@_registry.alias("cosine_restart", "cosinerestart", "sgdr")
class CosineRestartScheduler(LRScheduler):
    """Cosine decay restarted every cycle (SGDR, Loshchilov & Hutter 2017).

    After warmup, with :math:`u = t - w`, cycle :math:`i` has length
    :math:`T_i = T_0 m^i` (``cycle_length``, ``cycle_mult``) and starts at
    :math:`S_i = T_0 + T_0 m + \\dots + T_0 m^{i-1}`; with :math:`d` = ``peak_decay``::

        peak_i = max(eta_0 * d ** i, final_lr)
        lr(t)  = final_lr + (peak_i - final_lr) * (1 + cos(pi * (u - S_i) / T_i)) / 2
                 for S_i <= u < S_i + T_i

    so each cycle starts at its peak and falls towards ``final_lr``, then jumps back up. A closed
    form of ``num_update``: ``base_lr`` stays the peak of the first cycle.

    >>> sched = CosineRestartScheduler(cycle_length=4, base_lr=1.0, cycle_mult=2, peak_decay=0.5)
    >>> [round(sched(t), 4) for t in range(0, 14, 2)]
    [1.0, 0.5, 0.5, 0.4268, 0.25, 0.0732, 0.25]
    """

    def __init__(
        self,
        cycle_length: int,
        base_lr: float = 0.01,
        final_lr: float = 0,
        cycle_mult: float = 1,
        peak_decay: float = 1,
        warmup_steps: int = 0,
        warmup_begin_lr: float = 0,
        warmup_mode: str = "linear",
    ):
        super().__init__(base_lr, warmup_steps, warmup_begin_lr, warmup_mode)
        self.cycle_length = _integer("cycle_length", cycle_length, 1)
        self.final_lr = _nonneg("final_lr", final_lr)
        self.cycle_mult = _real("cycle_mult", cycle_mult)
        if self.cycle_mult < 1:
            raise ValueError(f"cycle_mult must be >= 1, got {cycle_mult!r}")
        self.peak_decay = _real("peak_decay", peak_decay)
        if not 0 < self.peak_decay <= 1:
            raise ValueError(f"peak_decay must be in (0, 1], got {peak_decay!r}")

    def cycle(self, num_update: int) -> tuple[int, float, float]:
        """``(i, u - S_i, T_i)``: the cycle index, position within it and its length."""
        u = num_update - self.warmup_steps
        t0, m = float(self.cycle_length), self.cycle_mult
        if m == 1:
            i = int(u // t0)
            return i, u - i * t0, t0
        i = math.floor(math.log1p(u * (m - 1) / t0) / math.log(m))
        start = t0 * (m**i - 1) / (m - 1)
        while i > 0 and start > u:  # guard against rounding in the logarithm
            i -= 1
            start = t0 * (m**i - 1) / (m - 1)
        while u >= start + t0 * m**i:
            start += t0 * m**i
            i += 1
        return i, u - start, t0 * m**i

    def __call__(self, num_update: int) -> float:
        _check_update(num_update)
        if num_update < self.warmup_steps:
            return self.get_warmup_lr(num_update)
        i, pos, length = self.cycle(num_update)
        peak = max(self._base_lr * self.peak_decay**i, self.final_lr)
        return self.final_lr + (peak - self.final_lr) * (1 + math.cos(math.pi * pos / length)) / 2


@register
@_registry.alias("sequential")
class SequentialScheduler(LRScheduler):
    """Schedules one after another: ``schedulers[k]`` runs from ``boundaries[k-1]`` on.

    With boundaries :math:`b_1 < b_2 < \\dots` (and :math:`b_0 = 0`)::

        lr(t) = r * schedulers[k](t - b_k)    for b_k <= t < b_{k+1}

    Each piece sees its own update count, starting at 0 at its boundary (as Optax's
    ``join_schedules``). ``r = base_lr / base_lr_ref`` where ``base_lr_ref`` is ``base_lr`` given
    here or else the first piece's ``base_lr`` at construction: setting ``base_lr`` (as an
    optimizer does) rescales the whole sequence. Pieces keep their own state
    (a :class:`FactorScheduler` piece still decays in place).

    >>> warm = PolyScheduler(max_update=4, base_lr=1.0, pwr=1, final_lr=1.0,
    ...                      warmup_steps=2, warmup_begin_lr=0.0)
    >>> sched = SequentialScheduler([warm, CosineScheduler(4, base_lr=1.0)], boundaries=[4])
    >>> [round(sched(t), 4) for t in range(0, 9)]
    [0.0, 0.5, 1.0, 1.0, 1.0, 0.8536, 0.5, 0.1464, 0.0]
    """

    def __init__(
        self,
        schedulers: Sequence[Callable[[int], float]],
        boundaries: Sequence[int],
        base_lr: float | None = None,
    ):
        if isinstance(schedulers, (str, bytes)) or not isinstance(schedulers, Sequence):
            raise TypeError(f"schedulers must be a list of schedulers, got {schedulers!r}")
        if len(schedulers) == 0:
            raise ValueError("schedulers must contain at least one scheduler, got []")
        for i, s in enumerate(schedulers):
            if not callable(s):
                raise TypeError(f"schedulers[{i}] must be callable as sched(num_update), got {s!r}")
        if isinstance(boundaries, (str, bytes)) or not isinstance(boundaries, Sequence):
            raise TypeError(f"boundaries must be a list of update counts, got {boundaries!r}")
        if len(boundaries) != len(schedulers) - 1:
            raise ValueError(
                f"boundaries must have len(schedulers) - 1 = {len(schedulers) - 1} entries, "
                f"got {len(boundaries)}: {list(boundaries)!r}"
            )
        for i, b in enumerate(boundaries):
            _integer(f"boundaries[{i}]", b, 1)
            if i and b <= boundaries[i - 1]:
                raise ValueError(
                    f"boundaries must be strictly increasing, got boundaries[{i}]={b!r} after "
                    f"boundaries[{i - 1}]={boundaries[i - 1]!r}"
                )
        if base_lr is None:
            base_lr = getattr(schedulers[0], "base_lr", None)
            if base_lr is None:
                raise TypeError(
                    "schedulers[0] has no base_lr attribute: pass base_lr= explicitly"
                )
        super().__init__(base_lr)
        self.schedulers = list(schedulers)
        self.boundaries = [int(b) for b in boundaries]
        self.base_lr_ref = self._base_lr

    def _rebase(self, value: float) -> None:
        if self.base_lr_ref == 0 and value != 0:
            raise ValueError(
                f"cannot rescale a sequence whose reference base_lr is 0 to base_lr={value!r}"
            )

    def _set_verbose(self, flag: bool) -> None:
        self._verbose = flag
        for s in self.schedulers:
            if isinstance(s, LRScheduler):
                s._set_verbose(flag)

    def __call__(self, num_update: int) -> float:
        _check_update(num_update)
        k = bisect.bisect_right(self.boundaries, num_update)
        lr = self.schedulers[k](num_update - (self.boundaries[k - 1] if k else 0))
        if self._base_lr != self.base_lr_ref:
            lr = lr * (self._base_lr / self.base_lr_ref)
        return lr


# ----------------------------------------------------------------------------- looking at one
def lr_values(
    scheduler: Callable[[int], float], num_updates: int, start: int = 1
) -> np.ndarray:
    """The lr at ``num_update = start, ..., num_updates`` (as an optimizer calls it, from 1).

    Evaluates a deep copy, so a stateful ``scheduler`` (Factor, MultiFactor) is left as it was;
    the copy does not log its lr changes.

    >>> sched = FactorScheduler(step=2, factor=0.5, base_lr=1.0)
    >>> lr_values(sched, 5).tolist(), sched.base_lr
    ([1.0, 1.0, 0.5, 0.5, 0.25], 1.0)
    """
    if not callable(scheduler):
        raise TypeError(f"scheduler must be callable as sched(num_update), got {scheduler!r}")
    num_updates = _integer("num_updates", num_updates, 1)
    start = _integer("start", start, 0)
    if start > num_updates:
        raise ValueError(f"start ({start!r}) must be <= num_updates ({num_updates!r})")
    clone = copy.deepcopy(scheduler)
    if isinstance(clone, LRScheduler):
        clone._set_verbose(False)
    return np.array([float(clone(t)) for t in range(start, num_updates + 1)], dtype=np.float64)


def plot(
    scheduler: Callable[[int], float],
    num_updates: int,
    path: str | os.PathLike | None = None,
    *,
    ax: Any = None,
    title: str | None = None,
):
    """Draw the lr over ``num_update = 1 .. num_updates``; write it to ``path`` if given.

    Needs matplotlib (``pip install 'mxlite[plot]'``). Returns the matplotlib ``Figure`` (the one
    holding ``ax`` if given). The file format follows ``path``'s suffix (PNG by default) and the
    file is written atomically. ``scheduler`` itself is not called: a deep copy is (see
    :func:`lr_values`), so plotting a stateful schedule does not advance it.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError as err:
        raise ImportError(
            "mx.lr_scheduler.plot needs matplotlib, which is not installed; install the 'plot' "
            "extra: pip install 'mxlite[plot]'"
        ) from err
    values = lr_values(scheduler, num_updates)
    if ax is None:
        fig = Figure(figsize=(6.4, 3.6), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    ax.plot(np.arange(1, num_updates + 1), values, lw=1.5)
    ax.set_xlabel("num_update")
    ax.set_ylabel("learning rate")
    ax.set_title(title if title is not None else type(scheduler).__name__)
    ax.grid(True, alpha=0.3)
    if path is not None:
        suffix = os.path.splitext(os.fspath(path))[1].lstrip(".").lower() or "png"
        buf = io.BytesIO()
        fig.savefig(buf, format=suffix, dpi=100)
        atomic_write(path, buf.getvalue())
    return fig
