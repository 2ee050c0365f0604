# Dialstat: `make run` serves the app with demo data; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint serve clean-db

$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/flask --app app db upgrade
	$(BIN)/flask --app app run --host 127.0.0.1 --port 8050

serve: $(STAMP)
	$(BIN)/flask --app app db upgrade
	SCHEDULER=off $(BIN)/gunicorn --workers 4 --threads 4 --bind 127.0.0.1:8050 'app:create_app()' & \
	  SCHEDULER=embedded $(BIN)/flask --app app scheduler

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
