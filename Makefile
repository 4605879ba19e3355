# Two commands for a new user: `make run` starts the app, `make test` runs
# every test. Both create .venv on first use and are quick afterwards: each
# install step re-runs only when its requirements file changes.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8501
PIP_QUIET := --quiet --disable-pip-version-check
# Full-size Fashion-MNIST, the one MNIST-format dataset installable offline
# (Debian's dataset-fashion-mnist): the tests load and train on it for real.
FASHION := /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz

.PHONY: run test lint bench clean

run: $(VENV)/.runtime
	$(BIN)/streamlit run app.py --server.port $(PORT)

test: $(VENV)/.runtime $(VENV)/.dev $(VENV)/.ray /usr/bin/chromium $(FASHION)
	$(BIN)/python -m pytest

lint: $(VENV)/.dev
	$(BIN)/ruff check .

# Benchmarks print ratios against a baseline run side by side; see README.
bench: $(VENV)/.runtime $(VENV)/.dev /usr/bin/chromium $(FASHION)
	$(BIN)/python bench/bench_peers.py
	$(BIN)/python bench/bench_engine.py
	$(BIN)/python bench/bench_fashion.py
	$(BIN)/python bench/bench_augment.py
	$(BIN)/python bench/bench_watch.py
	$(BIN)/python bench/bench_trace.py
	$(BIN)/python bench/bench_gradients.py
	$(BIN)/python bench/bench_app.py
	$(BIN)/python bench/bench_browser.py --baseline 2b3c007
	$(BIN)/python bench/load_test.py --visitors 8
	$(BIN)/python bench/load_test.py --visitors 16
	$(BIN)/python bench/soak.py --visitors 30

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install $(PIP_QUIET) --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install $(PIP_QUIET) -r requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime
	$(BIN)/python -m pip install $(PIP_QUIET) -r requirements-dev.txt
	touch $@

# Ray is optional (RNN_DEMO_RAY_ADDRESS, see README); the tests start a local head.
$(VENV)/.ray: requirements-ray.txt $(VENV)/.runtime
	$(BIN)/python -m pip install $(PIP_QUIET) -r requirements-ray.txt
	touch $@

# Browser tests drive Debian's Chromium (Playwright's own browser download
# does not work offline). Needs root or sudo, as apt-get does.
/usr/bin/chromium $(FASHION):
	@if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get update -qq && \
	$$SUDO apt-get install -y -qq chromium dataset-fashion-mnist >/dev/null

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache artifacts
