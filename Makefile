# Entraide: `make run` to try it, `make test` to check it.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export FLASK_APP := coop:create_app

.PHONY: run install test test-sqlite test-citus messages translations bench audit axe clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

translations: $(VENV)/.installed
	$(BIN)/pybabel compile --use-fuzzy -d coop/translations

install: $(VENV)/.installed translations

## Serve on http://127.0.0.1:5000 with SQLite in instance/ (DATABASE_URL for PostgreSQL).
run: install
	$(BIN)/flask db upgrade
	$(BIN)/flask coop demo --if-empty
	$(BIN)/flask run --host 127.0.0.1 --port 5000

## The whole suite: SQLite always; PostgreSQL when TEST_DATABASE_URL is set or a local server can be started;
## then the Citus lane (test-citus).
test: install
	@url="$${TEST_DATABASE_URL:-$$(bash .ci/pg-setup 2>/dev/null)}"; \
	if [ -n "$$url" ]; then echo "PostgreSQL for the tests: $$url"; else echo "No PostgreSQL server: its tests will be skipped (or fail under CI=true)."; fi; \
	TEST_DATABASE_URL="$$url" $(BIN)/pytest --ignore=tests/citus $(PYTEST_ARGS)
	@$(MAKE) --no-print-directory test-citus

## The Citus lane: the service tests, the club keys and the commands on a Citus coordinator with two workers
## (CITUS_DATABASE_URL, else `.ci/citus-setup`, as root, builds Citus into Debian's PostgreSQL 15 and starts them).
CITUS_TESTS := tests/citus tests/services tests/test_club_keys.py tests/test_cli.py tests/web/test_one_node.py
test-citus: install
	@url="$${CITUS_DATABASE_URL:-$$(bash .ci/citus-setup 2>/dev/null)}"; \
	if [ -n "$$url" ]; then echo "Citus for the tests: $$url"; else echo "No Citus cluster: its tests will be skipped (or fail under CI=true)."; fi; \
	TEST_BACKENDS=citus CITUS_DATABASE_URL="$$url" $(BIN)/pytest $(CITUS_TESTS) $(PYTEST_ARGS)

## axe-core (npm) for the accessibility tests; without it they skip (and fail under CI=true).
axe:
	npm install --no-save --no-audit --no-fund --prefix tests/e2e/node axe-core@4.10

## Security checks: bandit on the code, pip-audit on the installed packages.
audit: install
	$(BIN)/pip install --quiet bandit pip-audit
	$(BIN)/bandit -q -r coop
	$(BIN)/pip-audit --progress-spinner off

## SQLite only, quick.
test-sqlite: install
	TEST_DATABASE_URL= $(BIN)/pytest -k "not postgresql" $(PYTEST_ARGS)

## Refresh the message catalogue after changing user-facing text.
messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_ngettext:1,2 -o coop/translations/messages.pot .
	$(BIN)/pybabel update -i coop/translations/messages.pot -d coop/translations --no-fuzzy-matching --ignore-obsolete

## Benchmarks (docs/bench.md): SQLite, PostgreSQL and Citus as for the tests; wrk from Debian.
## BENCH_ARGS=--quick for a reduced size.
bench: install
	@command -v wrk >/dev/null || [ "$$(id -u)" != 0 ] || apt-get install -y -q wrk >/dev/null || true
	@url="$${BENCH_DATABASE_URL:-$${TEST_DATABASE_URL:-$$(bash .ci/pg-setup 2>/dev/null)}}"; \
	citus="$${CITUS_BENCH_URL:-$${CITUS_DATABASE_URL:-$$(bash .ci/citus-setup 2>/dev/null)}}"; \
	BENCH_DATABASE_URL="$$url" CITUS_BENCH_URL="$$citus" $(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
