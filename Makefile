# The two commands of the README:
#   make serve   set up everything and start the service on the embedded default
#   make test    set up everything (PostgreSQL, Redis, Chromium) and run the whole test suite
# Other targets: make lint, make bench, make docs, make install.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: serve test lint bench docs install services clean lock

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

serve: $(STAMP)
	$(BIN)/privacyops serve

services:
	@bash scripts/services.sh > .services.env

test: $(STAMP) services
	. ./.services.env && $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

bench: $(STAMP) services
	. ./.services.env && $(BIN)/python -m bench $(BENCH_ARGS)

docs: $(STAMP)
	$(BIN)/python scripts/reference_pages.py --check
	$(BIN)/mkdocs build --strict

clean:
	rm -rf $(VENV) .services.env .pytest_cache .mypy_cache .ruff_cache site

lock: $(STAMP)
	{ sed -n '1,3p' constraints.txt; $(BIN)/python -m pip freeze --exclude-editable; } > constraints.tmp && mv constraints.tmp constraints.txt
