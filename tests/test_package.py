"""The top-level namespace: every documented subpackage and alias resolves lazily."""

import importlib
import subprocess
import sys

import pytest

import mxlite as mx

ALIASES = [
    ("nd", "mxlite.ndarray"),
    ("ndarray", "mxlite.ndarray"),
    ("sym", "mxlite.symbol"),
    ("symbol", "mxlite.symbol"),
    ("init", "mxlite.initializer"),
    ("initializer", "mxlite.initializer"),
    ("optimizer", "mxlite.optimizer"),
    ("lr_scheduler", "mxlite.lr_scheduler"),
    ("mod", "mxlite.module"),
    ("module", "mxlite.module"),
    ("io", "mxlite.io"),
    ("metric", "mxlite.metric"),
    ("callback", "mxlite.callback"),
    ("model", "mxlite.model"),
    ("kv", "mxlite.kvstore"),
    ("kvstore", "mxlite.kvstore"),
    ("random", "mxlite.random"),
    ("executor", "mxlite.executor"),
    ("operator", "mxlite.operator"),
    ("name", "mxlite.symbol.name"),
    ("attribute", "mxlite.symbol.attribute"),
]


@pytest.mark.parametrize(("attr", "module"), ALIASES, ids=[a for a, _ in ALIASES])
def test_alias_resolves_to_module(attr, module):
    assert getattr(mx, attr) is importlib.import_module(module)
    assert attr in dir(mx)


def test_attrscope_at_top_level():
    with mx.AttrScope(ctx_group="stage1"):
        v = mx.sym.Variable("v")
    assert v.attr("ctx_group") == "stage1"


def test_unknown_attribute_names_it():
    with pytest.raises(AttributeError, match="no_such_thing"):
        mx.no_such_thing  # noqa: B018


def test_import_does_not_load_numba():
    code = "import sys, mxlite; print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
