"""``gluon.Trainer``: applies an optimizer to a set of Parameters, as MXNet 1.9.1.

``step(batch_size)`` is ``allreduce_grads()`` then ``update(batch_size)``: gradients are scaled by
``rescale_grad / batch_size`` and every parameter with a fresh gradient is handed to the
Updater in one list call, so fused optimizers run one multi-tensor kernel per group.

KVStore rules (MXNet 1.9.1's ``Trainer._init_kvstore`` and ``model._create_kvstore``):

* ``'device'``/``'local'`` with one context means no KVStore, ``None`` means none; a KVStore
  instance is used as given; a distributed type (``'dist_sync'``, ``'dist_async'``,
  ``'dist_device_sync'``, in a job started by ``mxlite launch``) always makes one, even on one
  context.
* With a KVStore, updates run on it (``update_on_kvstore``: the optimizer goes to the store with
  ``set_optimizer`` and, on a dist store, runs on the servers) unless ``update_on_kvstore=False``
  or the environment variable ``MXNET_UPDATE_ON_KVSTORE=0``; ``dist_async`` always updates on the
  store and refuses ``update_on_kvstore=False`` (:class:`~mxlite.base.MXNetError`, also a
  ``ValueError`` as MXNet raises).
* The parameters are broadcast from the store at the first step (rank 0's values on a dist
  store); as in MXNet the first gradients are those of each worker's own initial weights, so
  seed the workers alike.
* ``step(batch_size)`` scales by ``1 / batch_size`` and, as MXNet's Trainer (unlike its
  Module), does not multiply by the number of workers: a dist store sums the workers'
  gradients, so pass the combined batch ``batch_size * kv.num_workers`` to train on the mean
  gradient of the combined batch.  With ``update_on_kvstore`` on a dist store the scale travels
  to the servers once, at the first step; a later step with another batch size raises
  ``UserWarning``, as MXNet.
* All keys travel in one list call per step (``pushpull(keys, grads, out=...)``), so a step is
  one round trip per server.
* ``save_states``/``load_states`` with ``update_on_kvstore`` go through the store: on a dist
  store the servers' states are gathered into one file (the local format) and split back on
  load (MXNet 1.9.1 refuses to save or load states of a distributed store).
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import optimizer as opt
from ..base import MXNetError, atomic_write
from ..ndarray import _record
from .parameter import Parameter, ParameterDict

__all__ = ["Trainer"]


class TrainerConfigError(MXNetError, ValueError):
    """A kvstore/``update_on_kvstore`` combination MXNet refuses (MXNet raises ValueError)."""


class Trainer:
    """Updates ``params`` with ``optimizer`` (a name with ``optimizer_params``, or an
    Optimizer).  Parameters given as a dict are indexed in the order of their sorted names, as
    MXNet (so optimizer-state files are interchangeable).

    >>> import mxlite as mx
    >>> from mxlite import gluon
    >>> net = gluon.nn.Dense(1, in_units=2)
    >>> net.initialize(mx.init.One())
    >>> trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1})
    >>> with mx.autograd.record():
    ...     loss = net(mx.nd.ones((4, 2))).sum()
    >>> loss.backward()
    >>> trainer.step(4)
    >>> net.weight.data().asnumpy().tolist()
    [[0.8999999761581421, 0.8999999761581421]]
    """

    def __init__(self, params, optimizer, optimizer_params=None, kvstore="device",
                 compression_params=None, update_on_kvstore=None):
        if isinstance(params, (dict, ParameterDict)):
            params = [params[k] for k in sorted(params.keys())]  # MXNet's indices: by name
        if not isinstance(params, (list, tuple)):
            raise ValueError(f"First argument must be a list or dict of Parameters, got "
                             f"{type(params)}.")
        self._params: list[Parameter] = []
        self._param2idx: dict[int, int] = {}
        for i, param in enumerate(params):
            if not isinstance(param, Parameter):
                raise ValueError(f"First argument must be a list or dict of Parameters, got "
                                 f"list of {type(param)}.")
            if id(param) in self._param2idx:
                raise ValueError(f"Parameter {param.name} is duplicated")
            self._param2idx[id(param)] = i
            self._params.append(param)
            param._set_trainer(self)
        self._contains_sparse_weight = any(p._stype != "default" for p in self._params)
        self._contains_sparse_grad = any(p._grad_stype != "default" for p in self._params)
        self._params_to_init: list[Parameter] = []  # set up on the kvstore at a later step
        self._compression_params = compression_params
        self._init_optimizer(optimizer, optimizer_params or {})
        self._scale = self._optimizer.rescale_grad
        self._kvstore_params = {"kvstore": kvstore, "update_on_kvstore": update_on_kvstore}
        self._kv_initialized = False
        self._kvstore = None
        self._update_on_kvstore = None
        self._distributed = False
        self._plan: list | None = None  # see _update_plan
        self._plan_keys: list = []

    def _init_optimizer(self, optimizer, optimizer_params):
        param_dict = dict(enumerate(self._params))
        if isinstance(optimizer, opt.Optimizer):
            if optimizer_params:
                raise ValueError("optimizer_params must be None if optimizer is an instance of "
                                 "Optimizer instead of str")
            self._optimizer = optimizer
            self._optimizer.param_dict = param_dict
        elif isinstance(optimizer, str):
            self._optimizer = opt.create(optimizer, param_dict=param_dict, **optimizer_params)
        else:
            raise TypeError(f"optimizer must be an Optimizer or a registered name, got "
                            f"{optimizer!r}")
        self._updaters = [opt.get_updater(self._optimizer)]

    def _contexts(self):
        ctxs = []
        for p in self._params:
            for c in p.list_ctx():
                if c not in ctxs:
                    ctxs.append(c)
        return ctxs or [None]

    def _init_kvstore(self):
        from ..module.module import _create_kvstore

        config = self._kvstore_params
        self._ctx_list = self._contexts()
        n_dev = len(self._ctx_list)
        ready = [p._data is not None for p in self._params]  # the rest: at a later step
        arg_arrays = {i: _arrays(p)[0] for i, p in enumerate(self._params) if ready[i]}
        if self._contains_sparse_weight:
            kv, update_on_kvstore = self._sparse_kvstore(config)
        else:
            kv, update_on_kvstore = _create_kvstore(config["kvstore"], n_dev, arg_arrays)
        if self._contains_sparse_grad and not self._contains_sparse_weight and \
                config["update_on_kvstore"] is None:
            # sparse gradients of dense weights: updates run here unless the store is remote
            update_on_kvstore = kv is not None and "dist" in kv.type
        self._distributed = kv is not None and "dist" in kv.type
        if self._distributed and "async" in kv.type:
            update_on_kvstore = True
            if config["update_on_kvstore"] is False:
                raise TrainerConfigError(
                    f"Trainer: kvstore {kv.type!r} with update_on_kvstore=False: please set "
                    "update_on_kvstore=True when training in async mode (each push is applied "
                    "by the servers as it arrives)")
        if kv is not None and config["update_on_kvstore"] is not None:
            update_on_kvstore = bool(config["update_on_kvstore"])
        if kv is not None and update_on_kvstore and not kv.is_capable(kv.OPTIMIZER):
            if config["update_on_kvstore"]:
                raise TrainerConfigError(
                    f"Trainer: update_on_kvstore=True, but the kvstore {kv!r} cannot run an "
                    "optimizer: please set update_on_kvstore=False")
            update_on_kvstore = False
        while len(self._updaters) < n_dev:  # one Updater (one set of states) per context
            self._updaters.append(opt.get_updater(self._optimizer))
        if kv is not None:
            if self._compression_params:
                kv.set_gradient_compression(self._compression_params)
            if update_on_kvstore:
                kv.set_optimizer(self._optimizer)
            self._kvstore = kv
            self._kv_init_keys([i for i, r in enumerate(ready) if r])
            self._kvstore = kv
            self._update_on_kvstore = bool(update_on_kvstore)
        else:
            self._kvstore = None
            self._update_on_kvstore = None
        self._kv_initialized = True
        self._params_to_init = [p for p, r in zip(self._params, ready, strict=True) if not r]

    def _kv_init_keys(self, keys) -> None:
        """Put the parameters ``keys`` on the kvstore: dense ones broadcast (rank 0's values
        reach every context and worker), row_sparse ones stored (rows are pulled by
        ``row_sparse_data``)."""
        kv = self._kvstore
        dense = [i for i in keys if self._params[i]._stype == "default"]
        sparse = [i for i in keys if self._params[i]._stype != "default"]
        if dense:  # one call for all keys
            kv.broadcast(dense, [_arrays(self._params[i])[0] for i in dense],
                         out=[_arrays(self._params[i]) for i in dense])
        if sparse:
            kv.init(sparse, [_arrays(self._params[i])[0] for i in sparse])

    def _init_params(self) -> None:
        """Set up the parameters whose deferred initialization finished since the kvstore
        was made."""
        if not self._params_to_init:
            return
        done = [p for p in self._params_to_init if p._data is not None]
        self._params_to_init = [p for p in self._params_to_init if p._data is None]
        if self._kvstore is not None and done:
            self._kv_init_keys([self._param2idx[id(p)] for p in done])

    def _sparse_kvstore(self, config):
        """MXNet 1.9.1's rule for row_sparse weights: always a kvstore (even on one context),
        always updating on it."""
        from .. import kvstore as kvs

        name = config["kvstore"]
        if config["update_on_kvstore"] is False:
            raise TrainerConfigError("Cannot set update_on_kvstore=False when sparse weights "
                                     "are present (row_sparse Parameters are read from the "
                                     "kvstore).")
        if isinstance(name, kvs.KVStore):
            kv = name
        elif isinstance(name, str):
            kv = kvs.create(name)
        else:
            raise TypeError(f"kvstore: a row_sparse Parameter needs a KVStore or the name of "
                            f"one, got {name!r}")
        if not kv.is_capable(kv.OPTIMIZER):
            raise TrainerConfigError(f"kvstore {kv!r} cannot run an optimizer, which row_sparse "
                                     "Parameters need")
        return kv, True

    def _row_sparse_pull(self, parameter, out, row_id, full_idx=False):
        """Pull the rows ``row_id`` of ``parameter``'s weight from the kvstore into ``out``
        (a row_sparse array or a list of them, one ``row_id`` for all).  ``full_idx``: the
        caller asks for every row (kept for MXNet's signature; the pull is the same)."""
        if not self._kv_initialized:
            self._init_kvstore()
        idx = self._param2idx[id(parameter)]
        self._kvstore.row_sparse_pull(idx, out=out, row_ids=row_id, priority=-idx)

    def _reset_kvstore(self) -> None:
        """Drop the kvstore (its weights and optimizer states): a parameter was given new
        values, and the next step sets up a new one from them (MXNet 1.9.1's rule)."""
        if self._kvstore is not None and "dist" in self._kvstore.type:
            raise RuntimeError("Cannot reset distributed KVStore.")
        self._kv_initialized = False
        self._kvstore = None
        self._distributed = False
        self._update_on_kvstore = None

    @property
    def learning_rate(self) -> float:
        return self._optimizer.learning_rate

    @property
    def optimizer(self):
        return self._optimizer

    def set_learning_rate(self, lr) -> None:
        """Set the optimizer's learning rate (an error when it follows an lr_scheduler).

        With ``update_on_kvstore`` on a dist store the servers keep the optimizer they were
        sent, so the new rate does not reach them (as in MXNet, which says nothing): a
        ``UserWarning`` says so; use an ``lr_scheduler``, which travels with the optimizer."""
        self._optimizer.set_learning_rate(lr)
        if self._update_on_kvstore and self._distributed and self._kv_initialized and \
                self._kvstore._updater is None:
            warnings.warn(
                f"Trainer.set_learning_rate({lr}): the optimizer runs on the servers of the "
                f"{self._kvstore.type!r} kvstore, which keep the learning rate they were sent; "
                "use an lr_scheduler instead", UserWarning, stacklevel=2)

    def _check_and_rescale_grad(self, scale):
        if self._update_on_kvstore and self._distributed and self._kv_initialized and \
                self._optimizer.rescale_grad != scale:
            raise UserWarning(
                "Possible change in the `batch_size` from previous `step` detected: the "
                f"gradient scale would change from {self._optimizer.rescale_grad} to {scale}, "
                "but the optimizer on the servers of a distributed kvstore keeps the scale of "
                "the first step when update_on_kvstore=True")
        self._optimizer.rescale_grad = scale

    def step(self, batch_size, ignore_stale_grad=False):
        """One update: gradients scaled by ``1 / batch_size``, reduced, applied.

        A parameter whose gradient was not written by a backward since the last step raises
        UserWarning, unless ``ignore_stale_grad`` (then it is skipped).
        """
        self._check_and_rescale_grad(self._scale / batch_size)
        if not self._kv_initialized:
            self._init_kvstore()
        self._allreduce_grads()
        self._update(ignore_stale_grad)

    def allreduce_grads(self):
        """Reduce the gradients over contexts/workers (without updating); pair with
        :meth:`update`.  Not available when the KVStore does the updates."""
        if not self._kv_initialized:
            self._init_kvstore()
        if self._kvstore is not None and self._update_on_kvstore:
            raise AssertionError("allreduce_grads() when parameters are updated on kvstore is "
                                 "not supported. Try setting `update_on_kvstore` to False when "
                                 "creating trainer.")
        self._allreduce_grads()

    def _allreduce_grads(self):
        self._init_params()
        if self._kvstore is None:
            return
        keys, grads, datas = [], [], []
        for i, param in enumerate(self._params):
            if param.grad_req == "null":
                continue
            keys.append(i)
            grads.append(param.list_grad())
            datas.append(_arrays(param))
        if not keys:
            return
        # all keys in one call: one round trip per server on a dist store
        if self._update_on_kvstore:
            dense = [j for j, k in enumerate(keys) if self._params[k]._stype == "default"]
            sparse = [j for j, k in enumerate(keys) if self._params[k]._stype != "default"]
            if dense:
                self._kvstore.pushpull([keys[j] for j in dense], [grads[j] for j in dense],
                                       out=[datas[j] for j in dense], priority=-keys[0])
            if sparse:  # updated on the store; read back by row_sparse_data
                self._kvstore.push([keys[j] for j in sparse], [grads[j] for j in sparse],
                                   priority=-keys[0])
        else:
            dense = [j for j, g in enumerate(grads) if g[0].stype == "default"]
            sparse = [j for j, g in enumerate(grads) if g[0].stype != "default"]
            if dense:
                self._kvstore.pushpull([keys[j] for j in dense], [grads[j] for j in dense],
                                       priority=-keys[0])
            if sparse:  # row_sparse gradients: the reduced sum comes back into each of them
                ks, gs = [keys[j] for j in sparse], [grads[j] for j in sparse]
                self._kvstore.push(ks, gs, priority=-keys[0])
                if self._distributed:
                    self._kvstore.pull(ks, gs, priority=-keys[0])
                else:
                    self._kvstore.pull(ks, gs, priority=-keys[0], ignore_sparse=False)

    def update(self, batch_size, ignore_stale_grad=False):
        """Apply the optimizer to the (already reduced) gradients, scaled by
        ``1 / batch_size``."""
        if not self._kv_initialized:
            self._init_kvstore()
        if self._kvstore is not None and self._update_on_kvstore:
            raise AssertionError("update() when parameters are updated on kvstore is not "
                                 "supported. Try setting `update_on_kvstore` to False when "
                                 "creating trainer.")
        self._check_and_rescale_grad(self._scale / batch_size)
        self._update(ignore_stale_grad)

    def _update_plan(self) -> list:
        """``(index, parameter, data arrays, gradient arrays)`` of the parameters with a
        gradient, built once and kept while no parameter's arrays or ``grad_req`` change (so
        a step does not re-collect them)."""
        plan = self._plan
        if plan is not None:
            for (_, p, _d, _g), (lst, glst, req) in zip(plan, self._plan_keys,
                                                               strict=True):
                if p._data is not lst or p._grad is not glst or p._grad_req != req:
                    plan = None
                    break
            if plan is not None:
                return plan
        plan, keys = [], []
        for i, param in enumerate(self._params):
            if param.grad_req == "null":
                continue
            plan.append((i, param, _arrays(param), param.list_grad()))
            keys.append((param._data, param._grad, param._grad_req))
        self._plan, self._plan_keys = plan, keys
        return plan

    def _update(self, ignore_stale_grad=False):
        var = _record.Var
        on_kvstore = self._kvstore is not None and self._update_on_kvstore
        # per updater (context): parameter indices, gradients, weights
        groups: list = [([], [], []) for _ in self._updaters]
        for i, param, datas, grads in self._update_plan():
            fresh = False
            for d in datas:
                e = d._ag
                if e.__class__ is var and e.fresh:
                    fresh = True
                    break
            if not fresh:
                if not ignore_stale_grad:
                    ctx = param.list_ctx()[0]
                    raise UserWarning(
                        f"Gradient of Parameter `{param.name}` on context {ctx} has not been "
                        "updated by backward since last `step`. This could mean a bug in your "
                        "model that made it only use a subset of the Parameters (Blocks) for "
                        "this iteration. If you are intentionally only using a subset, call "
                        "step with ignore_stale_grad=True to suppress this warning and skip "
                        "updating of Parameters with stale gradient")
                continue
            for d in datas:  # consumed by this step
                e = d._ag
                if e.__class__ is var:
                    e.fresh = False
            if on_kvstore:
                continue  # the weights came back in _allreduce_grads
            for (idx, gs, ws), w, g in zip(groups, datas, grads, strict=False):
                idx.append(i)
                gs.append(g)
                ws.append(w)
        for updater, (idx, gs, ws) in zip(self._updaters, groups, strict=True):
            if idx:
                updater(idx, gs, ws)

    def save_states(self, fname):
        """Write the optimizer states (the Updater's safe format) to ``fname``."""
        if not self._kv_initialized:
            self._init_kvstore()
        if self._kvstore is not None and self._update_on_kvstore:
            self._kvstore.save_optimizer_states(fname, dump_optimizer=True)
            return
        atomic_write(fname, self._updaters[0].get_states(dump_optimizer=True))

    def load_states(self, fname):
        """Read optimizer states written by :meth:`save_states` (or MXNet's pickled states,
        through the restricted unpickler)."""
        if not self._kv_initialized:
            self._init_kvstore()
        if self._kvstore is not None and self._update_on_kvstore:
            self._kvstore.load_optimizer_states(fname)
            updater = self._kvstore._updater
            if updater is None:
                # a dist store: the states went to its servers; the optimizer saved with them
                # (its counts and schedule) becomes this trainer's, as on a local store
                updater = opt.get_updater(self._optimizer)
                with open(fname, "rb") as f:
                    updater.set_states(f.read())
            self._optimizer = updater.optimizer
        else:
            with open(fname, "rb") as f:
                states = f.read()
            for updater in self._updaters:
                updater.set_states(states)
                updater.optimizer = self._updaters[0].optimizer
            self._optimizer = self._updaters[0].optimizer
            self._check_states(fname, self._updaters[0].states)
        self._optimizer.param_dict = dict(enumerate(self._params))

    def _check_states(self, fname, states):
        """A states file saved for other parameters must not reach the kernels."""
        from ..ndarray import NDArray

        def leaves(x):
            if isinstance(x, NDArray):
                yield x
            elif isinstance(x, (list, tuple)):
                for v in x:
                    yield from leaves(v)

        for i, state in states.items():
            if not isinstance(i, int) or not 0 <= i < len(self._params):
                raise ValueError(f"load_states: {fname!r} has a state for index {i!r}, the "
                                 f"trainer has {len(self._params)} parameters")
            shape = self._params[i].shape
            for arr in leaves(state):
                if arr.ndim != len(shape) or arr.shape[0] != shape[0] or \
                        arr.size > int(np.prod(shape)):
                    raise ValueError(
                        f"load_states: the state of parameter {self._params[i].name!r} (index "
                        f"{i}) in {fname!r} has shape {arr.shape}, the parameter has shape "
                        f"{shape}; the file was saved for other parameters")


def _arrays(param: Parameter) -> list:
    """A parameter's arrays on every context, whatever its storage type."""
    return param._check_and_get(param._data, list)
