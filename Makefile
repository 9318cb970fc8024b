# Everything starts from python3; the venv and installs are made on demand.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test bench lint format clean browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,ray,mlflow]"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/nnrun train configs/xor.yaml

# The HTML report is tested in a real headless Chromium (Debian packages; we run as root on CI).
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
		(apt-get update -qq && apt-get install -y -qq chromium chromium-driver)

test: $(STAMP) browser
	$(BIN)/python -m pytest -n auto -q

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
