"""Shared loading of the gluon fixtures written by tools/gen_golden_gluon.py."""

from __future__ import annotations

import json
import pathlib

import numpy as np

import mxlite as mx

GOLDEN = pathlib.Path(__file__).parent.parent / "golden"


def load(section: str):
    meta = json.loads((GOLDEN / f"gluon_{section}.json").read_text())
    arrays = np.load(GOLDEN / f"gluon_{section}.npz")
    return meta, arrays


def build_net(source: str):
    """Run a fixture's ``build(nn)`` source with mxlite's gluon.nn in a fresh name scope."""
    scope: dict = {}
    exec(source, scope)
    with mx.name.NameManager():
        return scope["build"](mx.gluon.nn)
