# Deep Learning for Image Analysis, assignment 2: build the report, run the tests.
#
#   make report   the whole report, HTML and PDF, from report/config/$(CONFIG)
#   make test     every test: unit tests, nbval regression, rendering tests
#   make data     fetch and verify the data set into the cache
#   make lab      JupyterLab on the notebooks
#   make bench    time the core against PyTorch and JAX (installs bench/requirements.txt)
#   make handin   one zip of the built report, its metrics and its source, to hand in
#   make verify HANDIN=path/to/zip   check a hand-in and rebuild it from its own source
#
# Every target creates the virtual environment in $(VENV) when it is missing.

PYTHON   ?= python3
VENV     ?= .venv
DATASET  ?= mnist
CONFIG   ?= full

PY       := $(VENV)/bin/python
STAMP    := $(VENV)/.installed
NOTEBOOKS := 1_partial_derivatives 2_one_layer 3_multilayer
CODE     := mlp_core.py $(wildcard dlia_a2/*.py)
BUILD    := $(PY) report/report_build.py
OUT      ?= report/build/$(DATASET)-$(CONFIG)
EXECUTED := $(NOTEBOOKS:%=$(OUT)/%.ipynb)
HTML     := $(OUT)/report.html
PDF      := $(OUT)/report.pdf
MATHJAX  := report/node_modules/mathjax/es5/tex-svg-full.js
TEMPLATE := report/template/report/index.html.j2 report/template/report/conf.json
BASELINES := $(NOTEBOOKS:%=tests/baselines/%.ipynb)

# Run a command as root: directly when we are root, through sudo when it
# needs no password; otherwise not at all.
AS_ROOT := $(shell if [ "$$(id -u)" = 0 ]; then echo " "; elif sudo -n true 2>/dev/null; then echo "sudo"; fi)

.PHONY: report html pdf data test lab baselines bench handin verify clean clean-venv venv
.DELETE_ON_ERROR:

report: html pdf
	@echo "[report] HTML: $(HTML)"
	@if [ -f $(PDF) ]; then echo "[report] PDF:  $(PDF)"; fi

html: $(HTML)
pdf: $(PDF)

# --- environment ---------------------------------------------------------------

venv: $(STAMP)

$(STAMP): requirements.txt constraints.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt -c constraints.txt
	$(PY) -m pip install --disable-pip-version-check -q --no-deps --no-build-isolation -e .
	@touch $@

# --- data ----------------------------------------------------------------------

data: $(STAMP)
ifeq ($(DATASET),fashion-mnist)
	@if [ ! -d /usr/share/datasets/fashion-mnist ] && command -v apt-get >/dev/null && [ -n "$(AS_ROOT)" ]; then \
	  echo "[data] installing Debian's dataset-fashion-mnist"; \
	  $(AS_ROOT) apt-get install -y -q --no-install-recommends dataset-fashion-mnist >/dev/null 2>&1 || \
	  { $(AS_ROOT) apt-get update -q >/dev/null && $(AS_ROOT) apt-get install -y -q --no-install-recommends dataset-fashion-mnist >/dev/null; } || true; \
	fi
endif
	$(PY) -m dlia_a2.data $(DATASET)

# --- the report ----------------------------------------------------------------

$(MATHJAX): report/package.json report/package-lock.json
	@command -v npm >/dev/null || { echo "[report] npm is needed once, to fetch MathJax: sudo apt-get install npm"; exit 1; }
	npm ci --prefix report --no-audit --no-fund --loglevel=error
	@touch $@

# Every parameter file is checked before the first notebook runs, so that a
# bad value in notebook 3's file stops the build before notebooks 1 and 2.
PARAMS   := $(NOTEBOOKS:%=report/config/$(CONFIG)/%.yaml)
$(OUT)/.parameters-checked: $(PARAMS) $(CODE) | $(STAMP)
	@mkdir -p $(OUT)
	$(BUILD) check $(NOTEBOOKS:%=notebooks/%.ipynb) --params $(PARAMS) --dataset $(DATASET)
	@touch $@

$(OUT)/%.ipynb: notebooks/%.ipynb report/config/$(CONFIG)/%.yaml $(CODE) | $(STAMP) data $(OUT)/.parameters-checked
	$(BUILD) run $< --params report/config/$(CONFIG)/$*.yaml --dataset $(DATASET) --output $@

$(HTML): $(EXECUTED) $(MATHJAX) $(TEMPLATE) $(wildcard report/report_*.py) $(CODE)
	$(BUILD) render $(EXECUTED) --html $@ --dataset $(DATASET) \
	  --config-name $(CONFIG) --params $(PARAMS)

# The PDF needs Chromium: installed with apt-get where we have the rights,
# else one line says what to run; the HTML is there either way.
$(PDF): $(HTML)
	@if ! $(BUILD) has-chromium; then \
	  if command -v apt-get >/dev/null && [ -n "$(AS_ROOT)" ]; then \
	    echo "[report] installing Chromium and poppler-utils with apt-get, for the PDF"; \
	    $(AS_ROOT) apt-get update -q >/dev/null && \
	    DEBIAN_FRONTEND=noninteractive $(AS_ROOT) apt-get install -y -q --no-install-recommends chromium poppler-utils >/dev/null; \
	  fi; \
	fi
	@if $(BUILD) has-chromium; then \
	  $(BUILD) pdf $< $@; \
	else \
	  echo "[report] no Chromium, so no PDF (the HTML is $<). To get it: sudo apt-get install chromium && make report"; \
	fi

# --- tests ---------------------------------------------------------------------

# Lint and format check first (seconds), then the small configuration's
# report, which the rendering tests read, then every test.
# nbval executes the baselines afresh: their checkpoints from an earlier
# run are removed first, so that it trains rather than resumes.
test: $(STAMP) data
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(MAKE) --no-print-directory report CONFIG=small DATASET=mnist
	rm -rf tests/baselines/build
	$(PY) -m pytest

# Regenerate the executed notebooks that nbval compares against.
baselines: $(STAMP) data
	@mkdir -p tests/baselines
	@for nb in $(NOTEBOOKS); do \
	  $(BUILD) run notebooks/$$nb.ipynb --params report/config/small/$$nb.yaml \
	    --dataset mnist --output tests/baselines/$$nb.ipynb --cwd tests/baselines \
	    --out-dir build/$$nb --baseline || exit 1; \
	done

# PyTorch and JAX only for the benchmark: the project depends on neither.
# constraints.txt keeps them from moving the project's pins (NumPy above all).
$(VENV)/.bench-installed: bench/requirements.txt constraints.txt | $(STAMP)
	$(PY) -m pip install --disable-pip-version-check -q -r bench/requirements.txt -c constraints.txt
	@touch $@

# The check's verdict on the speed targets is printed, not enforced: the
# benchmark's job is to measure, and a run that measured correctly but missed
# a target (or found the machine too busy to trust) has not failed. Gate on
# 'bench/check.py bench/results.json' directly (exit 1 missed, 2 refused).
bench: $(VENV)/.bench-installed data
	$(PY) bench/bench.py
	@$(PY) bench/check.py bench/results.json || echo "[bench] the check's verdict is above; the measurement itself succeeded"

# --- handing in ------------------------------------------------------------------

# The bundle of the report in $(OUT), refused (with the reason) when the
# working tree has uncommitted changes to what the build reads or the report
# is older than its sources: it does not build the report itself, so that
# what is handed in is exactly what was looked at.
handin: $(STAMP)
	$(PY) report/handin.py $(OUT)

# Checks the manifest, the notebooks and parameters against the bundle's
# commit, then rebuilds the report from the bundle's own source in a
# temporary folder (this checkout's $(VENV), the recorded BLAS kernel and
# threads) and compares every value of its metrics.json files.
verify: $(STAMP)
	@test -n "$(HANDIN)" || { echo "usage: make verify HANDIN=path/to/handin.zip"; exit 2; }
	$(PY) report/verify.py $(HANDIN) --venv $(VENV)

lab: $(STAMP) data
	$(VENV)/bin/jupyter lab notebooks

clean:
	rm -rf report/build tests/baselines/build notebooks/build

clean-venv:
	rm -rf $(VENV) report/node_modules
