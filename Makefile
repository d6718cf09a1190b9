# The two commands a newcomer runs: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000
DEMO_TRADES ?= 2000

.PHONY: run test setup demo lint check browser-deps clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

setup: $(STAMP)
	@mkdir -p var/broker var/broker-processed
	$(BIN)/python manage.py migrate --noinput

demo: setup
	$(BIN)/python manage.py load_demo --trades $(DEMO_TRADES)

run: demo
	@$(BIN)/python manage.py ensure_admin
	@echo ""
	@echo "  Dashboard  http://127.0.0.1:$(PORT)/"
	@echo "  Admin      http://127.0.0.1:$(PORT)/admin/"
	@echo "  API docs   http://127.0.0.1:$(PORT)/api/docs/"
	@echo "  Health     http://127.0.0.1:$(PORT)/healthz"
	@echo "  Ctrl-C stops the web server, the Celery worker and Celery beat."
	@echo ""
	PORT=$(PORT) $(BIN)/honcho start -f Procfile

# Chromium for the browser tests (Debian's package; Playwright cannot download browsers here).
browser-deps:
	@if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		(apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1 || \
		 (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1)) \
		|| echo "chromium could not be installed: browser tests will be skipped"; \
	fi

test: $(STAMP) browser-deps
	@mkdir -p var/broker var/broker-processed test-artifacts
	DJANGO_ALLOW_ASYNC_UNSAFE=true $(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python manage.py makemigrations --check --dry-run

clean:
	rm -rf var staticfiles test-artifacts
