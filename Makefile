# Two commands for a newcomer: `make demo` and `make test`. Both create .venv and install everything first.
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.runtime
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: demo test install lint bench fuzz clean browser notebooks

# The runtime alone (what `make demo` needs), then the test extras on top (what `make test` needs).
$(RUNTIME): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# CPU torch first: an unpinned torch would pull a multi-GB CUDA build.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e .
	touch $(RUNTIME)

$(STAMP): $(RUNTIME)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# JupyterLab and pandas, then the notebooks in a browser.
notebooks: $(RUNTIME)
	$(PY) -m pip install --quiet -e '.[notebooks]'
	$(BIN)/jupyter lab notebooks/

# Headless Chromium (Debian's package) for the HTML report tests.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null; }

demo: $(RUNTIME)
	$(BIN)/semsearch index corpus/
	$(BIN)/semsearch query "import marking"
	$(BIN)/semsearch duplicates --top 5
	$(BIN)/semsearch duplicates --format html -o index/duplicates.html
	@echo "Duplicates report written to index/duplicates.html"

test: install browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(PY) -m pytest

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

bench: install
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) index/v-* index/CURRENT index/.lock .pytest_cache .ruff_cache .hypothesis
