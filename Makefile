# Product Store — developer entry points. `make up` runs the store locally,
# `make test` runs lint and the whole test suite; both set up what they need.
SHELL := /bin/bash
.DEFAULT_GOAL := help

UV_VERSION := 0.13.8
PRODUCTSTORE_CACHE ?= $(HOME)/.cache/productstore
export PRODUCTSTORE_CACHE
# uv never downloads a Python: the machine's 3.11 is used.
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := 3.11
UV_DIR := $(PRODUCTSTORE_CACHE)/tools/uv-$(UV_VERSION)
UV := $(UV_DIR)/bin/uv
DEVSTACK := $(UV) run --frozen devstack

.PHONY: help setup up down status env test lint fmt bench clean-cache audit coverage

help:  ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(UV):
	python3 -m pip install --quiet --disable-pip-version-check --target $(UV_DIR) uv==$(UV_VERSION)

setup: $(UV)  ## install system packages, the Python workspace and every pinned server (idempotent)
	bash devstack/scripts/install-system-packages.sh
	$(UV) sync --frozen
	$(DEVSTACK) provision

up: setup  ## start the local stack, seed the demo catalog, print what runs where
	$(DEVSTACK) up
	$(DEVSTACK) seed

down: $(UV)  ## stop everything devstack started
	$(DEVSTACK) down

status: $(UV)  ## show components, readiness, ports and memory
	$(DEVSTACK) status

# uv lives in the cache, not on PATH: this is how a shell gets devstack, kubectl,
# helm, pytest and the connection settings without it.
env: $(UV)  ## shell exports (connection settings; PATH with devstack, kubectl, helm, pytest): eval "$(make -s env)"
	@$(DEVSTACK) env

lint: $(UV)  ## ruff, mypy --strict, import-linter
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen ruff check .
	$(UV) run --frozen mypy
	$(UV) run --frozen lint-imports

fmt: $(UV)  ## format and autofix
	$(UV) run --frozen ruff format .
	$(UV) run --frozen ruff check --fix .

# Coverage data of `make test`: one file per measured process, then the combined
# one (gitignored). pytest runs under coverage, and so does every Python process
# it starts ([tool.coverage.run] in pyproject.toml): devstack's auth, catalog and
# operator when the run starts them, which it does from a stopped stack (CI).
COVERAGE_DIR := $(CURDIR)/.coverage-data
COVERAGE := COVERAGE_FILE=$(COVERAGE_DIR)/coverage $(UV) run --frozen

test: setup lint audit  ## lint, the dependency audit, then the whole test suite under coverage against devstack's real servers, with per-package coverage floors
	rm -rf $(COVERAGE_DIR)
	$(COVERAGE) coverage run -m pytest
	$(MAKE) --no-print-directory coverage

coverage: $(UV)  ## combine the last `make test`'s coverage data, report per package, fail below tools/coverage-floors.toml
	$(COVERAGE) coverage combine --quiet --keep
	$(COVERAGE) coverage html --quiet --keep-combined --directory $(COVERAGE_DIR)/html
	$(COVERAGE) python tools/coverage_gate.py

audit: $(UV)  ## pip-audit of uv.lock's pins (skipped, saying why, where its vulnerability service is unreachable)
	$(UV) run --frozen python tools/audit_dependencies.py --uv $(UV)

bench: setup  ## benchmarks (start-up from stopped, the gateway with wrk, operator convergence, inventory reservations, catalog stock lag, reviews classified per second, e-mails per second into Mailpit, the Locust journey); JSON in bench/results/
	$(UV) run --frozen python bench/devstack_startup.py
	$(UV) run --frozen python bench/gateway_wrk.py
	$(UV) run --frozen python bench/operator_converge.py
	$(UV) run --frozen python bench/inventory_reservations.py
	$(UV) run --frozen python bench/catalog_stock_lag.py
	$(UV) run --frozen python bench/reviews_classify.py
	$(UV) run --frozen python bench/notifications_smtp.py
	$(UV) run --frozen python bench/checkout.py
	$(UV) run --frozen python bench/locust_journey.py

.PHONY: load
load: $(UV)  ## the Locust user journey against the running stack (LOAD_USERS, LOAD_SECONDS; default 20 users, 60 s); JSON, CSV and HTML in bench/results/locust-journey*
	BENCH_USERS=$(or $(LOAD_USERS),20) BENCH_SECONDS=$(or $(LOAD_SECONDS),60) $(UV) run --frozen python bench/locust_journey.py

.PHONY: generate crds chart-defaults event-schemas
generate: crds event-schemas  ## regenerate every derived file (the CRD, the charts' generated values, new event schemas) after changing a model or a descriptor

event-schemas: $(UV)  ## publish the schema of every new event type; fails on a breaking change to a published one
	$(UV) run --frozen python -m productstore_contracts.events.schemas

crds: chart-defaults  ## regenerate crds/productstore.io_productstores.yaml (and the operator chart's copy) and the chart defaults from the operator's models
	$(UV) run --frozen python -m productstore_operator.crd --output crds/productstore.io_productstores.yaml
	cp crds/productstore.io_productstores.yaml charts/productstore-operator/crds/

chart-defaults: $(UV)  ## regenerate the generated blocks of charts/productstore's values.yaml and values.schema.json from the operator's models
	$(UV) run --frozen python -m productstore_operator.chart_values --chart charts/productstore
