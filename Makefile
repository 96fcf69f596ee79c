# Two commands on a fresh machine: `make dev` runs the product, `make test` runs the tests.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Every install takes its versions from the lock (a constraints file: it pins, it does not
# add packages), so two machines installing on different days get the same set.
LOCK := requirements.lock

.PHONY: dev demo test test-postgres test-sqlite fuzz lint schema migrations lock graphiql-assets clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

$(STAMP): pyproject.toml $(LOCK) | $(BIN)/python
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c $(LOCK) -e '.[dev,embedded]'
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

# After a change of pyproject.toml's dependencies: existing pins are kept where they still
# fit; `make lock UPGRADE=1` moves every pin to the newest allowed version.
lock: | $(BIN)/python  ## refresh requirements.lock from pyproject.toml (every extra)
	$(BIN)/pip install -q 'pip-tools>=7.4'
	$(BIN)/pip-compile -q --all-extras --strip-extras --no-emit-index-url \
		--no-emit-find-links $(if $(UPGRADE),--upgrade) -o $(LOCK) pyproject.toml

graphiql-assets: $(STAMP)  ## vendor GraphiQL's assets again (npm pack) at the versions strawberry's page pins
	$(BIN)/python -m app.graphiql

clean:
	rm -rf $(VENV) var .pytest_cache
