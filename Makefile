# The two commands of the README. Both install everything they need into .venv first.
.PHONY: demo test setup lint bench

setup:
	@scripts/setup.sh

demo: setup
	.venv/bin/cfwb demo

test: setup
	@scripts/start-services.sh
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy
	.venv/bin/python -m pytest

lint: setup
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy

# Every table of docs/performance.md in one run, in bench/.venv (the project + the peers it is compared
# with). Knobs: BENCH_ROWS, BENCH_REPEAT, BENCH_SLOW_ROWS, BENCH_ONLY, BENCH_WRITE_DOCS=1 (see bench/run.py).
bench: setup
	@scripts/start-services.sh
	@bench/setup.sh
	bench/.venv/bin/python bench/run.py
	bench/.venv/bin/python bench/delta_write.py
