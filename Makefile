# The two commands: `make run` and `make test`. Both build their own virtualenv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean browser lock

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	# bytecode, as a regular install leaves it: an editable install compiles nothing, and
	# with PYTHONDONTWRITEBYTECODE set every command would compile the package again
	$(BIN)/python -m compileall -q src/scaleguard
	touch $(STAMP)

# Re-pin requirements.lock from pyproject.toml's ranges (in a scratch virtualenv).
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet --upgrade pip
	.lock-venv/bin/pip install --quiet '.[dev]'
	{ sed -n '1,3p' requirements.lock; .lock-venv/bin/pip freeze --exclude-editable \
	  | grep -v '^scaleguard=='; } > requirements.lock.new
	mv requirements.lock.new requirements.lock
	rm -rf .lock-venv

run: $(STAMP)
	$(BIN)/python -m scaleguard.demo
	$(BIN)/scaleguard serve --workspace demo-workspace

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

# Browser tests need Chromium: install Debian's package when it is missing and we can.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Chromium (Debian package) for the browser tests"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
	      >/dev/null) || echo "warning: Chromium could not be installed"; \
	  else echo "warning: Chromium not found: browser tests will be skipped (required in CI)"; fi; }

test: lint browser
	$(BIN)/pytest -q -n auto --dist worksteal

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
