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

bench: setup
	@scripts/start-services.sh
	.venv/bin/python bench/load_postgres.py
	.venv/bin/python bench/lakehouse_read.py
