#!/usr/bin/env bash
# Serve the Gemma 3 270M GGUF with an OpenAI-compatible API (llama-cpp-python 0.3.x), for
# the HTTP judge (rlaif-judge's HttpModel) and its real-server test.
#
# Installs llama-cpp-python[server] 0.3.x into a virtual environment on first use. Its
# native build (-march=native) crashes at inference on the project's CPU machines, so it is
# built for AVX2/FMA/F16C without native tuning (about 5 minutes on 2 cores).
#
# Usage:  scripts/serve-llama.sh              # install if needed, then serve (foreground)
#         scripts/serve-llama.sh --install    # install only
# Env:    LLAMA_VENV  virtual environment (default: $REPO_ROOT/.venv-llama)
#         MODEL       GGUF file (default: .cache/gemma3/gemma-3-270m-q4_k_m.gguf, fetched
#                     with scripts/fetch-gemma3.sh if missing)
#         HOST, PORT  where to listen (default 127.0.0.1:8080)
#         N_CTX       context length (default 2048); N_THREADS (default: all cores)
#         ALIAS       model name served (default gemma-3-270m)
#
# Then:   RLAIF_LLAMA_URL=http://127.0.0.1:8080/v1 \
#           cargo test --release -p rlaif-judge --test http_real_server -- --nocapture
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
VENV="${LLAMA_VENV:-$REPO_ROOT/.venv-llama}"
HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-8080}"
N_CTX="${N_CTX:-2048}"
ALIAS="${ALIAS:-gemma-3-270m}"

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c "import llama_cpp, llama_cpp.server" 2>/dev/null; then
  echo "installing llama-cpp-python[server] 0.3.x into $VENV (builds llama.cpp, ~5 min)" >&2
  CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON" \
    "$VENV/bin/pip" install --no-cache-dir 'llama-cpp-python[server]==0.3.*' >&2
fi
if [ "${1:-}" = "--install" ]; then
  "$VENV/bin/python" -c "import llama_cpp; print('llama-cpp-python', llama_cpp.__version__)"
  exit 0
fi

MODEL="${MODEL:-$REPO_ROOT/.cache/gemma3/gemma-3-270m-q4_k_m.gguf}"
if [ ! -f "$MODEL" ]; then
  MODEL="$("$SCRIPT_DIR/fetch-gemma3.sh" | tail -n 1)"
fi

THREADS=()
if [ -n "${N_THREADS:-}" ]; then
  THREADS=(--n_threads "$N_THREADS")
fi
echo "serving $MODEL as $ALIAS on http://$HOST:$PORT/v1" >&2
exec "$VENV/bin/python" -m llama_cpp.server \
  --model "$MODEL" --model_alias "$ALIAS" \
  --host "$HOST" --port "$PORT" --n_ctx "$N_CTX" "${THREADS[@]}"
