# seqsal: every target builds what it needs from nothing.
#   make demo   - create .venv, install seqsal, run the main job on data/demo
#   make test   - install test dependencies and run the test suite
#   make lint   - ruff format --check + ruff check + the import contracts (lint-imports)
#   make typecheck - mypy on the packages listed in pyproject.toml ([tool.mypy] files)
#   make docs   - the documentation site (Sphinx, warnings are errors) in docs/_build/html
#   make bench  - run the benchmarks in benchmarks/ (prints one JSON line each)
#   make test-hpc - start a single-node SLURM cluster and run the demo workflow through it
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The constraints file keeps torch to the CPU build on this machine's disk (DESIGN.md 5).
PIP := $(BIN)/python -m pip install -q -c .ci/constraints.txt
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: all venv dev demo test test-hpc lint typecheck docs format bench clean
# Root installs Debian packages directly; anyone else through sudo.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

all: test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed-base: pyproject.toml .ci/constraints.txt | $(BIN)/python
	$(PIP) torch==2.13.0
	$(PIP) -e '.[hpc]'
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed-base
	$(PIP) -e '.[dev,hpc]'
	touch $@

$(VENV)/.installed-docs: $(VENV)/.installed-dev
	$(PIP) -e '.[dev,hpc,docs]'
	touch $@

# Headless Chromium renders the HTML report in tests (Debian package chromium).
$(VENV)/.installed-chromium: | $(BIN)/python
	command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	touch $@

venv: $(VENV)/.installed-base
dev: $(VENV)/.installed-dev

demo: $(VENV)/.installed-base
	$(BIN)/seqsal run --cores 2

test: $(VENV)/.installed-dev $(VENV)/.installed-chromium
	$(BIN)/python -m pytest -q

test-hpc: $(VENV)/.installed-dev
	bash .ci/test-hpc.sh

lint: $(VENV)/.installed-dev
	$(BIN)/ruff format --check seqsal tests benchmarks
	$(BIN)/ruff check seqsal tests benchmarks
	$(BIN)/lint-imports --no-cache

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

# The API pages under docs/api are generated afresh, so a module that moved leaves no stale page.
docs: $(VENV)/.installed-docs
	rm -rf docs/api docs/_build/html
	$(BIN)/python -m sphinx -W --keep-going -q -b html docs docs/_build/html
	@echo "docs/_build/html/index.html"

format: $(VENV)/.installed-dev
	$(BIN)/ruff format seqsal tests benchmarks
	$(BIN)/ruff check --fix seqsal tests benchmarks

bench: $(VENV)/.installed-dev
	@for script in benchmarks/*.py; do echo "# $$script" >&2; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache results docs/_build docs/api
