"""Golden graphs of MXNet 1.9.1's common-subexpression elimination at bind.

    /tmp/mxref/bin/python tools/gen_golden_cse.py

For each graph of tests/symbol/cse_graphs.py, writes to tests/golden/cse.json what
``Executor.get_optimized_symbol()`` gives with ``MXNET_ELIMINATE_COMMON_EXPR`` on (default) and
off: the node names with their inputs, the heads, the output names and the internals count.
"""

from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(ROOT, "tests", "golden", "cse.json")
sys.path.insert(0, os.path.join(ROOT, "tests", "symbol"))

import cse_graphs  # noqa: E402

from golden_json import write_json  # noqa: E402


def optimized(mx, name: str, enabled: bool) -> dict:
    os.environ["MXNET_ELIMINATE_COMMON_EXPR"] = "1" if enabled else "0"
    sym, shapes = cse_graphs.build(mx, name)
    exe = sym.simple_bind(mx.cpu(), grad_req="write", **shapes)
    record = cse_graphs.describe(exe.get_optimized_symbol())
    record["original_internals"] = len(sym.get_internals())
    return record


def main() -> None:
    import mxnet as mx

    assert mx.__version__ == "1.9.1", mx.__version__
    out = {"mxnet": mx.__version__, "graphs": {}}
    for name in cse_graphs.GRAPHS:
        out["graphs"][name] = {"on": optimized(mx, name, True), "off": optimized(mx, name, False)}
    write_json(OUT, out)


if __name__ == "__main__":
    main()
