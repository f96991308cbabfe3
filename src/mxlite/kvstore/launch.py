"""``mxlite launch``: run a distributed-kvstore job (servers on Ray, workers as processes).

::

    mxlite launch -n 2 -s 1 -- python train.py --epochs 10
    mxlite launch -n 4 -s 2 --address 10.0.0.1:6379 -- python train.py

The launcher starts a Ray instance on this machine (bound to the loopback address, no dashboard,
a small object store, its own temporary directory) or joins the cluster at ``--address``; it
creates the ``-s`` kvstore servers (Ray actors, placed by Ray anywhere in the cluster) and starts
the ``-n`` worker processes here, each with its rank in the environment (``MXLITE_KV_RANK``,
``DMLC_WORKER_ID``, ``DMLC_ROLE=worker``, ``DMLC_NUM_WORKER``, ``DMLC_NUM_SERVER``, and the job's
address).  Worker output is streamed with a ``[worker R]`` prefix.

The job ends when every worker has exited; the launcher's status is 0, or the status of the
first worker that failed (128 + signal for a worker killed by a signal).  A failing worker or a
dead server stops the job at once (the other workers get SIGTERM, then SIGKILL after 5 s) with a
message naming it; Ctrl-C (SIGINT) or SIGTERM stops everything the same way (status 130 / 143).
Every Ray process the launcher started is shut down before it returns.

``DMLC_NUM_WORKER`` and ``DMLC_NUM_SERVER`` are the defaults of ``-n`` and ``-s``, as in MXNet's
launcher; ``RAY_ADDRESS`` is the default of ``--address``; ``MXLITE_RAY_OBJECT_STORE_MB`` sizes
the object store of a Ray started here (default 128; Ray spills to disk beyond it).  Workers see
``DMLC_ROLE=worker``; MXNet's scheduler and server roles have no process of their own here
(``DMLC_PS_ROOT_URI``/``DMLC_PS_ROOT_PORT`` are not used: the Ray address takes their place).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid

__all__ = ["add_parser", "launch", "main"]

_GRACE_S = 5.0


class _Stop(Exception):
    """SIGTERM, raised in the main thread."""


def _positive(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _env_default(name, fallback):
    text = os.environ.get(name)
    if text:
        try:
            return _positive(text)
        except argparse.ArgumentTypeError:
            raise SystemExit(
                f"mxlite launch: error: {name}={text!r} is not a positive integer") from None
    return fallback


def add_parser(sub) -> argparse.ArgumentParser:
    """Add the ``launch`` sub-command to an ``argparse`` sub-parsers object."""
    p = sub.add_parser(
        "launch",
        help="run a distributed kvstore job: servers on Ray, N worker processes",
        description="Start the kvstore servers (Ray actors) and NUM_WORKERS copies of COMMAND "
        "with their rank in the environment, e.g. `mxlite launch -n 2 -- python train.py`.",
    )
    p.add_argument("-n", "--num-workers", type=_positive, default=None,
                   help="number of worker processes (default: $DMLC_NUM_WORKER, else 1)")
    p.add_argument("-s", "--num-servers", type=_positive, default=None,
                   help="number of kvstore servers (default: $DMLC_NUM_SERVER, else 1)")
    p.add_argument("--address", default=None,
                   help="join the Ray cluster at this address instead of starting Ray here "
                   "(default: $RAY_ADDRESS)")
    p.add_argument("command", nargs=argparse.REMAINDER, metavar="-- COMMAND ...",
                   help="the worker command, after --")
    p.set_defaults(func=_run_cli)
    return p


def _run_cli(args: argparse.Namespace) -> int:
    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        print("mxlite launch: error: no worker command given (add `-- python script.py`)",
              file=sys.stderr)
        return 2
    num_workers = args.num_workers or _env_default("DMLC_NUM_WORKER", 1)
    num_servers = args.num_servers or _env_default("DMLC_NUM_SERVER", 1)
    address = args.address or os.environ.get("RAY_ADDRESS") or None
    try:
        return launch(command, num_workers, num_servers, address=address)
    except ImportError as err:
        print(f"mxlite launch: error: {err}", file=sys.stderr)
        return 2


def main(argv=None) -> int:
    """``python -m mxlite.kvstore.launch -n 2 -- python train.py``."""
    parser = argparse.ArgumentParser(prog="mxlite launch")
    sub = parser.add_subparsers(dest="cmd")
    add_parser(sub)
    args = parser.parse_args(["launch", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)


def _say(message: str) -> None:
    print(f"mxlite launch: {message}", file=sys.stderr, flush=True)


def _status_text(code: int) -> str:
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"was killed by {name}"
    return f"exited with status {code}"


class _Workers:
    """The worker processes and the threads that stream their output."""

    def __init__(self):
        self.procs: list[subprocess.Popen] = []
        self.threads: list[threading.Thread] = []
        self.lock = threading.Lock()

    def start(self, command, env, rank):
        proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, preexec_fn=_die_with_parent())
        self.procs.append(proc)
        t = threading.Thread(target=self._pump, args=(proc, rank), daemon=True)
        t.start()
        self.threads.append(t)

    def _pump(self, proc, rank):
        prefix = f"[worker {rank}] "
        out = sys.stdout
        for raw in iter(proc.stdout.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip("\n")
            with self.lock:
                out.write(prefix + line + "\n")
                out.flush()
        proc.stdout.close()

    def stop(self):
        """SIGTERM to every running worker's process group, SIGKILL after the grace time."""
        live = [p for p in self.procs if p.poll() is None]
        for p in live:
            _signal_group(p, signal.SIGTERM)
        deadline = time.monotonic() + _GRACE_S
        for p in live:
            try:
                p.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for p in self.procs:
            # the group may hold children of a worker that exited
            _signal_group(p, signal.SIGKILL)
            try:
                p.wait(timeout=_GRACE_S)
            except subprocess.TimeoutExpired:
                pass
        for t in self.threads:
            t.join(timeout=2.0)


def _die_with_parent():
    """On Linux, a ``preexec_fn`` that makes a worker get SIGTERM when the launcher dies (even
    by SIGKILL, which leaves no time to stop the workers); None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def set_death_signal():
        prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the launcher died before prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return set_death_signal


def _signal_group(proc, sig):
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _start_ray(address, namespace):
    """``(ray module, address for the workers, temp dir to remove or None)``."""
    from . import dist

    if not address:  # before Ray is imported: it reads the setting at import
        dist.loopback_environment()
    ray = dist._ray()
    if address:
        ray.init(address=address, namespace=namespace, logging_level="WARNING")
        return ray, address, None
    temp = tempfile.mkdtemp(prefix="mxl-ray-", dir="/tmp" if os.path.isdir("/tmp") else None)
    store_mb = int(os.environ.get("MXLITE_RAY_OBJECT_STORE_MB", "128"))
    ray.init(num_cpus=os.cpu_count() or 1, include_dashboard=False, namespace=namespace,
             object_store_memory=store_mb * 1024 * 1024, _temp_dir=temp,
             logging_level="WARNING")
    return ray, ray.get_runtime_context().gcs_address, temp


def launch(command, num_workers: int, num_servers: int = 1, *, address: str | None = None,
           env: dict | None = None) -> int:
    """Run ``command`` as ``num_workers`` workers of a job with ``num_servers`` servers; returns
    the exit status described in the module documentation."""
    from . import dist

    if num_workers < 1 or num_servers < 1:
        raise ValueError(
            f"num_workers and num_servers must be at least 1, got {num_workers}, {num_servers}")
    job = uuid.uuid4().hex[:12]
    namespace = f"mxlite-{job}"
    workers = _Workers()
    ray = temp = None
    servers = []
    previous = signal.getsignal(signal.SIGTERM)

    def on_term(signum, frame):
        raise _Stop()

    in_main = threading.current_thread() is threading.main_thread()
    if in_main:
        signal.signal(signal.SIGTERM, on_term)
    try:
        try:
            ray, ray_address, temp = _start_ray(address, namespace)
        except (ConnectionError, RuntimeError, ValueError) as err:
            where = f"join the Ray cluster at {address}" if address else "start Ray"
            _say(f"error: could not {where}: {err}")
            return 2
        servers = dist.start_servers(job, num_servers, num_workers, namespace)
        watch = {s.wait_stopped.remote(): i for i, s in enumerate(servers)}
        base = dict(os.environ if env is None else env)
        base.update({
            "MXLITE_KV_ADDRESS": ray_address, "MXLITE_KV_NAMESPACE": namespace,
            "MXLITE_KV_JOB": job, "DMLC_ROLE": "worker",
            "DMLC_NUM_WORKER": str(num_workers), "DMLC_NUM_SERVER": str(num_servers),
            "RAY_ADDRESS": ray_address, "PYTHONUNBUFFERED": "1",
        })
        if temp is not None:
            base["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = os.environ.get(
                "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
        for rank in range(num_workers):
            worker_env = dict(base, MXLITE_KV_RANK=str(rank), DMLC_WORKER_ID=str(rank))
            try:
                workers.start(command, worker_env, rank)
            except OSError as err:
                _say(f"error: cannot start worker {rank} ({command[0]!r}): {err}")
                return 127
        return _supervise(ray, workers, watch)
    except (KeyboardInterrupt, _Stop) as err:
        _say("interrupted; stopping the job")
        return 130 if isinstance(err, KeyboardInterrupt) else 143
    finally:
        workers.stop()
        if ray is not None and ray.is_initialized():
            for s in servers:
                try:
                    ray.kill(s)
                except Exception:  # already dead
                    pass
            ray.shutdown()
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)
        if in_main:
            signal.signal(signal.SIGTERM, previous)


def _supervise(ray, workers: _Workers, watch: dict) -> int:
    while True:
        running = 0
        for rank, proc in enumerate(workers.procs):
            code = proc.poll()
            if code is None:
                running += 1
            elif code != 0:
                _say(f"worker {rank} (pid {proc.pid}) {_status_text(code)}; stopping the job")
                return code if code > 0 else 128 - code
        if not running:
            return 0
        if watch:
            done, _ = ray.wait(list(watch), num_returns=1, timeout=0.2)
            for ref in done:
                index = watch.pop(ref)
                try:
                    ray.get(ref)
                except Exception as err:
                    _say(f"kvstore server {index} died ({type(err).__name__}); "
                         "stopping the job")
                    return 1
        else:
            time.sleep(0.2)


if __name__ == "__main__":
    sys.exit(main())
