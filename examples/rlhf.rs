//! The whole RLHF pipeline on Anthropic HH-RLHF (harmless-base): SFT → reward model → PPO
//! with a KL penalty against the frozen SFT model (InstructGPT's recipe; the critic starts
//! from the reward model, as in Constitutional AI), then the reward model's score and the KL
//! on held-out prompts before and after, with samples.
//!
//! ```text
//! cargo run --release --example rlhf                    # SFT + RM + PPO from scratch, CPU
//! cargo run --release --example rlhf -- --fine-grained  # dense sentence-level rewards too
//! ```
//!
//! SFT and reward model come from `runs/sft/model` and `runs/reward_model/model` when those
//! examples ran, else they are trained inline into `<out>/sft` and `<out>/rm` (and reused on
//! reruns). Writes `<out>/ppo/{metrics.jsonl, curves.png, checkpoints/}` and
//! `<out>/report.json`; rerunning with the same `--out` resumes PPO from its checkpoint.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::Module;
use clap::Parser;
use kl_control::{AdaptiveKlConfig, KlControllerConfig};
use lm::select_device;
use policy_opt::online::{
    ActorCritic, Algorithm, OnlineConfig, OnlineInputs, PolicyEval, PpoConfig, evaluate_policy,
    train_online,
};
use policy_opt::rollout::{RolloutConfig, RolloutPrompt, rollout_prompts};
use pref_data::{ChatTemplate, Mode, PromptExample, SplitFractions, Text, TokenizeConfig};
use reward_model::{
    Granularity, ModelReward, NormalizedRewardModel, RewardComponent, RewardEnsemble,
};
use rlhf_core::Reward;

#[path = "common/hh_rm.rs"]
mod hh_rm;
#[path = "common/inline_sft.rs"]
mod inline_sft;

#[derive(Parser, Debug, serde::Serialize)]
#[command(about = "SFT → reward model → PPO on HH-RLHF")]
struct Args {
    /// HH-RLHF file or folder (default: ../shared/data/hh-rlhf/, else the Hugging Face hub).
    #[arg(long)]
    data: Option<PathBuf>,
    #[arg(long, default_value = "runs/rlhf")]
    out: PathBuf,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// PPO iterations (rollout of `--prompts` prompts, then 4 epochs of 2 minibatches).
    #[arg(long, default_value_t = 40)]
    iterations: usize,
    #[arg(long, default_value_t = 8)]
    prompts: usize,
    #[arg(long, default_value_t = 40)]
    max_new_tokens: usize,
    /// Initial β of the adaptive KL controller (Ziegler et al. 2019).
    #[arg(long, default_value_t = 0.05)]
    beta: f64,
    /// KL target of the controller, in nats per completion.
    #[arg(long, default_value_t = 4.0)]
    kl_target: f64,
    #[arg(long, default_value_t = 2e-5)]
    lr: f64,
    /// Held-out prompts evaluated before and after.
    #[arg(long, default_value_t = 48)]
    eval_prompts: usize,
    /// Fine-grained RLHF (Wu et al. 2023): the reward model also scores every sentence end.
    #[arg(long)]
    fine_grained: bool,
}

fn main() {
    if let Err(e) = run(Args::parse()) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let t0 = Instant::now();
    let device = select_device()?;
    let ad = device.clone().autodiff();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = pref_data::locate_hh(args.data.as_deref(), root, "harmless-base-dev.jsonl.gz")?;
    let (pairs, skips) = pref_data::read_hh(&path, Mode::Lenient)?;
    println!("{skips}");
    let fractions = SplitFractions {
        valid: 0.1,
        test: 0.0,
    };
    let splits = pref_data::split_by_prompt(pairs, |p| p.prompt.as_str(), fractions, args.seed);

    let sft_cfg = inline_sft::InlineSft {
        vocab: 4096,
        d_model: 256,
        layers: 4,
        heads: 4,
        kv_heads: 2,
        d_ff: 768,
        max_len: 192,
        batch: 16,
        steps: 90,
        lr: 2e-3,
        warmup: 10,
        save_every: 30,
        seed: args.seed,
    };
    let (sft, tokenizer, from) = inline_sft::load_or_train_sft(
        &[PathBuf::from("runs/sft/model")],
        &sft_cfg,
        &splits.train,
        &args.out.join("sft"),
        &ad,
    )?;
    println!("SFT model: {from}");
    let rm_cfg = hh_rm::RmSettings {
        seed: args.seed,
        ..hh_rm::RmSettings::default()
    };
    let (rm, norm, rm_dir, from) = hh_rm::load_or_train_rm(
        &[PathBuf::from("runs/reward_model/model")],
        &rm_cfg,
        sft.clone(),
        &tokenizer,
        &splits.train,
        &splits.valid,
        &args.out.join("rm"),
        &device,
    )?;
    println!("reward model: {from}");

    let prompts = |pairs: &[pref_data::HhPair],
                   n: usize|
     -> Result<Vec<RolloutPrompt>, Box<dyn std::error::Error>> {
        let mut seen = std::collections::HashSet::new();
        let examples: Vec<PromptExample> = pairs
            .iter()
            .filter(|p| seen.insert(p.prompt.clone()))
            .take(n)
            .map(|p| PromptExample {
                prompt: Text::Plain(p.prompt.clone()),
                reference: None,
            })
            .collect();
        let cfg = TokenizeConfig {
            max_prompt_len: 96,
            ..TokenizeConfig::default()
        };
        Ok(rollout_prompts(&examples, &tokenizer, &ChatTemplate::Plain, &cfg)?.0)
    };
    let (train_prompts, eval_prompts) = (
        prompts(&splits.train, usize::MAX)?,
        prompts(&splits.valid, args.eval_prompts)?,
    );
    println!(
        "prompts: {} for PPO, {} held out",
        train_prompts.len(),
        eval_prompts.len()
    );

    let rollout = RolloutConfig {
        prompts_per_iteration: args.prompts,
        max_new_tokens: args.max_new_tokens,
        temperature: 0.7,
        score_batch_size: 8,
        ..RolloutConfig::default()
    };
    let scorer = NormalizedRewardModel::new(rm.clone(), &norm)?;
    let sentence_ends: Vec<u32> = [".", "!", "?"]
        .iter()
        .filter_map(|s| tokenizer.token_to_id(s))
        .collect();
    let mut reward: Box<dyn Reward> = if args.fine_grained {
        let parts = vec![
            RewardComponent {
                name: "sentences".into(),
                model: &scorer,
                weight: 0.5,
                granularity: Granularity::Segments {
                    boundary_ids: sentence_ends,
                },
            },
            RewardComponent {
                name: "whole".into(),
                model: &scorer,
                weight: 1.0,
                granularity: Granularity::Sequence,
            },
        ];
        Box::new(RewardEnsemble::new(parts)?)
    } else {
        Box::new(ModelReward::new("rm", &scorer))
    };
    let reference = sft.valid();
    let eval = |policy: &lm::Transformer,
                reward: &mut dyn Reward|
     -> Result<PolicyEval, Box<dyn std::error::Error>> {
        let cfg = RolloutConfig {
            prompts_per_iteration: eval_prompts.len(),
            ..rollout.clone()
        };
        Ok(evaluate_policy(
            policy,
            Some(&reference),
            reward,
            &eval_prompts,
            &cfg,
            &tokenizer,
            1234,
            &device,
        )?)
    };
    let before = eval(&reference, reward.as_mut())?;

    let config = OnlineConfig {
        algorithm: Algorithm::Ppo(PpoConfig {
            kl: KlControllerConfig::Adaptive(AdaptiveKlConfig::new(args.beta, args.kl_target, 400)),
            ..PpoConfig::default()
        }),
        rollout: rollout.clone(),
        iterations: args.iterations,
        minibatches: 2,
        lr: args.lr,
        warmup_ratio: 0.05,
        save_every: 10,
        seed: args.seed,
        ..OnlineConfig::default()
    };
    let critic = reward_model::ScalarRewardModel::load(&rm_dir, &ad)?;
    let model = ActorCritic::with_critic(sft, critic);
    let t_ppo = Instant::now();
    let inputs = OnlineInputs {
        reference: Some(&reference),
        reward: reward.as_mut(),
        prompts: &train_prompts,
        eval_prompts: &[],
        tokenizer: &tokenizer,
    };
    let out = train_online(model, inputs, &config, &args.out.join("ppo"), &device)?;
    let ppo_secs = t_ppo.elapsed().as_secs_f64();
    let after = eval(&out.model.policy.valid(), reward.as_mut())?;

    println!(
        "\nheld-out prompts: {}      before    after",
        eval_prompts.len()
    );
    println!(
        "RM score (normalised)  {:+8.3} {:+8.3}",
        before.reward_mean, after.reward_mean
    );
    println!(
        "KL to SFT (nats/compl) {:8.3} {:8.3}   target {}",
        before.kl.unwrap_or(0.0),
        after.kl.unwrap_or(0.0),
        args.kl_target
    );
    println!(
        "completion length      {:8.1} {:8.1}",
        before.completion_len, after.completion_len
    );
    println!(
        "final β {:.4}; PPO {:.0} s, total {:.0} s",
        out.state
            .kl
            .as_ref()
            .map_or(0.0, kl_control::KlController::beta),
        ppo_secs,
        t0.elapsed().as_secs_f64()
    );
    for ((s, r0), (_, r1)) in before.samples.iter().zip(&after.samples).take(3) {
        println!(
            "\n--- prompt: …{}\n  SFT ({r0:+.2}): {}",
            tail(&s.prompt, 120),
            s.completion.trim()
        );
        println!(
            "  PPO ({r1:+.2}): {}",
            after
                .samples
                .iter()
                .find(|(a, _)| a.prompt == s.prompt)
                .map_or("", |(a, _)| a.completion.trim())
        );
    }
    let report = serde_json::json!({ "args": &args, "before": strip(&before), "after": strip(&after), "ppo_seconds": ppo_secs, "wall_seconds": t0.elapsed().as_secs_f64(), "final_beta": out.state.kl.as_ref().map(kl_control::KlController::beta) });
    std::fs::write(
        args.out.join("report.json"),
        serde_json::to_string_pretty(&report)?,
    )?;
    println!("\nwrote {}", args.out.join("report.json").display());
    Ok(())
}

fn strip(e: &PolicyEval) -> serde_json::Value {
    serde_json::json!({ "reward_mean": e.reward_mean, "reward_std": e.reward_std, "kl": e.kl, "kl_k3": e.kl_k3, "completion_len": e.completion_len, "eos_rate": e.eos_rate })
}

fn tail(s: &str, n: usize) -> String {
    let chars: Vec<char> = s.chars().collect();
    chars[chars.len().saturating_sub(n)..]
        .iter()
        .collect::<String>()
        .replace('\n', " ")
}
