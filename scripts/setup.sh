#!/usr/bin/env bash
# Create .venv (if needed) and install tttd with the given extras (default: dev).
# Works on a fresh machine with only Python >= 3.11.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-dev}"
py="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$py" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[${extras}]"
