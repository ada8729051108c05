#!/usr/bin/env bash
# Create (if absent) a Python venv with PyTorch + transformers, used to
# (re)generate the reference fixtures (scripts/make_*_fixtures.py,
# scripts/labelling_reference.py) and,
# via LIBTORCH_USE_PYTORCH=1, to provide libtorch for the tch backend.
#
# Usage:  scripts/setup-torch-venv.sh
# Env:    TORCH_VENV   venv location (default: $REPO_ROOT/.venv-torch)
#         PYTHON       interpreter used to create the venv (default: python3)
#
# Idempotent: does nothing if the venv already imports torch==2.9.0 and
# transformers. Note: torch from PyPI pulls the nvidia-* CUDA wheels
# (several GB) even on CPU-only machines.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
VENV="${TORCH_VENV:-$REPO_ROOT/.venv-torch}"
PYTHON="${PYTHON:-python3}"

TORCH_VERSION="2.9.0"
PINS=(
  "torch==${TORCH_VERSION}"
  "transformers==5.23.0"
  "safetensors==0.8.0"
  "numpy==2.4.6"
  # Reference packages of the other fixture scripts: TRL (DPO losses), gguf-py (GGUF
  # dequantisation and tokenizer), krippendorff/scikit-learn/scipy (labelling statistics).
  "trl==1.16.0"
  "gguf==0.19.0"
  "krippendorff==0.9.0"
  "scikit-learn==1.9.1"
  "scipy==1.17.1"
)

venv_ok() {
  [ -x "$VENV/bin/python" ] || return 1
  "$VENV/bin/python" - "$TORCH_VERSION" <<'EOF' >/dev/null 2>&1
import sys
import torch, transformers, safetensors, numpy, trl, gguf, krippendorff, sklearn, scipy  # noqa: F401
sys.exit(0 if torch.__version__.split("+")[0] == sys.argv[1] else 1)
EOF
}

if venv_ok; then
  echo "torch venv already set up; skipping install" >&2
else
  if [ ! -x "$VENV/bin/python" ]; then
    echo "creating venv at $VENV" >&2
    "$PYTHON" -m venv "$VENV"
  fi
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  echo "installing ${PINS[*]} (torch pulls several GB of CUDA wheels)" >&2
  "$VENV/bin/python" -m pip install --quiet "${PINS[@]}"
  if ! venv_ok; then
    echo "error: venv at $VENV still does not import torch==${TORCH_VERSION} + transformers" >&2
    exit 1
  fi
fi

"$VENV/bin/python" -c 'import torch, transformers; print(f"torch {torch.__version__}, transformers {transformers.__version__}", file=__import__("sys").stderr)'
echo "$VENV"
