# Everything starts from python3; the venv and installs are made on demand.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test test-fast bench lint format clean browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,ray,mlflow]"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/nnrun train configs/xor.yaml

# The HTML report is tested in a real headless Chromium (Debian packages), installed with apt when
# missing: as root (CI, a container) without any prompt or terminal, so it also works under nohup.
# Elsewhere it says so, and the browser test is skipped with that reason.
APT := DEBIAN_FRONTEND=noninteractive apt-get -qq -y
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		$(APT) update </dev/null && $(APT) install chromium chromium-driver </dev/null; \
	else \
		echo "chromium/chromedriver missing and cannot install them (needs root and apt-get): the browser test will be skipped" >&2; \
	fi

# The whole suite, what CI runs (.ci/run): one worker per core. tests/conftest.py puts the modules
# with slow tests first; --dist loadfile keeps each module on one worker, so a module fixture
# (a whole sweep, a set of trained runs) is built once, not once per worker.
test: $(STAMP) browser
	$(BIN)/python -m pytest -n auto --dist loadfile -q

# The fast tier: no test that trains for more than a second or so or runs training processes.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" -q

bench: $(STAMP)
	$(BIN)/python -m benchmarks

lint: $(STAMP)
	$(BIN)/ruff check nnrun tests benchmarks
	$(BIN)/ruff format --check nnrun tests benchmarks

format: $(STAMP)
	$(BIN)/ruff check --fix nnrun tests benchmarks
	$(BIN)/ruff format nnrun tests benchmarks

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
