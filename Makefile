# Two commands for a fresh machine:
#   make demo   installs and runs the app with demo data on the embedded default (SQLite, jobs in-process)
#   make test   installs everything the tests need and runs the whole suite (SQLite, PostgreSQL, Redis, Chromium)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 5000

.PHONY: demo test install install-test assets translations chromium pdf services lint run bench mutants

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python assets
	$(BIN)/pip install --quiet -e .
	$(MAKE) translations

install-test: $(BIN)/python assets
	$(BIN)/pip install --quiet -e '.[test]'
	$(MAKE) translations

# front-end packages come from the npm registry with the lockfile, copied into the static folder
assets:
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	mkdir -p saas/static/vendor/pico saas/static/vendor/htmx saas/static/vendor/swagger-ui saas/static/vendor/idb-keyval
	cp node_modules/@picocss/pico/css/pico.min.css saas/static/vendor/pico/
	cp node_modules/htmx.org/dist/htmx.min.js saas/static/vendor/htmx/
	cp node_modules/idb-keyval/dist/umd.js saas/static/vendor/idb-keyval/idb-keyval.js
	cp node_modules/swagger-ui-dist/swagger-ui.css node_modules/swagger-ui-dist/swagger-ui-bundle.js \
	   node_modules/swagger-ui-dist/swagger-ui-standalone-preset.js saas/static/vendor/swagger-ui/

translations:
	PYTHON=$(BIN)/python scripts/i18n.sh compile

# Debian's chromium for the browser journeys (Playwright's own browser download cannot work here), and CJK fonts
# so that screenshots show Chinese rather than empty boxes
chromium:
	@(command -v chromium >/dev/null && dpkg -s fonts-noto-cjk >/dev/null 2>&1) || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null)

# WeasyPrint (the contact cards' PDFs) needs Debian's pango, harfbuzz's subsetter to embed fonts, and the Noto CJK
# fonts to set Chinese; as root they are installed, otherwise the PDFs fail until someone installs them
PDF_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk
pdf:
	@dpkg -s $(PDF_PACKAGES) >/dev/null 2>&1 || \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(PDF_PACKAGES) >/dev/null; \
	  else echo "warning: PDFs need the Debian packages $(PDF_PACKAGES) (apt-get install as root)" >&2; fi

services:
	@scripts/services.sh

demo: install pdf
	$(BIN)/flask --app wsgi db upgrade
	$(BIN)/flask --app wsgi demo seed
	@echo "open http://127.0.0.1:$(PORT)/t/lusong/login  (admin / wgt-demo-2026)"
	$(BIN)/flask --app wsgi demo run --port $(PORT)

# in parallel: each xdist worker has its own databases (tests/plugin.py); the browser journeys stay on one worker
TEST_WORKERS ?= 2
test: install-test chromium pdf services
	$(BIN)/ruff check .
	$(BIN)/pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadgroup

lint:
	$(BIN)/ruff check .

# planted faults in the state machine, the tenant filter, auth and the outbox, each against its area's tests;
# stops planting after MUTANTS_BUDGET seconds and writes the survival rate into docs/testing.md
MUTANTS_BUDGET ?= 3600
mutants: install-test services
	$(BIN)/python scripts/mutants.py --budget $(MUTANTS_BUDGET) --write-docs

# load figures as ratios to the bare stack (docs/performance.md); wrk from Debian drives the load
bench: install services
	@command -v wrk >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null)
	$(BIN)/python -m bench.seed
	$(BIN)/python -m bench.run --duration 10 --warmup 2
