//! Peak memory and time of per-token log-probs on a Gemma-3-270M-shaped model (vocabulary
//! 262 144, width 640) with random weights, three ways:
//! - `fused`: `CausalLm::sequence_logprobs` through the fused head (`lm::fused_head`: blocks
//!   of the vocabulary, hand-written backward, no logits-sized saved state);
//! - `chunked`: burn's own ops over chunks of positions (`lm::logprobs`, the path before the
//!   fused head and still the one on backends other than flex);
//! - `whole`: burn's own ops over the whole `[B, T, V]` logits at once;
//!
//! and two passes:
//! - `train`: one forward + backward of `sequence_logprobs` on an autodiff device (policy
//!   update);
//! - `score`: one forward on a device without autodiff (reference-model or rollout scoring).
//!
//! Each (pass, mode) runs in its own child process, which resets its peak-RSS counter
//! (`/proc/self/clear_refs`) once the model is built, so `peak_over_baseline_mib` is what the
//! pass added at its peak. Prints one JSON line per run.
//!
//! ```text
//! cargo run --release --example bench_logprob_chunking                  # B=2, T=256, 1 layer
//! cargo run --release --example bench_logprob_chunking -- --layers 18   # the full 270M shape
//! cargo run --release --example bench_logprob_chunking -- --modes fused,chunked
//! ```

use std::process::Command;
use std::time::Instant;

use burn::tensor::{Int, Tensor, TensorData};
use clap::Parser;

#[path = "common/bench.rs"]
mod bench;
use lm::SequenceLogProbs;
use lm::causal_lm::DEFAULT_LOGITS_CHUNK_ELEMENTS;
use lm::logprobs::{chunk_positions, chunked_next_token_logprobs, shift_mask};
use lm::{CausalLm, Gemma3, Gemma3Config, select_device};
use rand::{RngExt, SeedableRng};

#[derive(Parser, Debug)]
struct Args {
    #[arg(long, default_value_t = 2)]
    batch: usize,
    #[arg(long, default_value_t = 256)]
    seq: usize,
    /// Decoder layers of the Gemma-3-270M-shaped model (18 = the full model).
    #[arg(long, default_value_t = 1)]
    layers: usize,
    #[arg(long, default_value_t = 262_144)]
    vocab: usize,
    /// Logits per chunk in the chunked mode.
    #[arg(long, default_value_t = DEFAULT_LOGITS_CHUNK_ELEMENTS)]
    chunk_elements: usize,
    /// Modes to run, comma-separated (`fused`, `chunked`, `whole`).
    #[arg(long, default_value = "fused,chunked,whole")]
    modes: String,
    /// Internal: run one mode (`fused`, `chunked` or `whole`) in this process.
    #[arg(long)]
    child: Option<String>,
    /// Internal: the pass of the child (`train` or `score`).
    #[arg(long, default_value = "train")]
    pass: String,
}

fn status_mib(key: &str) -> f64 {
    bench::status_mib(key).unwrap_or(f64::NAN)
}

fn run_child(args: &Args, mode: &str) {
    let train = args.pass == "train";
    let device = select_device().expect("device");
    let device = if train { device.autodiff() } else { device };
    let mut config = Gemma3Config::gemma3_270m();
    config.vocab_size = args.vocab;
    config.n_layers = args.layers;
    config.layer_kinds = lm::model::gemma::layer_pattern(args.layers, 6);
    let elements = match mode {
        "whole" => usize::MAX,
        _ => args.chunk_elements,
    };
    let model = Gemma3::new(&config, 0, &device)
        .expect("config")
        .with_logits_chunk_elements(elements);
    let (b, t) = (args.batch, args.seq);
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let ids: Vec<i64> = (0..b * t)
        .map(|_| rng.random_range(0..args.vocab as i64))
        .collect();
    let ids = Tensor::<2, Int>::from_data(TensorData::new(ids, [b, t]), &device);
    let mask = Tensor::<2, Int>::ones([b, t], &device);

    // Reset the peak-RSS counter: from here on VmHWM is the peak of the pass alone.
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let baseline = status_mib("VmRSS:");
    let start = Instant::now();
    let lp = match mode {
        "fused" => model.sequence_logprobs(ids, mask.clone(), mask),
        _ => {
            // burn's own ops over chunks of positions (one chunk for `whole`).
            let chunk = chunk_positions(b, args.vocab, elements);
            let hidden = model.hidden(ids.clone(), mask.clone());
            let tokens =
                chunked_next_token_logprobs(hidden, ids, chunk, |h| model.logits_from_hidden(h));
            SequenceLogProbs::from_tokens(tokens, shift_mask(mask))
        }
    };
    let loss = -lp.sum.sum() / (b * (t - 1)) as f64;
    let g_abs: f32 = if train {
        let grads = loss.backward();
        let g = model
            .embed
            .weight
            .val()
            .grad(&grads)
            .expect("embedding gradient");
        g.abs().sum().into_scalar()
    } else {
        f32::NAN
    };
    let loss: f32 = loss.into_scalar();
    let secs = start.elapsed().as_secs_f64();
    let peak = status_mib("VmHWM:");
    let chunk = match mode {
        "fused" => 0, // blocks of the vocabulary instead
        _ => chunk_positions(b, args.vocab, elements).min(t - 1),
    };
    println!(
        "{}",
        serde_json::json!({
            "pass": args.pass,
            "mode": mode,
            "batch": b, "seq": t, "vocab": args.vocab, "d_model": config.d_model,
            "layers": args.layers,
            "chunk_positions": chunk,
            "chunks": (chunk > 0).then(|| (t - 1).div_ceil(chunk)),
            "full_logits_mib": (b * (t - 1) * args.vocab * 4) as f64 / 1048576.0,
            "baseline_rss_mib": baseline.round(),
            "peak_rss_mib": peak.round(),
            "peak_over_baseline_mib": (peak - baseline).round(),
            "peak_reset": reset,
            "seconds": (secs * 100.0).round() / 100.0,
            "loss": loss,
            "embed_grad_abs_sum": g_abs,
        })
    );
}

fn main() {
    // Keep the heap between training steps (glibc; see `rlhf_core::allocator`).
    rlhf_core::allocator::tune_for_training();
    // The whole job on the compute pool (see `lm::device::run_on_compute_pool`).
    lm::device::run_on_compute_pool(bench_main);
}

fn bench_main() {
    let args = Args::parse();
    if let Some(mode) = &args.child {
        run_child(&args, mode);
        return;
    }
    let exe = std::env::current_exe().expect("own path");
    let modes: Vec<&str> = args.modes.split(',').map(str::trim).collect();
    for (pass, mode) in ["train", "score"]
        .into_iter()
        .flat_map(|p| modes.iter().map(move |m| (p, *m)))
    {
        let out = Command::new(&exe)
            .args(std::env::args().skip(1))
            .args(["--child", mode, "--pass", pass])
            .output()
            .expect("spawn child");
        if !out.status.success() {
            eprintln!("{mode}: {}", String::from_utf8_lossy(&out.stderr));
            std::process::exit(1);
        }
        print!("{}", String::from_utf8_lossy(&out.stdout));
    }
}
