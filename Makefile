# Dialstat: `make run` serves the app with demo data; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint serve clean-db translations catalogs

$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $(STAMP)

run: $(STAMP) catalogs
	$(BIN)/flask --app app db upgrade
	$(BIN)/flask --app app demo-data --if-empty
	$(BIN)/flask --app app run --host 127.0.0.1 --port 8050

# Production-style: gunicorn workers without the scheduler, and the scheduler as its own process
# (docs/administration.md). WORKERS, THREADS and BIND can be set: `make serve WORKERS=8 BIND=0.0.0.0:8050`.
# One worker per core (Python runs one thread at a time per process; set WORKERS to the cores, each worker
# holds up to THREADS PostgreSQL connections), threads for the time requests wait on PostgreSQL;
# --reuse-port gives each worker its own listening socket, so the kernel spreads connections evenly (with
# one shared socket a worker can end up holding most keep-alive connections).
WORKERS ?= 2
THREADS ?= 8
BIND ?= 127.0.0.1:8050
GUNICORN_OPTIONS := --reuse-port --timeout 120 --graceful-timeout 30

serve: $(STAMP) catalogs
	$(BIN)/flask --app app db upgrade
	SCHEDULER=off REPORT_CACHE_SECONDS=$${REPORT_CACHE_SECONDS:-5} \
	  $(BIN)/gunicorn --workers $(WORKERS) --threads $(THREADS) --bind $(BIND) $(GUNICORN_OPTIONS) \
	  'app:create_app()' & gunicorn=$$!; \
	  trap 'kill $$gunicorn 2>/dev/null' EXIT INT TERM; \
	  $(BIN)/flask --app app scheduler

# The message catalogs (translations/<language>/LC_MESSAGES/messages.po): extract every marked text
# into messages.pot and merge it into each language's catalog; then translate what is new (docs/translations.md).
translations: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k _ -k gettext -k ngettext:1,2 -k lazy_gettext \
	  --no-location --omit-header --sort-output -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching --ignore-obsolete

catalogs: $(STAMP)
	$(BIN)/pybabel -q compile -d translations

test: $(STAMP) catalogs
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
