# Quick start: `make demo` opens the desk on a seeded demo database; `make test` runs the suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint install clean i18n holidays

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("tui-desk needs Python 3.11+") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/tui-desk demo

lint: $(STAMP)
	$(BIN)/ruff check tui_desk tests bench
	$(BIN)/ruff format --check tui_desk tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest -n 2 -q

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# Extract user-facing strings, merge them into the catalogues, compile (no network needed).
LOCALE := tui_desk/locale
i18n: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k ngettext:1,2 --no-location --sort-output -o $(LOCALE)/tui_desk.pot .
	$(BIN)/pybabel update -i $(LOCALE)/tui_desk.pot -d $(LOCALE) -D tui_desk --no-fuzzy-matching
	$(BIN)/pybabel compile -d $(LOCALE) -D tui_desk --use-fuzzy

# Rebuild the shipped holiday tables (data/holidays) from the installed `holidays` package.
holidays: $(STAMP)
	$(BIN)/python -m tui_desk.rules.holiday_tables
