# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
# an interpreter with mxnet==1.9.1 (numpy<1.24), only for regenerating golden fixtures
MXNET_PYTHON ?= /tmp/mxref/bin/python
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint docs wheel bench bench-fit golden clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed-test: pyproject.toml Makefile | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test,plot,demo,progress]'
	touch $@

$(VENV)/.installed-demo: pyproject.toml Makefile | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[demo]'
	touch $@

$(VENV)/.installed-docs: pyproject.toml Makefile | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[docs]'
	touch $@

$(VENV)/.installed-release: pyproject.toml Makefile | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[release]'
	touch $@

demo: $(VENV)/.installed-demo
	$(BIN)/python -m mxlite demo

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests tools bench

# the Sphinx site in docs/_build/html, warnings as errors; then the examples run as doctests
docs: $(VENV)/.installed-docs
	$(BIN)/python -m sphinx -q -W --keep-going -b html -d docs/_build/doctrees docs docs/_build/html
	$(BIN)/python -m sphinx -q -W --keep-going -b doctest -d docs/_build/doctrees docs docs/_build/doctest

# sdist and wheel in dist/ (the wheel is built from the sdist, so the sdist is checked too)
wheel: $(VENV)/.installed-release
	rm -rf dist
	$(BIN)/python -m build --outdir dist .

bench: $(VENV)/.installed-test
	$(BIN)/python -m pip install -q -e '.[bench]'
	$(BIN)/python bench/run.py

bench-fit: $(VENV)/.installed-test
	$(BIN)/python -m pip install -q -e '.[bench]'
	$(BIN)/python bench/fit.py --roofline --save

golden: $(VENV)/.installed-test
	for gen in tools/gen_golden_*.py; do $(MXNET_PYTHON) $$gen || exit 1; done
	$(MXNET_PYTHON) tools/gen_golden_interop.py --check-mxlite

clean:
	rm -rf $(VENV) build dist docs/_build docs/_generated docs/api/generated src/*.egg-info .pytest_cache
