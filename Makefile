# The README's commands. `make demo` and `make test` are all a new user types: both set up first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help setup browser demo test bench lint typecheck unit integration clean

help: ## Show the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

setup: $(STAMP) ## Create .venv, install the project (pinned), fetch the broker's jars and promtool once
	@$(BIN)/ektp broker fetch
	@sh deploy/prometheus/install-promtool.sh .tools/bin

# Reinstalls only when the dependencies change; a second `make setup` takes seconds.
$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "ektp-pipeline needs Python 3.11+ (set PYTHON=python3.11)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

demo: setup ## Run the pipeline (what exists of it) on the project's own broker
	$(BIN)/ektp demo

# The dashboard's browser tests drive Debian's Chromium; nothing downloads a browser of its own.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser: ## Install Debian's chromium for the browser tests, once
	@command -v chromium >/dev/null 2>&1 || { echo "installing Debian's chromium (browser tests)"; \
	  $(SUDO) apt-get install -y -q chromium >/dev/null 2>&1 || \
	  { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium; }; }

test: setup browser lint typecheck ## Lint, type-check and run every test (unit, integration, e2e, browser)
	$(BIN)/pytest

BENCH_COUNT ?= 5000
bench: setup ## Throughput, latency, the raw-Kafka baseline and the drain rate on a private system (bench/results/)
	$(BIN)/ektp bench --count $(BENCH_COUNT) --json

lint: $(STAMP) ## ruff
	$(BIN)/ruff check .

typecheck: $(STAMP) ## mypy --strict
	$(BIN)/mypy pipeline events processors central_sim tests

unit: $(STAMP) ## Only the tests that need no broker
	$(BIN)/pytest tests/unit

integration: setup ## Only the tests on the real broker
	$(BIN)/pytest tests/integration

clean: ## Stop the broker and remove run state (keeps .venv and the jar cache)
	-$(BIN)/ektp broker stop
	rm -rf .ektp .pytest_cache .mypy_cache .ruff_cache
