//! Benchmark of a DPO training step: tokens/s (chosen + rejected rows, prompt + completion
//! tokens) with the reference log-probs precomputed and with a frozen reference model run
//! on every step, peak memory of each, and model FLOP/s as a fraction of the device's
//! measured f32 GEMM rate. Prints one JSON line.
//!
//! ```text
//! cargo run --release --example bench_dpo               # default config (below)
//! cargo run --release --example bench_dpo -- --help     # every number is a flag
//! RLHF_DEVICE=tch cargo run --release --no-default-features --features tch --example bench_dpo
//! # Gemma 3 270M as the policy: full fine-tuning vs LoRA, with gradient checkpointing
//! cargo run --release --example bench_dpo -- --gemma .cache/gemma3/gemma-3-270m-q4_k_m.gguf
//! cargo run --release --example bench_dpo -- --gemma <gguf> --lora-rank 16
//! cargo run --release --example bench_dpo -- --gemma <gguf> --lora-rank 16 --reference frozen
//! cargo run --release --example bench_dpo -- --gemma <gguf> --grad-checkpointing
//! # side by side with the peers (run one after the other, never at the same time):
//! cargo run --release --example bench_dpo -- --peer --python .venv-torch/bin/python
//! cargo run --release --example bench_dpo -- --gemma <gguf> --pairs 2 --prompt-len 64 \
//!     --completion-len 64 --synthetic --peer --python .venv-torch/bin/python
//! cargo run --release --example bench_dpo -- --gemma <gguf> --method sft --synthetic --peer ...
//! ```
//!
//! `--peer` runs TRL on the same work after this benchmark and prints both figures and the
//! ratios: `../shared/bench/trl_dpo_bench.py` (tiny config, frozen reference model: compare
//! with `frozen_reference`), `../shared/bench/trl_dpo_gemma_bench.py` (Gemma DPO, reference
//! log-probs precomputed) and `scripts/peers/trl_sft_gemma_bench.py` (Gemma SFT, loss on
//! completions). With `--synthetic` our rows have exactly `--prompt-len` + `--completion-len`
//! tokens, as the peers' synthetic rows do. The peer's peak RSS is its process's own peak resident set (`VmHWM`)
//! (loading included), so ours is given both for the whole process and for training alone.
//!
//! A step is what the training loop does: one forward of the policy over the `[2B, T]`
//! batch, the sigmoid DPO loss, backward, global-norm clipping and an AdamW update; with
//! `frozen` also the reference's forward pass (no graph). Peak memory is the process's
//! `VmHWM` (peak resident set, from `/proc/self/status`): with `--mode all` (the default)
//! the benchmark re-runs itself once per mode (`--mode cached`, `--mode frozen`) so each
//! figure is its own process's peak.

use std::process::Command;
use std::time::Instant;

use burn::optim::{GradientsParams, ModuleOptimizer};
use clap::Parser;

#[path = "common/bench.rs"]
mod bench;
use bench::{gemm_peak, peer_json, status_mib, time};
use lm::{Transformer, TransformerConfig, select_device};
use policy_opt::dpo::{Dpo, DpoBatches, DpoLossConfig, ReferenceCache};
use policy_opt::train::{BatchSource, TrainMethod, clip_grad_norm};
use pref_data::{BatchConfig, PairBatches, TokenizedPair};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// Default: Llama-style, 4 layers, d_model 256, 4 heads, SwiGLU 1024, vocab 8192, tied
/// embeddings, f32; 8 pairs per step, 64 prompt + 64 completion tokens, synthetic ids.
#[derive(Parser, Debug)]
struct Args {
    #[arg(long, default_value_t = 4)]
    layers: usize,
    #[arg(long, default_value_t = 256)]
    d_model: usize,
    #[arg(long, default_value_t = 4)]
    heads: usize,
    #[arg(long, default_value_t = 4)]
    kv_heads: usize,
    #[arg(long, default_value_t = 1024)]
    d_ff: usize,
    #[arg(long, default_value_t = 8192)]
    vocab: usize,
    /// Preference pairs per step (the batch has twice as many rows).
    #[arg(long, default_value_t = 8)]
    pairs: usize,
    #[arg(long, default_value_t = 64)]
    prompt_len: usize,
    #[arg(long, default_value_t = 64)]
    completion_len: usize,
    /// Timed steps (after one warm-up step).
    #[arg(long, default_value_t = 5)]
    iters: usize,
    /// `all` (each mode in its own process, then the GEMM rate), `cached`, `frozen`.
    #[arg(long, default_value = "all")]
    mode: String,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Instead: a few DPO steps with Gemma 3 270M (this GGUF file) as the policy on HH pairs
    /// (reference log-probs precomputed); takes `--pairs`, `--prompt-len`,
    /// `--completion-len` (truncation limits) and `--iters`. Try `--pairs 2 --iters 2`.
    #[arg(long)]
    gemma: Option<std::path::PathBuf>,
    /// HH-RLHF file or folder for `--gemma` (default: ../shared/data/hh-rlhf/).
    #[arg(long)]
    data: Option<std::path::PathBuf>,
    /// With `--gemma`: train LoRA adapters of this rank on every projection (q, k, v, o,
    /// gate, up, down; alpha = 2·rank) instead of every weight; 0 = full fine-tuning.
    #[arg(long, default_value_t = 0)]
    lora_rank: usize,
    /// With `--gemma`: recompute memory-bound activations in the backward pass (burn's
    /// `device.autodiff().gradient_checkpointing()`).
    #[arg(long)]
    grad_checkpointing: bool,
    /// With `--gemma`: `cached` (reference log-probs precomputed) or `frozen` (a reference
    /// model scored every step: with LoRA it is the policy's base, adapters switched off,
    /// sharing its weights; with full fine-tuning a copy of the initial weights).
    #[arg(long, default_value = "cached")]
    reference: String,
    /// With `--gemma`: `dpo`, or `sft` (the chosen and rejected rows of each pair as SFT rows,
    /// loss on completion tokens).
    #[arg(long, default_value = "dpo")]
    method: String,
    /// With `--gemma`: synthetic rows of exactly `--prompt-len` + `--completion-len` random
    /// token ids (from 1 000 .. 20 000, as the peer scripts draw) instead of HH pairs.
    #[arg(long)]
    synthetic: bool,
    /// Run the TRL peer on the same work afterwards and print the ratios.
    #[arg(long)]
    peer: bool,
    /// Python interpreter of the peer (a venv with torch, transformers, trl, datasets, gguf).
    #[arg(long, default_value = ".venv-torch/bin/python")]
    python: std::path::PathBuf,
}

fn main() {
    // Keep the heap between training steps (glibc; see `rlhf_core::allocator`).
    rlhf_core::allocator::tune_for_training();
    // The whole job on the compute pool (see `lm::device::run_on_compute_pool`).
    lm::device::run_on_compute_pool(bench_main);
}

fn bench_main() {
    let args = Args::parse();
    let out = match args.mode.as_str() {
        _ if args.gemma.is_some() => run_gemma(&args).map(|v| with_gemma_peer(&args, v)),
        "all" => run_all().map(|v| with_tiny_peer(&args, v)),
        "cached" | "frozen" => run_mode(&args),
        other => Err(format!(
            "--mode: expected all, cached or frozen, got {other}"
        )),
    };
    match out {
        Ok(v) => println!("{v}"),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}

/// TRL's optimizer settings (ε 1e-8, no weight decay) in the trainers' AdamW.
fn lean_adamw() -> ModuleOptimizer {
    let settings = train::AdamWSettings {
        epsilon: 1e-8,
        weight_decay: 0.0,
        ..Default::default()
    };
    train::LeanAdamW::new(&settings).into_module_optimizer()
}

/// Peak and current resident set of this process (MiB).
fn memory_mib() -> (Option<f64>, Option<f64>) {
    (status_mib("VmHWM:"), status_mib("VmRSS:"))
}

/// Runs `--mode cached` and `--mode frozen` as child processes, measures the GEMM rate, and
/// merges everything into one JSON object.
fn run_all() -> Result<serde_json::Value, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut passthrough: Vec<String> = Vec::new();
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        if a == "--mode" {
            it.next();
        } else if !a.starts_with("--mode=") {
            passthrough.push(a);
        }
    }
    let mut modes = serde_json::Map::new();
    for mode in ["cached", "frozen"] {
        let out = Command::new(&exe)
            .args(&passthrough)
            .args(["--mode", mode])
            .output()
            .map_err(|e| format!("running {}: {e}", exe.display()))?;
        if !out.status.success() {
            return Err(format!(
                "--mode {mode} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let line = String::from_utf8_lossy(&out.stdout);
        let v: serde_json::Value = serde_json::from_str(line.trim())
            .map_err(|e| format!("--mode {mode} printed no JSON ({e}): {line}"))?;
        modes.insert(mode.into(), v);
    }
    let device = select_device().map_err(|e| e.to_string())?;
    let peak = gemm_peak(&device);
    for v in modes.values_mut() {
        let flops = v["model_flops_per_s"].as_f64().unwrap_or(f64::NAN);
        v["fraction_of_gemm_peak"] = serde_json::json!(flops / peak);
    }
    let first = modes["cached"].clone();
    Ok(serde_json::json!({
        "bench": "dpo",
        "malloc_tuning": format!("{:?}", rlhf_core::allocator::tune_for_training()),
        "device": first["device"],
        "params": first["params"],
        "config": first["config"],
        "cached_reference": strip(&modes["cached"]),
        "frozen_reference": strip(&modes["frozen"]),
        "gemm_1024_f32_flops_per_s": peak,
        "memory_note": "peak_rss_mib is VmHWM of a separate process per mode",
    }))
}

/// A mode's figures without the fields shared by both.
fn strip(v: &serde_json::Value) -> serde_json::Value {
    let mut v = v.clone();
    if let Some(m) = v.as_object_mut() {
        for k in ["device", "params", "config", "bench"] {
            m.remove(k);
        }
    }
    v
}

fn manifest_root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `ours / peer` of two JSON numbers.
fn ratio(ours: &serde_json::Value, peer: &serde_json::Value) -> serde_json::Value {
    match (ours.as_f64(), peer.as_f64()) {
        (Some(a), Some(b)) if b != 0.0 => serde_json::json!(a / b),
        _ => serde_json::Value::Null,
    }
}

/// `--peer` for the tiny config: TRL's DPOTrainer with a frozen reference model.
fn with_tiny_peer(args: &Args, mut v: serde_json::Value) -> serde_json::Value {
    if !args.peer {
        return v;
    }
    let script = manifest_root().join("../shared/bench/trl_dpo_bench.py");
    let peer_args = [
        args.layers,
        args.d_model,
        args.heads,
        args.vocab,
        args.prompt_len,
        args.completion_len,
        args.pairs,
        12,
    ]
    .map(|x| x.to_string());
    match peer_json(&args.python, &script, &peer_args) {
        Ok(peer) => {
            let ours = &v["frozen_reference"];
            v["peer_comparison"] = serde_json::json!({
                "ours": "frozen_reference",
                "ours_tokens_per_s": ours["tokens_per_s"],
                "peer_tokens_per_s": peer["tokens_per_s"],
                "tokens_per_s_ratio": ratio(&ours["tokens_per_s"], &peer["tokens_per_s"]),
                "ours_peak_rss_mib": ours["peak_rss_mib"],
                "peer_peak_rss_mib": peer["peak_rss_mib"],
                "peak_rss_ratio": ratio(&ours["peak_rss_mib"], &peer["peak_rss_mib"]),
            });
            v["peer"] = peer;
        }
        Err(e) => v["peer"] = serde_json::json!({"error": e}),
    }
    v
}

/// `--peer` with `--gemma`: TRL's DPOTrainer (reference log-probs precomputed) or
/// SFTTrainer on Gemma 3 270M.
fn with_gemma_peer(args: &Args, mut v: serde_json::Value) -> serde_json::Value {
    if !args.peer {
        return v;
    }
    let gguf = args.gemma.as_ref().expect("gemma mode");
    let dir = gguf.parent().unwrap_or(std::path::Path::new("."));
    let (script, rows) = match args.method.as_str() {
        "sft" => (
            manifest_root().join("scripts/peers/trl_sft_gemma_bench.py"),
            2 * args.pairs,
        ),
        _ => (
            manifest_root().join("../shared/bench/trl_dpo_gemma_bench.py"),
            args.pairs,
        ),
    };
    let peer_args = vec![
        dir.display().to_string(),
        rows.to_string(),
        args.prompt_len.to_string(),
        args.completion_len.to_string(),
        (args.iters + 2).to_string(),
    ];
    match peer_json(&args.python, &script, &peer_args) {
        Ok(peer) => {
            v["peer_comparison"] = serde_json::json!({
                "ours_tokens_per_s": v["tokens_per_s"],
                "peer_tokens_per_s": peer["tokens_per_s"],
                "tokens_per_s_ratio": ratio(&v["tokens_per_s"], &peer["tokens_per_s"]),
                "ours_peak_rss_process_mib": v["peak_rss_process_mib"],
                "ours_peak_rss_training_mib": v["peak_rss_mib"],
                "peer_peak_rss_mib": peer["peak_rss_mib"],
                "peak_rss_ratio_process": ratio(&v["peak_rss_process_mib"], &peer["peak_rss_mib"]),
                "peak_rss_ratio_training": ratio(&v["peak_rss_mib"], &peer["peak_rss_mib"]),
            });
            v["peer"] = peer;
        }
        Err(e) => v["peer"] = serde_json::json!({"error": e}),
    }
    v
}

/// Synthetic pairs: `n` records of `prompt_len` + `completion_len` ids drawn from `ids`.
fn synthetic(args: &Args, n: usize, ids: std::ops::Range<u32>) -> Vec<TokenizedPair> {
    let mut rng = StdRng::seed_from_u64(args.seed);
    let mut draw = |k: usize| {
        (0..k)
            .map(|_| rng.random_range(ids.clone()))
            .collect::<Vec<u32>>()
    };
    (0..n)
        .map(|i| TokenizedPair {
            prompt: draw(args.prompt_len),
            chosen: draw(args.completion_len),
            rejected: draw(args.completion_len),
            p_chosen: 1.0,
            margin: None,
            weight: 1.0,
            group: i,
        })
        .collect()
}

fn run_mode(args: &Args) -> Result<serde_json::Value, String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let device = select_device().map_err(|e| err(&e))?;
    let (rss_start, _) = memory_mib();
    let seq = args.prompt_len + args.completion_len;
    let config = TransformerConfig::llama(
        args.vocab,
        args.d_model,
        args.layers,
        args.heads,
        args.kv_heads,
        args.d_ff,
    )
    .with_max_seq_len(seq);
    let ad = device.clone().autodiff();
    let mut model = Transformer::new(&config, args.seed, &ad).map_err(|e| err(&e))?;
    let n_params = config.num_params();
    let data = PairBatches::new(
        synthetic(args, args.pairs, 1..args.vocab as u32),
        0,
        &BatchConfig {
            batch_size: args.pairs,
            seed: args.seed,
            ..BatchConfig::default()
        },
    )
    .map_err(|e| err(&e))?;
    let loss = DpoLossConfig::default().init().map_err(|e| err(&e))?;
    let frozen = args.mode == "frozen";
    let t_pre = Instant::now();
    let (method, source) = if frozen {
        (
            Dpo::with_frozen_reference(loss, &model),
            DpoBatches::new(data),
        )
    } else {
        let cache = ReferenceCache::compute(&model, &data, &device).map_err(|e| err(&e))?;
        (
            Dpo::new(loss),
            DpoBatches::with_cache(data, cache).map_err(|e| err(&e))?,
        )
    };
    let precompute_s = (!frozen).then(|| t_pre.elapsed().as_secs_f64());
    // The trainers' AdamW (`train::LeanAdamW`, burn's AdamW values with one temporary).
    let mut optim = lean_adamw();
    let batch = source.batch(0, &ad);
    let step_s = time(&device, args.iters, || {
        let out = method.step(&model, &batch).expect("DPO step");
        let grads = GradientsParams::from_grads(out.loss.backward(), &model);
        let (grads, _) = clip_grad_norm(&model, grads, 1.0);
        model = optim.step(1e-6, model.clone(), grads);
        let _ = out.metrics[0].1.clone().into_scalar::<f32>();
    });
    let (peak_rss, rss_end) = memory_mib();

    let tokens = (2 * args.pairs * seq) as f64;
    // Per token: 6·N + 6·L·T·d for the policy's forward + backward (as bench_lm), plus
    // 2·N + 2·L·T·d for the frozen reference's forward.
    let attn = (args.layers * seq * args.d_model) as f64;
    let fwd = 2.0 * n_params as f64 + 2.0 * attn;
    let per_token = 3.0 * fwd + if frozen { fwd } else { 0.0 };
    Ok(serde_json::json!({
        "bench": "dpo",
        "malloc_tuning": format!("{:?}", rlhf_core::allocator::tune_for_training()),
        "device": format!("{device:?}"),
        "params": n_params,
        "config": {"layers": args.layers, "d_model": args.d_model, "heads": args.heads,
                   "kv_heads": args.kv_heads, "d_ff": args.d_ff, "vocab": args.vocab,
                   "tied": true, "dtype": "f32", "pairs": args.pairs,
                   "prompt_len": args.prompt_len, "completion_len": args.completion_len,
                   "tokens_per_step": tokens, "iters": args.iters},
        "mode": args.mode,
        "step_s": step_s,
        "tokens_per_s": tokens / step_s,
        "model_flops_per_s": per_token * tokens / step_s,
        "reference_precompute_s": precompute_s,
        "peak_rss_mib": peak_rss,
        "rss_start_mib": rss_start,
        "rss_end_mib": rss_end,
    }))
}

/// `--gemma`: DPO steps with Gemma 3 270M on real HH pairs, reference log-probs precomputed.
fn run_gemma(args: &Args) -> Result<serde_json::Value, String> {
    use burn::module::Module;
    use lm::CausalLm;
    use lm::lora::{LoraConfig, LoraModel};
    use policy_opt::sft::{Sft, SftBatch};
    use pref_data::{ChatTemplate, Mode, PreferencePair, TokenizeConfig, read_hh};
    use rlhf::locate_hh;
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let path = args.gemma.as_ref().expect("checked by the caller");
    let frozen = match args.reference.as_str() {
        "cached" => false,
        "frozen" => true,
        other => {
            return Err(format!(
                "--reference: expected cached or frozen, got {other}"
            ));
        }
    };
    let device = select_device().map_err(|e| err(&e))?;
    let ad = if args.grad_checkpointing {
        device.clone().autodiff().gradient_checkpointing()
    } else {
        device.clone().autodiff()
    };
    let t_load = Instant::now();
    let mut model = lm::checkpoint::load_gemma3_gguf(path, &ad).map_err(|e| err(&e))?;
    if args.lora_rank > 0 {
        let lora = LoraConfig::new(args.lora_rank, 2.0 * args.lora_rank as f64).with_all_targets();
        model = model.with_lora(&lora).map_err(|e| err(&e))?;
    }
    let trainable = if args.lora_rank > 0 {
        model.num_lora_params()
    } else {
        model.num_params()
    };
    let file = gguf::GgufFile::open(path).map_err(|e| err(&e))?;
    let tokenizer = lm::gguf_tokenizer::tokenizer_from_gguf(&file).map_err(|e| err(&e))?;
    let load_s = t_load.elapsed().as_secs_f64();
    let n_params = model.config.num_params();

    let sft = match args.method.as_str() {
        "dpo" => false,
        "sft" => true,
        other => return Err(format!("--method: expected dpo or sft, got {other}")),
    };
    let n = args.pairs * (args.iters + 1);
    let tok = if args.synthetic {
        // Ids from the ordinary part of the Gemma vocabulary (1000..20000), as the peers draw theirs.
        synthetic(args, n, 1000..20000)
    } else {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let hh = locate_hh(args.data.as_deref(), root, "harmless-base-dev.jsonl.gz")
            .map_err(|e| err(&e))?;
        let (hh, _) = read_hh(&hh, &pref_data::ReadOptions::default().mode(Mode::Lenient))
            .map_err(|e| err(&e))?;
        let pairs: Vec<PreferencePair> = hh.into_iter().take(n).map(Into::into).collect();
        let cfg = TokenizeConfig {
            max_prompt_len: args.prompt_len,
            max_completion_len: args.completion_len,
            add_bos: true,
            add_eos: true,
        };
        pref_data::tokenize_pairs(&pairs, &tokenizer, &ChatTemplate::Plain, &cfg)
            .map_err(|e| err(&e))?
            .0
    };
    let data = PairBatches::new(
        tok,
        tokenizer.pad_id(),
        &BatchConfig {
            batch_size: args.pairs,
            seed: args.seed,
            ..BatchConfig::default()
        },
    )
    .map_err(|e| err(&e))?;
    let loss = DpoLossConfig::default().init().map_err(|e| err(&e))?;
    let t_pre = Instant::now();
    let (method, source) = if sft {
        // SFT needs no reference (holding one would keep a copy of the initial weights alive).
        (Dpo::new(loss), DpoBatches::new(data))
    } else if frozen {
        // With LoRA the reference is the policy's own base (a `valid()` view shares the frozen
        // base weights); without, it is a copy of the initial weights.
        let reference = model.clone().with_lora_enabled(false);
        (
            Dpo::with_frozen_reference(loss, &reference),
            DpoBatches::new(data),
        )
    } else {
        let cache = ReferenceCache::compute(&model, &data, &device).map_err(|e| err(&e))?;
        let source = DpoBatches::with_cache(data, cache).map_err(|e| err(&e))?;
        (Dpo::new(loss), source)
    };
    let precompute_s = (!frozen && !sft).then(|| t_pre.elapsed().as_secs_f64());
    // Peak of loading and reference precomputation (the peer's peak includes both).
    let (peak_before_train, rss_before_train) = memory_mib();
    // Peak resident set from here on: reset the high-water mark (Linux ≥ 4.0).
    let hwm_reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    // The trainers' AdamW (`train::LeanAdamW`, burn's AdamW values with one temporary).
    let mut optim = lean_adamw();
    let mut steps = Vec::new();
    for i in 0..source.len() {
        let batch = source.batch(i, &ad);
        let tokens = batch
            .pairs
            .attention_mask
            .clone()
            .sum()
            .into_scalar::<f32>() as f64;
        let t = Instant::now();
        let out = if sft {
            let rows = SftBatch {
                ids: batch.pairs.ids.clone(),
                mask: batch.pairs.attention_mask.clone(),
                loss_mask: batch.pairs.completion_mask.clone(),
            };
            Sft::new().step(&model, &rows).expect("SFT step")
        } else {
            method.step(&model, &batch).expect("DPO step")
        };
        let loss = out.loss.clone().into_scalar::<f32>();
        let grads = GradientsParams::from_grads(out.loss.backward(), &model);
        let (grads, _) = clip_grad_norm(&model, grads, 1.0);
        model = optim.step(1e-6, model, grads);
        steps.push((t.elapsed().as_secs_f64(), tokens, loss));
    }
    let (peak_rss, rss_end) = memory_mib();
    // The first step warms up; the others are timed.
    let timed = if steps.len() > 1 {
        &steps[1..]
    } else {
        &steps[..]
    };
    let secs: f64 = timed.iter().map(|s| s.0).sum();
    let tokens: f64 = timed.iter().map(|s| s.1).sum();
    let peak_process = match (peak_before_train, peak_rss) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    Ok(serde_json::json!({
        "bench": if sft { "sft-gemma3" } else { "dpo-gemma3" },
        "malloc_tuning": format!("{:?}", rlhf_core::allocator::tune_for_training()),
        "method": args.method,
        "synthetic": args.synthetic,
        "peak_rss_process_mib": peak_process,
        "device": format!("{device:?}"),
        "model": path.display().to_string(),
        "params": n_params,
        "vocab": model.vocab_size(),
        "dtype": "f32 (dequantised from GGUF)",
        "lora_rank": args.lora_rank,
        "trainable_params": trainable,
        "grad_checkpointing": args.grad_checkpointing,
        "reference": args.reference,
        "pairs_per_step": args.pairs,
        "max_prompt_len": args.prompt_len,
        "max_completion_len": args.completion_len,
        "load_s": load_s,
        "reference_precompute_s": precompute_s,
        "steps": steps.iter().map(|s| serde_json::json!({"s": s.0, "tokens": s.1, "loss": s.2})).collect::<Vec<_>>(),
        "step_s": secs / timed.len().max(1) as f64,
        "tokens_per_s": tokens / secs,
        "rss_before_training_mib": rss_before_train,
        "peak_rss_mib": peak_rss,
        "peak_rss_is_training_only": hwm_reset,
        "rss_end_mib": rss_end,
    }))
}
