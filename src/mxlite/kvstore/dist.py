"""MXNet's distributed KVStores (``dist_sync``, ``dist_async``, ``dist_device_sync``) on Ray.

The pieces:

* **servers** are Ray actors (:class:`~mxlite.kvstore.server.KVServer`), each holding a shard of
  the keys.  A key whose array has fewer than ``MXNET_KVSTORE_BIGARRAY_BOUND`` elements (default
  1,000,000) lives on one server (``(key_id * 9973) % num_servers``, MXNet's placement); a bigger
  one is cut into ``num_servers`` contiguous pieces of its flattened values, one per server.
* **workers** are the user's processes; ``mx.kv.create('dist_sync')`` in each one returns a
  :class:`DistKVStore` connected to the servers of its job.  ``mxlite launch`` (see
  :mod:`mxlite.kvstore.launch`) starts the servers and the workers and tells each worker its
  job through environment variables (``MXLITE_KV_ADDRESS``, ``MXLITE_KV_NAMESPACE``,
  ``MXLITE_KV_JOB``, ``MXLITE_KV_RANK``, ``DMLC_NUM_WORKER``, ``DMLC_NUM_SERVER``).

The modes, as MXNet 1.9.1 runs them:

* ``dist_sync`` (and ``dist``): a server sums the pushes of one key from all workers, then
  applies the optimizer sent by :meth:`DistKVStore.set_optimizer` once to the sum (or, with no
  optimizer, stores the sum).  A push returns when its round is complete, so a pull that follows
  sees the updated value.
* ``dist_async``: a server applies each push as it arrives (the optimizer with that worker's
  gradient, or the value itself).
* ``dist_device_sync`` / ``dist_sync_device``: the servers only add up the workers' pushes
  (an allreduce through the servers); every worker keeps its own copy of the weights and applies
  the optimizer locally to the sum, so all copies stay equal.

The optimizer travels as safe state bytes (:func:`optimizer_spec`; ``Optimizer.dumps()`` JSON is
accepted too) and the
optimizer states as the updater's safe state bytes, never as a pickle.  Every call that waits on a
server gives up after ``MXLITE_KVSTORE_TIMEOUT`` seconds (default 600) with
:class:`~mxlite.base.MXNetError`; a dead server raises MXNetError at once.
"""

from __future__ import annotations

import os
import zlib

import numpy as np

from ..base import MXNetError, atomic_write
from ..ndarray import NDArray
from . import compression as _compression
from .local import KVStore, _pairs
from .server import KVServer, optimizer_from_spec, optimizer_spec

__all__ = [
    "DIST_TYPES", "DistKVStore", "KVServer", "connect_from_env", "server_name", "start_servers",
]

from . import DIST_TYPES

# MXNet's server command ids (KVStoreServerCommand)
CMD_CONTROLLER, CMD_MULTI_PRECISION, CMD_STOP, CMD_SYNC_MODE, CMD_COMPRESSION = 0, 1, 2, 3, 4
CMD_PROFILER = 5

DEFAULT_TIMEOUT = 600.0
DEFAULT_BIGARRAY_BOUND = 1000 * 1000


def server_name(job: str, index: int) -> str:
    """The Ray actor name of server ``index`` of ``job``."""
    return f"mxlite-{job}-server-{index}"


def _env_int(name, default, minimum=0):
    text = os.environ.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"environment variable {name}={text!r}: expected an integer") from None
    if value < minimum:
        raise ValueError(f"environment variable {name}={value}: expected at least {minimum}")
    return value


def timeout_from_env() -> float:
    """``MXLITE_KVSTORE_TIMEOUT`` in seconds (default 600)."""
    text = os.environ.get("MXLITE_KVSTORE_TIMEOUT", "")
    if not text:
        return DEFAULT_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise ValueError(f"MXLITE_KVSTORE_TIMEOUT={text!r}: expected a positive number of seconds")
    return value


def mode_of(kv_type: str) -> str:
    """The servers' mode for a store type: ``'sync'``, ``'async'`` or ``'reduce'``."""
    if "_async" in kv_type:
        return "async"
    return "reduce" if "device" in kv_type else "sync"


# ---------------------------------------------------------------------------------------- ray
def _ray():
    try:
        import ray
    except ImportError:
        raise ImportError(
            "the distributed kvstores need Ray: pip install 'mxlite[dist]'"
        ) from None
    return ray


def loopback_environment() -> None:
    """Make a Ray instance started on this machine listen on the loopback address only.

    Ray reads ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER`` when it is imported: with it off, every Ray
    process of this machine binds 127.0.0.1 instead of the network interface's address.  Call
    this before the first ``import ray`` (the worker processes inherit the setting); a job that
    joins a cluster (``--address``) must not."""
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")


def _server_runtime_env():
    """Make the servers import the mxlite this process runs: its directory goes first on their
    PYTHONPATH unless it is there already (a runtime env costs seconds at the first start)."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    path = os.environ.get("PYTHONPATH", "")
    if root in [os.path.abspath(p) for p in path.split(os.pathsep) if p]:
        return None
    return {"env_vars": {"PYTHONPATH": os.pathsep.join(p for p in (root, path) if p)}}


def start_servers(job: str, num_servers: int, num_workers: int, namespace: str | None = None):
    """Create the ``num_servers`` server actors of ``job`` (Ray must be initialized); returns
    their handles once all answer."""
    ray = _ray()
    if num_servers < 1:
        raise ValueError(f"num_servers must be at least 1, got {num_servers}")
    actor = ray.remote(KVServer)
    handles = [
        actor.options(name=server_name(job, i), namespace=namespace, num_cpus=0,
                      max_concurrency=1000, max_restarts=0,
                      runtime_env=_server_runtime_env()).remote(i, num_workers)
        for i in range(num_servers)
    ]
    ray.get([h.ping.remote() for h in handles], timeout=timeout_from_env())
    return handles


def _translate(err, what: str):
    """An MXNetError for a Ray failure of ``what``."""
    ray = _ray()
    exc = ray.exceptions
    if isinstance(err, exc.GetTimeoutError):
        return MXNetError(
            f"kvstore {what}: no answer from the servers within the time-out "
            "(MXLITE_KVSTORE_TIMEOUT); a worker or a server may have died"
        )
    if isinstance(err, exc.RayTaskError):
        cause = getattr(err, "cause", None)
        if isinstance(cause, MXNetError):
            return MXNetError(f"kvstore {what}: {cause}")
        if isinstance(cause, exc.RayActorError):
            err = cause
        else:
            return MXNetError(f"kvstore {what}: a server failed: {cause or err}")
    if isinstance(err, (exc.RayActorError, getattr(exc, "ActorUnavailableError", ()))):
        return MXNetError(f"kvstore {what}: a kvstore server died ({type(err).__name__})")
    return MXNetError(f"kvstore {what}: {type(err).__name__}: {err}")


# ---------------------------------------------------------------------------------------- worker
class DistKVStore(KVStore):
    """A worker's view of a distributed store (``mx.kv.create('dist_sync')`` in a launched job).

    ``rank`` is this worker's index, ``num_workers`` the number of workers; int and string keys
    and lists of keys work as in the local store.  See the module documentation for the modes.
    """

    def __init__(self, kv_type: str, *, servers, rank: int, num_workers: int,
                 timeout: float = DEFAULT_TIMEOUT, bigarray_bound: int = DEFAULT_BIGARRAY_BOUND):
        if kv_type not in DIST_TYPES:
            raise ValueError(f"kv_type must be one of {', '.join(DIST_TYPES)}, got {kv_type!r}")
        if not 0 <= rank < num_workers:
            raise ValueError(f"rank must be in 0..{num_workers - 1}, got {rank}")
        super().__init__(kv_type)
        self._servers = list(servers)
        self._rank = rank
        self._num_workers = num_workers
        self._timeout = timeout
        self._bound = bigarray_bound
        self._mode = mode_of(kv_type)
        self._shapes: dict = {}       # key -> (shape, dtype)
        self._ids: dict = {}          # key -> int used for placement
        self._pending: dict = {}      # key -> refs of pushes not yet waited for
        self._compression = None
        self._residuals: dict = {}
        self._server_spec = None
        self._watch: list = []
        self._get([s.hello.remote(rank, self._mode) for s in self._servers], "create")
        # resolved when a server stops or dies: every call checks them, so that the loss of any
        # server fails the next call, whichever servers that call needs
        self._watch = [s.wait_stopped.remote() for s in self._servers]

    # -------------------------------------------------------------- properties
    @property
    def rank(self) -> int:
        return self._rank

    @property
    def num_workers(self) -> int:
        return self._num_workers

    @property
    def num_servers(self) -> int:
        return len(self._servers)

    # -------------------------------------------------------------- plumbing
    def _check_servers(self, what):
        """MXNetError if a server has stopped or died."""
        if not self._watch:
            return
        ray = _ray()
        ready, _ = ray.wait(self._watch, num_returns=1, timeout=0)
        if not ready:
            return
        index = self._watch.index(ready[0])
        try:
            ray.get(ready[0], timeout=self._timeout)
        except Exception as err:
            if isinstance(err, (KeyboardInterrupt, SystemExit)):
                raise
            raise MXNetError(
                f"kvstore {what}: kvstore server {index} died ({type(err).__name__})"
            ) from None
        raise MXNetError(f"kvstore {what}: kvstore server {index} was stopped")

    def _get(self, refs, what):
        ray = _ray()
        self._check_servers(what)
        try:
            return ray.get(refs, timeout=self._timeout)
        except MXNetError:
            raise
        except Exception as err:
            if isinstance(err, (KeyboardInterrupt, SystemExit)):
                raise
            raise _translate(err, what) from err

    def _parts(self, key):
        """``[(server, skey, slice or None), ...]`` of ``key``."""
        shape, _ = self._shapes[key]
        size = int(np.prod(shape, dtype=np.int64))
        n = len(self._servers)
        if size < self._bound or n == 1:
            return [((self._ids[key] * 9973) % n, (key, 0), None)]
        bounds = [round(size * i / n) for i in range(n + 1)]
        return [(i, (key, i), slice(bounds[i], bounds[i + 1])) for i in range(n)]

    def _known(self, key, what):
        if key not in self._shapes:
            raise MXNetError(f"{what}: key {key!r} has not been initialized in the kvstore")
        return self._shapes[key]

    def _wait(self, keys, what):
        refs = []
        for k in keys:
            refs.extend(self._pending.pop(k, ()))
        if refs:
            self._get(list(dict.fromkeys(refs)), what)

    def _assemble(self, key, pieces):
        shape, dtype = self._shapes[key]
        if len(pieces) == 1:
            return np.asarray(pieces[0], dtype=dtype).reshape(shape)
        return np.concatenate([np.asarray(p).reshape(-1) for p in pieces]).astype(
            dtype, copy=False).reshape(shape)

    def _payload(self, key, part, values):
        if self._compression is None:
            return ("raw", values)
        res = self._residuals.get((key, part))
        if res is None:
            res = self._residuals[(key, part)] = np.zeros(values.size, dtype=values.dtype)
        packed = self._compression.quantize(values, res)
        return ("2bit", packed, values.size, self._compression.threshold, values.dtype.str)

    def _send(self, pairs, reply, what):
        """Push ``[(key, merged numpy array)]``; returns ``(refs by server, order)``."""
        by_server: dict = {}
        for key, merged in pairs:
            for server, skey, sl in self._parts(key):
                values = merged if sl is None else merged.reshape(-1)[sl]
                by_server.setdefault(server, []).append(
                    (skey, self._payload(key, skey[1], values)))
        refs = {s: self._servers[s].push.remote(self._rank, items, reply)
                for s, items in by_server.items()}
        return refs, by_server

    def _merge(self, op, key, vals):
        shape, _ = self._known(key, op)
        for v in vals:
            if v.shape != shape:
                raise ValueError(
                    f"{op}: value of shape {v.shape} for key {key!r} stored with shape {shape}")
        merged = np.array(vals[0]._data, copy=True)
        for v in vals[1:]:
            merged += v._data
        return merged

    def _collect(self, results, by_server, keys):
        """``{key: assembled array}`` from the per-server answers of a push or pull."""
        pieces: dict = {}
        for server, items in by_server.items():
            for (skey, *_), arr in zip(items, results[server], strict=True):
                pieces.setdefault(skey[0], {})[skey[1]] = arr
        return {k: self._assemble(k, [pieces[k][p] for p in sorted(pieces[k])]) for k in keys}

    # -------------------------------------------------------------- data
    def init(self, key, value):
        """Initialize keys (a collective: every worker calls it; rank 0's values are stored)."""
        pairs = _pairs(key, value, "init")
        for k, vals in pairs:
            if len(vals) != 1:
                raise ValueError(f"init: key {k!r} needs one value, got {len(vals)}")
            self._check_kind(k)
            if k in self._shapes:
                raise MXNetError(f"duplicate init of key {k!r}")
        for k, vals in pairs:
            self._shapes[k] = (vals[0].shape, vals[0]._data.dtype)
            self._ids[k] = k if isinstance(k, int) else zlib.crc32(k.encode("utf-8"))
        if self._rank == 0:
            by_server: dict = {}
            for k, vals in pairs:
                data = vals[0]._data
                for server, skey, sl in self._parts(k):
                    piece = data if sl is None else data.reshape(-1)[sl]
                    by_server.setdefault(server, []).append((skey, piece))
            self._get([self._servers[s].init.remote(items) for s, items in by_server.items()],
                      "init")
        self._barrier()
        if self._mode == "reduce":  # every worker keeps its copy of the weights
            fetched = self._fetch([k for k, _ in pairs], "init")
            for k, _ in pairs:
                self._store[k] = NDArray(np.array(fetched[k], copy=True))

    def _fetch(self, keys, what):
        by_server: dict = {}
        for k in keys:
            for server, skey, _ in self._parts(k):
                by_server.setdefault(server, []).append((skey,))
        servers = list(by_server)
        answers = self._get(
            [self._servers[s].pull.remote([it[0] for it in by_server[s]]) for s in servers], what)
        return self._collect(dict(zip(servers, answers, strict=True)), by_server, keys)

    def push(self, key, value, priority=0):
        """Push the sum of each key's values (see the module doc for what the servers do)."""
        pairs = [(k, self._merge("push", k, vals)) for k, vals in _pairs(key, value, "push")]
        keys = [k for k, _ in pairs]
        self._wait(keys, "push")
        if self._mode == "reduce":
            self._reduce_and_update(pairs, "push")
            return
        refs, by_server = self._send(pairs, "none", "push")
        for server, items in by_server.items():
            for skey, _payload in items:
                self._pending.setdefault(skey[0], []).append(refs[server])

    def _reduce_and_update(self, pairs, what):
        refs, by_server = self._send(pairs, "sum", what)
        servers = list(refs)
        answers = self._get([refs[s] for s in servers], what)
        sums = self._collect(dict(zip(servers, answers, strict=True)), by_server,
                             [k for k, _ in pairs])
        for k, total in sums.items():
            stored = self._store[k]
            if self._updater is not None:
                self._updater(k, NDArray(np.array(total, copy=True)), stored)
            else:
                stored._data[...] = total

    def pull(self, key, out=None, priority=0, ignore_sparse=True):
        """Copy the current value of each key into ``out``."""
        if out is None:
            raise ValueError("pull: out must be given (an NDArray or a list of NDArrays)")
        pairs = _pairs(key, out, "pull")
        for k, outs in pairs:
            shape, _ = self._known(k, "pull")
            for o in outs:
                if o.shape != shape:
                    raise ValueError(
                        f"pull: out of shape {o.shape} for key {k!r} stored with shape {shape}")
        if self._mode == "reduce":
            super().pull(key, out, priority, ignore_sparse)
            return
        keys = [k for k, _ in pairs]
        self._wait(keys, "pull")
        values = self._fetch(list(dict.fromkeys(keys)), "pull")
        for k, outs in pairs:
            for o in outs:
                o._data[...] = values[k]

    def pushpull(self, key, value, out=None, priority=0):
        """Push then pull in one round trip per server (``out`` defaults to ``value``)."""
        if self._mode == "reduce":
            self.push(key, value, priority)
            self.pull(key, value if out is None else out, priority)
            return
        out = value if out is None else out
        outs = _pairs(key, out, "pushpull")
        pairs = [(k, self._merge("pushpull", k, vals))
                 for k, vals in _pairs(key, value, "pushpull")]
        if [k for k, _ in pairs] != [k for k, _ in outs]:
            raise ValueError("pushpull: value and out must name the same keys")
        for k, os_ in outs:
            for o in os_:
                if o.shape != self._shapes[k][0]:
                    raise ValueError(f"pushpull: out of shape {o.shape} for key {k!r} stored "
                                     f"with shape {self._shapes[k][0]}")
        keys = [k for k, _ in pairs]
        self._wait(keys, "pushpull")
        refs, by_server = self._send(pairs, "value", "pushpull")
        servers = list(refs)
        answers = self._get([refs[s] for s in servers], "pushpull")
        values = self._collect(dict(zip(servers, answers, strict=True)), by_server, keys)
        for k, os_ in outs:
            for o in os_:
                o._data[...] = values[k]

    def broadcast(self, key, value, out, priority=0):
        """``init(key, value)`` (rank 0's value) then ``pull(key, out)``."""
        self.init(key, value)
        self.pull(key, out, priority)

    # -------------------------------------------------------------- control
    def _barrier(self):
        """Wait until every worker of the job has reached the barrier."""
        self._wait(list(self._pending), "barrier")
        self._get(self._servers[0].barrier.remote(self._rank), "barrier")

    def barrier(self):
        """Wait until every worker of the job has called ``barrier()``."""
        self._barrier()

    def set_optimizer(self, optimizer):
        """Send ``optimizer`` to the servers (as safe state bytes, see :func:`optimizer_spec`),
        which apply it to every update; ``dist_device_sync`` keeps it on the worker and applies
        it to the sums.  A collective: every worker calls it, rank 0's optimizer is used."""
        from .. import optimizer as opt

        if not isinstance(optimizer, opt.Optimizer):
            raise TypeError(f"optimizer must be an mx.optimizer.Optimizer, got {optimizer!r}")
        if self._mode == "reduce":
            super().set_optimizer(optimizer)
            return
        if self._rank == 0:  # rank 0's optimizer goes to the servers, as MXNet's rank 0 does
            self._send_optimizer(optimizer_spec(optimizer))
        else:
            self._server_spec = optimizer_spec(optimizer)
        self._barrier()  # nobody pushes before the servers have it
        self._optimizer = optimizer

    def _send_optimizer(self, spec):
        self._wait(list(self._pending), "set_optimizer")
        self._get([s.set_optimizer.remote(spec) for s in self._servers], "set_optimizer")
        self._server_spec = spec

    def _set_updater(self, updater):
        if self._mode != "reduce":
            raise MXNetError(
                f"a {self.type!r} store updates on its servers: use set_optimizer (an updater "
                "function cannot travel to them)"
            )
        super()._set_updater(updater)

    set_updater = _set_updater

    def send_command_to_servers(self, head, body):
        """MXNet's server commands: ``0`` sets the optimizer (``body`` an
        ``Optimizer.dumps()`` string or :func:`optimizer_spec` bytes — MXNet's pickle is
        refused), ``2`` stops the servers; ``1``
        (multi-precision), ``3`` (sync mode), ``4`` (compression) and ``5`` (profiler) are
        settled elsewhere in mxlite and are accepted without effect."""
        if isinstance(head, bool) or not isinstance(head, (int, np.integer)):
            raise TypeError(f"send_command_to_servers: head must be an int, got {head!r}")
        head = int(head)
        if head == CMD_CONTROLLER:
            if isinstance(body, bytes) and body[:2] != b"PK":
                body = body.decode("utf-8", errors="replace")
            optimizer_from_spec(body)  # refuses pickles and bad descriptions here
            self._send_optimizer(body)
        elif head == CMD_STOP:
            self._wait(list(self._pending), "stop")
            self._get([s.stop.remote() for s in self._servers], "stop")
        elif head in (CMD_MULTI_PRECISION, CMD_SYNC_MODE, CMD_COMPRESSION, CMD_PROFILER):
            return
        else:
            raise ValueError(
                f"send_command_to_servers: unknown command head {head} (MXNet's commands are "
                "0 controller, 1 multi-precision, 2 stop, 3 sync mode, 4 compression, 5 profiler)"
            )

    def set_gradient_compression(self, compression_params):
        """Compress pushes with MXNet's 2-bit scheme (``{'type': '2bit', 'threshold': t}``);
        each worker keeps the residual of every key."""
        self._compression = _compression.create(compression_params)
        self._residuals = {}

    # -------------------------------------------------------------- optimizer states
    def _spec_optimizer(self):

        if self._server_spec is None:
            raise MXNetError("no optimizer was set on this kvstore")
        return optimizer_from_spec(self._server_spec)

    def save_optimizer_states(self, fname, dump_optimizer=False):
        """Write the optimizer states of all servers to ``fname`` (the local store's format:
        the pieces of split arrays are joined)."""
        if self._mode == "reduce":
            super().save_optimizer_states(fname, dump_optimizer)
            return
        from .. import optimizer as opt

        if self._server_spec is None:
            raise MXNetError("save_optimizer_states: no optimizer was set on this kvstore")
        self._wait(list(self._pending), "save_optimizer_states")
        blobs = self._get([s.get_states.remote(dump_optimizer) for s in self._servers],
                          "save_optimizer_states")
        if len(blobs) == 1:
            atomic_write(fname, blobs[0])
            return
        merged = opt.get_updater(self._spec_optimizer())
        pieces: dict = {}
        for server, blob in enumerate(blobs):
            part = opt.get_updater(self._spec_optimizer())
            part.set_states(blob)
            if server == 0:
                merged.optimizer = part.optimizer
            else:
                _merge_counts(merged.optimizer, part.optimizer)
            for key, state in part.states.items():
                pieces.setdefault(key, {})[server] = state
        for key, by_server in pieces.items():
            if key in self._shapes and len(self._parts(key)) > 1:
                shape = self._shapes[key][0]
                merged.states[key] = _join_state([by_server[s] for s in sorted(by_server)], shape)
            else:
                (merged.states[key],) = by_server.values()
        atomic_write(fname, merged.get_states(dump_optimizer))

    def load_optimizer_states(self, fname):
        """Load states written by :meth:`save_optimizer_states` (any number of servers)."""
        if self._mode == "reduce":
            super().load_optimizer_states(fname)
            return
        from .. import optimizer as opt

        if self._server_spec is None:
            raise MXNetError("load_optimizer_states: no optimizer was set on this kvstore")
        with open(fname, "rb") as f:
            data = f.read()
        self._wait(list(self._pending), "load_optimizer_states")
        if len(self._servers) == 1:
            self._get(self._servers[0].set_states.remote(data), "load_optimizer_states")
            return
        base = self._spec_optimizer()
        whole = opt.get_updater(base)
        whole.set_states(data)
        with_opt = whole.optimizer is not base
        blobs = []
        for server in range(len(self._servers)):
            part = opt.get_updater(whole.optimizer)
            for key, state in whole.states.items():
                if key in self._shapes:
                    places = self._parts(key)
                    if len(places) > 1:
                        sl = places[server][2]
                        part.states[key] = _split_state(state, sl)
                        continue
                    if places[0][0] != server:
                        continue
                part.states[key] = state
            blobs.append(part.get_states(dump_optimizer=with_opt))
        self._get([s.set_states.remote(b) for s, b in zip(self._servers, blobs, strict=True)],
                  "load_optimizer_states")

    def __repr__(self):
        return (f"<DistKVStore {self.type} rank {self._rank} of {self._num_workers}, "
                f"{len(self._servers)} servers, {len(self._shapes)} keys>")


def _merge_counts(dst, src):
    """Fold the update counts of ``src`` (another server's copy of the optimizer, which saw
    other keys) into ``dst``: per key the larger count, and the larger ``num_update``."""
    dst.num_update = max(dst.num_update, src.num_update)
    for device, counts in getattr(src, "_all_index_update_counts", {}).items():
        mine = dst._all_index_update_counts.setdefault(device, {})
        for index, count in counts.items():
            mine[index] = max(mine.get(index, 0), count)
    dst._index_update_count = dst._all_index_update_counts[0]


def _join_state(parts, shape):
    """One state from the per-server states of a split array (NDArrays joined and reshaped)."""
    first = parts[0]
    if first is None:
        return None
    if isinstance(first, NDArray):
        flat = np.concatenate([p._data.reshape(-1) for p in parts])
        return NDArray(flat.reshape(shape), first.context)
    if isinstance(first, (tuple, list)):
        joined = [_join_state([p[i] for p in parts], shape) for i in range(len(first))]
        if hasattr(first, "_fields"):
            return type(first)(*joined)
        return type(first)(joined)
    return first


def _split_state(state, sl):
    """The piece ``sl`` (of the flattened values) of a state of a split array."""
    if state is None:
        return None
    if isinstance(state, NDArray):
        return NDArray(np.array(state._data.reshape(-1)[sl]), state.context)
    if isinstance(state, (tuple, list)):
        pieces = [_split_state(s, sl) for s in state]
        if hasattr(state, "_fields"):
            return type(state)(*pieces)
        return type(state)(pieces)
    return state


# ---------------------------------------------------------------------------------------- create
_ENV_HELP = (
    "run the script under the launcher, e.g. `mxlite launch -n 2 -- python train.py`"
)


def connect_from_env(kv_type: str) -> DistKVStore:
    """The store of this worker, from the environment ``mxlite launch`` sets."""
    address = os.environ.get("MXLITE_KV_ADDRESS")
    job = os.environ.get("MXLITE_KV_JOB")
    if not address or not job:
        raise ValueError(
            f"kvstore type {kv_type!r} needs a distributed job (MXLITE_KV_ADDRESS and "
            f"MXLITE_KV_JOB are not set): {_ENV_HELP}"
        )
    role = os.environ.get("DMLC_ROLE", "worker")
    if role != "worker":
        raise ValueError(
            f"DMLC_ROLE={role!r}: in mxlite only workers create a kvstore; "
            "`mxlite launch` starts the servers itself"
        )
    num_workers = _env_int("DMLC_NUM_WORKER", 1, minimum=1)
    num_servers = _env_int("DMLC_NUM_SERVER", 1, minimum=1)
    rank = _env_int("MXLITE_KV_RANK", _env_int("DMLC_WORKER_ID", 0))
    namespace = os.environ.get("MXLITE_KV_NAMESPACE") or None
    timeout = timeout_from_env()
    bound = _env_int("MXNET_KVSTORE_BIGARRAY_BOUND", DEFAULT_BIGARRAY_BOUND, minimum=1)
    ray = _ray()
    if not ray.is_initialized():
        loopback_environment()
        ray.init(address=address, namespace=namespace, log_to_driver=False,
                 logging_level="WARNING", configure_logging=True)
    servers = []
    for i in range(num_servers):
        try:
            servers.append(ray.get_actor(server_name(job, i), namespace=namespace))
        except ValueError:
            raise MXNetError(
                f"kvstore server {i} of job {job!r} is not running (was it stopped?)"
            ) from None
    return DistKVStore(kv_type, servers=servers, rank=rank, num_workers=num_workers,
                       timeout=timeout, bigarray_bound=bound)
