#!/usr/bin/env bash
# Lint, format check and type check (the configuration is in pyproject.toml). Needs the dev extra
# (bash scripts/setup.sh dev). Fails at the first stage that fails; prints how long each took.
set -euo pipefail
cd "$(dirname "$0")/.."
stage() {
  local name=$1; shift
  local t0=$SECONDS
  "$@"
  echo "lint.sh: $name ok ($((SECONDS - t0)) s)"
}
stage "ruff check" .venv/bin/ruff check -q .
stage "ruff format --check" .venv/bin/ruff format --check -q .
stage "mypy" .venv/bin/mypy
