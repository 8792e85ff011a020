# make test : install everything into .venv and node_modules, start Azurite and the ARM simulator, run all tests
# make demo : the same set-up, then drive the seed's example build end to end and show its progress
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

.PHONY: setup test lint demo clean

setup: $(PY_STAMP) $(NODE_STAMP)

$(PY_STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

lint: $(PY_STAMP)
	$(PY) -m ruff check .

# Tests start (and always stop) their own Azurite and simulator on free ports: see tests/conftest.py.
test: setup lint
	$(PY) -m pytest

demo: setup
	$(PY) -m devstack.demo

clean:
	rm -rf $(VENV) node_modules .pytest_cache .ruff_cache .hypothesis .run
