#!/usr/bin/env bash
# The benchmark's own environment, bench/.venv: the project with every extra, exactly as uv.lock pins
# it, plus the peers of bench/requirements.txt (dlt, Sling, DuckDB extensions). The project's .venv,
# `make test` and the runtime dependencies stay without them. Idempotent; ~15 s when cached.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/uv ] || scripts/setup.sh  # the project's .venv provides uv and the Python
if [ ! -x bench/.venv/bin/python ]; then
  .venv/bin/uv venv --quiet --python .venv/bin/python bench/.venv
fi
.venv/bin/uv export --quiet --frozen --all-extras --no-dev --no-emit-project --no-hashes \
  --output-file bench/.venv/project-requirements.txt
VIRTUAL_ENV=bench/.venv .venv/bin/uv pip install --quiet \
  -r bench/.venv/project-requirements.txt -r bench/requirements.txt -e .
