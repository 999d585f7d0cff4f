# Lantian: the two commands (`make test`, `make demo`) and the steps they are made of.
# Every target installs what is missing first and is quick when nothing is.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

export PATH := $(HOME)/.local/bin:/usr/sbin:/usr/local/bin:$(PATH)
UV ?= uv
PYTEST_ARGS ?=

.PHONY: help test demo install tools system-packages lint types contracts pytest fmt

help:
	@echo "make demo    run the whole platform with a simulated city (Ctrl-C stops it)"
	@echo "make test    lint, types, import contracts, unit, integration, e2e and fault tests"
	@echo "make fmt     format and auto-fix"

# --- installing what is missing ---------------------------------------------
tools:
	@command -v $(UV) >/dev/null 2>&1 || python3 -m pip install --quiet --user uv \
		|| python3 -m pip install --quiet --break-system-packages --user uv

system-packages:
	@missing=""; \
	command -v mosquitto >/dev/null 2>&1 || missing="$$missing mosquitto"; \
	command -v influxd >/dev/null 2>&1 || missing="$$missing influxdb"; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq; \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

install: tools system-packages
	@$(UV) sync --all-packages --locked --quiet

# --- checks -------------------------------------------------------------------
lint: install
	$(UV) run --no-sync ruff check .
	$(UV) run --no-sync ruff format --check .

types: install
	$(UV) run --no-sync mypy telemetry/src standards/src store/src edge/src firmware-sim/src \
		ingest/src rules/src api/src dashboards/src devstack tests bench

contracts: install
	$(UV) run --no-sync lint-imports

pytest: install
	$(UV) run --no-sync pytest $(PYTEST_ARGS)

test: lint types contracts pytest

fmt: install
	$(UV) run --no-sync ruff format .
	$(UV) run --no-sync ruff check --fix .

# --- running ------------------------------------------------------------------
demo: install
	$(UV) run --no-sync python -m devstack.demo

