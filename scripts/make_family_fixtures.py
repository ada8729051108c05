#!/usr/bin/env python3
"""Tiny random Hugging Face models of the families people align today, with transformers'
outputs, for the Rust `lm` crate's parity tests (`crates/lm/tests/family_parity.rs`).

Writes `crates/lm/tests/fixtures/families/<name>/`, each with `config.json`, the weights
(`model.safetensors`, or shards + `model.safetensors.index.json`), sometimes
`generation_config.json`, and `expected.json`:

  llama3-tiny        LlamaForCausalLM, GQA, untied, rope_type llama3 (factor 8, bands 1/4,
                     original context 16, so every band of the 4 frequencies is hit),
                     generation_config.json with a list of EOS ids
  smollm-tiny        LlamaForCausalLM shaped like SmolLM2 (tied, theta 1e5)
  llama-linear-bias  Llama with rope_type linear (factor 2), attention_bias and mlp_bias
  llama-dynamic      Llama with rope_type dynamic (factor 4, max_position_embeddings 8,
                     so the 10-token inputs are past the original context)
  mistral-tiny       MistralForCausalLM, sliding_window 4, explicit head_dim 16 != 32/4
  qwen2-tiny         Qwen2ForCausalLM (q/k/v biases, tied), use_sliding_window with
                     max_window_layers 1 (layer 0 full, layer 1 sliding, window 4)
  qwen3-tiny         Qwen3ForCausalLM (QK-norm, explicit head_dim 16, tied)
  qwen2-sharded-bf16 Qwen2ForCausalLM saved in bfloat16 in 2 shards with an index,
                     untied; expected outputs from the bf16 weights upcast to float32

expected.json holds, for two 10-token rows: the logits and next-token log-probs; the same
rows with row 1 cut to its last 6 tokens and left-padded (explicit position ids); and a
greedy continuation (`generate(do_sample=False)`, KV cache) of a left-padded batch of two
prompts, with each generated token's log-prob.

Weights use a large init (std 0.2 matrices, norm weights 1 + 0.1 randn, biases 0.1 randn)
so that layout bugs show up as large errors.

Run from the repo root:
    /work/main/.venv-torch/bin/python scripts/make_family_fixtures.py [NAME ...]
The output is deterministic for a given torch/transformers version (torch 2.9.0,
transformers 5.23.0).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import torch
import transformers
from transformers import (
    GenerationConfig,
    LlamaConfig,
    LlamaForCausalLM,
    MistralConfig,
    MistralForCausalLM,
    Qwen2Config,
    Qwen2ForCausalLM,
    Qwen3Config,
    Qwen3ForCausalLM,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
OUT_ROOT = REPO_ROOT / "crates" / "lm" / "tests" / "fixtures" / "families"
SIG_DIGITS = 7

INPUT_IDS = [
    [17, 103, 45, 88, 121, 9, 120, 64, 77, 32],
    [101, 5, 122, 73, 110, 39, 98, 12, 86, 41],
]
PAD_ID = 0
PADDED_KEEP = 6
GEN_PROMPTS = [[17, 103, 45, 88, 121, 9], [60, 7, 33]]
GEN_NEW = 8

COMMON = dict(
    vocab_size=128,
    hidden_size=32,
    intermediate_size=64,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=64,
    rms_norm_eps=1e-6,
    hidden_act="silu",
    bos_token_id=1,
    eos_token_id=2,
    pad_token_id=0,
    use_cache=True,
)


def rope(rope_type: str = "default", theta: float = 10000.0, **extra) -> dict:
    return {"rope_parameters": {"rope_type": rope_type, "rope_theta": theta, **extra}}


def llama(**kw) -> LlamaConfig:
    return LlamaConfig(**{**COMMON, "attention_bias": False, "mlp_bias": False, **kw})


FAMILIES = {
    "llama3-tiny": lambda: (
        LlamaForCausalLM,
        llama(
            tie_word_embeddings=False,
            **rope(
                "llama3",
                500000.0,
                factor=8.0,
                low_freq_factor=1.0,
                high_freq_factor=4.0,
                original_max_position_embeddings=16,
            ),
        ),
    ),
    "smollm-tiny": lambda: (
        LlamaForCausalLM,
        llama(tie_word_embeddings=True, num_key_value_heads=4, **rope(theta=100000.0)),
    ),
    "llama-linear-bias": lambda: (
        LlamaForCausalLM,
        llama(
            tie_word_embeddings=False,
            attention_bias=True,
            mlp_bias=True,
            **rope("linear", 10000.0, factor=2.0),
        ),
    ),
    "llama-dynamic": lambda: (
        LlamaForCausalLM,
        llama(
            tie_word_embeddings=False,
            max_position_embeddings=8,
            **rope("dynamic", 10000.0, factor=4.0),
        ),
    ),
    "mistral-tiny": lambda: (
        MistralForCausalLM,
        MistralConfig(
            **COMMON,
            head_dim=16,
            sliding_window=4,
            tie_word_embeddings=False,
            **rope(theta=1000000.0),
        ),
    ),
    "qwen2-tiny": lambda: (
        Qwen2ForCausalLM,
        Qwen2Config(
            **COMMON,
            tie_word_embeddings=True,
            use_sliding_window=True,
            sliding_window=4,
            max_window_layers=1,
            **rope(theta=1000000.0),
        ),
    ),
    "qwen3-tiny": lambda: (
        Qwen3ForCausalLM,
        Qwen3Config(
            **COMMON,
            head_dim=16,
            attention_bias=False,
            tie_word_embeddings=True,
            **rope(theta=1000000.0),
        ),
    ),
    "qwen2-sharded-bf16": lambda: (
        Qwen2ForCausalLM,
        Qwen2Config(**COMMON, tie_word_embeddings=False, **rope(theta=1000000.0)),
    ),
}

# Special cases.
GENERATION_EOS = {"llama3-tiny": [2, 5, 7], "qwen2-sharded-bf16": [2, 6]}
BF16_SHARDED = {"qwen2-sharded-bf16"}
# Dynamic NTK depends on the longest sequence of a call, so a row alone and in a padded
# batch see different frequencies: the padding sanity checks do not apply.
BATCH_DEPENDENT = {"llama-dynamic"}


@torch.no_grad()
def big_init(model: torch.nn.Module) -> None:
    for name, p in model.named_parameters():
        if p.dim() >= 2:
            p.normal_(0.0, 0.2)
        elif name.endswith(".bias"):
            p.copy_(0.1 * torch.randn_like(p))
        else:  # RMSNorm weights (also Qwen3's q_norm / k_norm)
            p.copy_(1.0 + 0.1 * torch.randn_like(p))


def rounded(t: torch.Tensor):
    def r(x: float) -> float:
        return float(f"{x:.{SIG_DIGITS}g}")

    if t.dim() == 0:
        return r(t.item())
    return [rounded(s) for s in t] if t.dim() > 1 else [r(x) for x in t.tolist()]


def left_pad(rows):
    t = max(len(r) for r in rows)
    ids = [[PAD_ID] * (t - len(r)) + r for r in rows]
    mask = [[0] * (t - len(r)) + [1] * len(r) for r in rows]
    return torch.tensor(ids), torch.tensor(mask)


@torch.no_grad()
def greedy(model, ids, mask):
    out = model.generate(
        input_ids=ids,
        attention_mask=mask,
        max_new_tokens=GEN_NEW,
        do_sample=False,
        use_cache=True,
        pad_token_id=PAD_ID,
        eos_token_id=None,
        output_scores=True,
        return_dict_in_generate=True,
    )
    new = out.sequences[:, ids.shape[1] :]
    lp = torch.stack(
        [
            torch.log_softmax(s.float(), -1).gather(-1, new[:, i : i + 1]).squeeze(-1)
            for i, s in enumerate(out.scores)
        ],
        dim=1,
    )
    return new, lp


@torch.no_grad()
def cases(model, name: str) -> dict:
    ids = torch.tensor(INPUT_IDS)
    mask = torch.ones_like(ids)
    logits = model(input_ids=ids, attention_mask=mask, use_cache=False).logits.float()
    logp = torch.log_softmax(logits, -1)
    next_lp = logp[:, :-1].gather(-1, ids[:, 1:].unsqueeze(-1)).squeeze(-1)

    t = ids.shape[1]
    n_pad = t - PADDED_KEEP
    p_ids, p_mask = ids.clone(), torch.ones_like(ids)
    p_ids[1] = torch.cat([torch.full((n_pad,), PAD_ID), ids[1, -PADDED_KEEP:]])
    p_mask[1, :n_pad] = 0
    p_pos = (p_mask.cumsum(-1) - 1).clamp(min=0)
    p_logits = model(
        input_ids=p_ids, attention_mask=p_mask, position_ids=p_pos, use_cache=False
    ).logits.float()
    if name not in BATCH_DEPENDENT:
        suffix = ids[1:, -PADDED_KEEP:]
        ref = model(input_ids=suffix, use_cache=False).logits.float()
        err = (p_logits[1, n_pad:] - ref[0]).abs().max().item()
        assert err < 1e-4, f"{name}: left-padding mismatch {err}"
        assert (p_logits[0] - logits[0]).abs().max().item() < 1e-4

    g_ids, g_mask = left_pad(GEN_PROMPTS)
    new, lp = greedy(model, g_ids, g_mask)
    if name not in BATCH_DEPENDENT:
        # Each row alone gives the same continuation (transformers' left padding is sound).
        for r, prompt in enumerate(GEN_PROMPTS):
            alone, _ = greedy(model, torch.tensor([prompt]), torch.ones(1, len(prompt), dtype=torch.long))
            assert torch.equal(alone[0], new[r]), f"{name}: batched greedy row {r} differs"
    return {
        "input_ids": ids.tolist(),
        "attention_mask": mask.tolist(),
        "logits": rounded(logits),
        "log_softmax_next": rounded(next_lp),
        "padded": {
            "input_ids": p_ids.tolist(),
            "attention_mask": p_mask.tolist(),
            "position_ids": p_pos.tolist(),
            "logits": rounded(p_logits),
        },
        "greedy": {
            "prompt_ids": g_ids.tolist(),
            "attention_mask": g_mask.tolist(),
            "new_tokens": new.tolist(),
            "new_token_logprobs": rounded(lp),
        },
    }


def make(name: str, seed: int) -> Path:
    cls, config = FAMILIES[name]()
    out = OUT_ROOT / name
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    torch.manual_seed(seed)
    model = cls(config).to(torch.float32)
    big_init(model)
    model.eval()
    model.set_attn_implementation("eager")
    keep = {"config.json", "model.safetensors"}
    if name in GENERATION_EOS:
        model.generation_config = GenerationConfig(
            bos_token_id=1, eos_token_id=GENERATION_EOS[name], pad_token_id=0
        )
        keep.add("generation_config.json")
    if name in BF16_SHARDED:
        model = model.to(torch.bfloat16)
        model.save_pretrained(out, safe_serialization=True, max_shard_size="40KB")
        keep |= {f.name for f in out.iterdir() if f.name.startswith("model-")}
        keep.add("model.safetensors.index.json")
    else:
        model.save_pretrained(out, safe_serialization=True)
    for f in out.iterdir():
        if f.name not in keep:
            f.unlink()

    reloaded = cls.from_pretrained(out, dtype=torch.float32)
    reloaded.eval()
    reloaded.set_attn_implementation("eager")
    result = cases(reloaded, name)
    if name not in BF16_SHARDED:
        again = cases(model, name)
        assert again == result, f"{name}: reload mismatch"
    with open(out / "expected.json", "w") as f:
        json.dump(result, f, separators=(",", ":"))
        f.write("\n")
    return out


def main(names: list[str]) -> int:
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, transformers {transformers.__version__}")
    names = names or list(FAMILIES)
    total = 0
    for seed, name in enumerate(FAMILIES):
        if name not in names:
            continue
        out = make(name, seed)
        size = sum(f.stat().st_size for f in out.iterdir())
        total += size
        files = ", ".join(sorted(f.name for f in out.iterdir()))
        greedy_tokens = json.loads((out / "expected.json").read_text())["greedy"]["new_tokens"]
        print(f"{out.relative_to(REPO_ROOT)}: {size} bytes ({files}); greedy {greedy_tokens}")
    print(f"total {total} bytes")
    return 0


if __name__ == "__main__":
    os.chdir(REPO_ROOT)
    sys.exit(main(sys.argv[1:]))
