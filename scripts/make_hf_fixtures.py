#!/usr/bin/env python3
"""Generate tiny random Hugging Face reference models + expected outputs.

Writes, under tests/fixtures/hf/:
  llama-tiny/        LlamaForCausalLM, GQA (4 q heads / 2 kv heads), untied lm_head
  llama-tiny-tied/   same config with tie_word_embeddings=True
  gpt2-tiny/         GPT2LMHeadModel (tied wte / lm_head)
each containing config.json, model.safetensors and expected.json.

Weights use a deliberately large init (std 0.2 matrices, non-trivial norm
weights and biases) so logits are far from uniform and any layout bug
(transposes, RoPE convention, fused c_attn split, GQA grouping) shows up
as a large error.

Run from the repo root (after scripts/setup-torch-venv.sh):
    .venv-torch/bin/python scripts/make_hf_fixtures.py
The output is deterministic for a given torch/transformers version.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import torch
import transformers
from safetensors import safe_open
from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

REPO_ROOT = Path(__file__).resolve().parent.parent
OUT_ROOT = REPO_ROOT / "tests" / "fixtures" / "hf"

# Two fixed sequences of length 10, token ids in [3, 125).
INPUT_IDS = [
    [17, 103, 45, 88, 121, 9, 120, 64, 77, 32],
    [101, 5, 122, 73, 110, 39, 98, 12, 86, 41],
]
PAD_ID = 0
PADDED_KEEP = 6  # second sequence is cut to its last 6 tokens and left-padded
SIG_DIGITS = 7


def llama_config(tied: bool) -> LlamaConfig:
    kwargs = dict(
        vocab_size=128,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=64,
        rms_norm_eps=1e-6,
        tie_word_embeddings=tied,
        attention_bias=False,
        mlp_bias=False,
        hidden_act="silu",
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=0,
        use_cache=False,
    )
    # transformers >= 5 keeps RoPE settings in `rope_parameters`; older
    # versions take a top-level `rope_theta`.
    if "rope_parameters" in LlamaConfig.__init__.__code__.co_varnames:
        kwargs["rope_parameters"] = {"rope_type": "default", "rope_theta": 10000.0}
    else:
        kwargs["rope_theta"] = 10000.0
    return LlamaConfig(**kwargs)


def gpt2_config() -> GPT2Config:
    return GPT2Config(
        vocab_size=128,
        n_embd=32,
        n_layer=2,
        n_head=4,
        n_positions=64,
        activation_function="gelu_new",
        layer_norm_epsilon=1e-5,
        bos_token_id=127,
        eos_token_id=127,
        use_cache=False,
    )


@torch.no_grad()
def big_init(model: torch.nn.Module) -> None:
    """Re-initialise every parameter with large, non-trivial values.

    Iterates in named_parameters() order (deterministic; tied parameters are
    visited once).
    """
    for name, p in model.named_parameters():
        if p.dim() >= 2:
            p.normal_(0.0, 0.2)
        elif name.endswith(".bias"):
            p.copy_(0.1 * torch.randn_like(p))
        else:  # RMSNorm / LayerNorm weight
            p.copy_(1.0 + 0.1 * torch.randn_like(p))


def set_eager(model: torch.nn.Module) -> None:
    # Plain matmul/softmax attention: the most literal reference.
    if hasattr(model, "set_attn_implementation"):
        model.set_attn_implementation("eager")
    else:
        model.config._attn_implementation = "eager"


def round_nested(t: torch.Tensor):
    def r(x: float) -> float:
        return float(f"{x:.{SIG_DIGITS}g}")

    if t.dim() == 0:
        return r(t.item())
    return [round_nested(s) for s in t] if t.dim() > 1 else [r(x) for x in t.tolist()]


@torch.no_grad()
def run_cases(model: torch.nn.Module) -> dict:
    ids = torch.tensor(INPUT_IDS, dtype=torch.long)
    mask = torch.ones_like(ids)
    logits = model(input_ids=ids, attention_mask=mask).logits.float()
    assert logits.shape == (2, 10, 128), logits.shape
    logp = torch.log_softmax(logits, dim=-1)
    next_lp = logp[:, :-1, :].gather(-1, ids[:, 1:].unsqueeze(-1)).squeeze(-1)

    seq_len = ids.shape[1]
    p_ids = ids.clone()
    p_mask = torch.ones_like(ids)
    n_pad = seq_len - PADDED_KEEP
    p_ids[1] = torch.cat([torch.full((n_pad,), PAD_ID), ids[1, -PADDED_KEEP:]])
    p_mask[1, :n_pad] = 0
    p_pos = (p_mask.cumsum(-1) - 1).clamp(min=0)
    p_logits = model(input_ids=p_ids, attention_mask=p_mask, position_ids=p_pos).logits.float()

    # Sanity: non-pad positions of the padded row must equal an unpadded run
    # of the 6-token suffix alone.
    suffix = ids[1:, -PADDED_KEEP:]
    ref = model(input_ids=suffix, attention_mask=torch.ones_like(suffix)).logits.float()
    err = (p_logits[1, n_pad:] - ref[0]).abs().max().item()
    assert err < 1e-4, f"left-padding mismatch {err}"
    # Row 0 of the padded batch is the unchanged first sequence.
    err0 = (p_logits[0] - logits[0]).abs().max().item()
    assert err0 < 1e-4, f"padded batch row 0 mismatch {err0}"

    return {
        "input_ids": ids.tolist(),
        "attention_mask": mask.tolist(),
        "logits": round_nested(logits),
        "log_softmax_next": round_nested(next_lp),
        "padded": {
            "input_ids": p_ids.tolist(),
            "attention_mask": p_mask.tolist(),
            "position_ids": p_pos.tolist(),
            "logits": round_nested(p_logits),
        },
        "_tensors": (logits, p_logits),
    }


def save_fixture(name: str, model: torch.nn.Module, model_cls) -> Path:
    out = OUT_ROOT / name
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)

    model.eval()
    set_eager(model)
    model.save_pretrained(out, safe_serialization=True)
    # Keep each folder to config.json + model.safetensors (+ expected.json).
    for f in out.iterdir():
        if f.name not in ("config.json", "model.safetensors"):
            f.unlink()

    result = run_cases(model)
    logits, p_logits = result.pop("_tensors")

    # Round-trip: the saved folder must reproduce the recorded outputs.
    reloaded = model_cls.from_pretrained(out, dtype=torch.float32)
    reloaded.eval()
    set_eager(reloaded)
    again = run_cases(reloaded)
    l2, p2 = again.pop("_tensors")
    assert torch.equal(l2, logits) and torch.equal(p2, p_logits), f"{name}: reload mismatch"

    with open(out / "expected.json", "w") as f:
        json.dump(result, f, separators=(",", ":"))
        f.write("\n")
    return out


def make_llama(tied: bool, seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    model = LlamaForCausalLM(llama_config(tied)).to(torch.float32)
    big_init(model)
    if tied:
        assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    return model


def make_gpt2(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    model = GPT2LMHeadModel(gpt2_config()).to(torch.float32)
    big_init(model)
    return model


def describe(out: Path) -> None:
    print(f"\n{out.relative_to(REPO_ROOT)}/")
    for f in sorted(out.iterdir()):
        print(f"  {f.name:<20} {f.stat().st_size:>9} bytes")
    with safe_open(out / "model.safetensors", framework="pt") as st:
        print(f"  tensors (metadata={st.metadata()}):")
        for k in sorted(st.keys()):
            t = st.get_slice(k)
            print(f"    {k:<45} {t.get_dtype():<4} {list(t.get_shape())}")
    exp = json.loads((out / "expected.json").read_text())
    logits = torch.tensor(exp["logits"])
    print(
        f"  expected.json: logits {list(logits.shape)}, std {logits.std():.3f}, "
        f"mean max-softmax prob {torch.softmax(logits, -1).max(-1).values.mean():.3f}"
    )


def main() -> int:
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, transformers {transformers.__version__}")

    outs = [
        save_fixture("llama-tiny", make_llama(tied=False, seed=0), LlamaForCausalLM),
        save_fixture("llama-tiny-tied", make_llama(tied=True, seed=1), LlamaForCausalLM),
        save_fixture("gpt2-tiny", make_gpt2(seed=2), GPT2LMHeadModel),
    ]
    total = 0
    for out in outs:
        describe(out)
        total += sum(f.stat().st_size for f in out.iterdir())
    print(f"\ntotal fixture size: {total} bytes ({total / 1024:.1f} KiB)")
    return 0


if __name__ == "__main__":
    os.chdir(REPO_ROOT)
    sys.exit(main())
