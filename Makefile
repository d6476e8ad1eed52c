# GovData: `make run` sets up and serves the platform; `make test` sets up and runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
HOST   ?= 127.0.0.1
# The demo's interface resource calls the platform's own stand-in upstream (govdata.demo.upstream).
export GOVDATA_DEMO_UPSTREAM_URL ?= http://127.0.0.1:$(PORT)

.PHONY: setup run test browser demo clean

setup: $(VENV)/.installed node_modules/.installed
	@$(BIN)/govdata compilemessages >/dev/null

$(VENV)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The browser tests drive the system Chromium (Playwright never downloads a browser here),
# with a CJK font so screenshots of the Chinese pages are legible.
BROWSER_PACKAGES := chromium fonts-wqy-microhei
browser:
	@test -x /usr/bin/chromium -a -d /usr/share/fonts/truetype/wqy || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq $(BROWSER_PACKAGES); \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq $(BROWSER_PACKAGES); fi; }

demo: setup
	$(BIN)/govdata demo

run: setup
	$(BIN)/govdata demo
	GOVDATA_DEMO_UPSTREAM=1 $(BIN)/govdata serve --host $(HOST) --port $(PORT)

test: setup browser
	$(BIN)/python scripts/run_tests.py $(ARGS)

clean:
	rm -rf $(VENV) node_modules var
