# The two commands a newcomer needs: `make run` and `make test`. Both set up everything first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

.PHONY: install run test lint browser bench clean translations manual screenshots
# Test workers: one per core of the standard machine; the browser tests share one of them.
WORKERS ?= 2

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

# Front-end packages (bpmn-js, htmx) from the npm registry, as pinned in package-lock.json.
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

install: $(STAMP) $(NODE_STAMP)

# Debian's Chromium drives the end-to-end tests (Playwright's own browser download is not used).
browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

run: install
	$(BIN)/sijosku init
	$(BIN)/sijosku demo --if-empty
	$(BIN)/sijosku run --host 127.0.0.1 --port 5000 --with-scheduler

# Style, formatting, the dependency rule (import-linter contracts in pyproject.toml) and types
# (mypy against the recorded baseline in mypy-baseline.txt, which may only shrink).
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy | $(BIN)/mypy-baseline filter --baseline-path mypy-baseline.txt

test: install lint browser
	$(BIN)/pytest -n $(WORKERS) --dist loadgroup

# After adding or changing a page's words: extract them, update the English catalog, then fill in
# the new English strings in web/translations/en/LC_MESSAGES/messages.po (a test checks it is complete).
translations: install
	$(BIN)/pybabel extract --no-wrap -F babel.cfg -k _l -o web/translations/messages.pot .
	$(BIN)/pybabel update --no-wrap --no-fuzzy-matching -i web/translations/messages.pot -d web/translations
	$(BIN)/python -m web.engine_messages

# The operator manual (web/manual/panduan) as build/panduan/panduan.html and panduan.pdf, printed by Chromium.
manual: install browser
	SECRET_KEY=$${SECRET_KEY:-manual} DATABASE_URL=$${DATABASE_URL:-sqlite:///build/manual.db} $(BIN)/sijosku manual --out build/panduan

# The manual's screenshots, taken by the end-to-end suite on the current screens.
screenshots: install browser
	SIJOSKU_SCREENSHOTS=web/manual/screenshots $(BIN)/pytest -q tests/e2e -p no:randomly -k sqlite

bench: install
	$(BIN)/python bench/engine.py

clean:
	rm -rf $(VENV) node_modules instance .pytest_cache
