# Tesoro: the two set-up commands are `make demo` and `make test`; `make check` is what CI runs.
# Each creates .venv (if missing) and installs what it needs, the CPU torch wheel first.
PY ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TORCH_VERSION ?= 2.13.0
# pytest-xdist workers: one per core by default (`make test WORKERS=0` runs in one process).
# worksteal hands each worker a contiguous half of the suite (module fixtures load once per worker)
# and lets an idle worker take tests from a busy one at the end.
WORKERS ?= auto
# Bytecode is written even where the environment says PYTHONDONTWRITEBYTECODE: without it every xdist
# worker recompiles the package and pytest re-rewrites the asserts of every test module and plugin
# (hypothesis, schemathesis) on each run, and each CLI subprocess a test starts compiles what it imports.
PYTEST := PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -n $(WORKERS) --dist worksteal

.PHONY: install demo test test-all test-slow lint typecheck imports check bench-api clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==$(TORCH_VERSION)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/tesoro demo

test: $(STAMP)
	$(PYTEST) -m "not slow" $(PYTEST_ARGS)

test-all: $(STAMP)
	$(PYTEST) $(PYTEST_ARGS)

# The slow tests alone (cluster, kill -9 and training reproductions): CI runs them after `check`.
test-slow: $(STAMP)
	$(PYTEST) -m slow $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

# The import-linter contracts in pyproject.toml: layers that point down, no loops between siblings.
imports: $(STAMP)
	$(BIN)/lint-imports

# The whole gate, cheapest first, stopping at the first failure: lint, format, types, layers, tests.
check: $(STAMP)
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory typecheck
	$(MAKE) --no-print-directory imports
	$(MAKE) --no-print-directory test

bench-api: $(STAMP)
	$(BIN)/python bench/api.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
