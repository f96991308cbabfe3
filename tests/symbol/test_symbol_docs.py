"""The docstring examples of the symbolic layer run as written."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["mxlite.symbol", "mxlite.operator.custom"]


@pytest.mark.parametrize("name", MODULES, ids=MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
