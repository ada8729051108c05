//! Benchmark of the reference transformer: training forward+backward tokens/s, and
//! generation new-tokens/s with and without the KV cache, at one or more batch sizes; or
//! generation with Gemma 3 270M. With `--peer`, Hugging Face transformers `generate` runs
//! the same work right after (as a child process, never at the same time) and the ratio is
//! printed. Prints one JSON line.
//!
//! ```text
//! cargo run --release --example bench_lm               # default config shared by later benchmarks
//! cargo run --release --example bench_lm -- --help     # every number is a flag
//! cargo run --release --example bench_lm -- --part gen --gen-batches 1,8 --peer
//! cargo run --release --example bench_lm -- --gemma .cache/gemma3/gemma-3-270m-q4_k_m.gguf \
//!     --gen-batches 1,8 --gen-prompt-len 32 --gen-new 32 --peer
//! RLHF_DEVICE=wgpu cargo run --release --features wgpu --example bench_lm
//! ```
//!
//! The peer is `../shared/bench/hf_generate_bench.py` for the tiny config and
//! `scripts/peers/hf_generate_gemma_bench.py` for Gemma, run with `--python` (a venv with
//! torch and transformers) and `OPENBLAS_CORETYPE` / `OPENBLAS_L2_SIZE` unset. Sampling is
//! plain (temperature 1, no top-k/top-p) on both sides, with exactly `--gen-new` tokens.

use std::path::PathBuf;

use burn::module::Module;
use burn::tensor::{Device, Distribution, Int, Tensor};
use clap::Parser;

#[path = "common/bench.rs"]
mod bench;
use bench::{gemm_peak, peer_json, time};
use lm::{
    CausalLm, GenerationConfig, SamplingConfig, Transformer, TransformerConfig, generate,
    select_device,
};
use policy_opt::sft::sft_loss;

/// Default: Llama-style, 4 layers, d_model 256, 4 heads, SwiGLU 1024, vocab 8192, tied
/// embeddings, f32; training batch 16 × 128; generation 8 prompts × 64 tokens + 64 new.
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
    #[arg(long, default_value_t = 16)]
    batch: usize,
    #[arg(long, default_value_t = 128)]
    seq: usize,
    /// Prompts per generation batch (the first entry of `--gen-batches` when that is given).
    #[arg(long, default_value_t = 8)]
    gen_prompts: usize,
    /// Generation batch sizes to measure, comma-separated (default: `--gen-prompts`).
    #[arg(long)]
    gen_batches: Option<String>,
    #[arg(long, default_value_t = 64)]
    gen_prompt_len: usize,
    #[arg(long, default_value_t = 64)]
    gen_new: usize,
    /// Timed repetitions (after one warm-up).
    #[arg(long, default_value_t = 3)]
    iters: usize,
    /// Also time generation without the KV cache.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    no_cache_run: bool,
    /// `all`, `train`, `gen`, or `head` (one decoding step's output projection and sampling:
    /// the host path of `fused_head::next_tokens` against burn's device ops; minimum over
    /// `--iters` repetitions, robust on a loaded machine).
    #[arg(long, default_value = "all")]
    part: String,
    /// Generation with Gemma 3 270M from this GGUF file instead of the tiny config.
    #[arg(long)]
    gemma: Option<PathBuf>,
    /// Run the transformers `generate` peer on the same work after this benchmark.
    #[arg(long)]
    peer: bool,
    /// Python interpreter of the peer (a venv with torch and transformers).
    #[arg(long, default_value = ".venv-torch/bin/python")]
    python: PathBuf,
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

fn main() {
    // Keep the heap between training steps (glibc; see `rlhf_core::allocator`).
    rlhf_core::allocator::tune_for_training();
    // The whole job on the compute pool (see `lm::device::run_on_compute_pool`).
    lm::device::run_on_compute_pool(bench_main);
}

fn bench_main() {
    let args = Args::parse();
    let device = select_device().unwrap_or_else(|e| panic!("{e}"));
    let batches: Vec<usize> = match &args.gen_batches {
        Some(list) => list
            .split(',')
            .map(|s| s.trim().parse().expect("--gen-batches: integers"))
            .collect(),
        None => vec![args.gen_prompts],
    };
    let mut out = serde_json::json!({
        "bench": "lm",
        "device": format!("{device:?}"),
        "malloc_tuning": format!("{:?}", rlhf_core::allocator::tune_for_training()),
    });
    let gen_results = if let Some(path) = &args.gemma {
        let model = lm::checkpoint::load_gemma3_gguf(path, &device)
            .unwrap_or_else(|e| panic!("{e}"))
            .valid();
        out["model"] = serde_json::json!(path.display().to_string());
        out["params"] = serde_json::json!(model.config.num_params());
        if args.part == "head" {
            out["head"] = serde_json::json!(bench_head(&args, &model, &device, &batches));
            vec![]
        } else {
            bench_generation(&args, &model, &device, &batches)
        }
    } else {
        let config = TransformerConfig::llama(
            args.vocab,
            args.d_model,
            args.layers,
            args.heads,
            args.kv_heads,
            args.d_ff,
        )
        .with_max_seq_len(args.seq.max(args.gen_prompt_len + args.gen_new));
        out["params"] = serde_json::json!(config.num_params());
        out["config"] = serde_json::json!({"layers": args.layers, "d_model": args.d_model,
            "heads": args.heads, "kv_heads": args.kv_heads, "d_ff": args.d_ff,
            "vocab": args.vocab, "tied": true, "dtype": "f32"});
        let ad = device.clone().autodiff();
        let model = Transformer::new(&config, args.seed, &ad).unwrap_or_else(|e| panic!("{e}"));
        if args.part == "train" || args.part == "all" {
            out["train"] = bench_train(&args, &model, &config, &device);
        }
        if args.part == "head" {
            out["head"] = serde_json::json!(bench_head(&args, &model.valid(), &device, &batches));
            vec![]
        } else if args.part != "train" {
            bench_generation(&args, &model.valid(), &device, &batches)
        } else {
            vec![]
        }
    };
    if !gen_results.is_empty() {
        out["generate"] = serde_json::json!(gen_results);
    }
    if args.peer && (args.part == "gen" || args.part == "all") {
        out["peer"] = serde_json::json!(run_peer(&args, &batches, &gen_results));
    }
    if args.gemma.is_none() && (args.part == "train" || args.part == "all") {
        out["gemm_1024_f32_flops_per_s"] = serde_json::json!(gemm_peak(&device));
    }
    println!("{out}");
}

/// Forward + SFT loss + backward over `batch × seq` random tokens.
fn bench_train(
    args: &Args,
    model: &Transformer,
    config: &TransformerConfig,
    device: &Device,
) -> serde_json::Value {
    let ad = device.clone().autodiff();
    let ids = Tensor::<2, Int>::random(
        [args.batch, args.seq],
        Distribution::Uniform(0.0, args.vocab as f64),
        &ad,
    );
    let mask = Tensor::<2, Int>::ones([args.batch, args.seq], &ad);
    let train_secs = time(&ad, args.iters, || {
        let logits = model.logits(ids.clone(), mask.clone());
        let (loss, _) = sft_loss(logits, ids.clone(), mask.clone());
        let grads = loss.backward();
        drop(grads);
    });
    let fused_secs = time(&ad, args.iters, || {
        let lp = model.sequence_logprobs(ids.clone(), mask.clone(), mask.clone());
        let loss = lp.sum.sum().neg();
        let grads = loss.backward();
        drop(grads);
    });
    let train_tokens = (args.batch * args.seq) as f64;
    // Per token: 6·N for the weights (the tied embedding counts once, as the output
    // projection) plus 6·L·T·d for attention scores and values (Kaplan et al. 2020, §2.1).
    let per_token =
        6.0 * config.num_params() as f64 + 6.0 * (args.layers * args.seq * args.d_model) as f64;
    let train_flops = per_token * train_tokens;
    let peak = gemm_peak(device);
    serde_json::json!({"batch": args.batch, "seq": args.seq,
        "step_s": train_secs,
        "fwd_bwd_tokens_per_s": train_tokens / train_secs,
        "model_flops_per_s": train_flops / train_secs,
        "fraction_of_gemm_peak": train_flops / train_secs / peak,
        "fused_head_step_s": fused_secs,
        "fused_head_tokens_per_s": train_tokens / fused_secs,
        "fused_head_fraction_of_gemm_peak": train_flops / fused_secs / peak})
}

/// Sampled generation (temperature 1) at each batch size, with and without the KV cache.
fn bench_generation<M: CausalLm>(
    args: &Args,
    model: &M,
    device: &Device,
    batches: &[usize],
) -> Vec<serde_json::Value> {
    let vocab = model.vocab_size();
    batches
        .iter()
        .map(|&b| {
            let p_ids = Tensor::<2, Int>::random(
                [b, args.gen_prompt_len],
                Distribution::Uniform(4.0, vocab as f64),
                device,
            );
            let p_mask = Tensor::<2, Int>::ones([b, args.gen_prompt_len], device);
            let gen_cfg = GenerationConfig {
                sampling: SamplingConfig::sample(1.0),
                seed: args.seed,
                ..GenerationConfig::new(args.gen_new)
            };
            let new_tokens = (b * args.gen_new) as f64;
            let gen_secs = time(device, args.iters, || {
                generate(model, p_ids.clone(), p_mask.clone(), &gen_cfg).unwrap();
            });
            let nocache_secs = (args.no_cache_run && args.gemma.is_none()).then(|| {
                let cfg = GenerationConfig {
                    use_cache: false,
                    ..gen_cfg.clone()
                };
                time(device, args.iters.min(2), || {
                    generate(model, p_ids.clone(), p_mask.clone(), &cfg).unwrap();
                })
            });
            serde_json::json!({"prompts": b, "prompt_len": args.gen_prompt_len,
                "new_tokens": args.gen_new,
                "kv_cache_s": gen_secs, "kv_cache_new_tokens_per_s": new_tokens / gen_secs,
                "no_cache_s": nocache_secs,
                "no_cache_new_tokens_per_s": nocache_secs.map(|s| new_tokens / s)})
        })
        .collect()
}

/// The transformers `generate` peer at each batch size, with our figures and the ratio.
fn run_peer(args: &Args, batches: &[usize], ours: &[serde_json::Value]) -> Vec<serde_json::Value> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    batches
        .iter()
        .zip(ours)
        .map(|(&b, ours)| {
            let (p, n) = (args.gen_prompt_len.to_string(), args.gen_new.to_string());
            let (script, peer_args) = match &args.gemma {
                Some(gguf) => {
                    let dir = gguf.parent().unwrap_or(std::path::Path::new("."));
                    (
                        root.join("scripts/peers/hf_generate_gemma_bench.py"),
                        vec![dir.display().to_string(), b.to_string(), p, n],
                    )
                }
                None => (
                    root.join("../shared/bench/hf_generate_bench.py"),
                    vec![
                        args.layers.to_string(),
                        args.d_model.to_string(),
                        args.heads.to_string(),
                        args.vocab.to_string(),
                        b.to_string(),
                        p,
                        n,
                    ],
                ),
            };
            let peer = peer_json(&args.python, &script, &peer_args);
            let ours_tps = ours["kv_cache_new_tokens_per_s"]
                .as_f64()
                .unwrap_or(f64::NAN);
            let peer_tps = peer
                .as_ref()
                .ok()
                .and_then(|v| v["kv_cache"]["new_tokens_per_s"].as_f64())
                .unwrap_or(f64::NAN);
            serde_json::json!({"prompts": b, "ours_new_tokens_per_s": ours_tps,
                "peer_new_tokens_per_s": peer_tps, "ratio": ours_tps / peer_tps,
                "peer": peer.unwrap_or_else(|e| serde_json::json!({"error": e}))})
        })
        .collect()
}

/// Seconds of one decoding step's projection + sampling at each batch size (plain sampling at
/// temperature 1): the host path (`fused_head::next_tokens`) and the device path (burn ops:
/// logits, softmax, cumsum, the CDF comparison, log-softmax, gather, read back), each the
/// minimum over `--iters` alternating repetitions.
fn bench_head<M: CausalLm>(
    args: &Args,
    model: &M,
    device: &Device,
    batches: &[usize],
) -> Vec<serde_json::Value> {
    use burn::tensor::activation::{log_softmax, softmax};
    use lm::fused_head::{Pick, next_tokens};
    let (d, v) = (model.d_model(), model.vocab_size());
    let proj = model.output_projection().expect("an output projection");
    batches
        .iter()
        .map(|&b| {
            let h = Tensor::<2>::random([b, d], Distribution::Normal(0.0, 1.0), device);
            let u: Vec<f32> = (0..b).map(|i| (i as f32 + 0.5) / b as f32).collect();
            let pick = Pick::Sample {
                temperature: 1.0,
                top_k: None,
                uniforms: u.clone(),
            };
            let host = || {
                let t = std::time::Instant::now();
                let _ = next_tokens(h.clone(), &proj, &pick).expect("flex");
                t.elapsed().as_secs_f64()
            };
            let dev = || {
                let t = std::time::Instant::now();
                let logits = model
                    .logits_from_hidden(h.clone().reshape([b, 1, d]))
                    .reshape([b, v]);
                let cdf = softmax(logits.clone(), 1).cumsum(1);
                let uu = Tensor::<2>::from_data(
                    burn::tensor::TensorData::new(u.clone(), [b, 1]),
                    device,
                );
                let chosen = cdf
                    .lower_equal(uu.expand([b, v]))
                    .int()
                    .sum_dim(1)
                    .clamp_max(v as i64 - 1);
                let lp = log_softmax(logits, 1).gather(1, chosen.clone());
                let _ = (chosen.into_data(), lp.into_data());
                t.elapsed().as_secs_f64()
            };
            let (mut best_host, mut best_dev) = (f64::INFINITY, f64::INFINITY);
            for _ in 0..args.iters.max(1) + 1 {
                best_host = best_host.min(host());
                best_dev = best_dev.min(dev());
            }
            serde_json::json!({"batch": b, "host_s": best_host, "device_s": best_dev,
                "speedup": best_dev / best_host})
        })
        .collect()
}
