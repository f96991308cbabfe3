"""The MXNet 1.9.1 fixture of mx.rnn (tests/golden/rnn_cells.*, tools/gen_golden_rnn_cells.py)."""

import json
import pathlib
import sys

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
GOLDEN_DIR = HERE.parent / "golden"
sys.path.insert(0, str(HERE.parents[1] / "tools"))
import gen_golden_rnn_cells as spec  # noqa: E402, F401  (re-exported to the tests)

META = json.loads((GOLDEN_DIR / "rnn_cells.json").read_text())
ARRAYS = np.load(GOLDEN_DIR / "rnn_cells.npz")


def arrays(prefix: str) -> dict:
    """The fixture arrays under ``prefix/``, keyed by the rest of their name."""
    start = prefix + "/"
    return {k[len(start):]: ARRAYS[k] for k in ARRAYS.files if k.startswith(start)}
