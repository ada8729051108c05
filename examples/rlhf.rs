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
use kl_control::KlController;
use policy_opt::online::{ActorCritic, OnlineInputs, PolicyEval, evaluate_policy, train_online};
use policy_opt::rollout::RolloutConfig;
use reward_model::{Granularity, ModelReward, NormalizedRewardModel};
use reward_model::{RewardComponent, RewardEnsemble, ScalarRewardModel};
use rlhf_core::Reward;

#[path = "common/hh_rl.rs"]
mod hh_rl;
#[path = "common/hh_rm.rs"]
mod hh_rm;
#[path = "common/inline_sft.rs"]
mod inline_sft;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

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
    /// PPO iterations (a rollout of `--prompts` prompts, then 4 epochs of 2 minibatches).
    #[arg(long, default_value_t = 60)]
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
    #[arg(long, default_value_t = 64)]
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

fn run(args: Args) -> Res<()> {
    let t0 = Instant::now();
    let device = lm::select_device()?;
    let ad = device.clone().autodiff();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = pref_data::locate_hh(args.data.as_deref(), root, "harmless-base-dev.jsonl.gz")?;
    let (pairs, skips) = pref_data::read_hh(&path, &pref_data::ReadOptions::default())?;
    println!("{skips}");
    let fractions = pref_data::SplitFractions {
        valid: 0.1,
        test: 0.0,
    };
    let splits = pref_data::split_by_prompt(pairs, |p| p.prompt.as_str(), fractions, args.seed);

    let sft_cfg = inline_sft::InlineSft::small(args.seed);
    let sft_dirs = [PathBuf::from("runs/sft/model")];
    let (sft, tok, from) = inline_sft::load_or_train_sft(
        &sft_dirs,
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
    let rm_dirs = [PathBuf::from("runs/reward_model/model")];
    let (rm, norm, rm_dir, from) = hh_rm::load_or_train_rm(
        &rm_dirs,
        &rm_cfg,
        sft.clone(),
        &tok,
        &splits.train,
        &splits.valid,
        &args.out.join("rm"),
        &device,
    )?;
    println!("reward model: {from}");
    let train_prompts = hh_rl::hh_prompts(&splits.train, usize::MAX, &tok, 96)?;
    let eval_prompts = hh_rl::hh_prompts(&splits.valid, args.eval_prompts, &tok, 96)?;
    println!(
        "prompts: {} for PPO, {} held out",
        train_prompts.len(),
        eval_prompts.len()
    );

    // The normalised reward model, alone or also on every sentence end (fine-grained).
    let scorer = NormalizedRewardModel::new(rm, &norm)?;
    let mut reward: Box<dyn Reward> = if args.fine_grained {
        let ends: Vec<u32> = [".", "!", "?"]
            .iter()
            .filter_map(|s| tok.token_to_id(s))
            .collect();
        let part = |name: &str, weight, granularity| RewardComponent {
            name: name.into(),
            model: &scorer,
            weight,
            granularity,
        };
        Box::new(RewardEnsemble::new(vec![
            part(
                "sentences",
                0.5,
                Granularity::Segments { boundary_ids: ends },
            ),
            part("whole", 1.0, Granularity::Sequence),
        ])?)
    } else {
        Box::new(ModelReward::new("rm", &scorer))
    };
    let rollout = RolloutConfig {
        prompts_per_iteration: args.prompts,
        max_new_tokens: args.max_new_tokens,
        temperature: 0.7,
        score_batch_size: 8,
        ..RolloutConfig::default()
    };
    let reference = sft.valid();
    let eval = |policy: &lm::Transformer, reward: &mut dyn Reward| -> Res<PolicyEval> {
        let cfg = RolloutConfig {
            prompts_per_iteration: eval_prompts.len(),
            ..rollout.clone()
        };
        let (p, r) = (&eval_prompts, Some(&reference as &dyn lm::CausalLm));
        Ok(evaluate_policy(
            policy, r, reward, p, &cfg, &tok, 1234, &device,
        )?)
    };
    let before = eval(&reference, reward.as_mut())?;

    let config = hh_rl::ppo_config(
        &rollout,
        args.iterations,
        args.beta,
        args.kl_target,
        args.lr,
        args.seed,
    );
    let model = ActorCritic::with_critic(sft, ScalarRewardModel::load(&rm_dir, &ad)?);
    let inputs = OnlineInputs {
        reference: Some(&reference),
        reward: reward.as_mut(),
        prompts: &train_prompts,
        eval_prompts: &[],
        eval_reward: None,
        tokenizer: &tok,
    };
    let t_ppo = Instant::now();
    let out = train_online(model, inputs, &config, &args.out.join("ppo"), &device)?;
    let ppo_secs = t_ppo.elapsed().as_secs_f64();
    let after = eval(&out.model.policy.valid(), reward.as_mut())?;

    let beta = out.state.kl.as_ref().map(KlController::beta);
    let (kl0, kl1) = (before.kl.unwrap_or(0.0), after.kl.unwrap_or(0.0));
    println!(
        "\n{} held-out prompts     before    after",
        eval_prompts.len()
    );
    println!(
        "RM score (normalised)  {:+8.3} {:+8.3}",
        before.reward_mean, after.reward_mean
    );
    println!(
        "KL to SFT (nats/compl) {kl0:8.3} {kl1:8.3}   target {}",
        args.kl_target
    );
    println!(
        "completion length      {:8.1} {:8.1}",
        before.completion_len, after.completion_len
    );
    let total = t0.elapsed().as_secs_f64();
    println!("final β {beta:?}; PPO {ppo_secs:.0} s; total {total:.0} s");
    for ((s, r0), (a, r1)) in before.samples.iter().zip(&after.samples).take(3) {
        println!("\n--- …{}", hh_rl::tail(&s.prompt, 120));
        println!(
            "  SFT ({r0:+.2}): {}\n  PPO ({r1:+.2}): {}",
            s.completion.trim(),
            a.completion.trim()
        );
    }
    let report = serde_json::json!({
        "args": &args, "before": hh_rl::summary(&before), "after": hh_rl::summary(&after),
        "final_beta": beta, "ppo_seconds": ppo_secs, "wall_seconds": total,
    });
    std::fs::write(
        args.out.join("report.json"),
        serde_json::to_string_pretty(&report)?,
    )?;
    println!("\nwrote {}", args.out.join("report.json").display());
    Ok(())
}
