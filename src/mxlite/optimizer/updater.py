"""``Updater``: applies an optimizer by parameter index and keeps the states, safely serializable.

``get_states()`` returns bytes in mxlite's own format, an ``.npz`` archive with a JSON header
(:mod:`mxlite.serialization.state_npz`); ``set_states`` reads it, or MXNet's pickled
``.states`` through a restricted unpickler (:mod:`mxlite.serialization.safe_pickle`).  Both
decoders rebuild only the types of exact-name tables -- :data:`STATE_TYPES`, the registered
optimizers and lr schedulers, NDArrays, containers and numbers -- and bound what a file may cost.
"""

from __future__ import annotations

from ..base import MXNetError
from ..context import Context
from ..ndarray import NDArray
from ..serialization import state_npz
from ..serialization import states as states_codec
from .optimizer import FusedOptimizer, Optimizer, check_arrays

__all__ = ["STATE_TYPES", "Updater", "get_updater"]

#: NamedTuple state classes by name, so that loaded states keep their field names
STATE_TYPES: dict[str, type] = {}


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
        if (not isinstance(index, (list, tuple, bytes)) and isinstance(weight, NDArray)
                and self.states_synced.get(index) and isinstance(opt, FusedOptimizer)):
            # per-index form with an existing state: no list machinery (same bookkeeping)
            opt._set_current_context(weight.context.device_id)
            if opt._updater_call_one(index, weight, grad, self.states[index]):
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
        opt = self.optimizer
        fused = isinstance(opt, FusedOptimizer)
        if not fused:  # built-ins check every pair themselves
            for w, g in zip(weights, grads, strict=True):
                check_arrays(w, g)
        if weights and isinstance(weights[0], NDArray):
            opt._set_current_context(weights[0].context.device_id)
        states = self.states
        for i, idx in enumerate(indices):
            if isinstance(idx, bytes):
                idx = indices[i] = idx.decode()
            if idx not in states:
                if fused:
                    check_arrays(weights[i], grads[i])
                states[idx] = opt.create_state_multi_precision(idx, weights[i])
                self.states_synced[idx] = True
            elif not self.states_synced[idx]:
                states[idx] = self.sync_state_context(states[idx], weights[i].context)
                self.states_synced[idx] = True
        if fused:
            members_all = list(zip(indices, weights, grads, strict=True))
            if opt.aggregate_num > 0:  # MXNet groups by dtype, then aggregates
                groups: dict = {}
                for m in members_all:
                    groups.setdefault(m[1]._data.dtype, []).append(m)
                parts = list(groups.values())
            elif len({w._data.dtype for w in weights}) <= 1:
                parts = [members_all]
            else:  # mixed dtypes: index by index, in order, as MXNet
                parts = [[m] for m in members_all]
            for members in parts:
                idx = [c[0] for c in members]
                ws = [c[1] for c in members]
                gs = [c[2] for c in members]
                if opt._updater_call(idx, ws, gs, [states[i] for i in idx]):
                    continue
                self._mxnet_way(idx, ws, gs)
            return
        self._mxnet_way(indices, weights, grads)

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


def get_updater(optimizer: Optimizer) -> Updater:
    """An :class:`Updater` for ``optimizer`` (MXNet's closure for the kvstore)."""
    return Updater(optimizer)
