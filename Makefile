# codecensus — the two commands: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
EXTRAS ?= dev
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install demo test lint bench clean constraints

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[$(EXTRAS)]"
	$(BIN)/python -m pip check
	touch $(STAMP)

install: $(STAMP)

## Generate a sample corpus, run the whole pipeline, write the HTML report to demo-out/report/.
demo: install
	$(BIN)/codecensus demo --out demo-out

## Install and run the test suite.
test: install
	$(BIN)/python -m ruff check src tests benchmarks
	$(BIN)/python -m pytest

lint: install
	$(BIN)/python -m ruff check src tests benchmarks

bench: install
	$(BIN)/python benchmarks/ingest.py

## Refresh the lock file from the current environment (after changing dependencies).
constraints:
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^codecensus' > constraints.txt

clean:
	rm -rf $(VENV) demo-out .pytest_cache
