# ML monitoring as code. `make help` lists the targets.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
BUILD_STAMP := $(VENV)/.installed-build
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help venv dashboards check test test-unit test-e2e lint demo bench clean

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-12s %s\n", $$1, $$2}'

# What building needs (the package and its dependencies), then everything else on top.
$(BUILD_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(BUILD_STAMP)

$(STAMP): $(BUILD_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,demo]'
	touch $(STAMP)

venv: $(STAMP) ## Create .venv and install the package with its dev and demo extras

dashboards: $(BUILD_STAMP) ## Compile every dashboard in dashboards/ to provisioning/dashboards/ (installs only what building needs)
	$(BIN)/grafana-sync build

check: $(BUILD_STAMP) ## Fail if the committed dashboard JSON is stale
	$(BIN)/grafana-sync build --check

test: $(STAMP) ## Run the test suite (unit, contract, integration with real Prometheus)
	$(BIN)/python -m pytest -m "not e2e"

test-e2e: $(STAMP) ## Long end-to-end runs on real binaries (multi-cluster, incident tours, serving stacks)
	$(BIN)/python -m pytest -m e2e

test-unit: $(STAMP) ## Run the fast tests only
	$(BIN)/python -m pytest -m "not integration and not e2e"

lint: $(STAMP) ## ruff + grafana-sync lint on the compiled dashboards
	$(BIN)/ruff check .
	$(BIN)/grafana-sync lint

demo: $(STAMP) ## Run Prometheus, Pushgateway, node_exporter, Alertmanager and the demo exporter on loopback
	bash scripts/demo-stack.sh

bench: $(STAMP) ## Measure build, push, query cost and ml_monitoring; appends to docs/benchmarks.md
	$(BIN)/python bench/run.py

clean: ## Remove the virtualenv and caches
	rm -rf $(VENV) .pytest_cache .ruff_cache
