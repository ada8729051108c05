//! The reward–KL frontier in a controlled experiment where the truth is known (the DPO
//! paper's Fig. 2, Rafailov et al. 2023, with a programmatic oracle in place of the sentiment
//! classifier).
//!
//! The **oracle** scores a completion `(#positive − #negative) / #words` over two word lists:
//! friendly and helpful words ("thank", "glad", "help", …) against hostile or harmful ones
//! ("hate", "kill", "steal", …) — [`oracle`]. It labels pairs of completions that the SFT model
//! samples on HH-RLHF prompts; a reward model learns it; PPO at three β, GRPO and RLOO
//! (`examples/configs/frontier.toml`) optimise the reward model and DPO trains on the same
//! pairs; held-out prompts measure the **oracle's** score against the KL to the SFT
//! reference along each run. Writes `<out>/frontier.png` and `<out>/frontier.json`.
//!
//! ```text
//! cargo run --release --example frontier
//! ```

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::Module;
use clap::Parser;
use lm::{CausalLm, Transformer};
use policy_opt::dpo::{Dpo, DpoBatches, DpoLossConfig, DpoLossType, train_dpo};
use policy_opt::online::{ActorCritic, Algorithm, OnlineConfig, OnlineInputs, PolicyEval};
use policy_opt::online::{evaluate_policy, train_online};
use policy_opt::rollout::{RolloutConfig, RolloutPrompt, sample_ranked_pairs};
use pref_data::{BatchConfig, ChatTemplate, HhPair, PairBatches, TokenizeConfig};
use reward_model::{ModelReward, NormalizedRewardModel};
use rlhf_core::{FnReward, Reward, Sample};
use train::{LrSchedule, TrainerConfig, XySeries, plot_xy};

#[path = "common/hh_rl.rs"]
mod hh_rl;
#[path = "common/hh_rm.rs"]
mod hh_rm;
#[path = "common/inline_sft.rs"]
mod inline_sft;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

#[derive(Parser, Debug)]
#[command(about = "Reward–KL frontier of PPO, GRPO, RLOO and DPO against a known oracle")]
struct Args {
    #[arg(long)]
    data: Option<PathBuf>,
    #[arg(long, default_value = "runs/frontier")]
    out: PathBuf,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Prompts whose two sampled completions the oracle labels (at most every training prompt).
    #[arg(long, default_value_t = 2000)]
    pair_prompts: usize,
    /// Iterations of each online run, evaluated every `--eval-every`.
    #[arg(long, default_value_t = 20)]
    iterations: usize,
    #[arg(long, default_value_t = 5)]
    eval_every: usize,
    #[arg(long, default_value_t = 32)]
    eval_prompts: usize,
}

#[derive(serde::Deserialize)]
struct Runs {
    run: Vec<Run>,
}

#[derive(serde::Deserialize)]
struct Run {
    name: String,
    config: OnlineConfig,
}

const POSITIVE: &str = "good great glad happy thank thanks please love nice kind help helpful \
    sure welcome wonderful best fun enjoy safe friend friendly care hope well fine excellent \
    appreciate sorry yes like";
const NEGATIVE: &str = "bad hate kill stupid steal illegal wrong die hurt dangerous crime drug \
    drugs gun weapon fight dumb idiot evil angry no not never worst ugly shoot rob attack murder \
    racist";

/// The oracle: `(#positive − #negative) / max(1, #words)` over lower-cased alphabetic words.
fn oracle(s: &Sample) -> f32 {
    let words: Vec<String> = (s.completion.split(|c: char| !c.is_alphabetic()))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let count = |list: &str| {
        let list: Vec<&str> = list.split_whitespace().collect();
        words.iter().filter(|w| list.contains(&w.as_str())).count() as f32
    };
    (count(POSITIVE) - count(NEGATIVE)) / words.len().max(1) as f32
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
    let (pairs, _) = pref_data::read_hh(&path, &pref_data::ReadOptions::default())?;
    let fractions = pref_data::SplitFractions {
        valid: 0.1,
        test: 0.0,
    };
    let splits = pref_data::split_by_prompt(pairs, |p| p.prompt.as_str(), fractions, args.seed);
    let sft_dirs = ["runs/sft/model", "runs/rlhf/sft/model"].map(PathBuf::from);
    let recipe = inline_sft::InlineSft::small(args.seed);
    let sft_dir = args.out.join("sft");
    let (sft, tok, from) =
        inline_sft::load_or_train_sft(&sft_dirs, &recipe, &splits.train, &sft_dir, &ad)?;
    println!("SFT model: {from}");
    let reference = sft.valid();
    let train_prompts = hh_rl::hh_prompts(&splits.train, usize::MAX, &tok, 96)?;
    let eval_prompts = hh_rl::hh_prompts(&splits.valid, args.eval_prompts, &tok, 96)?;
    let runs: Runs = toml::from_str(include_str!("configs/frontier.toml"))?;
    let rollout = runs.run[0].config.rollout.clone();
    let mut oracle_reward = FnReward::new("oracle", oracle);
    let eval = |policy: &Transformer, oracle: &mut dyn Reward, seed| -> Res<PolicyEval> {
        let cfg = RolloutConfig {
            prompts_per_iteration: eval_prompts.len(),
            ..rollout.clone()
        };
        let r = Some(&reference as &dyn CausalLm);
        Ok(evaluate_policy(
            policy,
            r,
            oracle,
            &eval_prompts,
            &cfg,
            &tok,
            seed,
            &device,
        )?)
    };

    // 1. Oracle-labelled pairs of the SFT model's own samples; a reward model learns them.
    let prompts: Vec<&RolloutPrompt> = train_prompts.iter().take(args.pair_prompts).collect();
    let (ranked, ties) = sample_ranked_pairs(
        &reference,
        &prompts,
        &rollout,
        &tok,
        &mut oracle_reward,
        args.seed,
        &device,
    )?;
    let labelled: Vec<HhPair> = (ranked.into_iter())
        .map(|p| HhPair {
            prompt: p.prompt,
            chosen: p.chosen,
            rejected: p.rejected,
        })
        .collect();
    let cut = labelled.len() * 9 / 10;
    println!(
        "{} oracle-labelled pairs ({ties} ties skipped)",
        labelled.len()
    );
    let rm_cfg = hh_rm::RmSettings {
        steps: 400,
        freeze_layers: 0,
        seed: args.seed,
        ..hh_rm::RmSettings::default()
    };
    let (train_pairs, valid_pairs) = labelled.split_at(cut);
    let rm_dir = args.out.join("rm");
    let rm = hh_rm::train_hh_rm(
        &rm_cfg,
        sft.clone(),
        &tok,
        train_pairs,
        valid_pairs,
        &rm_dir,
        &device,
    )?;
    let (a0, a1) = (rm.before.accuracy, rm.after.accuracy);
    println!("reward model: held-out agreement with the oracle {a0:.3} → {a1:.3}");
    let scorer = NormalizedRewardModel::new(rm.model, &rm.normalizer)?;

    // 2. Online runs from the SFT model, every point (KL, oracle) on held-out prompts.
    let start = (0.0, eval(&reference, &mut oracle_reward, 7)?.reward_mean);
    let mut series = Vec::new();
    for (i, run) in runs.run.into_iter().enumerate() {
        let t = Instant::now();
        let model = match run.config.algorithm {
            Algorithm::Ppo(_) => ActorCritic::with_value_head(sft.clone(), args.seed, &ad),
            _ => ActorCritic::<Transformer>::policy_only(sft.clone()),
        };
        let (iterations, eval_every, seed) = (args.iterations, args.eval_every, args.seed);
        let config = OnlineConfig {
            iterations,
            eval_every,
            seed,
            ..run.config
        };
        let mut reward = ModelReward::new("rm", &scorer);
        let inputs = OnlineInputs {
            reference: Some(&reference),
            reward: &mut reward,
            prompts: &train_prompts,
            eval_prompts: &eval_prompts,
            eval_reward: Some(&mut oracle_reward),
            tokenizer: &tok,
        };
        let out = train_online(
            model,
            inputs,
            &config,
            &args.out.join(format!("run{i}")),
            &device,
        )?;
        let valid = out.records.iter().filter(|r| r.split == "valid");
        let points: Vec<_> = std::iter::once(start)
            .chain(valid.filter_map(|r| Some((r.get("kl")?, r.get("reward")?))))
            .collect();
        println!(
            "{}: {points:.3?} ({:.0} s)",
            run.name,
            t.elapsed().as_secs_f64()
        );
        series.push(XySeries {
            name: run.name,
            points,
        });
    }

    // 3. DPO on the same pairs, evaluated after each of four equal parts of its training.
    let tcfg = TokenizeConfig {
        max_prompt_len: 96,
        max_completion_len: 64,
        ..Default::default()
    };
    let as_pairs: Vec<_> = train_pairs.iter().cloned().map(Into::into).collect();
    let (tokenized, _) = pref_data::tokenize_pairs(&as_pairs, &tok, &ChatTemplate::Plain, &tcfg)?;
    let bcfg = BatchConfig {
        seed: args.seed,
        ..BatchConfig::default()
    };
    let data = DpoBatches::new(PairBatches::new(tokenized, tok.pad_id(), &bcfg)?);
    let loss = DpoLossConfig::new(vec![DpoLossType::Sigmoid])
        .with_beta(0.1)
        .init()?;
    let dpo = Dpo::with_frozen_reference(loss, &reference);
    let mut points = vec![start];
    for k in 1..=4 {
        let schedule = LrSchedule::constant(5e-5, 0);
        let cfg = TrainerConfig {
            total_steps: 15 * k,
            schedule,
            save_every: 15,
            ..Default::default()
        };
        let out = train_dpo(
            &dpo,
            sft.clone(),
            &data,
            None,
            &cfg,
            &args.out.join("dpo"),
            &device,
        )?;
        let e = eval(&out.model.valid(), &mut oracle_reward, 7 + k as u64)?;
        points.push((e.kl.unwrap_or(f64::NAN), e.reward_mean));
    }
    println!("DPO β=0.1: {points:.3?}");
    series.push(XySeries {
        name: "DPO β=0.1".into(),
        points,
    });

    let png = args.out.join("frontier.png");
    let (x, y) = (
        "KL(π ‖ π_SFT) per completion (nats)",
        "oracle score on held-out prompts",
    );
    plot_xy(
        &series,
        x,
        y,
        "Reward–KL frontier against a known oracle",
        &png,
    )?;
    let json: Vec<_> = (series.iter())
        .map(|s| serde_json::json!({ "method": s.name, "kl_oracle": s.points }))
        .collect();
    std::fs::write(
        args.out.join("frontier.json"),
        serde_json::to_string_pretty(&json)?,
    )?;
    println!(
        "wrote {} ({:.0} s)",
        png.display(),
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}
