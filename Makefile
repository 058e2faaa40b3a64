# Two commands on a fresh machine with Python 3.11+ and make:  make demo  /  make test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test test-postgres lint bench fuzz clean install uninstall

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "sectorwatch needs Python 3.11 or newer (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/sectorwatch demo

test: $(STAMP)
	$(BIN)/python -m pytest

# The store-facing tests again on PostgreSQL: a throwaway cluster from Debian's
# `postgresql` binaries (tests/pg.py), or the server named by SECTORWATCH_TEST_PG.
PG_TESTS := tests/store tests/test_pipeline.py tests/digest tests/test_scheduler.py tests/web
test-postgres: $(STAMP)
	SECTORWATCH_TEST_STORE=postgres $(BIN)/python -m pytest $(PG_TESTS)

fuzz: $(STAMP)
	$(BIN)/python scripts/fuzz.py --minutes $(or $(MINUTES),10)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/mypy

BENCH_STAMP := $(VENV)/.bench-stamp
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	@touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python benchmarks/fetch.py
	$(BIN)/python benchmarks/extraction.py
	$(BIN)/python benchmarks/tagging.py
	$(BIN)/python benchmarks/digest.py
	$(BIN)/python benchmarks/scale.py
	$(BIN)/python benchmarks/search.py

# `sectorwatch` on PATH: the checkout's .venv command linked into PREFIX/bin (~/.local/bin
# by default, on PATH in most shells' profiles). The checkout stays where it is.
PREFIX ?= $(HOME)/.local
install: $(STAMP)
	mkdir -p $(PREFIX)/bin
	ln -sf $(CURDIR)/$(BIN)/sectorwatch $(PREFIX)/bin/sectorwatch
	@echo "installed: $(PREFIX)/bin/sectorwatch ($$($(PREFIX)/bin/sectorwatch --version))"
	@case ":$$PATH:" in *":$(PREFIX)/bin:"*) ;; *) echo "$(PREFIX)/bin is not on your PATH; add it, e.g.: echo 'export PATH=\"$(PREFIX)/bin:\$$PATH\"' >> ~/.profile";; esac

uninstall:
	rm -f $(PREFIX)/bin/sectorwatch

clean:
	rm -rf $(VENV) demo .pytest_cache build src/*.egg-info
