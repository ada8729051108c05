"""Peer: TRL SFTTrainer train-step throughput on CPU for Gemma 3 270M (the GGUF from scripts/fetch-gemma3.sh,
dequantised to f32 by transformers), prompt-completion rows with the loss on completions only, synthetic token
data of fixed lengths (as ../shared/bench/trl_dpo_gemma_bench.py). The work of `bench_dpo --gemma ... --method sft`.
Prints tokens/s (prompt + completion) per optimizer step.
Usage: python scripts/peers/trl_sft_gemma_bench.py DIR_WITH_GGUF [rows prompt_len compl_len steps]"""
import sys, time, json, random, tempfile, torch
from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
from trl import SFTConfig, SFTTrainer
d = sys.argv[1]; f = "gemma-3-270m-q4_k_m.gguf"
a = [int(x) for x in sys.argv[2:]]
NB, P, C, STEPS = (a + [4, 64, 64, 5][len(a):])[:4]
torch.manual_seed(0); random.seed(0)
tok = AutoTokenizer.from_pretrained(d, gguf_file=f)
lm = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, dtype=torch.float32)
# transformers refuses to train a model it loaded from GGUF; rebuild a plain one from its config and weights
model = AutoModelForCausalLM.from_config(lm.config, dtype=torch.float32)
model.load_state_dict(lm.state_dict()); model.tie_weights(); del lm
ids = [i for i in range(1000, 20000) if len(tok.decode([i]).strip()) > 2 and tok.decode([i]).startswith(" ")][:4000]
def text(n): return "".join(tok.decode([random.choice(ids)]) for _ in range(n))
n = NB * (STEPS + 2)
ds = Dataset.from_list([{"prompt": text(P - 1), "completion": text(C - 1)} for _ in range(n)])
work = tempfile.mkdtemp(prefix="trlsft-")
args = SFTConfig(output_dir=work, per_device_train_batch_size=NB, max_steps=STEPS, logging_steps=1000,
                 save_strategy="no", report_to=[], use_cpu=True, dataloader_num_workers=0, learning_rate=1e-6,
                 max_length=P + C + 4, bf16=False, gradient_checkpointing=False, disable_tqdm=True,
                 packing=False, completion_only_loss=True)
tr = SFTTrainer(model=model, args=args, train_dataset=ds, processing_class=tok)
times = []
class CB(TrainerCallback):
    def on_step_begin(self, *a, **k): self.t = time.perf_counter()
    def on_step_end(self, *a, **k): times.append(time.perf_counter() - self.t)
tr.add_callback(CB())
t0 = time.perf_counter(); tr.train(); total = time.perf_counter() - t0
steady = sorted(times[1:]) or times
med = steady[len(steady) // 2]
print(json.dumps({"peer": "trl-sft-gemma3-270m", "trl": __import__("trl").__version__, "torch": torch.__version__,
                  "threads": torch.get_num_threads(), "rows_per_step": NB, "prompt": P, "completion": C,
                  "median_step_s": med, "step_times": times, "train_total_s": total,
                  "tokens_per_s": NB * (P + C) / med}))
