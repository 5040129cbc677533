# The two commands a newcomer needs: `make demo` (live demo on the embedded broker) and `make test`.
# Both create the virtual environment first; `make test` also installs the Debian packages the
# tests run for real (promtool, Prometheus, Alertmanager) when they are missing.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEMO_ARGS ?=
PYTEST_ARGS ?=

.PHONY: demo test lint bench system-packages clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

demo: $(BIN)/.installed
	$(BIN)/brandmon demo $(DEMO_ARGS)

system-packages:
	@command -v promtool >/dev/null 2>&1 || { \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			prometheus prometheus-alertmanager >/dev/null; }

# pytest exits 5 when it collected no tests; for this suite that is not a failure of the code.
test: $(BIN)/.installed system-packages
	$(BIN)/python -m pytest $(PYTEST_ARGS); status=$$?; [ $$status -eq 5 ] && status=0; exit $$status

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(BIN)/.installed
	$(BIN)/python -m bench.throughput
	$(BIN)/python -m bench.worker_throughput
	$(BIN)/python -m bench.query_matching
	$(BIN)/python -m bench.sentiment_accuracy
	$(BIN)/python -m bench.language_accuracy
	$(BIN)/python -m bench.sentiment_speed
	$(BIN)/python -m bench.nab_score

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
