"""The examples in the docstrings of the training-loop modules run as written."""

from __future__ import annotations

import doctest
import importlib
import warnings

import pytest

MODULES = ["mxlite.io", "mxlite.metric", "mxlite.kvstore", "mxlite.callback",
           "mxlite.module.module"]


@pytest.mark.parametrize("name", MODULES, ids=MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
