# Two commands on a fresh machine: `make dev` runs the product, `make test` runs the tests.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: dev demo test test-postgres test-sqlite fuzz lint schema migrations clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

dev: $(STAMP)  ## API + worker + SQLite + embedded Redis + SMTP sink on http://127.0.0.1:8000
	$(BIN)/trainhub dev $(if $(DEMO),--demo)

demo: $(STAMP)  ## same, with demo data loaded
	$(BIN)/trainhub dev --demo

test: $(STAMP)  ## whole suite on PostgreSQL + Redis, then again on SQLite + embedded Redis
	$(MAKE) test-postgres test-sqlite

test-postgres: $(STAMP)
	TRAINHUB_TEST_DB=postgres $(BIN)/pytest -q

test-sqlite: $(STAMP)
	TRAINHUB_TEST_DB=sqlite $(BIN)/pytest -q

fuzz: $(STAMP)  ## 5,000 generated GraphQL documents against a live server (CI runs 150)
	TRAINHUB_FUZZ_EXAMPLES=5000 $(BIN)/pytest -q tests/test_fuzz.py

lint: $(STAMP)  ## formatting, lint rules, types, and the layers contract (pyproject.toml)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy .
	$(BIN)/lint-imports

schema: $(STAMP)  ## refresh the committed schema.graphql
	$(BIN)/trainhub export-schema > schema.graphql

migrations: $(STAMP)  ## write migrations for model changes
	$(BIN)/tortoise -c app.db.TORTOISE_ORM makemigrations

clean:
	rm -rf $(VENV) var .pytest_cache
