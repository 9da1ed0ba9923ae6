#!/usr/bin/env bash
# Create .venv (if needed) and install SpinML with every built-in plugin's dependencies,
# pinned by constraints.txt, plus the example third-party plugin. Safe to rerun: it does
# nothing when the pins and the package metadata have not changed since the last install.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv with $("$PYTHON" --version)" >&2
    "$PYTHON" -m venv .venv
fi
stamp=.venv/.spinml-installed
want=$(cat constraints.txt pyproject.toml examples/spinml-sobel/pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "setup: installing pinned dependencies (the first time takes a few minutes)" >&2
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -c constraints.txt -e ".[all,test]"
    .venv/bin/python -m pip install --quiet -c constraints.txt ./examples/spinml-sobel
    echo "$want" > "$stamp"
fi
