# Set-up, run and test on a fresh Debian machine: `make run`, `make test`.
# Every step checks what is already there, so a re-run with everything installed starts in seconds.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.afforest-installed
APT_PACKAGES := libamplsolver-dev cmake g++
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test setup lock system-packages pynumero bench bench-sweep bench-suitability bench-scale bench-startup mutation clean

run: setup
	$(VENV)/bin/afforest solve
	$(VENV)/bin/afforest reproduce --output output

test: setup
	$(PY) -m pytest

setup: $(STAMP) pynumero

# Exact versions from requirements.lock (hashes checked), then the package itself without resolving again.
$(STAMP): pyproject.toml requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@

# Refresh requirements.lock within the ranges of pyproject.toml (newest compatible releases), with hashes.
lock:
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(VENV)/bin/uv --version >/dev/null 2>&1 || $(PY) -m pip install --quiet --disable-pip-version-check uv
	$(VENV)/bin/uv pip compile pyproject.toml --extra test --extra dev --universal --python-version 3.11 \
		--generate-hashes --upgrade --quiet -o requirements.lock

# Debian packages that PyNumero's ASL library is compiled against (skipped when present).
system-packages:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing$$missing with apt-get"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

# The check runs in its own process: Pyomo caches a failed look-up, so the build script re-checks in a new one.
pynumero: $(STAMP)
	@$(PY) -c "from pyomo.contrib.pynumero.asl import AmplInterface as A; raise SystemExit(0 if A.available() else 1)" \
		2>/dev/null || { $(MAKE) --no-print-directory system-packages && $(PY) -m afforest.solvers.pynumero_build; }

bench: setup
	$(PY) bench/steady_state.py

bench-sweep: setup
	$(PY) bench/sweep.py

# Start-up of the light commands (--help, scenarios, steady-state) against `python -c pass`, and the heavy modules each imports.
bench-startup: setup
	$(PY) bench/startup.py

# Suitability overlay: cells/s and peak memory on synthetic 10^7- and 10^8-cell grids (about 2 GB under /tmp, deleted after).
bench-suitability: setup
	$(PY) bench/suitability.py

# Cell-level QPs, 10^2-10^5 cells x 40 years: Pyomo vs fast path vs highspy floor vs decomposition (~45 min, < 8 GB).
bench-scale: setup
	$(PY) bench/scale.py --sizes 100,1000,10000,100000

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache

# Mutation testing of the scenario, report and sweep glue (outside CI: ~6 h for all ~5,000 mutants, estimated; docs/mutation.md has a 30-min subset). Lists surviving mutants in docs/mutation.md.
mutation: setup
	$(PY) bench/mutation.py --output output/mutation
