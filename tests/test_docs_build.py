"""The documentation's generated pages: module coverage and the Markdown-to-reST conversion.

The full site is built by ``make docs`` (HTML with warnings as errors, then every example as a
doctest); these checks are the fast part that needs no Sphinx.
"""

from __future__ import annotations

import ast
import importlib
import pathlib
import sys

import pytest

import mxlite

DOCS = pathlib.Path(__file__).resolve().parents[1] / "docs"
sys.path.insert(0, str(DOCS / "_ext"))
mxlite_docs = importlib.import_module("mxlite_docs")

# namespaces reached through `mx.<name>` that are not API pages of their own
# (contrib: its submodules are)
NOT_PAGES = {"kernels", "cli", "symbol.name", "symbol.attribute", "contrib"}


def _api_modules() -> list[tuple[str, str]]:
    tree = ast.parse((DOCS / "conf.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == \
                "mxlite_api_modules":
            return ast.literal_eval(node.value)
    raise AssertionError("docs/conf.py has no mxlite_api_modules list")


def test_every_public_namespace_has_an_api_page():
    documented = {name for name, _ in _api_modules()}
    public = {f"mxlite.{mod}" for mod in mxlite._LAZY.values() if mod not in NOT_PAGES}
    public |= {"mxlite.ndarray", "mxlite.random", "mxlite.context", "mxlite.base"}
    assert sorted(public - documented) == []


@pytest.mark.parametrize("modname", [name for name, _ in _api_modules()])
def test_api_page_lists_the_module_exports(modname):
    page = mxlite_docs.api_page(modname, "title")
    classes, functions = mxlite_docs.public_members(modname)
    assert classes or functions
    for name in classes:
        assert f".. autoclass:: {name}\n" in page
    for name in functions:
        assert f".. autofunction:: {name}\n" in page


def test_public_members_skip_modules_and_foreign_objects(monkeypatch):
    import types

    import numpy as np

    fake = types.ModuleType("mxlite._fake_for_docs")

    def helper():
        """Made here."""

    class Thing:
        """Made here too."""

    helper.__module__ = Thing.__module__ = fake.__name__
    fake.__all__ = ["np", "total", "helper", "Thing", "VERSION"]
    fake.np, fake.total, fake.helper, fake.Thing, fake.VERSION = np, np.sum, helper, Thing, "1"
    monkeypatch.setitem(sys.modules, fake.__name__, fake)
    assert mxlite_docs.public_members(fake.__name__) == (["Thing"], ["helper"])
    classes, functions = mxlite_docs.public_members("mxlite.optimizer")
    assert "contrib" not in classes + functions     # a submodule, with a page of its own
    assert "Adam" in classes and "create" in functions


INLINE = [
    ("code", "a `x_y*` b", "a ``x_y*`` b"),
    ("code-touching-letters", "x`a`s", "x\\ ``a``\\ s"),
    ("escapes", "a*b_c |d|", "a\\*b\\_c \\|d\\|"),
    ("bold", "**new** thing", "**new** thing"),
    ("web-link", "[MXNet](https://mxnet.apache.org)", "`MXNet <https://mxnet.apache.org>`__"),
    ("repo-link", "see [the changelog](CHANGELOG.md)", "see the changelog"),
]


@pytest.mark.parametrize(("md", "rst"), [i[1:] for i in INLINE], ids=[i[0] for i in INLINE])
def test_md_inline(md, rst):
    assert mxlite_docs.md_inline(md) == rst


def test_md_to_rst_lists_tables_headings():
    md = ("# Title\n\nSome `code`\ncontinued.\n\n- one\n  more\n- two\n\n"
          "| a | b |\n|---|---|\n| 1 | `x` |\n")
    rst = mxlite_docs.md_to_rst(md)
    assert "Title\n=====\n" in rst
    assert "Some ``code`` continued.\n" in rst
    assert "- one more\n- two\n\n" in rst
    assert ".. list-table::\n   :header-rows: 1" in rst
    assert "   * - a\n     - b\n   * - 1\n     - ``x``\n" in rst


def test_md_sections_takes_the_differences_of_every_release():
    md = ("# Changelog\n\n## Unreleased\n\n### Gluon\n\n- new\n\n### Differences from MXNet\n\n"
          "- a\n\n## 0.1.0\n\n### Differences from MXNet 1.9.1\n\n- b\n")
    out = mxlite_docs.md_sections(md, r"differ")
    assert "- a" in out and "- b" in out and "- new" not in out
    assert "### Differences from MXNet — Unreleased" in out
