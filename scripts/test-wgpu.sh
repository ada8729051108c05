#!/usr/bin/env bash
# Runs the `lm` test suite on burn's `wgpu` backend over Mesa's software Vulkan (llvmpipe),
# which proves the GPU code path on a machine without a GPU. Cold build ≈ 20 min on 2 cores.
# (burn's `vulkan` feature segfaults inside llvmpipe; `wgpu` works.)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if ! ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mesa-vulkan-drivers >/dev/null
  else
    echo "mesa-vulkan-drivers (llvmpipe) is not installed; run: sudo apt-get install -y mesa-vulkan-drivers" >&2
    exit 1
  fi
fi
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target/wgpu}"
export RLHF_DEVICE="${RLHF_DEVICE:-wgpu}"
# Another crate's suite: RLHF_TEST_PACKAGE=reward-model (a package name from its Cargo.toml).
cargo test --release -p "${RLHF_TEST_PACKAGE:-rlhf-lm}" --features wgpu "$@"
