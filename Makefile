# Lấy Số: `make demo` installs everything and starts the demo center; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
VENDOR := layso/static/vendor
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo test screenshots setup tools system-deps lint clean

demo: setup
	$(BIN)/layso init --demo
	$(BIN)/layso run --host $(HOST) --port $(PORT)

# the suite on two pytest-xdist workers per core (tests/conftest.py; TEST_WORKERS=0 for a serial run); each worker
# has its own databases, temporary folders, ports, browser and Redis channels
TEST_WORKERS ?= auto

test: setup system-deps
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -n $(TEST_WORKERS)

setup: tools $(VENV)/.installed $(VENDOR)/socket.io.min.js $(VENDOR)/zxing.min.js $(VENDOR)/chart.umd.min.js

# npm fetches the browser packages at setup time; Debian's nodejs/npm when it is missing
tools:
	@command -v npm >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; \
	  else echo "Install Node.js and npm first: sudo apt-get install -y nodejs npm"; exit 1; fi; }

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# browser packages come from the npm registry at setup time and are served by the app itself
$(VENDOR)/socket.io.min.js: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	mkdir -p $(VENDOR)
	cp node_modules/socket.io-client/dist/socket.io.min.js $(VENDOR)/
	cp node_modules/socket.io-client/dist/socket.io.min.js.map $(VENDOR)/

# the kiosk camera's code reader (QR and barcodes), from the same npm install
$(VENDOR)/zxing.min.js: $(VENDOR)/socket.io.min.js
	cp node_modules/@zxing/library/umd/index.min.js $@

# Chart.js draws the reports page's charts (its UMD build: one file, window.Chart)
$(VENDOR)/chart.umd.min.js: package.json package-lock.json $(VENDOR)/socket.io.min.js
	mkdir -p $(VENDOR)
	cp node_modules/chart.js/dist/chart.umd.min.js node_modules/chart.js/dist/chart.umd.min.js.map $(VENDOR)/

# Debian's Chromium for the browser tests (never a downloaded browser build)
system-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "Install Debian's Chromium first: sudo apt-get install -y chromium"; exit 1; fi; }
	@command -v sox >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sox; \
	  else echo "Install sox first (the voice clip tests measure clips with it): sudo apt-get install -y sox"; exit 1; fi; }
	@command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light; \
	  else echo "Install nginx first (the tests check the documented proxy in front of the server): sudo apt-get install -y nginx-light"; exit 1; fi; }

# refresh docs/screenshots/ from the browser tests (a plain test run writes them to tmp)
screenshots: setup system-deps
	LAYSO_SCREENSHOTS=1 $(BIN)/python -m pytest -m browser -q

lint:
	$(BIN)/ruff check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) node_modules $(VENDOR) *.egg-info
