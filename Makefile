# The two commands a newcomer needs: `make run` and `make test`. See README.md.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
# The second test pass runs on these servers (standard local ports).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/helpdesk
TEST_REDIS_URL ?= redis://127.0.0.1:6379/9

.PHONY: run test lint test-embedded test-production bench chromium axe

$(PY):
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) is required"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.run-installed: requirements.txt | $(PY)
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(PY)
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $(VENV)/.run-installed $@

## run: install, migrate, load demo data, serve HTTP and websockets on http://127.0.0.1:8000
run: $(VENV)/.run-installed
	$(PY) manage.py migrate --noinput -v0
	$(PY) manage.py collectstatic --noinput -v0
	$(PY) manage.py demo_setup
	@echo "Serving the helpdesk on http://127.0.0.1:8000 (Ctrl-C stops it)"
	$(BIN)/daphne -b 127.0.0.1 -p 8000 helpdesk.asgi:application

## chromium: the browser the browser tests drive (Debian's package; browsers cannot be downloaded here)
chromium:
	@command -v chromium >/dev/null || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium >/dev/null; fi; }

## axe: axe-core from the npm registry, which the accessibility tests load into each page (node and npm needed)
AXE_VERSION := 4.14.1
AXE_JS := build/node_modules/axe-core/axe.min.js
# The pin is recorded beside the package, so a new pin installs again.
AXE_STAMP := build/node_modules/.axe-core-$(AXE_VERSION)
axe: $(AXE_JS)
$(AXE_JS): $(AXE_STAMP)
$(AXE_STAMP):
	@command -v npm >/dev/null || { echo "npm is required for the accessibility tests (Debian: apt-get install npm)"; exit 1; }
	mkdir -p build
	npm install --prefix build --no-save --no-audit --no-fund --loglevel=error axe-core@$(AXE_VERSION)
	rm -f build/node_modules/.axe-core-*
	touch $@

## test: lint, then the whole suite twice: embedded default, then PostgreSQL + Redis + a Celery worker
test: $(VENV)/.dev-installed chromium $(AXE_JS) lint test-embedded test-production

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy .

test-embedded: $(VENV)/.dev-installed chromium $(AXE_JS)
	@echo "== Test pass 1: embedded default (SQLite, in-memory channel layer, eager Celery)"
	env -u DATABASE_URL -u REDIS_URL -u CELERY_BROKER_URL $(BIN)/pytest -m "not production_stack" $(PYTEST_ARGS)

test-production: $(VENV)/.dev-installed chromium $(AXE_JS)
	@if ! $(PY) tests/services_up.py "$(TEST_DATABASE_URL)" "$(TEST_REDIS_URL)"; then \
	  if [ "$${CI:-}" = "true" ] || [ "$${HELPDESK_REQUIRE_SERVICES:-}" = "1" ]; then \
	    echo "PostgreSQL or Redis is not reachable, and this run requires them (CI)"; exit 1; fi; \
	  echo "!! Test pass 2 NOT RUN: PostgreSQL or Redis is not reachable (see README: Running the tests)"; \
	  exit 0; fi; \
	echo "== Test pass 2: production stack (PostgreSQL, Redis channel layer and broker, a real Celery worker)"; \
	DATABASE_URL="$(TEST_DATABASE_URL)" REDIS_URL="$(TEST_REDIS_URL)" $(BIN)/pytest $(PYTEST_ARGS)

## bench: the benchmarks under bench/ (they print figures)
bench: $(VENV)/.dev-installed
	$(PY) bench/ingest.py
	$(PY) bench/business_time.py
	$(PY) bench/escalation_tick.py
