# make demo    : install what the demo uses (.venv, node_modules), then drive the seed's example build end to
#                end and show its progress
# make test    : install everything (.venv, node_modules, .venv-package, .venv-infra), run all tests
# make package : .run/package.zip, what is deployed to Azure (the folder minus .funcignore)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
# The deployed app's requirements alone (the package test imports the package with it) and the infra
# checkers (checkov is large: kept out of the app's venv).
PACKAGE_STAMP := .venv-package/.installed
INFRA_STAMP := .venv-infra/.installed

.PHONY: setup dev test test-fast lint demo package clean

# What the app, the demo and the local stack run on; `setup` adds the package and infra checkers' venvs, which
# only the tests use (checkov alone is about 290 MB).
dev: $(PY_STAMP) $(NODE_STAMP)
setup: dev $(PACKAGE_STAMP) $(INFRA_STAMP)

$(PY_STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

$(PACKAGE_STAMP): requirements.txt
	$(PYTHON) -m venv .venv-package
	.venv-package/bin/python -m pip install --quiet -r requirements.txt
	touch $@

$(INFRA_STAMP): requirements-infra.txt
	$(PYTHON) -m venv .venv-infra
	.venv-infra/bin/python -m pip install --quiet -r requirements-infra.txt
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

lint: $(PY_STAMP)
	$(PY) -m ruff check .

# Tests start (and always stop) their own Azurite and simulator on free ports: see tests/conftest.py.
# They run on TEST_WORKERS xdist workers (most of their time is waiting on queues and replication); the
# least-privilege check then reads the ARM calls every worker recorded (ARM_CALLS_DIR) in a session of its own.
TEST_WORKERS ?= 8
ARM_CALLS_DIR := .run/arm-calls

test: setup lint
	rm -rf $(ARM_CALLS_DIR)
	ARM_CALLS_DIR=$(ARM_CALLS_DIR) $(PY) -m pytest -n $(TEST_WORKERS) -m "not after_all_tests"
	ARM_CALLS_DIR=$(ARM_CALLS_DIR) $(PY) -m pytest -m after_all_tests

# The fast lane for the edit-test loop: every test outside the live/ folders (tests/conftest.py), no Azurite, no
# simulator (checkov and the package check run: they need the setup's other venvs); under a minute on two cores.
test-fast: setup
	$(PY) -m pytest -n 2 -m "not integration and not after_all_tests"

demo: dev
	$(PY) -m devstack.demo

package: $(PY_STAMP)
	$(PY) -m devstack.package

clean:
	rm -rf $(VENV) .venv-package .venv-infra node_modules .pytest_cache .ruff_cache .hypothesis .run
