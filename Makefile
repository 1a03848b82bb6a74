# kbportal: two commands. `make run` serves the portal with demo data on :3000,
# `make test` runs the whole suite. Both set up what they need and are idempotent.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
BUN_VERSION := 1.4.5
PORT ?= 3000
export PATH := $(CURDIR)/.tools/bin:$(CURDIR)/$(BIN):$(PATH)
export REFLEX_DIR := $(CURDIR)/.tools/reflex
export BUN_INSTALL_CACHE_DIR := $(CURDIR)/.tools/bun-cache
export REFLEX_CHECK_LATEST_VERSION := 0
export REFLEX_TELEMETRY_ENABLED := 0
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup system system-run run test demo clean-data help

help:
	@echo "make run    set up, load demo data, serve http://localhost:$(PORT)"
	@echo "make test   set up and run the whole test suite"

setup: $(VENV)/.installed .tools/bin/bun

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	# argos-translate-lt's wheel installs its own test suite as a top-level `tests` package,
	# which shadows this project's tests/ (imports like `tests.browser.pages`): drop it.
	rm -rf $(VENV)/lib/python3*/site-packages/tests
	touch $@

.tools/bin/bun:
	mkdir -p .tools
	npm install -g --prefix .tools bun@$(BUN_VERSION) --allow-scripts=bun --no-audit --no-fund --loglevel=error

system-run:
	./scripts/system-packages.sh run

system:
	./scripts/system-packages.sh test

demo: setup system-run
	$(BIN)/kbportal seed --demo
	$(BIN)/kbportal init

run: demo
	$(BIN)/kbportal run --port $(PORT)

test: setup system
	$(BIN)/python -m pytest -p no:cacheprovider

clean-data:
	rm -rf data
