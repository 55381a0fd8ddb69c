# Everyday commands. On a fresh Debian machine with Python 3.11, `make demo` and `make test`
# set everything up themselves (uv from PyPI, then the locked dependencies into .venv).

PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(shell command -v uv 2>/dev/null || echo $(TOOLS)/bin/uv)
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(PYTHON)

.PHONY: setup demo test test-fast lint typecheck check bench bench-evaluate bench-reconcile bench-x12 bench-service bench-forecast bench-vetting bench-report bench-fuzz bench-load audit clean

$(TOOLS)/bin/uv:
	$(PYTHON) -m venv $(TOOLS) || { $(PYTHON) -m pip install --user virtualenv && $(PYTHON) -m virtualenv $(TOOLS); }
	$(TOOLS)/bin/python -m pip install --quiet "uv==$(UV_VERSION)"

.venv/.synced: uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen
	touch $@

setup: .venv/.synced  ## install the locked dependencies into .venv

demo: setup  ## simulate a demo brand, load it, evaluate it, then serve the dashboard on :8000
	$(UV) run --frozen tallyclerk demo --fresh --serve --rfp examples/vetting/rfp.yaml --alerts examples/alerts/rules.yaml

test: setup  ## every test (PostgreSQL tests need the server at 127.0.0.1:5432)
	$(UV) run --frozen pytest -q

test-fast: setup  ## unit tests only
	$(UV) run --frozen pytest -q tests/unit

lint: setup
	$(UV) run --frozen ruff check src tests benchmarks
	$(UV) run --frozen ruff format --check src tests benchmarks

typecheck: setup
	$(UV) run --frozen mypy --strict src/tallyclerk

audit: setup  ## known vulnerabilities in the locked dependencies (pip-audit; see .ci/audit.py)
	$(UV) run --frozen python .ci/audit.py

check: lint typecheck audit test

bench: setup  ## ingest benchmark (1M orders); writes docs/benchmarks.md
	$(UV) run --frozen python benchmarks/ingest.py --orders 1000000

bench-evaluate: setup  ## KPI catalogue benchmark (1M and 10M orders); writes docs/benchmarks.md
	$(UV) run --frozen python benchmarks/evaluate.py

bench-reconcile: setup  ## reconciliation and invoice audit benchmark (10M orders); writes docs/benchmarks.md
	$(UV) run --frozen python benchmarks/reconcile.py

bench-service: setup  ## webhook ingestion and dashboard latency on loopback; writes docs/benchmarks.md
	$(UV) run --frozen python benchmarks/service.py

bench-forecast: setup  ## forecast accuracy on the Olist orders and 1,000 series; writes docs/benchmarks.md
	$(UV) run --frozen python benchmarks/forecast.py --olist
	$(UV) run --frozen python benchmarks/forecast.py

bench-vetting: setup  ## cost-to-serve of five candidates over 1M and 10M orders; writes docs/benchmarks.md
	$(UV) run --frozen python benchmarks/vetting.py

bench-x12: setup  ## X12 parsing benchmark (a 2M-segment 945 file); writes docs/benchmarks.md
	$(UV) run --frozen python benchmarks/x12.py

bench-report: setup  ## weekly review of one 3PL over 1M orders (build, HTML, PDF); writes docs/benchmarks.md
	$(UV) run --frozen python benchmarks/report.py

bench-fuzz: setup  ## coverage-guided fuzzing (atheris) of every input surface; writes docs/reliability.md
	$(UV) run --frozen python benchmarks/fuzz.py --all --seconds 120

bench-load: setup  ## bounded load test (locust) of webhooks and the dashboard; writes docs/reliability.md
	$(UV) run --frozen python benchmarks/load.py

clean:
	rm -rf .venv $(TOOLS) .pytest_cache .mypy_cache .ruff_cache demo-data tallyclerk.duckdb tallyclerk.duckdb.wal
