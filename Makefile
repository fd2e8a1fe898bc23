# Two commands on a fresh machine with Python 3.11 and make: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP_VERSION := 26.3
INSTALLED := $(VENV)/.installed

.PHONY: install run test test-fast compose-test lint format fuzz bench lock clean catalogs

install: $(INSTALLED)

# Every dependency comes from setup.cfg, pinned by constraints.txt, so installs a month apart match.
$(INSTALLED): setup.cfg constraints.txt
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check pip==$(PIP_VERSION)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

# `make run PROFILE=small`: fewer processes for a small machine (docs/operations.md, "Processes and profiles").
PROFILE ?= default
run: install ## the whole system on embedded PostgreSQL and Redis (or the servers you configure)
	$(BIN)/python -m devstack.run --profile $(PROFILE)

test: install ## the whole suite against real PostgreSQL, Redis and a Celery worker
	$(BIN)/python -m pytest

compose-test: ## compose.yml built, booted and used through nginx (needs root: installs Docker)
	deploy/ci/compose-test.sh

# The unit and integration tiers: no process of the system is started (tests/conftest.py).
test-fast: install ## what needs no worker, relay or gunicorn: under a minute
	$(BIN)/python -m pytest -m "unit or integration" --numprocesses auto --dist worksteal

FUZZ_MAX_EXAMPLES ?= 300
fuzz: install ## schemathesis against both live services, FUZZ_MAX_EXAMPLES cases per operation
	FUZZ_MAX_EXAMPLES=$(FUZZ_MAX_EXAMPLES) $(BIN)/python -m pytest tests/budgeting/test_fuzz.py

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install ## the system against bare baselines, same run, same servers (bench/README.md)
	$(BIN)/python -m bench

# Re-resolve the pins from setup.cfg (deliberately, then review and commit constraints.txt).
lock:
	rm -rf .venv-lock
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet pip==$(PIP_VERSION)
	.venv-lock/bin/python -m pip install --quiet '.[dev]'
	.venv-lock/bin/python -m pip freeze --exclude-editable | grep -v '^budget-services' > constraints.txt
	rm -rf .venv-lock

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info

# Re-extract the texts people read (babel.cfg) and bring the Russian catalog up to date; then
# translate what `tests/test_i18n.py` names as missing.
catalogs: install
	$(BIN)/pybabel extract -F babel.cfg --no-location --sort-output --omit-header -o service_kit/locale/messages.pot api_app notify_app service_kit
	$(BIN)/pybabel update -i service_kit/locale/messages.pot -d service_kit/locale -D messages --no-fuzzy-matching --ignore-obsolete -w 100
