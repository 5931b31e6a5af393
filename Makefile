# The live cohort dashboard. `make run` serves it, `make test` checks it. `make help` lists all.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
HOST ?= 127.0.0.1
SIMULATE ?= 1
STAMP := $(VENV)/.installed
# axe-core for the browser tests' accessibility check: pinned, in the git-ignored node_modules.
AXE_VERSION := 4.14.1
AXE := node_modules/axe-core/axe.min.js

.DEFAULT_GOAL := help
.PHONY: help install run serve migrate seed test test-py test-js test-e2e screenshots chaos lint types format bench image clean graphql-schema

help: ## List the targets
	@grep -E '^[a-zA-Z0-9_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[1m%-10s\033[0m %s\n", $$1, $$2}'

$(STAMP): pyproject.toml setup.py realtime/_sendmany.c
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) ## Create .venv and install the pinned dependencies

migrate: install ## Apply database migrations
	$(BIN)/python manage.py migrate --noinput

seed: migrate ## Create the demo data (idempotent)
	$(BIN)/python manage.py seed_demo

run: seed ## Serve the live dashboard on $(HOST):$(PORT) (SIMULATE=0 to stop the simulator)
	@echo ""
	@echo "  Live cohort dashboard: http://$(HOST):$(PORT)/"
	@echo "  Demo logins (password = user name): admin (staff), mentor, mentor2, learner"
	@echo "  API docs: http://$(HOST):$(PORT)/api/docs/"
	@echo ""
	SIMULATE=$(SIMULATE) $(BIN)/python -m dashboard.serve --host $(HOST) --port $(PORT)

test: install lint types test-py test-js test-e2e ## Lint, type-check and run every test

test-py: install ## Run the Python test suite
	$(BIN)/pytest -q

test-js: ## Run the frontend's pure modules under node --test (no npm packages)
	node --test frontend/tests/

$(AXE):
	npm install --no-save --no-package-lock axe-core@$(AXE_VERSION)

test-e2e: install $(AXE) ## Run the real-browser tests (Playwright + Debian chromium, axe-core) in their own pytest run
	$(BIN)/pytest -q -m e2e tests/e2e

screenshots: install $(AXE) ## Refresh docs/screenshots/ from the real page (Playwright + chromium)
	UPDATE_SCREENSHOTS=1 $(BIN)/pytest -q -m e2e tests/e2e -k "screenshots or zz_server_restart"

chaos: install ## The full fault-injection suite (200 clients, 1,000 writes, 10,000 hostile frames)
	CHAOS_CLIENTS=200 CHAOS_WRITES=1000 CHAOS_RATE=20 HOSTILE_FRAMES=10000 \
		STORM_CONNECTIONS=3000 STORM_ROUNDS=5 \
		CHAOS_REPORT=$${CHAOS_REPORT:-/tmp/chaos-report.json} SCHEMATHESIS_MAX_TIME=120 \
		$(BIN)/pytest -q -s tests/reliability tests/blackbox/test_schemathesis.py

lint: install ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install ## Format the code with ruff
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

types: install ## mypy with django-stubs and djangorestframework-stubs
	$(BIN)/mypy dashboard realtime

image: ## Build the image with podman as CI does (.ci/image; IMAGE=name:tag, default cohort-dashboard:ci)
	.ci/image build

graphql-schema: install ## Write the GraphQL schema to schema.graphql (a test fails when it drifts)
	$(BIN)/python manage.py graphql_schema

clean: ## Remove the virtualenv, the SQLite database and collected static files
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* staticfiles node_modules
