# Two commands for a new user: `make run` starts the app, `make test` runs
# every test. Both create .venv on first use and are quick afterwards: each
# install step re-runs only when its requirements file (or pyproject.toml) changes.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8501
PIP_QUIET := --quiet --disable-pip-version-check
# Full-size Fashion-MNIST, the one MNIST-format dataset installable offline
# (Debian's dataset-fashion-mnist): the tests load and train on it for real.
FASHION := /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz
# Debian's PostgreSQL server binaries: the store's tests start their own server.
POSTGRES := $(firstword $(wildcard /usr/lib/postgresql/*/bin/initdb) /usr/lib/postgresql/15/bin/initdb)
# Handwriting-like fonts for the not-MNIST test set (rnn_demo/data/font_digits.py), one file each.
FONT_PACKAGES := fonts-bwht fonts-dkg-handwriting fonts-sjfonts fonts-breip fonts-humor-sans \
	fonts-rufscript fonts-tomsontalks fonts-tlwg-purisa-otf fonts-comic-neue
FONTS := $(addprefix /usr/share/fonts/,opentype/bwht/BecauseWeBuild-Regular.otf \
	truetype/fifthhorseman/dkg.ttf truetype/sjfonts/Delphine.ttf truetype/breip/Breip.ttf \
	truetype/humor-sans/Humor-Sans.ttf truetype/rufscript/Rufscript010.ttf \
	truetype/tomsontalks/TomsonTalks.ttf opentype/tlwg/Purisa.otf opentype/comic-neue/ComicNeue-Regular.otf)
DEBIAN_FILES := /usr/bin/chromium $(FASHION) $(POSTGRES) $(FONTS)

.PHONY: run test lint bench clean

run: $(VENV)/.runtime
	$(BIN)/streamlit run app.py --server.port $(PORT)

test: $(VENV)/.runtime $(VENV)/.dev $(VENV)/.ray $(DEBIAN_FILES) node_modules/.installed
	$(BIN)/python -m pytest

lint: $(VENV)/.dev
	$(BIN)/ruff check .

# Benchmarks, each run as `python -m bench.<name>` from here; see docs/performance.md.
# bench_browser and bench_workers time this tree beside git revision BASELINE, run side by side
# (any revision git knows: `make bench BASELINE=v1.0`; `BASELINE=` times this tree alone).
BASELINE ?= HEAD~1
bench: $(VENV)/.runtime $(VENV)/.dev $(DEBIAN_FILES)
	$(BIN)/python -m bench.bench_peers
	$(BIN)/python -m bench.bench_engine
	$(BIN)/python -m bench.bench_fashion
	$(BIN)/python -m bench.bench_augment
	$(BIN)/python -m bench.bench_watch
	$(BIN)/python -m bench.bench_trace
	$(BIN)/python -m bench.bench_gradients
	$(BIN)/python -m bench.bench_app
	$(BIN)/python -m bench.bench_workers $(if $(BASELINE),--baseline $(BASELINE))
	$(BIN)/python -m bench.bench_browser $(if $(BASELINE),--baseline $(BASELINE))
	$(BIN)/python -m bench.load_test --visitors 8
	$(BIN)/python -m bench.load_test --visitors 16
	$(BIN)/python -m bench.soak --visitors 30

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install $(PIP_QUIET) --upgrade pip

# The app itself, editable, with its pinned requirements (pyproject.toml reads
# requirements.txt) and the `rnn-demo` command.
$(VENV)/.runtime: pyproject.toml requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install $(PIP_QUIET) -e .
	touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime
	$(BIN)/python -m pip install $(PIP_QUIET) -r requirements-dev.txt
	touch $@

# Ray is optional (RNN_DEMO_RAY_ADDRESS, see docs/hosting.md); the tests start a local head.
$(VENV)/.ray: requirements-ray.txt $(VENV)/.runtime
	$(BIN)/python -m pip install $(PIP_QUIET) -r requirements-ray.txt
	touch $@

# axe-core, which the accessibility test injects into every page
# (tests/test_browser_accessibility.py), at the version package-lock.json pins.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# Browser tests drive Debian's Chromium (Playwright's own browser download
# does not work offline); the store's tests run Debian's PostgreSQL; the font
# digits need the fonts. One apt-get for all of them (a grouped target). Needs
# root or sudo, as apt-get does.
$(DEBIAN_FILES) &:
	@if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get update -qq && \
	$$SUDO apt-get install -y -qq chromium dataset-fashion-mnist postgresql $(FONT_PACKAGES) >/dev/null

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache artifacts rnn_demo.egg-info
