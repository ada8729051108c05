#!/usr/bin/env python3
"""LoRA adapters between the Rust `lm` crate and PEFT, both ways.

  make   PEFT → Rust. For three tiny bases (Llama 3, Qwen3, Gemma 3 fixtures of
         crates/lm/tests/fixtures), wraps the transformers model with `get_peft_model`
         (random non-zero factors: `init_lora_weights=False`), saves the adapter with
         `save_pretrained` into `crates/lm/tests/fixtures/peft/<name>-from-peft/`, and
         records the PEFT model's logits and the logits after `merge_and_unload()`.
         `crates/lm/tests/peft_interop.rs` loads these with `lm::lora::load_peft`.

  check  Rust → PEFT. Loads each adapter the Rust test wrote
         (`crates/lm/tests/fixtures/peft/<name>-from-rust/`, made by
         `RLHF_WRITE_FIXTURES=1 cargo test -p lm --release --test peft_interop`) onto the
         transformers base with `PeftModel.from_pretrained` and checks its logits, unmerged
         and merged, against the logits the Rust model computed (max |Δ| < 1e-4).

With no argument: make, then check. Run from the repo root:
    /work/main/.venv-torch/bin/python scripts/check_peft_roundtrip.py [make|check]
Versions used: torch 2.9.0, transformers 5.23.0, peft 0.18.0.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import peft
import torch
import transformers
from peft import LoraConfig, PeftModel, get_peft_model
from transformers import AutoModelForCausalLM

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES = REPO_ROOT / "crates" / "lm" / "tests" / "fixtures"
INPUT_IDS = [
    [17, 103, 45, 88, 121, 9, 120, 64, 77, 32],
    [101, 5, 122, 73, 110, 39, 98, 12, 86, 41],
]
SIG_DIGITS = 7

# name → (base fixture folder, PEFT LoraConfig arguments)
FROM_PEFT = {
    "llama3-tiny": (
        "families/llama3-tiny",
        dict(r=4, lora_alpha=8, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"]),
    ),
    "qwen3-tiny": (
        "families/qwen3-tiny",
        dict(
            r=3,
            lora_alpha=6,
            target_modules=["q_proj", "up_proj", "down_proj"],
            use_rslora=True,
            layers_to_transform=[0],
        ),
    ),
    "gemma3-tiny": ("gemma3-tiny", dict(r=2, lora_alpha=16, target_modules="all-linear")),
}


def base_model(folder: str):
    model = AutoModelForCausalLM.from_pretrained(FIXTURES / folder, dtype=torch.float32)
    model.set_attn_implementation("eager")
    return model.eval()


@torch.no_grad()
def logits(model) -> torch.Tensor:
    ids = torch.tensor(INPUT_IDS)
    return model(input_ids=ids, attention_mask=torch.ones_like(ids), use_cache=False).logits.float()


def rounded(t: torch.Tensor):
    if t.dim() > 1:
        return [rounded(s) for s in t]
    return [float(f"{x:.{SIG_DIGITS}g}") for x in t.tolist()]


def make() -> None:
    for seed, (name, (folder, args)) in enumerate(FROM_PEFT.items()):
        out = FIXTURES / "peft" / f"{name}-from-peft"
        if out.exists():
            shutil.rmtree(out)
        torch.manual_seed(100 + seed)
        config = LoraConfig(
            task_type="CAUSAL_LM", lora_dropout=0.0, init_lora_weights=False, **args
        )
        model = get_peft_model(base_model(folder), config).eval()
        want = logits(model)
        # A portable name instead of this machine's absolute path.
        model.peft_config["default"].base_model_name_or_path = folder
        model.save_pretrained(out)
        for f in out.iterdir():
            if f.name not in ("adapter_config.json", "adapter_model.safetensors"):
                f.unlink()
        merged = logits(model.merge_and_unload())
        base = logits(base_model(folder))
        assert (want - base).abs().max() > 1e-2, f"{name}: the adapter changes nothing"
        # The saved adapter reloads to the same outputs.
        again = logits(PeftModel.from_pretrained(base_model(folder), out).eval())
        assert torch.equal(again, want), f"{name}: reload mismatch"
        with open(out / "expected.json", "w") as f:
            json.dump(
                {"base": folder, "input_ids": INPUT_IDS, "logits": rounded(want),
                 "merged_logits": rounded(merged)},
                f,
                separators=(",", ":"),
            )
            f.write("\n")
        size = sum(f.stat().st_size for f in out.iterdir())
        print(f"wrote {out.relative_to(REPO_ROOT)} ({size} bytes)")


def check() -> int:
    failures = 0
    dirs = sorted((FIXTURES / "peft").glob("*-from-rust"))
    assert dirs, "no *-from-rust adapters: run the Rust test with RLHF_WRITE_FIXTURES=1"
    for out in dirs:
        e = json.loads((out / "expected.json").read_text())
        assert e["input_ids"] == INPUT_IDS
        want = torch.tensor(e["logits"]).reshape(2, 10, -1)
        model = PeftModel.from_pretrained(base_model(e["base"]), out).eval()
        n_adapted = sum(1 for n, _ in model.named_modules() if n.endswith("lora_A.default"))
        got = logits(model)
        merged = logits(model.merge_and_unload())
        err, err_m = (got - want).abs().max().item(), (merged - want).abs().max().item()
        ok = err < 1e-4 and err_m < 1e-4
        failures += not ok
        print(
            f"{'ok  ' if ok else 'FAIL'} {out.name}: {n_adapted} adapted modules, "
            f"max |Δlogit| {err:.2e} (merged {err_m:.2e})"
        )
    return failures


def main(argv: list[str]) -> int:
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, peft {peft.__version__}")
    mode = argv[0] if argv else "both"
    if mode in ("make", "both"):
        make()
    if mode in ("check", "both"):
        return 1 if check() else 0
    return 0


if __name__ == "__main__":
    os.chdir(REPO_ROOT)
    sys.exit(main(sys.argv[1:]))
