"""PyTorch eager peer for the project's benchmarks on any torch device (CUDA above all): the
same work as `bench_lm` (forward + backward of the token NLL over batch x seq random tokens;
sampled generation with the KV cache) and `bench_dpo` (one DPO step with a frozen reference
model run on every step: policy forward over the [2B, T] pair batch, sigmoid DPO loss,
backward, global-norm clipping at 1, AdamW). Same Llama-style config (transformers'
LlamaForCausalLM, random init, f32, tied embeddings). Prints one JSON line.

Usage: python scripts/peers/torch_eager_bench.py [--device cuda] [--layers 4 --d-model 256
  --heads 4 --d-ff 1024 --vocab 8192] [--batch 16 --seq 128] [--gen-batches 1,8
  --gen-prompt-len 64 --gen-new 64] [--pairs 8 --prompt-len 64 --completion-len 64]
"""
import argparse
import json
import time

import torch
import torch.nn.functional as F
from transformers import LlamaConfig, LlamaForCausalLM

p = argparse.ArgumentParser()
p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
p.add_argument("--layers", type=int, default=4)
p.add_argument("--d-model", type=int, default=256)
p.add_argument("--heads", type=int, default=4)
p.add_argument("--d-ff", type=int, default=1024)
p.add_argument("--vocab", type=int, default=8192)
p.add_argument("--batch", type=int, default=16)
p.add_argument("--seq", type=int, default=128)
p.add_argument("--gen-batches", default="1,8")
p.add_argument("--gen-prompt-len", type=int, default=64)
p.add_argument("--gen-new", type=int, default=64)
p.add_argument("--pairs", type=int, default=8)
p.add_argument("--prompt-len", type=int, default=64)
p.add_argument("--completion-len", type=int, default=64)
p.add_argument("--iters", type=int, default=5)
a = p.parse_args()
dev = torch.device(a.device)
torch.manual_seed(0)


def sync():
    if dev.type == "cuda":
        torch.cuda.synchronize()


def timed(f, iters):
    f()
    sync()
    t = time.perf_counter()
    for _ in range(iters):
        f()
    sync()
    return (time.perf_counter() - t) / iters


max_len = max(a.seq, a.gen_prompt_len + a.gen_new, a.prompt_len + a.completion_len) + 8
cfg = LlamaConfig(vocab_size=a.vocab, hidden_size=a.d_model, intermediate_size=a.d_ff,
                  num_hidden_layers=a.layers, num_attention_heads=a.heads,
                  num_key_value_heads=a.heads, max_position_embeddings=max_len,
                  tie_word_embeddings=True, attn_implementation="sdpa")
model = LlamaForCausalLM(cfg).to(dev)
params = sum(x.numel() for x in model.parameters())
out = {"peer": "torch-eager", "torch": torch.__version__,
       "transformers": __import__("transformers").__version__, "device": str(dev),
       "gpu": torch.cuda.get_device_name(0) if dev.type == "cuda" else None, "params": params}

# forward + backward of the NLL over batch x seq tokens (bench_lm's `train` part)
ids = torch.randint(0, a.vocab, (a.batch, a.seq), device=dev)


def train_step():
    logits = model(input_ids=ids).logits
    loss = F.cross_entropy(logits[:, :-1].reshape(-1, a.vocab), ids[:, 1:].reshape(-1))
    loss.backward()
    model.zero_grad(set_to_none=True)


s = timed(train_step, a.iters)
out["train"] = {"batch": a.batch, "seq": a.seq, "step_s": s,
                "fwd_bwd_tokens_per_s": a.batch * a.seq / s}

# sampled generation with the KV cache, exactly gen_new new tokens
model.eval()
gens = []
for b in [int(x) for x in a.gen_batches.split(",")]:
    prompt = torch.randint(4, a.vocab, (b, a.gen_prompt_len), device=dev)

    def gen():
        with torch.no_grad():
            model.generate(input_ids=prompt, attention_mask=torch.ones_like(prompt),
                           do_sample=True, temperature=1.0, top_k=0, top_p=1.0,
                           max_new_tokens=a.gen_new, min_new_tokens=a.gen_new,
                           use_cache=True, pad_token_id=0)

    s = timed(gen, max(1, a.iters // 2))
    gens.append({"prompts": b, "prompt_len": a.gen_prompt_len, "new_tokens": a.gen_new,
                 "kv_cache_s": s, "kv_cache_new_tokens_per_s": b * a.gen_new / s})
out["generate"] = gens

# one DPO step with a frozen reference (bench_dpo's `frozen` mode)
model.train()
ref = LlamaForCausalLM(cfg).to(dev).eval()
ref.load_state_dict(model.state_dict())
opt = torch.optim.AdamW(model.parameters(), lr=1e-6, eps=1e-8, weight_decay=0.0)
T = a.prompt_len + a.completion_len
pair_ids = torch.randint(4, a.vocab, (2 * a.pairs, T), device=dev)
loss_mask = torch.zeros(2 * a.pairs, T - 1, device=dev)
loss_mask[:, a.prompt_len - 1:] = 1.0


def seq_logps(m, x):
    logits = m(input_ids=x).logits[:, :-1]
    lp = torch.gather(logits.log_softmax(-1), 2, x[:, 1:].unsqueeze(-1)).squeeze(-1)
    return (lp * loss_mask).sum(-1)


def dpo_step():
    with torch.no_grad():
        r = seq_logps(ref, pair_ids)
    pl = seq_logps(model, pair_ids)
    d = 0.1 * ((pl[: a.pairs] - r[: a.pairs]) - (pl[a.pairs:] - r[a.pairs:]))
    loss = -F.logsigmoid(d).mean()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    opt.zero_grad(set_to_none=True)
    loss.item()


s = timed(dpo_step, a.iters)
out["dpo_frozen"] = {"pairs": a.pairs, "prompt_len": a.prompt_len,
                     "completion_len": a.completion_len, "step_s": s,
                     "tokens_per_s": 2 * a.pairs * T / s}
print(json.dumps(out))
