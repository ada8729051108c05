#!/usr/bin/env bash
# The project's benchmarks on an NVIDIA GPU beside PyTorch eager (CUDA) on the same GPU, in
# one run. BACKEND picks burn's backend: `cuda` (default) or `wgpu` (Vulkan).
#
# Build the two benchmarks with that backend's feature, then run this script on the machine
# with the GPU, whose python3 has torch and transformers:
#
#   cargo build --release --features cuda --example bench_lm --example bench_dpo
#   scripts/bench-gpu.sh target/release/examples OUT_DIR
#   # or: --features wgpu, then BACKEND=wgpu scripts/bench-gpu.sh ...
#
# burn's CUDA backend downloads an LLVM bundle from GitHub while it builds (cubecl-cuda →
# cubecl-llvm → tracel-llvm-bundler), so it cannot be built on a machine without that access;
# the wgpu backend needs no download.
#
# It writes one JSON file per benchmark into OUT_DIR and prints a table of ratios
# (ours / PyTorch eager): training forward+backward, sampled generation with the KV cache at
# batch 1 and 8, and a DPO step with a frozen reference, for the shared tiny config
# (4 × 256, vocab 8192) and a GPT-2-small-sized one (12 × 768, vocab 32000).
set -uo pipefail  # one benchmark failing or timing out leaves the others' figures
bin=${1:?directory holding bench_lm and bench_dpo}
out=${2:?output directory}
mkdir -p "$out"
here=$(cd "$(dirname "$0")" && pwd)
python=${PYTHON:-python3}
backend=${BACKEND:-cuda}

# NVRTC (runtime kernel compilation) from the CUDA toolkit or from pip's nvidia packages.
nvrtc=$(find /usr/local/cuda*/ /usr/lib /opt -name 'libnvrtc.so*' 2>/dev/null | head -1 || true)
if [ -n "$nvrtc" ]; then
  export LD_LIBRARY_PATH="$(dirname "$nvrtc")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
nvidia-smi -L | tee "$out/gpu.txt"

tiny=(--layers 4 --d-model 256 --heads 4 --d-ff 1024 --vocab 8192)
small=(--layers 12 --d-model 768 --heads 12 --d-ff 3072 --vocab 32000)
for name in tiny small; do
  if [ "$name" = tiny ]; then cfg=("${tiny[@]}"); else cfg=("${small[@]}"); fi
  kv=(--kv-heads "${cfg[5]}")
  t=${STEP_TIMEOUT:-200}
  RLHF_DEVICE=$backend timeout "$t" "$bin/bench_lm" "${cfg[@]}" "${kv[@]}" --part all --gen-batches 1,8 \
    --no-cache-run false --iters 5 >"$out/ours_lm_$name.json"
  RLHF_DEVICE=$backend timeout "$t" "$bin/bench_dpo" "${cfg[@]}" "${kv[@]}" --mode frozen --iters 5 \
    >"$out/ours_dpo_$name.json"
  timeout "$t" "$python" "$here/peers/torch_eager_bench.py" --device cuda "${cfg[@]}" --gen-batches 1,8 \
    --iters 5 >"$out/peer_$name.json"
done

"$python" - "$out" <<'EOF'
import json, sys, os
out = sys.argv[1]
def last_json(path):
    try:
        lines = [l for l in open(path) if l.strip().startswith("{")]
        return json.loads(lines[-1])
    except (OSError, IndexError, ValueError):
        return None
rows = []
for name in ["tiny", "small"]:
    lm = last_json(f"{out}/ours_lm_{name}.json")
    dpo = last_json(f"{out}/ours_dpo_{name}.json")
    peer = last_json(f"{out}/peer_{name}.json")
    if lm is None or dpo is None or peer is None:
        print(f"{name}: missing figures (ours_lm {lm is not None}, ours_dpo {dpo is not None}, peer {peer is not None})")
        continue
    rows.append((name, "train fwd+bwd tok/s", lm["train"]["fused_head_tokens_per_s"],
                 lm["train"]["fwd_bwd_tokens_per_s"], peer["train"]["fwd_bwd_tokens_per_s"]))
    for ours, theirs in zip(lm["generate"], peer["generate"]):
        rows.append((name, f"generate b={ours['prompts']} new tok/s",
                     ours["kv_cache_new_tokens_per_s"], None, theirs["kv_cache_new_tokens_per_s"]))
    d = dpo.get("frozen_reference", dpo)
    rows.append((name, "DPO step (frozen ref) tok/s", d["tokens_per_s"], None,
                 peer["dpo_frozen"]["tokens_per_s"]))
backend = os.environ.get("BACKEND", "cuda")
lines = [f"| config | work | ours ({backend}) | ours, full logits | PyTorch eager (CUDA) | ratio |", "|---|---|---|---|---|---|"]
for name, work, ours, alt, peer in rows:
    alt_s = f"{alt:,.0f}" if alt else ""
    lines.append(f"| {name} | {work} | {ours:,.0f} | {alt_s} | {peer:,.0f} | {ours / peer:.2f}× |")
table = "\n".join(lines)
print(table)
open(f"{out}/table.md", "w").write(table + "\n")
EOF
