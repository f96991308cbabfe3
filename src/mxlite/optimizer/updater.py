"""``Updater``: applies an optimizer by parameter index and keeps the states, safely serializable.

``get_states()`` returns bytes in mxlite's own format, an ``.npz`` archive with a JSON header
(:mod:`mxlite.serialization.state_npz`); ``set_states`` reads it, or MXNet's pickled
``.states`` through a restricted unpickler (:mod:`mxlite.serialization.safe_pickle`).  Both
decoders rebuild only the types of exact-name tables -- :data:`STATE_TYPES`, the registered
optimizers and lr schedulers, NDArrays, containers and numbers -- and bound what a file may cost.
"""

from __future__ import annotations

import numpy as np

from ..base import MXNetError
from ..context import Context
from ..ndarray import NDArray
from ..serialization import state_npz
from ..serialization import states as states_codec
from .engine import FusedOptimizer
from .optimizer import Optimizer
from .registry import STATE_TYPES
from .validation import check_arrays, check_update_arrays

__all__ = ["STATE_TYPES", "Updater", "get_updater"]

# STATE_TYPES (NamedTuple state classes by name, so that loaded states keep their field names)
# is filled by registry.register_state and read by the state codec (mxlite.serialization)


class Updater:
    """Applies ``optimizer`` to weights by index, creating and keeping their states.

    Call it as ``updater(index, grad, weight)`` or with lists of indices, gradients and weights;
    the list form hands same-dtype groups to the optimizer at once (``aggregate_num`` at a time
    for optimizers that aggregate, as MXNet).
    """

    def __init__(self, optimizer: Optimizer):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"optimizer must be an Optimizer, got {optimizer!r}")
        self.optimizer = optimizer
        self.states: dict = {}
        self.states_synced: dict = {}
        self.aggregate_updates = optimizer.aggregate_num > 0

    def __call__(self, index, grad, weight):
        opt = self.optimizer
        engine = isinstance(opt, FusedOptimizer) and not opt._custom_update()
        if (engine and type(weight) is NDArray and not isinstance(index, (list, tuple, bytes))
                and self.states_synced.get(index)):
            # per-index form with an existing state: straight to the engine
            opt._set_current_context(weight.context.device_id)
            opt._run(index, weight, grad, self.states[index], None, opt.use_fused_step)
            return
        if isinstance(index, (list, tuple)):
            indices = list(index)
            grads = list(grad)
            weights = list(weight)
            if not len(indices) == len(grads) == len(weights):
                raise ValueError(
                    f"index, grad and weight lists differ in length: {len(indices)}, "
                    f"{len(grads)}, {len(weights)}"
                )
        else:
            indices, grads, weights = [index], [grad], [weight]
        if not engine:  # the engine checks every pair itself
            for w, g in zip(weights, grads, strict=True):
                check_arrays(w, g)
        if weights and isinstance(weights[0], NDArray):
            opt._set_current_context(weights[0].context.device_id)
        states = self.states
        for i, idx in enumerate(indices):
            if isinstance(idx, bytes):
                idx = indices[i] = idx.decode()
            if idx not in states:
                if engine:  # before a state is made for it
                    check_update_arrays(weights[i], grads[i])
                states[idx] = opt.create_state_multi_precision(idx, weights[i])
                self.states_synced[idx] = True
            elif not self.states_synced[idx]:  # loaded by set_states: checked once, then kept
                if engine:
                    check_update_arrays(weights[i], grads[i])
                expected = opt.create_state_multi_precision(idx, weights[i])
                _check_loaded_state(idx, states[idx], expected, weight=weights[i])
                states[idx] = self.sync_state_context(states[idx], weights[i].context)
                self.states_synced[idx] = True
        if not engine:
            self._mxnet_way(indices, weights, grads)
            return
        members = list(zip(indices, weights, grads, strict=True))
        if opt.aggregate_num > 0:  # MXNet groups by dtype, then aggregates
            groups: dict = {}
            for m in members:
                groups.setdefault(m[1]._data.dtype, []).append(m)
            parts = list(groups.values())
        elif len({w._data.dtype for w in weights}) <= 1:
            parts = [members]
        else:  # mixed dtypes: index by index, in order, as MXNet
            parts = [[m] for m in members]
        for part in parts:
            idx = [c[0] for c in part]
            opt._run(idx, [c[1] for c in part], [c[2] for c in part], [states[i] for i in idx],
                     None, opt.use_fused_step, chunk=opt.aggregate_num)

    def _mxnet_way(self, indices, weights, grads):
        """MXNet's Updater: aggregate_num tensors per call for aggregating optimizers."""
        opt, states = self.optimizer, self.states
        if self.aggregate_updates:
            groups: dict = {}
            for i, w, g in zip(indices, weights, grads, strict=True):
                groups.setdefault(w._data.dtype, []).append((i, w, g))
            n = opt.aggregate_num
            for members in groups.values():
                for start in range(0, len(members), n):
                    chunk = members[start:start + n]
                    opt.update_multi_precision(
                        [c[0] for c in chunk], [c[1] for c in chunk], [c[2] for c in chunk],
                        [states[c[0]] for c in chunk],
                    )
        else:
            for i, w, g in zip(indices, weights, grads, strict=True):
                opt.update_multi_precision(i, w, g, states[i])

    def sync_state_context(self, state, context: Context):
        """Move ``state`` (an NDArray, or nested tuples/lists of them) to ``context``."""
        if isinstance(state, NDArray):
            return state.as_in_context(context)
        if isinstance(state, (tuple, list)):
            synced = [self.sync_state_context(s, context) for s in state]
            if isinstance(state, list):
                return synced
            if hasattr(state, "_fields"):
                return type(state)(*synced)
            return tuple(synced)
        return state

    # ------------------------------------------------------------------ serialization
    def get_states(self, dump_optimizer: bool = False) -> bytes:
        """The states as bytes (mxlite's safe ``.npz`` format, see
        :mod:`mxlite.serialization.state_npz`); with ``dump_optimizer=True`` the optimizer
        (hyperparameters, schedule, update counts) is included."""
        return state_npz.encode(self.states, self.optimizer if dump_optimizer else None)

    def set_states(self, states: bytes) -> None:
        """Load states from :meth:`get_states` bytes, or from MXNet's pickled ``.states``.

        Nothing in the bytes can run code or exceed :mod:`mxlite.serialization.limits`;
        anything refused is an :class:`~mxlite.base.MXNetError`."""
        self._set_states_from(states, "set_states")

    def _set_states_from(self, states, source: str) -> None:
        """:meth:`set_states`, with errors naming ``source`` (e.g. the ``.states`` file)."""
        loaded = states_codec.decode(states, source)
        if isinstance(loaded, tuple) and len(loaded) == 2 and isinstance(loaded[1], Optimizer):
            self.states, self.optimizer = loaded
            self.aggregate_updates = self.optimizer.aggregate_num > 0
        else:
            self.states = loaded
        if not isinstance(self.states, dict):
            raise MXNetError(f"{source}: states must be a dict, got {type(self.states).__name__}")
        self.states_synced = dict.fromkeys(self.states.keys(), False)


def _check_loaded_state(index, loaded, expected, path: str = "", weight=None) -> None:
    """Refuse a loaded state whose arrays do not fit the weight they will update.

    The kernels index states by the weight's size, so a state of another shape must fail here,
    as an :class:`MXNetError`, not as a write past the end of an array.  Where the optimizer
    keeps no state (``expected`` None: SGD without momentum) a loaded array shaped as
    ``weight`` is used as MXNet uses it (SGD's momentum buffer); a tuple of several (another
    optimizer's states) is refused."""
    where = f"state of index {index!r}{path}"
    if expected is None and loaded is not None and weight is not None:
        if isinstance(loaded, (tuple, list)):
            raise MXNetError(f"set_states: {where} holds {len(loaded)} entries, but the "
                             "optimizer keeps no state for this weight (states of another "
                             "optimizer?)")
        expected = weight
    if isinstance(expected, NDArray):
        if not isinstance(loaded, NDArray):
            raise MXNetError(f"set_states: {where} must be an array of shape {expected.shape}, "
                             f"got {type(loaded).__name__}")
        if loaded.shape != expected.shape:
            raise MXNetError(f"set_states: {where} has shape {loaded.shape}, but the weight it "
                             f"updates needs {expected.shape}")
        if loaded.dtype != expected.dtype:
            raise MXNetError(f"set_states: {where} has dtype {np.dtype(loaded.dtype).name}, but "
                             f"the weight it updates needs {np.dtype(expected.dtype).name}")
    elif isinstance(expected, (tuple, list)):
        if not isinstance(loaded, (tuple, list)) or len(loaded) != len(expected):
            got = len(loaded) if isinstance(loaded, (tuple, list)) else type(loaded).__name__
            raise MXNetError(f"set_states: {where} must hold {len(expected)} entries, got {got}")
        for k, (a, b) in enumerate(zip(loaded, expected, strict=True)):
            _check_loaded_state(index, a, b, f"{path}[{k}]")


def get_updater(optimizer: Optimizer) -> Updater:
    """An :class:`Updater` for ``optimizer`` (MXNet's closure for the kvstore)."""
    return Updater(optimizer)
