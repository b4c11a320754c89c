# Sayso. `make run` serves the demo; `make test` runs every check.
SHELL := /bin/sh
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python

.PHONY: run test lint bench clean help

help:
	@echo "make run    set up and serve Sayso on http://127.0.0.1:8000 with the demo"
	@echo "make test   install test tools and run lint, types, import rules, unit and browser tests"
	@echo "make bench  run the benchmarks in bench/ (reads ../shared/data when present)"

$(PY):
	@PYTHON_BIN=$$(scripts/find-python) || exit 1; \
	echo "Creating $(VENV) with $$PYTHON_BIN"; \
	"$$PYTHON_BIN" -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(PY) pyproject.toml
	$(PY) -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $@

$(VENV)/.installed-bench: $(VENV)/.installed-test
	$(PY) -m pip install --quiet -e '.[test,bench]'
	@touch $@

run: $(VENV)/.installed
	$(BIN)/sayso run

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports

test: lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(VENV)/.installed-bench
	@for script in bench/*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache

# Welsh and Polish (the respondent pages' words) are refreshed with English and compiled
# here, with GNU gettext: the compiled .mo files are committed, so that `make run` and
# `make test` work without it (a test fails when a .mo is older than its .po).
.PHONY: messages
messages: $(VENV)/.installed  ## refresh the message catalogues after changing UI text
	cd sayso && ../$(PY) ../manage.py makemessages -l en -l cy -l pl --ignore "tests/*" --ignore "*/tests/*"
	cd sayso && ../$(PY) ../manage.py compilemessages -l cy -l pl
