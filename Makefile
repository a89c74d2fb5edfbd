# ai-serving: `make plan` (offline plan of team-a-dev) and `make test` set everything up themselves.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STACK  ?= team-a-dev
OUT    ?= out

.PHONY: setup system-deps plan plan-all validate test lint policies-readme clean bench

setup: $(VENV)/.installed

# The virtualenv is rebuilt whenever the dependency pins or the project metadata change.
$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.lock
	$(PY) -m pip install -q --no-deps -e .
	touch $@

# Debian packages the tests need: cloud-init provides `cloud-init schema`, which validates the
# GPU pool's boot document with cloud-init's own schema.
system-deps:
	@command -v cloud-init >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends cloud-init; }

plan: setup
	$(VENV)/bin/ai-serving plan $(STACK) --out $(OUT)/$(STACK)

plan-all: setup
	$(VENV)/bin/ai-serving plan --all --out $(OUT)

validate: setup
	$(VENV)/bin/ai-serving validate

test: setup system-deps
	$(PY) -m pytest

lint: setup
	$(VENV)/bin/ruff check infra ai_serving policies tests

clean:
	rm -rf $(OUT) .pytest_cache .ruff_cache .mypy_cache

# Plan latency and org-scale throughput on this machine; writes benchmarks/RESULTS.md (see benchmarks/README.md).
bench: setup
	$(PY) benchmarks/run.py $(BENCH_ARGS)
