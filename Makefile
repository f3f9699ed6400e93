# The two commands a new user needs: `make run` and `make test`.
VENV   ?= .venv
PYTHON ?= python3
BIN    := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)

# No network call from any tool.
export MLFLOW_DISABLE_TELEMETRY := true
export DO_NOT_TRACK := 1
export DVC_NO_ANALYTICS := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export GX_ANALYTICS_ENABLED := false
export RAY_USAGE_STATS_ENABLED := 0

.PHONY: install run test test-fast lock

$(VENV)/.installed: pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -c requirements.lock -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# Install, then train and evaluate on the embedded data through DVC; print rank-1 / mAP
# (every metric: `dvc metrics show`).
run: install
	vreid dvc-yaml --check
	vreid dvc-yaml --leaderboard --check
	dvc repro
	vreid summary

# Install, then the test suite (slow end-to-end tests: `pytest -m slow`).
test: install
	$(BIN)/python -m pytest -q -m "not slow" --durations=15

# The suite without the integration tests (real dvc repro, Prefect server, PostgreSQL,
# Ray head): the developer's loop.
test-fast: install
	$(BIN)/python -m pytest -q -m "not slow and not integration" --durations=15

# Refresh the pinned versions after changing dependencies in pyproject.toml.
lock: install
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^vreid' > requirements.lock
