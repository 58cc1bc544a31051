# Two commands: `make demo` builds everything on the embedded demo data, `make test` tests it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

# Offline and quiet: no library phones home. (Each warehouse has its own Dagster instance
# beside it, e.g. data/warehouse.dagster/; the CLI finds it, no DAGSTER_HOME needed.)
export DAGSTER_DISABLE_TELEMETRY := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := False
export GX_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1
export UV_COMPILE_BYTECODE := 1

DBT_SOURCES := $(shell find dbt_project/models dbt_project/macros dbt_project/tests -type f 2>/dev/null) dbt_project/dbt_project.yml
MANIFEST := dbt_project/target/manifest.json

.PHONY: install install-spark demo test test-spark ui docs lint bench clean

install: $(VENV)/.installed $(MANIFEST)

$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "uv>=0.9,<1"

# uv installs the locked, tested set (uv.lock); --inexact keeps uv itself in the venv.
$(VENV)/.installed: pyproject.toml uv.lock | $(BIN)/uv
	$(BIN)/uv sync --frozen --inexact --quiet
	@touch $@

# dagster-dbt loads the manifest when the definitions load: parse at build time, in full
# (as the CLI does when it finds the manifest stale): dbt-core 1.11's partial parse after a
# change to models' configs and a macro left a singular test without its description.
$(MANIFEST): $(VENV)/.installed $(DBT_SOURCES)
	cd dbt_project && ../$(BIN)/dbt parse --no-partial-parse --profiles-dir . --quiet
	@touch $@

# PySpark and dbt-spark (the `spark` dependency group, ~340 MB) for the Spark parity test;
# Spark also needs Java 17 (`java` on PATH).
install-spark: $(VENV)/.installed-spark

$(VENV)/.installed-spark: $(VENV)/.installed
	$(BIN)/uv sync --frozen --inexact --quiet --group spark
	@touch $@

demo: install
	$(BIN)/partner-metrics demo

# Includes the Spark parity test when Java and the spark group are installed (else skipped,
# with the reason in the summary).
test: install
	$(BIN)/pytest -n auto --maxprocesses=4 --dist loadfile --no-loadscope-reorder --durations=15

# The same dbt project on Apache Spark (local mode) from a small generated landing, every
# mart compared with the DuckDB build of it (tests/spark), with the unit tests and dbt's own
# generic tests on Spark too (`make test` leaves those out). Fails, rather than skips, when
# Java or PySpark is missing.
test-spark: install install-spark
	PARTNER_METRICS_REQUIRE_SPARK=1 PARTNER_METRICS_SPARK_EVERY_TEST=1 $(BIN)/pytest tests/spark

# The Dagster UI over data/warehouse.duckdb and its instance (data/warehouse.dagster).
ui: install
	$(BIN)/partner-metrics ui

# dbt's documentation of every model and column, generated against the warehouse and served
# on http://127.0.0.1:8080 (offline: dbt's tracking is off in dbt_project.yml).
docs: install
	$(BIN)/partner-metrics docs

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	PARTNER_METRICS_WAREHOUSE=:memory: $(BIN)/sqlfluff lint dbt_project

# Speed and memory of the pipeline at scale (36 months, 300 hubs, ~10 M cloud line items),
# beside raw DuckDB; writes bench/results.json. E.g. make bench BENCH_FLAGS="--rows 1000000".
bench: install
	$(BIN)/partner-metrics bench $(BENCH_FLAGS)

clean:
	rm -rf data dbt_project/target dbt_project/logs
