#!/usr/bin/env bash
# Runs the `lm` test suite on the libtorch backend (burn's `tch` feature, deprecated upstream
# in burn 0.22 and removed in 0.23; use `cuda` for NVIDIA GPUs).
# Needs libtorch 2.9.0: taken from PyTorch 2.9.0 installed by scripts/setup-torch-venv.sh.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$(bash scripts/setup-torch-venv.sh | tail -n 1)"
TORCH_LIB="$("$VENV/bin/python" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')"
export LIBTORCH_USE_PYTORCH=1
export PATH="$VENV/bin:$PATH"
export LD_LIBRARY_PATH="$TORCH_LIB:${LD_LIBRARY_PATH:-}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target/tch}"
export RLHF_DEVICE="${RLHF_DEVICE:-tch}"
# Unit tests that name Device::flex() stay on flex; the integration suites (padding,
# generation, checkpoints, Hugging Face parity) run on the device RLHF_DEVICE names.
# Another crate's suite: RLHF_TEST_PACKAGE=reward-model (a package name from its Cargo.toml).
cargo test --release -p "${RLHF_TEST_PACKAGE:-rlhf-lm}" --features tch "$@"
