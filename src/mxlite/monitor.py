"""``mx.mon``: watch the arrays of a network while it trains (MXNet 1.9.1's ``Monitor``).

Every ``interval`` batches, between ``tic()`` and ``toc()``, the monitor records
``stat_func(array)`` for each operator output whose name matches ``pattern`` (every operator
input too with ``monitor_all``) and, at ``toc()``, for each argument array of the executors.

>>> import mxlite as mx
>>> net = mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=2, name="fc")
>>> exe = net.simple_bind(mx.cpu(), data=(1, 3))
>>> mon = mx.mon.Monitor(1, pattern="fc.*")
>>> mon.install(exe)
>>> mon.tic()
>>> _ = exe.forward()
>>> [name for _, name, _ in mon.toc()]
['fc_output', 'fc_weight', 'fc_bias']
"""

from __future__ import annotations

import logging
import math
import re

from . import ndarray as nd
from .ndarray import NDArray

__all__ = ["Monitor"]


def _default_stat(x: NDArray) -> NDArray:
    """``norm(x) / sqrt(x.size)``: the root mean square of the entries."""
    return nd.norm(x) / math.sqrt(x.size)


class Monitor:
    """Collects ``stat_func`` of matching arrays every ``interval`` batches.

    ``toc()`` returns ``[(step, name, text)]``, ``text`` being the statistic's values separated
    by tabs; ``sort=True`` orders them by name; ``toc_print()`` logs them.
    """

    def __init__(self, interval, stat_func=None, pattern=".*", sort=False, monitor_all=False):
        if not isinstance(interval, int) or isinstance(interval, bool) or interval < 1:
            raise ValueError(f"Monitor: interval must be a positive int, got {interval!r}")
        if stat_func is not None and not callable(stat_func):
            raise TypeError(f"Monitor: stat_func must be callable, got {stat_func!r}")
        self.interval = interval
        self.stat_func = stat_func or _default_stat
        self.activated = False
        self.queue: list = []
        self.step = 0
        self.exes: list = []
        self.re_prog = re.compile(pattern)
        self.sort = sort
        self.monitor_all = monitor_all

    def stat_helper(self, name, array) -> None:
        """The executor callback: record ``stat_func(array)`` while activated."""
        if not self.activated or not self.re_prog.match(name):
            return
        self.queue.append((self.step, name, self.stat_func(array)))

    def install(self, exe) -> None:
        """Watch executor ``exe`` (a Module's ``install_monitor`` calls this for its executors)."""
        exe.set_monitor_callback(self.stat_helper, self.monitor_all)
        self.exes.append(exe)

    def tic(self) -> None:
        """Start collecting if this batch is one of every ``interval``."""
        if self.step % self.interval == 0:
            self.queue = []
            self.activated = True
        self.step += 1

    def toc(self) -> list:
        """Stop collecting; add the executors' arguments; return the records."""
        if not self.activated:
            return []
        for exe in self.exes:
            for name, array in zip(exe._symbol.list_arguments(), exe.arg_arrays, strict=True):
                if self.re_prog.match(name):
                    self.queue.append((self.step, name, self.stat_func(array)))
        self.activated = False
        records = sorted(self.queue, key=lambda r: r[1]) if self.sort else self.queue
        res = []
        for step, name, values in records:
            values = [values] if isinstance(values, NDArray) else list(values)
            text = "".join(str(v.asnumpy()) + "\t" for v in values)
            res.append((step, name, text))
        self.queue = []
        return res

    def toc_print(self) -> None:
        """:meth:`toc` and log each record at INFO."""
        for step, name, text in self.toc():
            logging.info("Batch: %7d %30s %s", step, name, text)
