# KTT Market: `make run` starts the app with demo data; `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := app.py
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test install install-test translations lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || { \
	  echo "python3-venv is missing; installing it"; \
	  $$( [ "$$(id -u)" -ne 0 ] && echo sudo ) apt-get update -qq && \
	  $$( [ "$$(id -u)" -ne 0 ] && echo sudo ) apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(VENV); }
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.installed-test: requirements.txt requirements-test.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements-test.txt
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed translations

install-test: $(VENV)/.installed-test translations
	bash scripts/install-test-services.sh
	@$(MAKE) -s --no-print-directory $(NODE_TOOLS)/node_modules/.installed-test

# The browser tests' Node tools (axe-core, Lighthouse), pinned by the lock file; again only when it changes.
NODE_TOOLS := tests/browser/node
$(NODE_TOOLS)/node_modules/.installed-test: $(NODE_TOOLS)/package-lock.json
	npm ci --prefix $(NODE_TOOLS) --no-audit --no-fund --loglevel=error >/dev/null
	touch $@

translations: | $(BIN)/python
	@for po in ktt_market/translations/*/LC_MESSAGES/messages.po; do \
	  $(BIN)/pybabel compile --statistics -i $$po -o $${po%.po}.mo || exit 1; done

run: install
	$(BIN)/flask db upgrade
	$(BIN)/flask demo load
	@echo ""
	@echo "  KTT Market is running at http://$(HOST):$(PORT)/ with a background worker (Ctrl+C stops both)"
	@echo ""
	PATH="$(abspath $(BIN)):$$PATH" HOST=$(HOST) $(BIN)/honcho -f Procfile.dev start --port $(PORT)

# Two pytest processes, one per core, each with its own PostgreSQL; a test file stays in one process.
PYTEST_JOBS ?= 2
test: install-test
	$(BIN)/pytest -n $(PYTEST_JOBS) --dist loadfile
	@echo "== core tests again on SQLite, the embedded default =="
	$(BIN)/pytest --db sqlite -m core -q -n $(PYTEST_JOBS) --dist loadfile

# Every benchmark on a PostgreSQL server of its own, each figure beside a baseline of the same run, into one
# report: bench/report.json and bench/report.md. BENCH_NOTE="..." adds a line to its header (e.g. a shared machine).
BENCH_NOTE ?=
bench: install-test
	@need=""; command -v wrk >/dev/null || need="wrk"; command -v redis-server >/dev/null || need="$$need redis-server"; \
	if [ -n "$$need" ]; then \
	  $$( [ "$$(id -u)" -ne 0 ] && echo sudo ) apt-get update -qq && \
	  $$( [ "$$(id -u)" -ne 0 ] && echo sudo ) apt-get install -y -qq $$need; fi
	BENCH_NOTE="$(BENCH_NOTE)" $(BIN)/python scripts/bench.py

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Refresh the message catalogues after adding strings.
messages: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --ignore-dirs '.* node_modules' -o ktt_market/translations/messages.pot .
	$(BIN)/pybabel update -i ktt_market/translations/messages.pot -d ktt_market/translations --no-fuzzy-matching

clean:
	rm -rf $(VENV) instance .pytest_cache
