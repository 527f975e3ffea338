# Two commands do all the set-up on a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test bench lint clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[sim,test]'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/drdrill simulate --out runs

test: $(BIN)/.installed
	$(BIN)/pytest

bench: $(BIN)/.installed
	$(BIN)/python bench/bench_journal.py
	$(BIN)/python bench/bench_ticker.py
	$(BIN)/python bench/bench_analysis.py

lint: $(BIN)/.installed
	$(BIN)/ruff check drdrill tests bench
	$(BIN)/mypy drdrill

clean:
	rm -rf $(VENV) runs .pytest_cache
