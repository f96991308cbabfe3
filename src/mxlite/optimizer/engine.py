"""The dispatch engine of the built-in optimizers: :class:`FusedOptimizer`.

One switch, two paths.  Every built-in optimizer has

* :meth:`~FusedOptimizer.step`: the readable NumPy reference (``reference_update``);
* :meth:`~FusedOptimizer.fused_step`: the Numba kernels (``kernel_update``, one pass over memory
  per tensor, or one multi-tensor kernel call for a whole group of tensors, spread over the
  threads in pieces);

and ``update``, ``update_multi_precision`` and the :class:`~mxlite.optimizer.Updater` choose
between them by the public flag ``use_fused_step`` (default True), so that a test can force
either path.  Both paths share everything but the elementwise arithmetic: the update counts, the
scalars of the step (``hyper``), multi-precision, the grouping of list calls.

Extension points (what a subclass defines; nothing else of the engine is meant to be
overridden):

``spec``, ``kernel``
    The hyperparameter spec class (a ``NamedTuple`` of :mod:`mxlite.kernels.optimizer`) and the
    :class:`~mxlite.kernels.optimizer.Kernel` that takes it.
``hyper(index) -> spec``
    The scalars of this step for one tensor (learning rate after schedule and multiplier,
    weight decay after multiplier, bias corrections, ...), computed once in Python.  Called
    after the update of ``index`` is counted.
``reference_update(index, w, g, states, hp)``
    The update in plain NumPy, in place: ``w`` the weight (the float32 master under
    multi-precision), ``g`` the gradient in ``w``'s dtype, ``states`` the state arrays.
``kernel_update(index, w, g, states, w16, hp)``
    The fused update on flat C-contiguous arrays (``g`` may be float16 bits as ``uint16``;
    ``w16`` is the float16 weight to write, or empty).  Default: ``self.kernel.run(...)``.
``state_arrays(state)``
    The state's NumPy arrays in kernel order (default: the NDArrays of the state).
``prepare(indices, weights, grads, states, fused) -> [(grad, state, hp), ...]``
    Count the updates of one chunk of tensors and return what to apply to each.  The default
    counts and calls ``hyper``; LARS (norm-scaled learning rates), LBSGD (gradient
    accumulation, warmup) and LAMB (index-by-index counts) override it.
``row_sparse_update(index, weight, grad, state, hp, fused)``
    The update with a ``row_sparse`` gradient (an NDArray whose ``stype`` is not
    ``'default'``).  The default densifies the gradient and runs the dense update, which is
    MXNet's ``lazy_update=False`` meaning; an optimizer with a lazy (row-wise) update overrides
    it.
``multi_kernels``, ``master_first``, ``zero_clip_disables``, ``count_chunk_first``
    Class attributes: multi-tensor kernels by number of state arrays; the multi-precision
    state order (``(master, state)`` or, SGD-like, ``(state, master)``); whether ``clip_gradient=0``
    disables clipping (MXNet's update operators) or clips to zero; whether a list call counts
    the whole chunk before reading learning rates (default: when ``aggregate_num > 0``).
"""

from __future__ import annotations

import math
from operator import is_ as _is

import numpy as np

from ..kernels import multi_chunks
from ..kernels import optimizer as K
from ..ndarray import NDArray
from .optimizer import Optimizer
from .validation import check_update_arrays

__all__ = ["FusedOptimizer", "bias_power", "clip_ref"]

_EMPTY16 = K.EMPTY16
_F16 = np.dtype(np.float16)


def _addresses(arrays) -> np.ndarray:
    """Table of the data addresses of C-contiguous arrays (the caller keeps them alive)."""
    return np.array([a.__array_interface__["data"][0] for a in arrays], dtype=np.uintp)


class FusedOptimizer(Optimizer):
    """Base of the built-in optimizers: the reference ``step`` and the fused ``fused_step``
    behind one ``use_fused_step`` switch (see :mod:`mxlite.optimizer.engine`)."""

    spec: type | None = None
    kernel: K.Kernel | None = None
    #: number of state arrays -> :class:`~mxlite.kernels.optimizer.MultiKernel`
    multi_kernels: dict | None = None
    #: multi-precision state is ``(master, state)``; SGD-like optimizers use ``(state, master)``
    master_first = True
    #: as MXNet's update operators, ``clip_gradient=0`` means no clipping (else: clip to 0)
    zero_clip_disables = True
    #: list calls count a whole chunk before reading learning rates (True), index by index
    #: (False), or the first when the optimizer aggregates (None: ``aggregate_num > 0``)
    count_chunk_first: bool | None = None
    # per class, set by __init_subclass__: update/update_multi_precision are the engine's, and
    # prepare is the default one (the single-tensor fast path applies)
    _engine_update = True
    _default_prepare = True

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._engine_update = (cls.update is FusedOptimizer.update
                              and cls.update_multi_precision
                              is FusedOptimizer.update_multi_precision)
        cls._default_prepare = cls.prepare is FusedOptimizer.prepare

    # ------------------------------------------------------------------ public paths
    def step(self, indices, weights, grads, states):
        """The reference update (plain NumPy) of ``weights`` in place.

        Lists of indices, weights, gradients and states (an index and one array each is
        accepted too); with ``multi_precision`` and float16 weights the states are those of
        :meth:`create_state_multi_precision`.
        """
        self._run(indices, weights, grads, states, None, False)

    def fused_step(self, indices, weights, grads, states):
        """The fused update (Numba kernels) of ``weights`` in place; arguments as :meth:`step`."""
        self._run(indices, weights, grads, states, None, True)

    def update(self, index, weight, grad, state):
        """Update ``weight`` in place (no multi-precision), by :meth:`fused_step` or
        :meth:`step` as ``use_fused_step`` says."""
        self._run(index, weight, grad, state, False, self.use_fused_step)

    def update_multi_precision(self, index, weight, grad, state):
        """:meth:`update`, through the float32 master copy for float16 weights when
        ``multi_precision`` is set."""
        if not self._engine_update or "update" in self.__dict__:
            # a subclass customized update(): route through it, as MXNet's base class does
            if isinstance(index, (list, tuple)):
                for i, w, g, s in zip(index, weight, grad, state, strict=True):
                    Optimizer.update_multi_precision(self, i, w, g, s)
            else:
                Optimizer.update_multi_precision(self, index, weight, grad, state)
            return
        self._run(index, weight, grad, state, None, self.use_fused_step)

    # ------------------------------------------------------------------ extension points
    def hyper(self, index):
        """The spec instance of this step for ``index`` (see the module docstring)."""
        raise TypeError(f"{type(self).__name__} defines no hyper(index)")

    def reference_update(self, index, w, g, states, hp):
        """The NumPy update of one tensor, in place (see the module docstring)."""
        raise TypeError(f"{type(self).__name__} defines no reference_update()")

    def kernel_update(self, index, w, g, states, w16, hp):
        """The fused update of one tensor on flat arrays (see the module docstring)."""
        self.kernel.run(w, g, states, w16, hp)

    def state_arrays(self, state) -> tuple:
        """State arrays (NumPy) in kernel order."""
        if state is None:
            return ()
        if isinstance(state, NDArray):
            return (state._data,)
        return tuple([s._data for s in state])

    def prepare(self, indices, weights, grads, states, fused):
        """Count the updates of a chunk of tensors; ``(grad, state, hp)`` for each.

        Aggregating optimizers (``aggregate_num > 0``) count the whole chunk before reading
        its learning rates, as MXNet's multi-tensor path, unless ``count_chunk_first`` is False;
        the others go index by index.
        """
        first = self.count_chunk_first
        if first or (first is None and self.aggregate_num > 0):
            self._update_count(indices)
            return [(g, s, self.hyper(i)) for i, g, s in zip(indices, grads, states, strict=True)]
        out = []
        for i, g, s in zip(indices, grads, states, strict=True):
            self._update_count(i)
            out.append((g, s, self.hyper(i)))
        return out

    def row_sparse_update(self, index, weight, grad, state, hp, fused):
        """Update with a gradient whose ``stype`` is not ``'default'``: by default the dense
        update of the densified gradient (MXNet's ``lazy_update=False`` meaning)."""
        self._apply(index, weight, grad.tostype("default"), state, hp, self._mp_of(weight),
                    fused)

    # ------------------------------------------------------------------ helpers for hyper()
    def _clip(self) -> float:
        """Clip bound for the kernels: negative means no clipping."""
        c = self.clip_gradient
        if c is None or (self.zero_clip_disables and not c):
            return -1.0
        return float(c)

    # ------------------------------------------------------------------ the engine
    def _mp_of(self, weight) -> bool:
        return self.multi_precision and weight._data.dtype == _F16

    def _custom_update(self) -> bool:
        """True when a subclass or the instance replaces ``update``/``update_multi_precision``
        (the Updater then calls them, as MXNet's)."""
        d = self.__dict__
        return not self._engine_update or "update" in d or "update_multi_precision" in d

    def _run(self, index, weight, grad, state, mp, fused, chunk=0):
        """Update one tensor or a list of them; ``mp`` None: multi-precision as configured;
        ``chunk``: count (and prepare) that many tensors at a time (all when 0)."""
        if not isinstance(index, (list, tuple)):
            check_update_arrays(weight, grad)
            if mp is None:
                mp = self.multi_precision and weight._data.dtype == _F16
            if self._default_prepare:  # the common case, without lists
                self._update_count(index)
                self._apply(index, weight, grad, state, self.hyper(index), mp, fused)
                return
            ((g, s, hp),) = self.prepare([index], [weight], [grad], [state], fused)
            self._apply(index, weight, g, s, hp, mp, fused)
            return
        elif not len(index) == len(weight) == len(grad) == len(state):
            raise ValueError(
                f"index, weight, grad and state lists differ in length: {len(index)}, "
                f"{len(weight)}, {len(grad)}, {len(state)}"
            )
        indices, weights, grads, states = list(index), list(weight), list(grad), list(state)
        if not indices:
            return
        for w, g in zip(weights, grads, strict=True):
            check_update_arrays(w, g)
        if mp is None:
            mp = self.multi_precision and weights[0]._data.dtype == _F16
        n = chunk or len(indices)
        steps = []
        for start in range(0, len(indices), n):
            end = start + n
            steps.extend(self.prepare(indices[start:end], weights[start:end], grads[start:end],
                                      states[start:end], fused))
        if fused and not mp and self.multi_kernels and len(indices) > 1:
            if self._apply_multi(indices, weights, steps):
                return
        for i, w, (g, s, hp) in zip(indices, weights, steps, strict=True):
            self._apply(i, w, g, s, hp, mp, fused)

    def _split_mp(self, state):
        if self.master_first:
            return state[0], state[1]
        return state[1], state[0]

    def _apply(self, index, weight, grad, state, hp, mp, fused):
        """One tensor: the reference or the fused update, with or without a master copy."""
        if type(grad) is not NDArray and getattr(grad, "stype", "default") != "default":
            self.row_sparse_update(index, weight, grad, state, hp, fused)
            return
        if mp:
            master, inner = self._split_mp(state)
            w = master._data
            low = weight._data
        else:
            inner = state
            w = weight._data
            low = None
        arrays = self.state_arrays(inner)
        if fused:
            g = grad._data
            if (low is None and w.dtype != _F16 and w.flags.c_contiguous
                    and g.flags.c_contiguous):
                for a in arrays:
                    if not a.flags.c_contiguous:
                        break
                else:  # the common case, without call_flat's conversions
                    self.kernel_update(index, w.reshape(-1), g.reshape(-1),
                                       tuple([a.reshape(-1) for a in arrays]), _EMPTY16, hp)
                    return
            K.call_flat(lambda w_, g_, s_, w16: self.kernel_update(index, w_, g_, s_, w16, hp),
                        w, g, arrays, low)
        else:
            g = grad._data.astype(w.dtype) if grad._data.dtype != w.dtype else grad._data
            self.reference_update(index, w, g, arrays, hp)
            if low is not None:
                low[...] = w.astype(low.dtype)

    def _apply_multi(self, indices, weights, steps) -> bool:
        """One multi-tensor kernel call for the whole group, large and small tensors: its
        pieces (:func:`mxlite.kernels.multi_chunks`) spread evenly over the threads once the
        group is large.  False (nothing done) when the group does not qualify: mixed or
        float16 dtypes, non-contiguous arrays, mixed state layouts."""
        dtype = weights[0]._data.dtype
        if dtype != np.float32 and dtype != np.float64:
            return False
        arrays = [self.state_arrays(s) for _, s, _ in steps]
        k = len(arrays[0])
        multi = self.multi_kernels.get(k)
        if multi is None:
            return False
        for w, (g, _, _), arrs in zip(weights, steps, arrays, strict=True):
            wd, gd = w._data, g._data
            if (type(g) is not NDArray or wd.dtype != dtype
                    or not (wd.flags.c_contiguous and gd.flags.c_contiguous)):
                return False
            if len(arrs) != k:
                return False
            for a in arrs:
                if a.dtype != dtype or not a.flags.c_contiguous:
                    return False
        key = tuple(indices)
        data = [w._data for w in weights]
        tables = [self._table(key, "w", data),
                  self._table(key, "g", [g._data for g, _, _ in steps])]
        for j in range(k):
            tables.append(self._table(key, j, [arrs[j] for arrs in arrays]))
        sizes, chunks = self._pieces(key, data)
        multi.run(tables, sizes, [hp for _, _, hp in steps], dtype, chunks)
        return True

    def _pieces(self, key, data) -> tuple:
        """``(sizes, chunks)`` of a group (:func:`mxlite.kernels.multi_chunks`), reused while its
        tensors keep their sizes."""
        cache = self.__dict__.setdefault("_tables", {})
        hit = cache.get((key, "pieces"))
        if hit is not None and len(hit[0]) == len(data) and all(
                a.size == n for a, n in zip(data, hit[0], strict=True)):
            return hit
        sizes = np.array([a.size for a in data], dtype=np.int64)
        hit = (sizes, multi_chunks(sizes))
        cache[(key, "pieces")] = hit
        return hit

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


# --------------------------------------------------------------------------- reference helpers
def clip_ref(x: np.ndarray, c: float) -> np.ndarray:
    """Reference clipping: ``c < 0`` means none; NaN passes through."""
    if c < 0:
        return x
    return np.where(x > c, c, np.where(x < -c, -c, x)).astype(x.dtype)


def bias_power(beta: float, t: int) -> float:
    """``beta ** t`` as a Python float (shared by reference and fused paths)."""
    return math.pow(beta, t)
