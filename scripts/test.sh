#!/usr/bin/env bash
# Set up (if needed) and run the whole fast test suite, including the example plugin's tests.
# Extra arguments go to pytest, e.g. scripts/test.sh -k pipeline, or --runslow.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
exec .venv/bin/python -m pytest tests examples/spinml-sobel/tests "$@"
