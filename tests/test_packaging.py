"""Packaging: one version source, ``mxlite --version``, the metadata setuptools reads."""

from __future__ import annotations

import ast
import importlib.metadata
import pathlib
import re
import subprocess
import sys

import pytest

import mxlite as mx
from mxlite.cli import main

ROOT = pathlib.Path(__file__).resolve().parents[1]
PEP440 = re.compile(r"^\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?$")


def _pyproject() -> dict:
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_version_is_pep440():
    assert PEP440.match(mx.__version__), mx.__version__


def test_version_is_a_literal_setuptools_can_read_without_importing():
    tree = ast.parse((ROOT / "src" / "mxlite" / "__init__.py").read_text())
    values = [node.value.value for node in tree.body
              if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
              and any(getattr(t, "id", None) == "__version__" for t in node.targets)]
    assert values == [mx.__version__]


def test_pyproject_takes_the_version_from_the_package():
    data = _pyproject()
    assert "version" not in data["project"]
    assert "version" in data["project"]["dynamic"]
    assert data["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "mxlite.__version__"}


def test_installed_metadata_agrees():
    assert importlib.metadata.version("mxlite") == mx.__version__


def test_license_is_an_spdx_expression_with_its_file():
    data = _pyproject()
    assert data["project"]["license"] == "Apache-2.0"
    for name in data["project"]["license-files"]:
        assert (ROOT / name).is_file(), name
    assert any(re.fullmatch(r"setuptools>=(\d+)", r) and int(r.split(">=")[1]) >= 77
               for r in data["build-system"]["requires"])


def test_every_declared_python_version_is_supported():
    data = _pyproject()
    floor = tuple(int(p) for p in data["project"]["requires-python"].removeprefix(">=").split("."))
    for c in data["project"]["classifiers"]:
        m = re.fullmatch(r"Programming Language :: Python :: (3\.\d+)", c)
        if m:
            assert tuple(int(p) for p in m.group(1).split(".")) >= floor, c


def test_version_flag(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out == f"mxlite {mx.__version__}\n"


def test_version_flag_from_the_command_line():
    out = subprocess.run([sys.executable, "-m", "mxlite", "--version"], capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == f"mxlite {mx.__version__}"
    assert out.stderr == ""
