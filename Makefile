# Build and test entry points of the remote_desktop.licensing collection.
# `make` (or `make help`) lists the targets. CI runs `make test` through .ci/run.
#
# Everything is installed by this file from PyPI: the tools into .venv (requirements-dev.txt),
# ansible.windows and awx.awx into build/collections (tools/install-ansible-windows.sh,
# tools/install-awx-collection.sh). Ansible Galaxy is never contacted.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
.NOTPARALLEL:
.SUFFIXES:
MAKEFLAGS += --no-builtin-rules

# --- settings --------------------------------------------------------------------------------
# Plain assignments: the environment cannot change them (a stray PYTHON or VENV variable would),
# the command line can: the ansible-core 2.21 leg (test-core221) overrides them on a recursive make.
PYTHON = python3
VENV = .venv
REQUIREMENTS = requirements-dev.txt
COLLECTIONS = $(CURDIR)/build/collections
SANITY_PYTHON = 3.11
LEG = core 2.19
SANITY_ARGS =

VENV_BIN := $(abspath $(VENV))/bin
PY := $(VENV_BIN)/python
COLLECTION_DIR := $(COLLECTIONS)/ansible_collections/remote_desktop/licensing
WINDOWS_DIR := $(COLLECTIONS)/ansible_collections/ansible/windows
INSTALL_ANSIBLE_WINDOWS = tools/install-ansible-windows.sh
AWX_DIR := $(COLLECTIONS)/ansible_collections/awx/awx
CORE221_PYTHON_VERSION := 3.12
BENCH_SIZES ?= 1,10,100,300,1000
BENCH_SLICES ?= 4
BENCH_FORKS ?= 50
BENCH_CAL_USAGE ?= 10000

# Every command that runs Ansible sees this collection tree and the venv's tools.
RUN := PATH="$(VENV_BIN):$$PATH" ANSIBLE_COLLECTIONS_PATH="$(COLLECTIONS)"

ANSIBLE_TEST = $(RUN) $(PY) tools/ansible-test-offline.py --collection $(COLLECTION_DIR) --

TARBALL_GLOB := build/remote_desktop-licensing-*.tar.gz

.PHONY: help venv collections schema fidelity unit ps-syntax sanity lint changelog-lint build import e2e \
	integration molecule ee-check docs test test-core221 test-cores demo bench report-screenshot clean distclean

help: ## list the targets
	@echo "remote_desktop.licensing: make TARGET"
	@awk 'BEGIN {FS = ":.*## "} /^[a-z0-9-]+:.*## / {printf "  %-15s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

venv: ## create .venv (python3) with requirements-dev.txt; reinstalls when that file changes
	@tools/make-venv.sh "$(PYTHON)" "$(VENV)" "$(REQUIREMENTS)"

collections: venv ## build/collections: this collection (symlink to the repo) + ansible.windows + awx.awx
	@mkdir -p "$(dir $(COLLECTION_DIR))"
	@if [ -e "$(COLLECTION_DIR)" ] && [ ! -L "$(COLLECTION_DIR)" ]; then rm -rf "$(COLLECTION_DIR)"; fi
	@ln -sfn ../../../.. "$(COLLECTION_DIR)"
	@test -f "$(COLLECTION_DIR)/galaxy.yml" || { echo "collections: $(COLLECTION_DIR) does not lead to the repository root" >&2; exit 1; }
	@PYTHON="$(PY)" $(INSTALL_ANSIBLE_WINDOWS) "$(COLLECTIONS)"
	@test -f "$(WINDOWS_DIR)/MANIFEST.json" || { echo "collections: ansible.windows missing from $(WINDOWS_DIR)" >&2; exit 1; }
	@PYTHON="$(PY)" tools/install-awx-collection.sh "$(COLLECTIONS)"
	@test -f "$(AWX_DIR)/MANIFEST.json" || { echo "collections: awx.awx missing from $(AWX_DIR)" >&2; exit 1; }

# Microsoft's published CIM schema of the classes the collection and the lab touch, as data for the lab.
# Reads local mirrors of MicrosoftDocs/win32 and microsoft/wmi (a `fetch` brings them to /work/.mirror);
# never fetches. `make test` uses the committed tests/lab/rdlab/schema/cim_schema.json.
SCHEMA_DOCS = /work/.mirror/MicrosoftDocs+win32/repo
SCHEMA_BINDINGS = /work/.mirror/microsoft+wmi/repo
schema: venv ## regenerate tests/lab/rdlab/schema/ from mirrors (SCHEMA_DOCS, SCHEMA_BINDINGS git dirs)
	$(PY) tools/extract-cim-schema.py --docs "$(SCHEMA_DOCS)" --bindings "$(SCHEMA_BINDINGS)"

fidelity: venv ## regenerate docs/fidelity.md from the lab's models and schema
	cd tests/lab && $(PY) -m rdlab.fidelity > ../../docs/fidelity.md

unit: venv collections ## unit tests + lab tests with coverage (tests/unit, tests/lab/tests)
	@mkdir -p build
	$(RUN) COVERAGE_FILE="$(CURDIR)/build/.coverage" tools/run-pytest.sh "unit ($(LEG))" "$(PY)" \
		tests/unit tests/lab/tests -- -o pythonpath="tests/lab $(COLLECTIONS)" \
		--cov=plugins --cov=tests/lab/rdlab --cov-report=term-missing

ps-syntax: venv ## parse every plugins/**/*.ps1 and *.psm1 with tree-sitter-powershell
	$(PY) tools/ps_syntax_check.py plugins

# ansible-test lists the files with `git ls-files --cached --others --exclude-standard`: untracked
# files are tested too, git-ignored files are not. What it skips is in tests/sanity/ignore-<core>.txt
# (validate-modules cannot load a PowerShell module without pwsh), so a plain `ansible-test sanity`
# in the collection gives the same answer. SANITY_ARGS: extra arguments, e.g. make sanity SANITY_ARGS=-v
sanity: venv collections ## ansible-test sanity, offline (pslint is skipped by ansible-test itself: no pwsh)
	$(ANSIBLE_TEST) sanity --python $(SANITY_PYTHON) $(SANITY_ARGS)

lint: venv collections ## ansible-lint --offline --profile production
	$(RUN) ansible-lint --offline --profile production

changelog-lint: venv ## antsibull-changelog lint
	$(RUN) antsibull-changelog lint

build: venv ## ansible-galaxy collection build into build/, then check the tarball's contents
	@mkdir -p build
	rm -f $(TARBALL_GLOB)
	$(RUN) ansible-galaxy collection build --force --output-path build/
	$(PY) tools/check-tarball.py $(TARBALL_GLOB)

import: build ## galaxy-importer on the tarball (local, offline); fails on errors
	cd build && $(RUN) GALAXY_IMPORTER_CONFIG="$(CURDIR)/tools/galaxy-importer.cfg" \
		$(PY) "$(CURDIR)/tools/galaxy-import.py" remote_desktop-licensing-*.tar.gz

e2e: venv collections ## end-to-end tests (tests/e2e) against the simulated lab
	tools/install-chromium.sh  # the report test renders the page in Debian's chromium; no-op when installed
	$(RUN) tools/run-pytest.sh "e2e ($(LEG))" "$(PY)" tests/e2e -- -o pythonpath="tests/lab $(COLLECTIONS)" -v

integration: venv collections ## the ansible-test integration targets (tests/integration) against a lab
	$(RUN) tools/run-integration.sh "$(COLLECTION_DIR)" $(SANITY_PYTHON)

# The lab scenario only: the windows scenario needs real hosts (extensions/molecule/windows/molecule.yml).
# Its lab runs in build/molecule-lab; molecule keeps its own state under ~/.ansible/tmp. Molecule logs
# "CRITICAL 'extensions/molecule/default/molecule.yml' glob failed": there is no default scenario, and
# that only turns its shared state off.
molecule: venv collections ## molecule test -s lab: create (start a lab), converge, idempotence, verify, destroy
	$(RUN) NO_COLOR=1 molecule test -s lab

ee-check: venv collections build ## ansible-builder introspect on the collection + create from both docs/awx definitions (no image build)
	$(RUN) tools/ee-check.sh "$(COLLECTIONS)" build/ee-context

docs: venv collections ## the module reference (antsibull-docs) into build/docs, and its lint of the plugin docs
	rm -rf build/docs && mkdir -p build/docs
	$(RUN) antsibull-docs collection --use-current --dest-dir build/docs --fail-on-error remote_desktop.licensing
	cd $(COLLECTION_DIR) && $(RUN) antsibull-docs lint-collection-docs --plugin-docs --skip-rstcheck .

test: unit ps-syntax sanity lint changelog-lint build import docs e2e integration molecule ee-check test-core221 test-cores ## every gate, then the core 2.21 leg and the core matrix

test-core221: ## unit + sanity + e2e on Python 3.12 / ansible-core 2.21 (skipped without Python 3.12)
	@if py=$$(tools/find-python.sh $(CORE221_PYTHON_VERSION)); then \
		echo "test-core221: ansible-core 2.21 leg with $$py"; \
		$(MAKE) --no-print-directory unit sanity e2e PYTHON="$$py" VENV=.venv-core221 \
			REQUIREMENTS=requirements-dev-core221.txt COLLECTIONS="$(CURDIR)/build/collections-core221" \
			SANITY_PYTHON=$(CORE221_PYTHON_VERSION) LEG="core 2.21"; \
	else \
		echo "SKIPPED: no Python $(CORE221_PYTHON_VERSION), the ansible-core 2.21 leg did not run"; \
	fi

# The ansible-core matrix: tests/e2e on every other supported core, one leg each (CORE:PYTHON), each
# in build/venv-coreXY from requirements-dev-coreXY.txt (tools/core-leg.sh). 2.19 and 2.21 are the
# legs above. A leg without its Python prints SKIPPED. One leg: make test-cores CORE_LEGS=2.16:3.11
CORE_LEGS = 2.15:3.11 2.16:3.11 2.17:3.11 2.18:3.11 2.20:3.12
test-cores: ## tests/e2e on ansible-core 2.15 to 2.18 (Python 3.11) and 2.20 (Python 3.12)
	@status=0; for leg in $(CORE_LEGS); do tools/core-leg.sh "$${leg%:*}" "$${leg#*:}" || status=1; done; exit $$status

demo: venv collections ## run tools/demo.sh
	$(RUN) bash tools/demo.sh

report-screenshot: venv collections ## docs/images/report.png: the report of the demo lab, in headless chromium
	tools/install-chromium.sh
	$(RUN) bash tools/report-screenshot.sh

bench: venv collections ## the benchmark on labs of 1, 10, 100, 300, 1000 hosts, the largest also as BENCH_SLICES AWX slices, and cal_usage over BENCH_CAL_USAGE Per User entries (docs/performance.md); BENCH_SIZES=1,10 for a quick run, BENCH_SIZES= for the cal_usage row alone
	$(RUN) $(PY) tools/bench.py --sizes=$(BENCH_SIZES) --forks $(BENCH_FORKS) --slices $(BENCH_SLICES) --cal-usage $(BENCH_CAL_USAGE)

clean: ## remove build output (the core matrix's venvs too), test output and caches (keeps .venv*)
	rm -rf build tests/output .pytest_cache .coverage .coverage.* htmlcov importer_result.json
	find . -path ./.git -prune -o -path './.venv*' -prune -o -name __pycache__ -type d -print0 | xargs -0 rm -rf

distclean: clean ## clean, and remove the venvs
	rm -rf .venv .venv-core221
