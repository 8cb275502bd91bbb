# make install | test | stress | lint | bench | demo — CI runs `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install test stress lint format bench demo clean

$(STAMP): requirements-dev.txt packages/*/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

test: install
	$(BIN)/pytest

stress: install
	$(BIN)/pytest -m stress

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy $(wildcard packages/*/src)
	$(BIN)/pytest -q tests-integration/test_layers.py

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(BIN)/python benchmarks/run.py $(ARGS)

demo: install
	rm -rf demo
	$(BIN)/python benchmarks/corpus.py demo/files
	$(BIN)/ingestkit ingest demo/files --store sqlite:///demo/out/demo.db
	$(BIN)/ingestkit search "who approves supplier invoices" --store sqlite:///demo/out/demo.db --limit 3
	$(BIN)/ingestkit inspect demo/files/excel/q1_sales_report.xlsx

clean:
	rm -rf $(VENV) demo .pytest_cache .ruff_cache .mypy_cache
