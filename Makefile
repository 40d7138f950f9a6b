# vibn-mail: the two commands that matter are `make demo` and `make test` (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
APT_PACKAGES := $(shell grep -v '^\#' .ci/apt-packages.txt)
# 2 cores, 40-minute budget: the e2e tier shares one session sandbox; nothing here runs in parallel.
PYTEST_ARGS ?=

.PHONY: help deps apt venv lint typecheck unit dns e2e pytest test demo demo-down clean

help:
	@echo "make demo   - boot a sandbox host, deploy the whole stack to it, show what runs where"
	@echo "make test   - install everything, then ruff, mypy and the whole pytest suite"
	@echo "make deps   - only install apt packages and the Python environment"

# Debian packages the tools and tests need (listed in .ci/apt-packages.txt); installs only what is missing.
apt:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "apt: installing $$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -q && apt-get install -y -q --no-install-recommends $$missing; \
	fi

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

venv: $(VENV)/.installed

deps: apt venv

lint: deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: deps
	$(BIN)/mypy

unit: deps
	$(BIN)/pytest -m "not e2e and not dns" $(PYTEST_ARGS)

dns: deps
	$(BIN)/pytest -m dns $(PYTEST_ARGS)

e2e: deps
	$(BIN)/pytest -m e2e $(PYTEST_ARGS)

pytest: deps
	$(BIN)/pytest $(PYTEST_ARGS)

test: deps lint typecheck pytest

demo: deps
	$(BIN)/vibn-mail sandbox demo

demo-down: deps
	$(BIN)/vibn-mail sandbox down --name demo

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
