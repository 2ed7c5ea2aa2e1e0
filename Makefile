# domosec — the two commands a newcomer needs are `make run` and `make test`.
# Both work on a fresh machine with Python >= 3.11: they create .venv and install what is needed.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
# Debian packages the tests need (servers and tools the tests start); none are needed yet.
DEBIAN_PACKAGES :=

.PHONY: install run test lint typecheck unit docs docs-check bench system-deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

## run: install, then validate every example and assess the family home
run: install
	$(BIN)/domosec validate examples/*.yaml
	$(BIN)/domosec assess examples/family-home.yaml --controls

## test: install, then lint, type-check, check generated docs and run every test
test: install system-deps lint typecheck unit

system-deps:
ifneq ($(strip $(DEBIAN_PACKAGES)),)
	@missing=$$(for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi
endif

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest -n 2 -q

## docs: regenerate docs/tables.md, docs/rules/, docs/catalogue/ and schema/ from the code and data
docs: install
	$(BIN)/python -m domosec.docgen write

docs-check: install
	$(BIN)/python -m domosec.docgen check

## bench: time `domosec assess` on generated models (figures in docs/performance.md)
bench: install
	$(BIN)/python bench/assess.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build src/*.egg-info
