# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
# an interpreter with mxnet==1.9.1 (numpy<1.24), only for regenerating golden fixtures
MXNET_PYTHON ?= /tmp/mxref/bin/python
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint bench bench-fit golden clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed-test: pyproject.toml Makefile | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test,plot,demo,progress]'
	touch $@

$(VENV)/.installed-demo: pyproject.toml Makefile | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[demo]'
	touch $@

demo: $(VENV)/.installed-demo
	$(BIN)/python -m mxlite demo

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests tools bench

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
	rm -rf $(VENV) build src/*.egg-info .pytest_cache
