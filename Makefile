# The two commands a newcomer runs: `make run` and `make test`.
# Without DATABASE_URL both run on an embedded PostgreSQL (var/pgdata), started and stopped around them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000
DEMO_TRADES ?= 2000
LAUNCH := $(BIN)/python -m backoffice.launcher

.PHONY: run test setup db db-stop lint check browser-deps clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

setup: $(STAMP)

# Migrations, demo data and the admin login, then gunicorn + Celery worker + beat (Procfile).
run: $(STAMP)
	@DEMO_TRADES=$(DEMO_TRADES) $(LAUNCH) serve --port $(PORT)

# The embedded database on its own, for manage.py commands outside `make run` (stop it with db-stop).
db: $(STAMP)
	@$(LAUNCH) db start

db-stop: $(STAMP)
	@$(LAUNCH) db stop

# Chromium for the browser tests (Debian's package; Playwright cannot download browsers here).
browser-deps:
	@if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		(apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1 || \
		 (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1)) \
		|| echo "chromium could not be installed: browser tests will be skipped"; \
	fi

test: $(STAMP) browser-deps
	@mkdir -p test-artifacts
	DJANGO_ALLOW_ASYNC_UNSAFE=true $(LAUNCH) with-db -- $(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

# ruff, migrations in step with the models, and the import contracts (layers) of pyproject.toml.
check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/lint-imports

clean: db-stop
	rm -rf var staticfiles test-artifacts
