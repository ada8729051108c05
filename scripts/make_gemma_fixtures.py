#!/usr/bin/env python3
"""Gemma 3 reference fixtures for the Rust `lm` crate.

Two parts:

1. `tiny` (default; no download): a tiny random `Gemma3ForCausalLM` (text-only
   `Gemma3TextConfig`: vocab 128, hidden 32, 4 query heads / 1 KV head of width 16,
   MLP 64, 7 layers so that both layer kinds appear (layer 5 is global with the default
   `sliding_window_pattern` 6), sliding window 4 so the window matters at length 12,
   `query_pre_attn_scalar` 24 != head_dim so the score scale is tested). Writes
   `crates/lm/tests/fixtures/gemma3-tiny/{config.json, model.safetensors, expected.json}`
   with the logits of a full batch, of a left-padded batch, and a greedy continuation
   (KV-cached decoding past the window).

2. `tiny-gguf`: the same tiny model (with `query_pre_attn_scalar` = head_dim, the value a
   GGUF file implies) written as a GGUF file with gguf-py the way llama.cpp's
   `convert_hf_to_gguf.py` writes Gemma 3 (tensor names, norm weights stored as 1 + w,
   `gemma3.*` metadata), checked by loading it back with transformers' GGUF loader (same
   weights and layer kinds), with the model's logits:
   `crates/lm/tests/fixtures/gemma3-tiny-gguf/{model.gguf, expected.json}`. This checks the
   Rust GGUF mapping in CI without the 240 MB file.

3. `gguf PATH`: loads Gemma 3 270M from a GGUF file with transformers (which dequantises
   it to float32; needs `pip install gguf`), and writes
   `crates/lm/tests/fixtures/gemma3-270m-gguf/expected.json`: for a few prompts the token
   ids (the GGUF tokenizer, BOS prepended), the log-prob of every next token, and a greedy
   continuation of 16 tokens.

Weights of the tiny model use a large init (std 0.2 matrices, 0.1*randn norm weights,
which Gemma applies as 1 + w) so that layout bugs show up as large errors.

Run from the repo root:
    .venv-torch/bin/python scripts/make_gemma_fixtures.py
    .venv-torch/bin/python scripts/make_gemma_fixtures.py tiny-gguf
    .venv-torch/bin/python scripts/make_gemma_fixtures.py gguf .cache/gemma3/gemma-3-270m-q4_k_m.gguf
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import torch
import transformers
from transformers import Gemma3ForCausalLM, Gemma3TextConfig

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES = REPO_ROOT / "crates" / "lm" / "tests" / "fixtures"
SIG_DIGITS = 7

# Two sequences of length 12, ids in [3, 128).
INPUT_IDS = [
    [17, 103, 45, 88, 121, 9, 120, 64, 77, 32, 5, 99],
    [101, 5, 122, 73, 110, 39, 98, 12, 86, 41, 60, 7],
]
PAD_ID = 0
PADDED_KEEP = 7  # row 1 of the padded batch: its last 7 tokens, left-padded
GEN_PROMPT = [[17, 103, 45, 88, 121, 9], [60, 7, 33, 50, 2, 91]]
GEN_NEW = 10

# Prompts of the GGUF fixture (plain text; the tokenizer prepends <bos>).
GGUF_PROMPTS = [
    "The capital of France is",
    "def fibonacci(n):\n    ",
    "Once upon a time, in a small village by the sea,",
    "Reinforcement learning from human feedback aligns language models by",
]
GGUF_NEW = 16


def tiny_config(query_pre_attn_scalar: int = 24) -> Gemma3TextConfig:
    return Gemma3TextConfig(
        vocab_size=128,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=7,
        num_attention_heads=4,
        num_key_value_heads=1,
        head_dim=16,
        max_position_embeddings=64,
        rms_norm_eps=1e-6,
        sliding_window=4,
        query_pre_attn_scalar=query_pre_attn_scalar,
        hidden_activation="gelu_pytorch_tanh",
        rope_parameters={
            "full_attention": {"rope_type": "default", "rope_theta": 1_000_000.0},
            "sliding_attention": {"rope_type": "default", "rope_theta": 10_000.0},
        },
        tie_word_embeddings=True,
        final_logit_softcapping=None,
        attn_logit_softcapping=None,
        bos_token_id=2,
        eos_token_id=1,
        pad_token_id=0,
        use_cache=True,
    )


@torch.no_grad()
def big_init(model: torch.nn.Module) -> None:
    for name, p in model.named_parameters():
        if p.dim() >= 2:
            p.normal_(0.0, 0.2)
        else:  # Gemma RMSNorm weight, applied as (1 + w)
            p.copy_(0.1 * torch.randn_like(p))


def rounded(t: torch.Tensor):
    def r(x: float) -> float:
        return float(f"{x:.{SIG_DIGITS}g}")

    if t.dim() == 0:
        return r(t.item())
    return [rounded(s) for s in t] if t.dim() > 1 else [r(x) for x in t.tolist()]


def next_logprobs(logits: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    logp = torch.log_softmax(logits.float(), dim=-1)
    return logp[:, :-1, :].gather(-1, ids[:, 1:].unsqueeze(-1)).squeeze(-1)


@torch.no_grad()
def tiny_cases(model) -> dict:
    ids = torch.tensor(INPUT_IDS)
    mask = torch.ones_like(ids)
    logits = model(input_ids=ids, attention_mask=mask, use_cache=False).logits.float()

    t = ids.shape[1]
    n_pad = t - PADDED_KEEP
    p_ids = ids.clone()
    p_mask = torch.ones_like(ids)
    p_ids[1] = torch.cat([torch.full((n_pad,), PAD_ID), ids[1, -PADDED_KEEP:]])
    p_mask[1, :n_pad] = 0
    p_pos = (p_mask.cumsum(-1) - 1).clamp(min=0)
    p_logits = model(
        input_ids=p_ids, attention_mask=p_mask, position_ids=p_pos, use_cache=False
    ).logits.float()
    # Sanity: the padded row equals a run of its suffix alone (the window is index-based
    # in transformers, which equals position-based on a left-padded row).
    suffix = ids[1:, -PADDED_KEEP:]
    ref = model(input_ids=suffix, use_cache=False).logits.float()
    err = (p_logits[1, n_pad:] - ref[0]).abs().max().item()
    assert err < 1e-4, f"left-padding mismatch {err}"

    gen_ids = torch.tensor(GEN_PROMPT)
    out = model.generate(
        input_ids=gen_ids,
        attention_mask=torch.ones_like(gen_ids),
        max_new_tokens=GEN_NEW,
        do_sample=False,
        use_cache=True,
        pad_token_id=PAD_ID,
        eos_token_id=None,
        output_scores=True,
        return_dict_in_generate=True,
    )
    new = out.sequences[:, gen_ids.shape[1] :]
    # Log-prob of each chosen token under the step's logits (greedy: no processors).
    step_lp = torch.stack(
        [
            torch.log_softmax(s.float(), -1).gather(-1, new[:, i : i + 1]).squeeze(-1)
            for i, s in enumerate(out.scores)
        ],
        dim=1,
    )
    return {
        "input_ids": ids.tolist(),
        "attention_mask": mask.tolist(),
        "logits": rounded(logits),
        "log_softmax_next": rounded(next_logprobs(logits, ids)),
        "padded": {
            "input_ids": p_ids.tolist(),
            "attention_mask": p_mask.tolist(),
            "position_ids": p_pos.tolist(),
            "logits": rounded(p_logits),
        },
        "greedy": {
            "prompt_ids": GEN_PROMPT,
            "new_tokens": new.tolist(),
            "new_token_logprobs": rounded(step_lp),
        },
    }


def make_tiny() -> None:
    out = FIXTURES / "gemma3-tiny"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    torch.manual_seed(0)
    config = tiny_config()
    model = Gemma3ForCausalLM(config).to(torch.float32)
    big_init(model)
    model.eval()
    model.set_attn_implementation("eager")
    assert model.config.layer_types[5] == "full_attention", model.config.layer_types
    assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    model.save_pretrained(out, safe_serialization=True)
    for f in out.iterdir():
        if f.name not in ("config.json", "model.safetensors"):
            f.unlink()
    result = tiny_cases(model)

    reloaded = Gemma3ForCausalLM.from_pretrained(out, dtype=torch.float32)
    reloaded.eval()
    reloaded.set_attn_implementation("eager")
    again = tiny_cases(reloaded)
    assert again == result, "reload mismatch"

    with open(out / "expected.json", "w") as f:
        json.dump(result, f, separators=(",", ":"))
        f.write("\n")
    for f in sorted(out.iterdir()):
        print(f"{f.relative_to(REPO_ROOT)}: {f.stat().st_size} bytes")
    print("layer_types:", model.config.layer_types)
    print("greedy:", result["greedy"]["new_tokens"])


# llama.cpp's Gemma 3 tensor names (gguf-py MODEL_TENSORS for MODEL_ARCH.GEMMA3).
GGUF_LAYER_NAMES = {
    "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output",
    "self_attn.q_norm": "attn_q_norm",
    "self_attn.k_norm": "attn_k_norm",
    "input_layernorm": "attn_norm",
    "post_attention_layernorm": "post_attention_norm",
    "pre_feedforward_layernorm": "ffn_norm",
    "post_feedforward_layernorm": "post_ffw_norm",
    "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
}


@torch.no_grad()
def make_tiny_gguf() -> None:
    import gguf
    from transformers import AutoModelForCausalLM

    out = FIXTURES / "gemma3-tiny-gguf"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    torch.manual_seed(0)
    cfg = tiny_config(query_pre_attn_scalar=16)
    model = Gemma3ForCausalLM(cfg).to(torch.float32)
    big_init(model)
    model.eval()
    model.set_attn_implementation("eager")

    path = out / "model.gguf"
    w = gguf.GGUFWriter(str(path), "gemma3")
    w.add_name("gemma3-tiny-random")
    w.add_context_length(cfg.max_position_embeddings)
    w.add_embedding_length(cfg.hidden_size)
    w.add_block_count(cfg.num_hidden_layers)
    w.add_feed_forward_length(cfg.intermediate_size)
    w.add_head_count(cfg.num_attention_heads)
    w.add_head_count_kv(cfg.num_key_value_heads)
    w.add_key_length(cfg.head_dim)
    w.add_value_length(cfg.head_dim)
    w.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    w.add_rope_freq_base(cfg.rope_parameters["full_attention"]["rope_theta"])
    w.add_sliding_window(cfg.sliding_window)
    # A minimal tokenizer section (transformers' GGUF loader expects one); ids only.
    w.add_tokenizer_model("llama")
    w.add_token_list([f"<t{i}>" for i in range(cfg.vocab_size)])
    w.add_token_scores([0.0] * cfg.vocab_size)
    w.add_token_types([1] * cfg.vocab_size)
    w.add_bos_token_id(2)
    w.add_eos_token_id(1)
    w.add_pad_token_id(0)

    def put(name: str, t: torch.Tensor) -> None:
        w.add_tensor(name, t.detach().float().contiguous().numpy())

    sd = model.state_dict()
    put("token_embd.weight", sd["model.embed_tokens.weight"])
    for i in range(cfg.num_hidden_layers):
        for hf, gg in GGUF_LAYER_NAMES.items():
            t = sd[f"model.layers.{i}.{hf}.weight"]
            if "norm" in gg:
                t = t + 1.0  # llama.cpp stores Gemma norms as 1 + w
            put(f"blk.{i}.{gg}.weight", t)
    put("output_norm.weight", sd["model.norm.weight"] + 1.0)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    # transformers' GGUF loader must read back exactly the weights written (names, the
    # 1 + w norm convention, layouts), and the same layer kinds.
    loaded = AutoModelForCausalLM.from_pretrained(out, gguf_file=path.name, dtype=torch.float32)
    back = loaded.state_dict()
    for k, v in sd.items():
        err = (back[k] - v).abs().max().item()
        assert err < 1e-6, f"{k}: transformers reads back a different tensor ({err})"
    assert loaded.config.layer_types == model.config.layer_types
    # It leaves query_pre_attn_scalar at its default 256 (no GGUF key; equal to head_dim for
    # every Gemma 3 size but 27B), whereas llama.cpp scales by 1/sqrt(key_length) as the Rust
    # loader does. Reference logits therefore come from the original model (scalar 16).
    print("transformers GGUF query_pre_attn_scalar:", loaded.config.query_pre_attn_scalar)
    ids = torch.tensor(INPUT_IDS)
    logits = model(input_ids=ids, use_cache=False).logits.float()
    with open(out / "expected.json", "w") as f:
        json.dump(
            {"input_ids": ids.tolist(), "logits": rounded(logits)}, f, separators=(",", ":")
        )
        f.write("\n")
    for f in sorted(out.iterdir()):
        print(f"{f.relative_to(REPO_ROOT)}: {f.stat().st_size} bytes")


@torch.no_grad()
def make_gguf(path: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = path.resolve()
    tok = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    model = AutoModelForCausalLM.from_pretrained(
        path.parent, gguf_file=path.name, dtype=torch.float32
    )
    model.eval()
    model.set_attn_implementation("eager")
    cfg = model.config
    print(type(model).__name__, "params", model.num_parameters())
    print(
        {
            k: getattr(cfg, k, None)
            for k in [
                "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                "num_key_value_heads", "head_dim", "intermediate_size", "sliding_window",
                "query_pre_attn_scalar", "rms_norm_eps", "rope_parameters",
                "max_position_embeddings", "final_logit_softcapping",
                "attn_logit_softcapping", "tie_word_embeddings",
            ]
        }
    )
    print("layer_types", cfg.layer_types)
    cases = []
    for text in GGUF_PROMPTS:
        enc = tok(text, return_tensors="pt")
        ids = enc["input_ids"]
        logits = model(input_ids=ids, use_cache=False).logits.float()
        lp = next_logprobs(logits, ids)[0]
        out = model.generate(
            input_ids=ids,
            attention_mask=torch.ones_like(ids),
            max_new_tokens=GGUF_NEW,
            do_sample=False,
            use_cache=True,
            eos_token_id=None,
            pad_token_id=0,
        )
        new = out[0, ids.shape[1] :].tolist()
        cases.append(
            {
                "text": text,
                "input_ids": ids[0].tolist(),
                "next_token_logprobs": [float(f"{x:.{SIG_DIGITS}g}") for x in lp.tolist()],
                "greedy_new_tokens": new,
                "greedy_text": tok.decode(new),
            }
        )
        print(repr(text), "->", repr(tok.decode(new)))
    out_dir = FIXTURES / "gemma3-270m-gguf"
    out_dir.mkdir(parents=True, exist_ok=True)
    record = {
        "gguf_file": path.name,
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "max_new_tokens": GGUF_NEW,
        "cases": cases,
    }
    with open(out_dir / "expected.json", "w") as f:
        json.dump(record, f, indent=1)
        f.write("\n")
    print(f"wrote {out_dir / 'expected.json'}")


def main() -> int:
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, transformers {transformers.__version__}")
    args = sys.argv[1:]
    if not args or args[0] == "tiny":
        make_tiny()
    elif args[0] == "tiny-gguf":
        make_tiny_gguf()
    elif args[0] == "gguf" and len(args) == 2:
        make_gguf(Path(args[1]))
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    os.chdir(REPO_ROOT)
    sys.exit(main())
