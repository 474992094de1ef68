# Two commands: `make run` and `make test` (see README); `make check` is the contributors' quick
# loop (lint, types and the fast tests).  Everything else is a helper.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
DATA_DIR ?= $(or $(COOPLINK_DATA_DIR),var)

.PHONY: run test check install build lint typecheck bench clean browser virtuoso messages

# -qq: a newcomer reads errors, not pages of resolver and build-backend notices.
$(STAMP): pyproject.toml
	@echo "Installation de l'environnement .venv (2 à 3 minutes la première fois)…"
	@$(PYTHON) -m venv $(VENV)
	@$(PIP) install -qq --upgrade pip
	@# CPU torch first, so sentence-transformers never pulls a multi-GB CUDA build
	@$(PIP) install -qq torch==2.13.0
	@$(PIP) install -qq -e '.[dev]'
	@touch $(STAMP)
	@echo "Environnement prêt."

install: $(STAMP)

# Quick first build (graph + fast search index, about a minute); `cooplink serve` then
# computes the full-quality search index in the background and swaps it in (docs/search.md).
build: $(STAMP)
	$(VENV)/bin/cooplink build --data-dir $(DATA_DIR) --if-absent --quick

run: build
	$(VENV)/bin/cooplink serve --data-dir $(DATA_DIR)

# The whole suite, every marker (real model, browser, live servers): what CI runs (.ci/run).
test: $(STAMP) browser virtuoso lint
	$(VENV)/bin/pytest

# The edit-test loop: lint, types and the tests marked neither slow nor browser (hashing
# encoder, one shared build per worker; under 2 minutes on 2 cores).  Two pytest-xdist workers,
# a test file each at a time (module fixtures are built once); `make check CHECK_WORKERS=0`
# runs them in one process.  `make test` stays the reference, in one process.
CHECK_WORKERS ?= 2
check: lint
	$(VENV)/bin/pytest -q -m "not slow and not browser" -n $(CHECK_WORKERS) --dist loadfile

# Headless Chromium for tests/test_sparql_browser.py (Debian package), installed only if absent.
browser:
	@test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium)

# Virtuoso Open Source for the remote-backend tests (Debian package, 7.2): installed only if
# absent; the tests start their own private server on free loopback ports (the package's system
# service is not used, and does not start in a container).  docs/deploy.md.
virtuoso:
	@test -x /usr/bin/virtuoso-t || (apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq virtuoso-opensource)

lint: $(STAMP)
	$(VENV)/bin/ruff check ingest graph search_api tests bench scripts
	$(VENV)/bin/mypy

# The page strings: compile the edited .po catalogs; the .mo files are committed, so a clean
# clone serves and tests offline without this step (tests/test_i18n.py checks they match).
messages: $(STAMP)
	$(VENV)/bin/pybabel compile -d search_api/http/locale -D messages --statistics

bench: $(STAMP)
	$(PY) bench/build.py

clean:
	rm -rf $(VENV) var
