#!/usr/bin/env python3
"""Token ids of the Gemma 3 tokenizer built from the GGUF metadata by Hugging Face
transformers, for the opt-in parity test of `lm::gguf_tokenizer` (crates/lm/src/gguf_tokenizer.rs).

Needs the Gemma 3 270M GGUF (scripts/fetch-gemma3.sh; or set RLHF_GEMMA_GGUF) and a Python
with transformers and gguf (.venv-torch: `.venv-torch/bin/pip install gguf==0.19.0`).

Writes:
- crates/lm/tests/fixtures/gemma3_tokenizer.json (committed): special ids, vocabulary size,
  merge count, and for varied strings (unicode, spaces, newlines, digits, emoji, code,
  control tokens, HH dialogue) the ids `tokenizer(text)` gives (BOS added, as Gemma's
  tokenizer does by default) and the decoded text with and without special tokens.
- .cache/gemma3/hf_tokenizer.json (git-ignored: it is built from the Gemma vocabulary):
  transformers' full `tokenizer.json`, which the Rust test compares with its own vocabulary
  and merges when present.

Usage:  .venv-torch/bin/python scripts/make_gemma_tokenizer_fixtures.py
"""

import gzip
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GGUF = Path(os.environ.get("RLHF_GEMMA_GGUF", ROOT / ".cache" / "gemma3" / "gemma-3-270m-q4_k_m.gguf"))
OUT = ROOT / "crates" / "lm" / "tests" / "fixtures" / "gemma3_tokenizer.json"
FULL = ROOT / ".cache" / "gemma3" / "hf_tokenizer.json"
HH = ROOT.parent / "shared" / "data" / "hh-rlhf" / "harmless-base-dev.jsonl.gz"

TEXTS = [
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "",
    " ",
    "  leading and trailing spaces  ",
    "multiple   spaces\tand\ttabs\t\t",
    "line one\nline two\n\nline four\r\n\n\n\n",
    "Numbers: 0 1 12 123 1234 12345 3.14159 -42 1,000,000 2024-06-07",
    "naïve café résumé Ünïcödé — “quotes” ‘single’ «guillemets»",
    "日本語のテキスト、中文文本，한국어 텍스트, Ελληνικά, русский, العربية",
    "Emoji: 🙂🚀👍🏽 👨‍👩‍👧‍👦 🇫🇷",
    "def square(x):\n    return x ** 2  # the square\n\nprint([square(i) for i in range(10)])\n",
    "<start_of_turn>user\nWhat is 2+2?<end_of_turn>\n<start_of_turn>model\n4<end_of_turn>",
    "<bos>already has bos and <eos> and <pad>",
    "Ω≈ç√∫˜µ≤≥÷ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 \u0000\u0001\u001f\u007f \u200b zero-width",
    "▁ literal metaspace ▁▁ and [multimodal] token",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
]


def hh_texts(n=3):
    if not HH.is_file():
        print(f"note: {HH} not found; no HH dialogues in the fixture", file=sys.stderr)
        return []
    out = []
    with gzip.open(HH, "rt", encoding="utf-8") as f:
        for line in f:
            out.append(json.loads(line)["chosen"])
            if len(out) == n:
                break
    return out


def main():
    if not GGUF.is_file():
        sys.exit(f"error: {GGUF} not found: run scripts/fetch-gemma3.sh (or set RLHF_GEMMA_GGUF)")
    import transformers
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(GGUF.parent), gguf_file=GGUF.name)
    backend = json.loads(tok.backend_tokenizer.to_str())
    FULL.write_text(json.dumps(backend, ensure_ascii=False), encoding="utf-8")
    print(f"wrote {FULL} ({FULL.stat().st_size} bytes, not committed)")

    cases = []
    for text in TEXTS + hh_texts():
        ids = tok(text)["input_ids"]
        cases.append({
            "text": text,
            "ids": ids,
            "decoded": tok.decode(ids, skip_special_tokens=False),
            "decoded_skip_special": tok.decode(ids, skip_special_tokens=True),
        })
    fixture = {
        "generator": f"transformers {transformers.__version__} AutoTokenizer.from_pretrained(gguf_file=...) "
        f"({type(tok).__name__}); input_ids of tokenizer(text)",
        "gguf_sha256": "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
        "vocab_size": len(tok),
        "merges": len(backend["model"]["merges"]),
        "bos_id": tok.bos_token_id,
        "eos_id": tok.eos_token_id,
        "pad_id": tok.pad_token_id,
        "unk_id": tok.unk_token_id,
        "cases": cases,
    }
    OUT.write_text(json.dumps(fixture, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes, {len(cases)} cases)")


if __name__ == "__main__":
    main()
