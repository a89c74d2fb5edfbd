# ai-serving: `make plan` (offline plan of team-a-dev) and `make test` set everything up themselves.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STACK  ?= team-a-dev
OUT    ?= out

.PHONY: setup system-deps workflow-linters browser-deps plan plan-all validate test lint generate clean bench engine witness witness-or-skip \
        supply import-image upload-weights

setup: $(VENV)/.installed

# The virtualenv is rebuilt whenever the dependency pins or the project metadata change.
$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.lock
	$(PY) -m pip install -q --no-deps -e .
	touch $@

# Debian packages the tests need: cloud-init provides `cloud-init schema`, which validates the
# GPU pool's boot document with cloud-init's own schema; shellcheck checks the workflows' run: scripts
# (through actionlint) and the boot rehearsal's rendered scripts; the rehearsal also runs
# systemd-analyze verify (package systemd) and builds its chroot with unshare (util-linux);
# chromium, node and npm render the PR comment as GitHub does (tests/browser/).
# Each is installed only when its command is missing.
DEBIAN_DEPS := cloud-init:cloud-init shellcheck:shellcheck systemd-analyze:systemd unshare:util-linux \
               chromium:chromium node:nodejs npm:npm
system-deps:
	@missing=""; for dep in $(DEBIAN_DEPS); do \
	  command -v "$${dep%%:*}" >/dev/null 2>&1 || missing="$$missing $${dep#*:}"; done; \
	[ -z "$$missing" ] || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends \
	    -o DPkg::Lock::Timeout=600 $$missing; }

# actionlint, built from its published Go module into build/tools (Go's module and build caches stay in
# their default places, so a rebuild is seconds); zizmor comes from PyPI with the pinned requirements.
# The workflow tests run both. Without Go this says so; tests then skip, except under CI=true.
ACTIONLINT_VERSION := v1.7.12
TOOLS := $(CURDIR)/build/tools
workflow-linters:
	@if command -v go >/dev/null 2>&1; then \
	  [ -x $(TOOLS)/actionlint ] && $(TOOLS)/actionlint -version | grep -qx '$(ACTIONLINT_VERSION)' || \
	  GOBIN=$(TOOLS) GOFLAGS=-mod=mod go install github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION); \
	else echo "WARNING: Go is not installed: actionlint cannot be built and the workflow lint test will skip"; fi

# marked, Mermaid (GitHub's 11.3.0 and the newest) and playwright-core for the browser render tests,
# exactly as tests/browser/package-lock.json pins them; reinstalled when the lock file changes.
browser-deps: tests/browser/node_modules/.installed
tests/browser/node_modules/.installed: tests/browser/package-lock.json | system-deps
	cd tests/browser && npm ci --no-audit --no-fund --loglevel=error
	touch $@

plan: setup
	$(VENV)/bin/ai-serving plan $(STACK) --out $(OUT)/$(STACK)

plan-all: setup
	$(VENV)/bin/ai-serving plan --all --out $(OUT)

validate: setup
	$(VENV)/bin/ai-serving validate

test: setup system-deps workflow-linters browser-deps
	@$(MAKE) --no-print-directory lint  # the PR's lint job, so a lint failure cannot reach main either
	$(PY) -m pytest
	@$(MAKE) --no-print-directory witness-or-skip

# The real Pulumi engine (CLI and Python language host) built from the Go module proxy into build/engine/
# (see witness/README.md). Go's default caches make a rebuild quick.
engine:
	witness/engine/build.sh

# The real engine runs preview, up, a no-change preview and destroy for every example stack, offline,
# and judges `ai-serving plan` against what it did (see witness/README.md).
witness: setup engine
	$(PY) witness/run.py $(WITNESS_ARGS)

# `make test` runs the witness where Go is installed; without Go it says so loudly (and fails in CI).
witness-or-skip:
	@if command -v go >/dev/null 2>&1; then $(MAKE) --no-print-directory witness; \
	elif [ "$$CI" = true ]; then \
	  echo "make test: Go is not installed, and CI=true requires the witness (the real Pulumi engine)" >&2; exit 1; \
	else \
	  echo "################################################################################" >&2; \
	  echo "## make test: Go is not installed: the WITNESS (real Pulumi engine) is SKIPPED ##" >&2; \
	  echo "## install Go >= 1.26 and run 'make witness'                                  ##" >&2; \
	  echo "################################################################################" >&2; \
	fi

lint: setup
	$(VENV)/bin/ruff check infra ai_serving policies tests witness

# Every generated file from its one source: policies/README.md, policies/policy-config.json, the pack's
# catalogue.json, arm_types.json, prices.json, public_suffix.py, service_domains.py and secret_patterns.py,
# stacks/stack.schema.json (ai_serving/generate.py), and the policy
# fixtures from typed SDK Args (tests/fixtures/policy/generate.py). Tests fail when one is stale.
generate: setup
	$(PY) -m ai_serving.generate
	$(PY) tests/fixtures/policy/generate.py

clean:
	rm -rf $(OUT) .pytest_cache .ruff_cache .mypy_cache

# Plan latency and org-scale throughput on this machine; writes benchmarks/RESULTS.md (see benchmarks/README.md).
bench: setup
	$(PY) benchmarks/run.py $(BENCH_ARGS)

# Private model supply (README "Private model supply"): where STACK's registry and weights container are,
# the image import (az acr import of gpuPool.servingImage) and the one-time weights upload from the hub
# (REVISION: a commit or tag of the model repository; HF_TOKEN in the environment for a gated model).
# They run with the caller's Entra ID login (az login / OIDC), never keys.
REVISION ?= main
supply: setup
	$(PY) -m ai_serving.supply $(STACK)
import-image: setup
	@values=$$($(PY) -m ai_serving.supply $(STACK)) && eval "$$values" && \
	  if [ -z "$${registry:-}" ]; then echo "$(STACK) pulls from the hub (imageSource: hub)" >&2; exit 2; fi && \
	  scripts/import-image.sh "$$registry" "$$image"
upload-weights: setup
	@values=$$($(PY) -m ai_serving.supply $(STACK)) && eval "$$values" && \
	  if [ -z "$${account:-}" ]; then echo "$(STACK) loads its model from the hub (modelSource: hub)" >&2; exit 2; fi && \
	  scripts/upload-weights.sh "$$account" "$$container" "$$path" "$$model" "$(REVISION)"
