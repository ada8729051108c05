"""Peer: Hugging Face transformers generate() new tokens/s on CPU for Gemma 3 270M (the GGUF from
scripts/fetch-gemma3.sh, dequantised to f32 by transformers), sampling at temperature 1 (no top-k/top-p),
exactly NEW tokens after PROMPTS random prompts of PLEN tokens, with the KV cache. The work of
`bench_lm --gemma`. Usage: python scripts/peers/hf_generate_gemma_bench.py DIR [prompts plen new reps]"""
import sys, time, json, torch
from transformers import AutoModelForCausalLM
d = sys.argv[1]; f = "gemma-3-270m-q4_k_m.gguf"
a = [int(x) for x in sys.argv[2:]]
NP, P, N, REPS = (a + [8, 32, 32, 3][len(a):])[:4]
torch.manual_seed(0)
m = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, dtype=torch.float32).eval()
V = m.config.vocab_size
ids = torch.randint(4, V, (NP, P)); att = torch.ones_like(ids)
ts = []
for rep in range(REPS + 1):
    t = time.perf_counter()
    with torch.no_grad():
        m.generate(input_ids=ids, attention_mask=att, max_new_tokens=N, min_new_tokens=N, do_sample=True,
                   top_k=0, top_p=1.0, temperature=1.0, use_cache=True, pad_token_id=0)
    ts.append(time.perf_counter() - t)
steady = sorted(ts[1:])
med = steady[len(steady) // 2]
print(json.dumps({"peer": "hf-transformers-generate-gemma3-270m", "transformers": __import__("transformers").__version__,
                  "torch": torch.__version__, "threads": torch.get_num_threads(), "prompts": NP, "prompt_len": P,
                  "new_tokens": N, "times": ts, "kv_cache": {"median_s": med, "new_tokens_per_s": NP * N / med}}))
