"""Golden facts about 0-d and zero-size NDArrays in MXNet 1.9.1, inside and outside np_shape.

    /tmp/mxref/bin/python tools/gen_golden_np_shape.py

writes tests/golden/np_shape_rules.json:

* ``array_shapes``: the shape ``mx.nd.array`` gives for scalars and 0-d NumPy arrays, with
  ``mx.util.np_shape`` off and on;
* ``files``: for arrays saved with np_shape off/on, the exact bytes ``mx.nd.save`` writes (hex)
  and, for loading with np_shape off/on, either the shapes ``mx.nd.load`` gives back or the
  fact that it raises ``MXNetError``.

The tests (tests/ndarray/test_np_shape_files.py) hold mxlite to every entry.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np

from golden_json import write_json

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(os.path.dirname(HERE), "tests", "golden", "np_shape_rules.json")

ZERO_SIZE = [(2, 0, 1), (0,), (0, 4), (3, 0, 0, 0), (2, 1), (0, 5, 0)]
CASES = {
    # name: (np_shape while saving, shapes); values are 0..9 from a fixed seed, as float32
    "zero_size": (False, ZERO_SIZE),
    "zero_size_np": (True, ZERO_SIZE),
    "with_0d_np": (True, [(2, 0, 1), (), (0,), (), (2, 1)]),
    "plain": (False, [(2, 3)]),
    "plain_np": (True, [(2, 3)]),
}
SCALARS = {"int": 5, "float": 2.5, "numpy_float64": np.float64(3.0), "0d_numpy": np.ones(())}


def main() -> None:
    import mxnet as mx

    assert mx.__version__ == "1.9.1", mx.__version__
    out = {"mxnet": mx.__version__, "array_shapes": {}, "files": {}}
    for name, value in SCALARS.items():
        for flag in (False, True):
            with mx.util.np_shape(flag):
                out["array_shapes"][f"{name}/{'np' if flag else 'legacy'}"] = list(
                    mx.nd.array(value).shape)
    rng = np.random.RandomState(7)
    with tempfile.TemporaryDirectory() as tmp:
        for name, (save_np, shapes) in CASES.items():
            values = [rng.randint(0, 10, size=s).astype(np.float32) for s in shapes]
            fname = os.path.join(tmp, name)
            with mx.util.np_shape(save_np):
                mx.nd.save(fname, [mx.nd.array(v) for v in values])
            with open(fname, "rb") as f:
                raw = f.read()
            entry = {"save_np_shape": save_np, "shapes": [list(s) for s in shapes],
                     "values": [v.reshape(-1).tolist() for v in values], "bytes": raw.hex(),
                     "load": {}}
            for load_np in (False, True):
                with mx.util.np_shape(load_np):
                    try:
                        loaded = mx.nd.load(fname)
                    except mx.base.MXNetError:
                        entry["load"]["np" if load_np else "legacy"] = "MXNetError"
                        continue
                    for a, v in zip(loaded, values, strict=True):
                        assert np.array_equal(a.asnumpy(), v)
                    entry["load"]["np" if load_np else "legacy"] = [list(a.shape) for a in loaded]
            out["files"][name] = entry
    write_json(OUT, out)


if __name__ == "__main__":
    main()
