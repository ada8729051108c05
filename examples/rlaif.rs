//! The Constitutional AI pipeline (Bai et al. 2022) on the HH-RLHF red-team prompts, with AI
//! feedback in place of human labels (RLAIF, Lee et al. 2023):
//!
//! 1. critique → revision (SL-CAI): the SFT model answers, critiques its answer under a
//!    principle of the constitution, and revises it; the revisions are SFT data;
//! 2. SL-CAI fine-tune of the SFT model on (prompt, final revision);
//! 3. two responses per prompt from the SL-CAI model;
//! 4. AI labels: the multiple-choice judge's p(A) (both orders, a principle per pair) as
//!    soft labels, also scored against the human HH labels;
//! 5. a reward model on the soft labels (soft-label cross-entropy);
//! 6. PPO (`policy_opt::online`) against it, the critic from the reward model;
//! 7. before/after on held-out prompts: the reward model's score, the scoring judge's
//!    rating (d-RLAIF), and the judge's win rate of PPO over SL-CAI, with samples.
//!
//! ```text
//! cargo run --release --example rlaif                      # local judge (see below)
//! cargo run --release --example rlaif -- --judge-url http://127.0.0.1:8080/v1
//! ```
//!
//! The judge is local by default: Gemma 3 270M from `--judge-gguf` (default
//! `.cache/gemma3/gemma-3-270m-q4_k_m.gguf`, fetched by `scripts/fetch-gemma3.sh`) when the
//! file is there, else the SFT model itself. With `--judge-url` it is any OpenAI-compatible
//! server (`scripts/serve-llama.sh` serves the same GGUF), its replies cached in
//! `<out>/judge-cache`. The SFT model comes from `runs/sft/model` when the sft example ran,
//! else it is trained inline into `<out>/sft`. Writes `<out>/sl-cai/{revisions.jsonl,
//! sft.jsonl}`, `<out>/feedback/ai-pairs.jsonl`, `<out>/rm/`, `<out>/ppo/` and
//! `<out>/report.json`; a rerun reuses every finished stage's checkpoints.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use burn::module::Module;
use clap::Parser;
use policy_opt::online::{ActorCritic, OnlineInputs, PolicyEval, evaluate_policy, train_online};
use policy_opt::rollout::RolloutConfig;
use policy_opt::sft::SftExample;
use pref_data::{PreferencePair, Text};
use reward_model::loss::{PairwiseLossConfig, PairwiseLossKind};
use reward_model::{ModelReward, NormalizedRewardModel, ScalarRewardModel};
use rlaif_judge::critique::{
    distinct_word_ratio, sft_examples, write_revision_log, write_sft_dataset,
};
use rlaif_judge::feedback::{
    human_agreement, sample_duels, sample_response_pairs, text_content, win_rate, write_soft_pairs,
};
use rlaif_judge::http::{HttpConfig, HttpModel};
use rlaif_judge::judge::{ScoreConfig, ScoreJudge, ScoreOutcome};
use rlaif_judge::{
    Constitution, CritiqueConfig, GenerateOptions, JudgeConfig, LocalModel, MultipleChoiceJudge,
    TextModel, critique_and_revise, label_pairs,
};

#[path = "common/hh_rl.rs"]
mod hh_rl;
#[path = "common/hh_rm.rs"]
mod hh_rm;
#[path = "common/inline_sft.rs"]
mod inline_sft;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

#[derive(Parser, Debug, serde::Serialize)]
#[command(about = "Constitutional AI: critique → revision → SL-CAI → AI labels → RM → PPO on HH")]
struct Args {
    /// HH-RLHF file or folder (default: ../shared/data/hh-rlhf/, else the Hugging Face hub).
    #[arg(long)]
    data: Option<PathBuf>,
    #[arg(long, default_value = "runs/rlaif")]
    out: PathBuf,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Constitution file (TOML or JSON; default: the built-in harmlessness principles).
    #[arg(long)]
    constitution: Option<PathBuf>,
    /// GGUF file of the local judge (Gemma 3); the SFT model judges when it is absent.
    #[arg(long, default_value = ".cache/gemma3/gemma-3-270m-q4_k_m.gguf")]
    judge_gguf: PathBuf,
    /// OpenAI-compatible server of the judge (e.g. http://127.0.0.1:8080/v1).
    #[arg(long)]
    judge_url: Option<String>,
    /// Model name sent to the judge server.
    #[arg(long, default_value = "gemma-3-270m")]
    judge_model: String,
    /// Prompts revised in the SL-CAI stage.
    #[arg(long, default_value_t = 64)]
    cai_prompts: usize,
    /// Critique → revision rounds per prompt.
    #[arg(long, default_value_t = 1)]
    rounds: usize,
    /// SL-CAI fine-tuning steps.
    #[arg(long, default_value_t = 20)]
    sl_steps: usize,
    /// Prompts with two responses each, labelled by the judge.
    #[arg(long, default_value_t = 96)]
    feedback_prompts: usize,
    /// Held-out human HH pairs the judge and the reward model are checked against.
    #[arg(long, default_value_t = 32)]
    human_pairs: usize,
    /// Reward-model steps on the AI labels.
    #[arg(long, default_value_t = 120)]
    rm_steps: usize,
    /// PPO iterations (a rollout of `--prompts` prompts, then 4 epochs of 2 minibatches).
    #[arg(long, default_value_t = 30)]
    iterations: usize,
    #[arg(long, default_value_t = 8)]
    prompts: usize,
    /// Tokens per response (SL-CAI, AI feedback, PPO).
    #[arg(long, default_value_t = 32)]
    max_new_tokens: usize,
    /// Longest prompt used, in SFT-tokenizer tokens.
    #[arg(long, default_value_t = 64)]
    max_prompt_tokens: usize,
    #[arg(long, default_value_t = 0.05)]
    beta: f64,
    #[arg(long, default_value_t = 4.0)]
    kl_target: f64,
    #[arg(long, default_value_t = 2e-5)]
    lr: f64,
    /// Held-out prompts evaluated before and after.
    #[arg(long, default_value_t = 32)]
    eval_prompts: usize,
}

fn main() {
    if let Err(e) = run(Args::parse()) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

/// Seconds since `t`, for the stage timings.
fn secs(t: Instant) -> f64 {
    t.elapsed().as_secs_f64()
}

fn run(args: Args) -> Res<()> {
    let t0 = Instant::now();
    let mut timings: Vec<(&str, f64)> = Vec::new();
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
    let constitution = match &args.constitution {
        Some(p) => Constitution::load(p)?,
        None => Constitution::harmlessness(),
    };

    // The SFT model, the policy's starting point.
    let t = Instant::now();
    let sft_cfg = inline_sft::InlineSft::small(args.seed);
    let (sft, tok, from) = inline_sft::load_or_train_sft(
        &[PathBuf::from("runs/sft/model")],
        &sft_cfg,
        &splits.train,
        &args.out.join("sft"),
        &ad,
    )?;
    println!("SFT model: {from}");
    timings.push(("sft", secs(t)));

    // Prompts: disjoint sets for SL-CAI, AI feedback and PPO; held-out ones for evaluation.
    let n = args.max_prompt_tokens;
    let cai = hh_rl::short_prompts(&splits.train, args.cai_prompts, &tok, n, &HashSet::new())?;
    let mut used: HashSet<String> = cai.iter().cloned().collect();
    let fb_prompts = hh_rl::short_prompts(&splits.train, args.feedback_prompts, &tok, n, &used)?;
    used.extend(fb_prompts.iter().cloned());
    let ppo_texts = hh_rl::short_prompts(&splits.train, usize::MAX, &tok, n, &used)?;
    let eval_texts =
        hh_rl::short_prompts(&splits.valid, args.eval_prompts, &tok, n, &HashSet::new())?;
    let human: Vec<PreferencePair> = splits.valid[..args.human_pairs.min(splits.valid.len())]
        .iter()
        .cloned()
        .map(Into::into)
        .collect();
    let plain = |v: &[String]| v.iter().map(|s| Text::Plain(s.clone())).collect::<Vec<_>>();

    // The judge.
    let t = Instant::now();
    let judge_model: Arc<dyn TextModel> = if let Some(url) = &args.judge_url {
        let cfg =
            HttpConfig::new(url, &args.judge_model).with_cache_dir(args.out.join("judge-cache"));
        Arc::new(HttpModel::new(cfg)?)
    } else if args.judge_gguf.is_file() {
        Arc::new(LocalModel::gemma3_gguf(&args.judge_gguf, &device)?)
    } else {
        Arc::new(LocalModel::new("sft", sft.valid(), tok.clone(), device.clone()).with_bos(true))
    };
    println!(
        "judge: {} under `{}` ({} principles)",
        judge_model.name(),
        constitution.name,
        constitution.principles.len()
    );
    let judge = MultipleChoiceJudge::new(
        judge_model.clone(),
        constitution.clone(),
        JudgeConfig::default(),
    )?;
    let vs_humans = human_agreement(&judge, &human, args.seed, 16)?;
    println!("judge on held-out HH pairs: {vs_humans}");
    timings.push(("judge vs humans", secs(t)));

    // 1. Critique → revision with the SFT model.
    let t = Instant::now();
    let policy0 = LocalModel::new("sft", sft.valid(), tok.clone(), device.clone()).with_bos(true);
    let opts = |temperature| GenerateOptions {
        max_new_tokens: args.max_new_tokens,
        temperature,
        top_p: 0.9,
        seed: args.seed,
        stop: vec!["\n\nHuman:".into(), "\nHuman:".into(), "\n\n".into()],
    };
    let cai_cfg = CritiqueConfig {
        rounds: args.rounds,
        seed: args.seed,
        // Sampled, not greedy: a small model decoding greedily loops ("a a a a").
        response: opts(0.7),
        critique: opts(0.7),
        revision: opts(0.7),
        ..CritiqueConfig::default()
    };
    let records = critique_and_revise(&policy0, &constitution, &plain(&cai), &cai_cfg)?;
    let sl_dir = args.out.join("sl-cai");
    write_revision_log(sl_dir.join("revisions.jsonl"), &records)?;
    // Revisions that are degenerate loops are not trained on.
    let kept: Vec<_> = records
        .iter()
        .filter(|r| distinct_word_ratio(r.final_response()) >= 0.5)
        .cloned()
        .collect();
    let n_sft = write_sft_dataset(sl_dir.join("sft.jsonl"), &kept)?;
    println!(
        "critique → revision: {} prompts, {n_sft} SFT examples (the others' revisions are empty or loops)",
        records.len()
    );
    timings.push(("critique → revision", secs(t)));

    // 2. SL-CAI fine-tune.
    let t = Instant::now();
    let as_str = |t: &Text| match t {
        Text::Plain(s) => s.clone(),
        chat => text_content(chat),
    };
    let examples: Vec<SftExample> = sft_examples(&kept)
        .iter()
        .map(|e| SftExample {
            prompt: as_str(&e.prompt),
            completion: as_str(&e.completion),
        })
        .collect();
    let sl_cfg = inline_sft::InlineSft {
        steps: args.sl_steps,
        lr: 2e-4,
        warmup: 2,
        batch: 8,
        save_every: args.sl_steps,
        ..inline_sft::InlineSft::small(args.seed)
    };
    let sl = if examples.is_empty() {
        println!("no usable revision: SL-CAI keeps the SFT model");
        sft
    } else {
        let dir = sl_dir.join("train");
        inline_sft::finetune_sft(&sl_cfg, sft, &tok, &examples, &dir, &device)?.0
    };
    timings.push(("SL-CAI fine-tune", secs(t)));

    // 3–4. Two responses per prompt from the SL-CAI model, labelled by the judge.
    let t = Instant::now();
    let sl_model =
        LocalModel::new("sl-cai", sl.valid(), tok.clone(), device.clone()).with_bos(true);
    let sampled = sample_response_pairs(&sl_model, &plain(&fb_prompts), &opts(1.0), 32)?;
    let feedback = label_pairs(&judge, &sampled.pairs, 16)?;
    write_soft_pairs(args.out.join("feedback/ai-pairs.jsonl"), &feedback)?;
    println!(
        "AI feedback: {} pairs ({} identical, {} blank dropped)\n{}",
        sampled.pairs.len(),
        sampled.identical,
        sampled.blank,
        feedback.report
    );
    timings.push(("AI feedback", secs(t)));

    // 5. Reward model on the soft labels, checked against the human labels.
    let t = Instant::now();
    let rm_cfg = hh_rm::RmSettings {
        steps: args.rm_steps,
        eval_every: args.rm_steps,
        seed: args.seed,
        ..hh_rm::RmSettings::default()
    };
    let soft = PairwiseLossConfig {
        kind: PairwiseLossKind::SoftLabel,
        use_margin: false,
        center_rewards_coefficient: rm_cfg.center,
    };
    let rm = hh_rm::train_pairs_rm(
        &rm_cfg,
        &soft,
        sl.clone(),
        &tok,
        &feedback.pairs,
        &human,
        &args.out.join("rm"),
        &device,
    )?;
    println!(
        "reward model on AI labels: accuracy on human HH pairs {:.3} → {:.3}",
        rm.before.accuracy, rm.after.accuracy
    );
    timings.push(("reward model", secs(t)));

    // 6. PPO against the reward model; before/after on held-out prompts.
    let t = Instant::now();
    let scorer = NormalizedRewardModel::new(rm.model, &rm.normalizer)?;
    let mut reward = ModelReward::new("rm", &scorer);
    let rollout = RolloutConfig {
        prompts_per_iteration: args.prompts,
        max_new_tokens: args.max_new_tokens,
        temperature: 0.7,
        score_batch_size: 8,
        ..RolloutConfig::default()
    };
    let train_prompts = hh_rl::rollout_prompts_of(&ppo_texts, &tok, 96)?;
    let eval_prompts = hh_rl::rollout_prompts_of(&eval_texts, &tok, 96)?;
    let reference = sl.valid();
    let mut eval = |policy: &lm::Transformer| -> Res<PolicyEval> {
        let cfg = RolloutConfig {
            prompts_per_iteration: eval_prompts.len(),
            ..rollout.clone()
        };
        let r = Some(&reference as &dyn lm::CausalLm);
        Ok(evaluate_policy(
            policy,
            r,
            &mut reward,
            &eval_prompts,
            &cfg,
            &tok,
            1234,
            &device,
        )?)
    };
    let before = eval(&reference)?;
    let config = hh_rl::ppo_config(
        &rollout,
        args.iterations,
        args.beta,
        args.kl_target,
        args.lr,
        args.seed,
    );
    let model = ActorCritic::with_critic(
        sl,
        ScalarRewardModel::load(&args.out.join("rm/model"), &ad)?,
    );
    let inputs = OnlineInputs {
        reference: Some(&reference),
        reward: &mut ModelReward::new("rm", &scorer),
        prompts: &train_prompts,
        eval_prompts: &[],
        eval_reward: None,
        tokenizer: &tok,
    };
    let out = train_online(model, inputs, &config, &args.out.join("ppo"), &device)?;
    let after = eval(&out.model.policy.valid())?;
    timings.push(("PPO", secs(t)));

    // 7. The judges on the same samples: d-RLAIF rating, and PPO's win rate over SL-CAI.
    let t = Instant::now();
    let rater = ScoreJudge::new(judge_model.clone(), ScoreConfig::default())?;
    let samples = |e: &PolicyEval| e.samples.iter().map(|(s, _)| s.clone()).collect::<Vec<_>>();
    let (old, new) = (samples(&before), samples(&after));
    let rating0 = ScoreOutcome::mean_rating(&rater.rate_samples(&old)?);
    let rating1 = ScoreOutcome::mean_rating(&rater.rate_samples(&new)?);
    let wins = win_rate(&judge, &sample_duels(&new, &old), 16)?;
    timings.push(("judge evaluation", secs(t)));

    let total = secs(t0);
    println!(
        "\n{} held-out prompts        SL-CAI      PPO",
        eval_prompts.len()
    );
    println!(
        "RM score (normalised)     {:+8.3} {:+8.3}",
        before.reward_mean, after.reward_mean
    );
    println!("judge rating (1..9)       {rating0:8.3} {rating1:8.3}");
    println!(
        "KL to SL-CAI (nats)       {:8.3} {:8.3}",
        before.kl.unwrap_or(0.0),
        after.kl.unwrap_or(0.0)
    );
    println!("PPO vs SL-CAI, by the judge: {wins}");
    for (stage, s) in &timings {
        println!("  {stage:<22} {s:6.0} s");
    }
    println!("total {total:.0} s");
    for ((s, r0), (a, r1)) in before.samples.iter().zip(&after.samples).take(3) {
        println!("\n--- …{}", hh_rl::tail(&s.prompt, 120));
        println!(
            "  SL-CAI ({r0:+.2}): {}\n  PPO    ({r1:+.2}): {}",
            s.completion.trim(),
            a.completion.trim()
        );
    }
    if let Some(r) = records.first() {
        println!(
            "\n--- SL-CAI example: …{}",
            hh_rl::tail(&text_content(&r.prompt), 100)
        );
        println!("  response: {}", r.response);
        for round in &r.rounds {
            println!(
                "  [{}] critique: {}\n  revision: {}",
                round.principle, round.critique, round.revision
            );
        }
    }
    let report = serde_json::json!({
        "args": &args, "judge": judge_model.name(), "judge_vs_humans": vs_humans,
        "sl_cai": {"prompts": records.len(), "sft_examples": n_sft},
        "feedback": {"pairs": sampled.pairs.len(), "identical": sampled.identical, "blank": sampled.blank, "report": feedback.report},
        "reward_model": {"human_accuracy_before": rm.before.accuracy, "human_accuracy_after": rm.after.accuracy},
        "before": hh_rl::summary(&before), "after": hh_rl::summary(&after),
        "judge_rating": {"before": rating0, "after": rating1}, "win_rate": wins,
        "timings_s": timings.iter().map(|(k, v)| (k.to_string(), *v)).collect::<std::collections::BTreeMap<_, _>>(),
        "wall_seconds": total,
    });
    std::fs::write(
        args.out.join("report.json"),
        serde_json::to_string_pretty(&report)?,
    )?;
    println!("\nwrote {}", args.out.join("report.json").display());
    Ok(())
}
