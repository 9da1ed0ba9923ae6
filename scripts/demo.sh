#!/usr/bin/env bash
# Set up (if needed) and run the embedded default demo: offline, no weights, a few minutes on a
# laptop CPU. Extra arguments go to `spinml demo`, e.g. --out somewhere --seeds 2.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/spinml demo "$@"
