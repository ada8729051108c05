//! Online-RL throughput against TRL, side by side: GRPO on the shared tiny config with the
//! peer's work — 8 prompts × 4 generations × 64 new tokens after 64-token prompts, β 0.04,
//! lr 1e-5, temperature 1, a programmatic reward (the share of even token ids) — then TRL
//! 1.16's `GRPOTrainer` on the same work (`../shared/bench/trl_grpo_bench.py`, run after ours,
//! never at the same time). Prints one JSON line: our rollout new-tokens/s, update tokens/s
//! (forward + backward over prompt + completion), end-to-end completion tokens/s per optimizer
//! step, the peer's, and the ratio.
//!
//! ```text
//! cargo run --release --example bench_rl                      # peer: .venv-torch/bin/python
//! cargo run --release --example bench_rl -- --no-peer
//! ```

use std::path::PathBuf;
use std::process::Command;

use clap::Parser;
use lm::tokenizer::{SpecialTokens, Tokenizer};
use lm::{Transformer, TransformerConfig};
use policy_opt::online::{ActorCritic, Algorithm, GrpoConfig, OnlineConfig, OnlineInputs};
use policy_opt::rollout::{RolloutConfig, RolloutPrompt};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rlhf_core::{FnReward, Sample};

#[derive(Parser, Debug)]
struct Args {
    #[arg(long, default_value_t = 8)]
    prompts: usize,
    #[arg(long, default_value_t = 4)]
    generations: usize,
    #[arg(long, default_value_t = 64)]
    new_tokens: usize,
    /// Optimizer steps (one rollout each); the first is a warm-up, the median of the rest is
    /// reported (as the peer does).
    #[arg(long, default_value_t = 6)]
    steps: usize,
    /// Python interpreter with torch, transformers 5.23 and trl 1.16 for the peer.
    #[arg(long, default_value = ".venv-torch/bin/python")]
    python: PathBuf,
    #[arg(long)]
    no_peer: bool,
}

const VOCAB: usize = 8192;
const PROMPT: usize = 64;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Keep the heap between training steps (glibc; see `rlhf_core::allocator`).
    rlhf_core::allocator::tune_for_training();
    // The whole job on the compute pool (see `lm::device::run_on_compute_pool`).
    lm::device::run_on_compute_pool(|| bench_main().map_err(|e| e.to_string()))?;
    Ok(())
}

fn bench_main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let device = lm::select_device()?;
    // The peer's word-level vocabulary w0 … w8191 (w0 pad, w1 unk, w2 eos, w3 bos).
    let vocab: Vec<String> = (0..VOCAB).map(|i| format!("\"w{i}\": {i}")).collect();
    let json = format!(
        r#"{{"version":"1.0","model":{{"type":"WordLevel","vocab":{{{}}},"unk_token":"w1"}},
        "pre_tokenizer":{{"type":"WhitespaceSplit"}},"added_tokens":[]}}"#,
        vocab.join(",")
    );
    let special = SpecialTokens {
        bos: "w3".into(),
        eos: "w2".into(),
        pad: "w0".into(),
    };
    let tokenizer = Tokenizer::from_json_str(&json, &special)?;
    let config = TransformerConfig::llama(VOCAB, 256, 4, 4, 4, 1024)
        .with_max_seq_len(PROMPT + args.new_tokens + 8);
    let model = Transformer::new(&config, 0, &device.clone().autodiff())?;
    let mut rng = StdRng::seed_from_u64(0);
    let prompts: Vec<RolloutPrompt> = (0..args.prompts * (args.steps + 2))
        .map(|_| {
            let ids: Vec<u32> = (0..PROMPT)
                .map(|_| rng.random_range(4..VOCAB as u32))
                .collect();
            let text = ids
                .iter()
                .map(|i| format!("w{i}"))
                .collect::<Vec<_>>()
                .join(" ");
            RolloutPrompt {
                text,
                ids,
                item: Default::default(),
            }
        })
        .collect();
    let mut reward = FnReward::new("even", |s: &Sample| {
        let n = s.completion_ids.len().max(1) as f32;
        s.completion_ids.iter().filter(|&&t| t % 2 == 0).count() as f32 / n
    });
    let online = OnlineConfig {
        algorithm: Algorithm::Grpo(GrpoConfig {
            beta: 0.04,
            ..GrpoConfig::default()
        }),
        rollout: RolloutConfig {
            prompts_per_iteration: args.prompts,
            samples_per_prompt: args.generations,
            max_new_tokens: args.new_tokens,
            stop_token_ids: vec![2],
            generation_batch_size: args.prompts * args.generations,
            score_batch_size: args.prompts * args.generations,
            ..RolloutConfig::default()
        },
        iterations: args.steps,
        lr: 1e-5,
        save_every: 0,
        ..OnlineConfig::default()
    };
    let reference = burn::module::Module::valid(&model);
    let dir = tempfile_dir()?;
    let out = policy_opt::online::train_online(
        ActorCritic::<Transformer>::policy_only(model),
        OnlineInputs {
            reference: Some(&reference),
            reward: &mut reward,
            prompts: &prompts,
            eval_prompts: &[],
            eval_reward: None,
            tokenizer: &tokenizer,
        },
        &online,
        &dir,
        &device,
    )?;
    let _ = std::fs::remove_dir_all(&dir);
    let train: Vec<_> = out
        .records
        .iter()
        .filter(|r| r.split == "train")
        .skip(1)
        .collect();
    let median = |key: &str| {
        let mut v: Vec<f64> = train.iter().filter_map(|r| r.get(key)).collect();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    let (rollout, scoring, update) = (
        median("time/rollout_s"),
        median("time/scoring_s"),
        median("time/update_s"),
    );
    let step = rollout + scoring + update;
    let rows = (args.prompts * args.generations) as f64;
    let completion_tokens = rows * median("completion_len");
    let ours = serde_json::json!({
        "median_step_s": step, "rollout_s": rollout, "scoring_s": scoring, "update_s": update,
        "rollout_new_tokens_per_s": completion_tokens / rollout,
        "update_tokens_per_s": rows * (PROMPT as f64 + median("completion_len")) / update,
        "completion_tokens_per_s": completion_tokens / step,
        "device": format!("{device:?}"),
    });
    let peer = if args.no_peer { None } else { run_peer(&args)? };
    let ratio = peer.as_ref().and_then(|p| {
        Some(ours["completion_tokens_per_s"].as_f64()? / p["completion_tokens_per_s"].as_f64()?)
    });
    println!(
        "{}",
        serde_json::json!({ "work": format!("GRPO {}×{}×{} new tokens, tiny config", args.prompts, args.generations, args.new_tokens), "rlhf_rs": ours, "peer": peer, "ratio_completion_tokens_per_s": ratio })
    );
    Ok(())
}

/// TRL's figure from the peer script, run now (after ours), with the peer README's settings.
fn run_peer(args: &Args) -> Result<Option<serde_json::Value>, Box<dyn std::error::Error>> {
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/bench/trl_grpo_bench.py");
    if !args.python.is_file() || !script.is_file() {
        eprintln!(
            "peer skipped: {} or {} missing",
            args.python.display(),
            script.display()
        );
        return Ok(None);
    }
    let out = Command::new(&args.python)
        .arg(&script)
        .args([args.prompts, args.generations, args.new_tokens, args.steps].map(|n| n.to_string()))
        .env_remove("OPENBLAS_CORETYPE")
        .env_remove("OPENBLAS_L2_SIZE")
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    match stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
    {
        Some(v) => Ok(Some(v)),
        None => Err(format!(
            "peer failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
        .into()),
    }
}

fn tempfile_dir() -> std::io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("bench_rl-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
