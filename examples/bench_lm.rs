//! Benchmark of the reference transformer: training forward+backward tokens/s, and
//! generation new-tokens/s with and without the KV cache. Prints one JSON line.
//!
//! ```text
//! cargo run --release --example bench_lm               # default config shared by later benchmarks
//! cargo run --release --example bench_lm -- --help     # every number is a flag
//! RLHF_DEVICE=wgpu cargo run --release --features wgpu --example bench_lm
//! ```

use burn::module::Module;
use burn::tensor::{Distribution, Int, Tensor};
use clap::Parser;

#[path = "common/bench.rs"]
mod bench;
use bench::{gemm_peak, time};
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
    #[arg(long, default_value_t = 8)]
    gen_prompts: usize,
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
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

fn main() {
    let args = Args::parse();
    let device = select_device().unwrap_or_else(|e| panic!("{e}"));
    let config = TransformerConfig::llama(
        args.vocab,
        args.d_model,
        args.layers,
        args.heads,
        args.kv_heads,
        args.d_ff,
    )
    .with_max_seq_len(args.seq.max(args.gen_prompt_len + args.gen_new));
    let ad = device.clone().autodiff();
    let model = Transformer::new(&config, args.seed, &ad).unwrap_or_else(|e| panic!("{e}"));
    let n_params = config.num_params();

    // Training step: forward + loss + backward.
    let ids = Tensor::<2, Int>::random(
        [args.batch, args.seq],
        Distribution::Uniform(0.0, args.vocab as f64),
        &ad,
    );
    let mask = Tensor::<2, Int>::ones([args.batch, args.seq], &ad);
    let train_secs = time(args.iters, || {
        let logits = model.logits(ids.clone(), mask.clone());
        let (loss, _) = sft_loss(logits, ids.clone(), mask.clone());
        let grads = loss.backward();
        drop(grads);
    });
    let train_tokens = (args.batch * args.seq) as f64;
    // Per token: 6·N for the weights (the tied embedding counts once, as the output
    // projection) plus 6·L·T·d for attention scores and values (Kaplan et al. 2020, §2.1).
    let per_token = 6.0 * n_params as f64 + 6.0 * (args.layers * args.seq * args.d_model) as f64;
    let train_flops = per_token * train_tokens;

    // Generation on an inference copy.
    let infer = model.valid();
    let p_ids = Tensor::<2, Int>::random(
        [args.gen_prompts, args.gen_prompt_len],
        Distribution::Uniform(0.0, args.vocab as f64),
        &device,
    );
    let p_mask = Tensor::<2, Int>::ones([args.gen_prompts, args.gen_prompt_len], &device);
    let gen_cfg = GenerationConfig {
        sampling: SamplingConfig::sample(1.0),
        seed: args.seed,
        ..GenerationConfig::new(args.gen_new)
    };
    let new_tokens = (args.gen_prompts * args.gen_new) as f64;
    let gen_secs = time(args.iters, || {
        generate(&infer, p_ids.clone(), p_mask.clone(), &gen_cfg).unwrap();
    });
    let nocache_secs = args.no_cache_run.then(|| {
        let cfg = GenerationConfig {
            use_cache: false,
            ..gen_cfg.clone()
        };
        time(args.iters.min(2), || {
            generate(&infer, p_ids.clone(), p_mask.clone(), &cfg).unwrap();
        })
    });
    let peak = gemm_peak(&device.clone().without_autodiff());

    let out = serde_json::json!({
        "bench": "lm",
        "device": format!("{device:?}"),
        "params": n_params,
        "config": {"layers": args.layers, "d_model": args.d_model, "heads": args.heads, "kv_heads": args.kv_heads,
                   "d_ff": args.d_ff, "vocab": args.vocab, "tied": true, "dtype": "f32"},
        "train": {"batch": args.batch, "seq": args.seq, "step_s": train_secs,
                  "fwd_bwd_tokens_per_s": train_tokens / train_secs,
                  "model_flops_per_s": train_flops / train_secs,
                  "fraction_of_gemm_peak": train_flops / train_secs / peak},
        "generate": {"prompts": args.gen_prompts, "prompt_len": args.gen_prompt_len, "new_tokens": args.gen_new,
                     "kv_cache_s": gen_secs, "kv_cache_new_tokens_per_s": new_tokens / gen_secs,
                     "no_cache_s": nocache_secs,
                     "no_cache_new_tokens_per_s": nocache_secs.map(|s| new_tokens / s)},
        "gemm_1024_f32_flops_per_s": peak,
    });
    println!("{out}");
}
