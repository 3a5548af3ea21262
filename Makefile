# Two entry points: `make demo` and `make test`. Both work on a fresh machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit install services browser screenshots bench fuzz clean

$(STAMP): pyproject.toml requirements-test.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 $(BIN)/pip install --quiet -r requirements-test.txt
	touch $(STAMP)

install: $(STAMP)

services:
	bash scripts/services.sh

browser:
	bash scripts/browser.sh

demo: $(STAMP)
	$(BIN)/volta demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench fuzz
	$(BIN)/ruff format --check src tests bench fuzz

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q --durations=25

test: $(STAMP) services browser lint typecheck unit

# The README's pictures: the browser tests, writing their screenshots into docs/ (tests alone
# write them to the ignored build/screenshots/).
screenshots: $(STAMP) browser
	VOLTA_SCREENSHOTS=docs/screenshots $(BIN)/pytest -q -p no:randomly tests/web

fuzz: $(STAMP)
	$(BIN)/python fuzz/fuzz_wire.py -runs=200000 -seed=1 -dict=fuzz/wire.dict -max_len=4096

bench: $(STAMP)
	for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b --quick || exit 1; done

clean:
	rm -rf $(VENV) volta-data .mypy_cache .ruff_cache .pytest_cache
