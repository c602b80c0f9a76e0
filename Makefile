# Tributary — the two commands that matter: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY ?= $(VENV)/bin/python
export PYTHONPATH := $(CURDIR)/libs/common:$(CURDIR)/services/api:$(CURDIR)/services/worker:$(CURDIR)/services/scheduler:$(CURDIR)/tools/simulator:$(CURDIR)

.PHONY: run test lint format bench mutations coverage venv clean

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@$(PYTHON) -m venv $(VENV) || { echo "venv: cannot create $(VENV) with $(PYTHON) -m venv (Debian: apt-get install python3-venv)" >&2; exit 1; }
	$(PY) -m pip install --quiet --upgrade pip
	@$(PY) -m pip install --quiet --timeout 30 --retries 1 -r requirements-dev.txt || { echo "venv: cannot install requirements-dev.txt into $(VENV) (is PyPI reachable?)" >&2; exit 1; }
	touch $@

## Bring the whole system up locally: Redis, PostgreSQL, simulator, api, worker, scheduler.
run: venv
	$(PY) -m tools.localstack.run

## Run the test suite (starts private Redis/PostgreSQL when none is running).
test: venv
	$(PY) -m tools.localstack.prereqs
	$(PY) -m pytest -q -p no:cacheprovider

lint: venv
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

format: venv
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

## Benchmarks (minutes, not part of make test); results go to docs/benchmarks.md.
bench: venv
	$(PY) -m bench.run

## Branch coverage of each package, subprocesses included (report per package at the end).
coverage: venv
	rm -rf .run/coverage && mkdir -p .run/coverage
	$(PY) -m tools.localstack.prereqs
	-$(PY) -m coverage run -m pytest -q -p no:cacheprovider
	$(PY) -m coverage combine -q
	$(PY) -m tools.coverage_report

## Plant each known bug of tools/mutations in a copy of the tree; fail if a test misses one.
mutations: venv
	$(PY) -m tools.mutations

clean:
	rm -rf .run

-include deploy/helm/helm.mk
