"""First uses of lazily loaded names from several threads at once (a fresh process each time:
the loading happens once per process)."""

import subprocess
import sys
import textwrap

import pytest

RACE = textwrap.dedent("""
    import threading
    import mxlite as mx

    errors = []
    barrier = threading.Barrier(8)

    def first_use():
        barrier.wait()
        try:
            mx.sym.FullyConnected
            mx.nd.FullyConnected
            mx.nd.Convolution
            mx.nd.sgd_update
            mx.gluon.nn.Dense
        except Exception as err:
            errors.append(repr(err))

    threads = [threading.Thread(target=first_use) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(errors[:2])
    raise SystemExit(1 if errors else 0)
""")


@pytest.mark.parametrize("attempt", range(3))
def test_lazy_names_resolve_from_many_threads_at_once(attempt):
    proc = subprocess.run([sys.executable, "-c", RACE], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
