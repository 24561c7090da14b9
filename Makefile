# zerotrip: `make serve` runs the service on embedded defaults; `make test` runs the whole suite
# against SQLite and PostgreSQL side by side (`make test-sqlite` / `test-postgresql`: one of them).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/pip install --quiet --disable-pip-version-check

.PHONY: serve test test-sqlite test-postgresql lint format system-deps bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP) -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(PIP) -e '.[test]'
	touch $@ $(VENV)/.installed

serve: $(VENV)/.installed
	$(BIN)/zerotrip serve

system-deps:
	@scripts/install-system-deps

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test-sqlite: $(VENV)/.installed-test system-deps
	$(BIN)/pytest --db=sqlite

test-postgresql: $(VENV)/.installed-test system-deps
	$(BIN)/pytest --db=postgresql

test: lint $(VENV)/.installed-test system-deps
	scripts/test-both

# Every bench, one after the other; one table of their result lines and load averages in
# bench/out/summary.md (the README's performance section is copied from it).
bench: $(VENV)/.installed-test
	$(BIN)/python bench/summary.py

clean:
	rm -rf $(VENV) var .pytest_cache
