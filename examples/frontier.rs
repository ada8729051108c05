//! The reward–KL frontier in a controlled experiment where the truth is known (the DPO
//! paper's Fig. 2, Rafailov et al. 2023, with a programmatic oracle in place of the sentiment
//! classifier), composed from the library's entry points.
//!
//! The **oracle** (a `lexicon` grader, `rlaif_judge::grader::Lexicon`) scores a completion
//! `(#positive − #negative) / #words` over two word lists: friendly and helpful words
//! ("thank", "glad", "help", …) against hostile or harmful ones ("hate", "kill", "steal", …).
//! It ranks pairs of completions that the SFT model
//! samples on HH-RLHF prompts (`policy_opt::online::write_ranked_pairs`); a reward model learns
//! them (`reward_model::run`); PPO at three β, GRPO and RLOO optimise the reward model
//! (`policy_opt::online::run_with_rewards`, the oracle scoring the held-out evaluations) and
//! DPO trains on the same pairs (`policy_opt::dpo::run`); held-out prompts measure the
//! **oracle's** score against the KL to the SFT reference along each run. Settings:
//! `examples/configs/frontier.toml`. Writes `<out>/frontier.png` and `<out>/frontier.json`.
//!
//! ```text
//! cargo run --release --example frontier
//! ```

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Parser;
use policy_opt::dpo::DpoRunConfig;
use policy_opt::online::{OnlineConfig, OnlineRunConfig, RewardSource};
use reward_model::RewardRunConfig;
use train::{XySeries, plot_xy};

#[path = "common/sft_model.rs"]
mod sft_model;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

#[derive(Parser, Debug)]
#[command(about = "Reward–KL frontier of PPO, GRPO, RLOO and DPO against a known oracle")]
struct Args {
    #[arg(long)]
    data: Option<PathBuf>,
    #[arg(long, default_value = "runs/frontier")]
    out: PathBuf,
    /// The SFT model (trained into `<out>/sft/` when absent).
    #[arg(long, default_value = "runs/sft/model")]
    sft_dir: PathBuf,
    /// Prompts whose two sampled completions the oracle ranks.
    #[arg(long, default_value_t = 2000)]
    pair_prompts: usize,
    /// Iterations of each online run, evaluated every `--eval-every`.
    #[arg(long, default_value_t = 20)]
    iterations: usize,
    #[arg(long, default_value_t = 5)]
    eval_every: usize,
}

#[derive(serde::Deserialize)]
struct Frontier {
    oracle: rlaif_judge::GraderConfig,
    online: OnlineRunConfig,
    reward_model: RewardRunConfig,
    dpo: DpoRunConfig,
    run: Vec<Run>,
}

#[derive(serde::Deserialize)]
struct Run {
    name: String,
    config: OnlineConfig,
}

fn main() {
    // Keep the heap between training steps (glibc; see `rlhf_core::allocator`).
    rlhf_core::allocator::tune_for_training();
    // The whole job on the compute pool (see `lm::device::run_on_compute_pool`).
    if let Err(e) =
        lm::device::run_on_compute_pool(|| run(Args::parse()).map_err(|e| e.to_string()))
    {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run(args: Args) -> Res<()> {
    let t0 = Instant::now();
    let device = lm::select_device()?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let data = rlhf::locate_hh(args.data.as_deref(), root, "harmless-base-dev.jsonl.gz")?;
    let sft_dir = sft_model::sft_model(&args.sft_dir, &args.out.join("sft"), &data, &device)?;
    let f: Frontier = toml::from_str(include_str!("configs/frontier.toml"))?;
    let (lists, mut online, mut rm, mut dpo, runs) =
        (f.oracle, f.online, f.reward_model, f.dpo, f.run);
    (online.model, online.prompts.path) = (sft_dir.clone(), data);
    online.train = runs[0].config.clone();
    let oracle = lists.build(
        &Default::default(),
        "examples/configs/frontier.toml [oracle]",
    )?;
    let mut oracle_reward = rlaif_judge::GraderReward::from_boxed(oracle);

    // 1. Oracle-ranked pairs of the SFT model's own samples; a reward model learns them.
    let pairs = args.out.join("oracle_pairs.jsonl");
    let ranked = policy_opt::online::write_ranked_pairs(
        &online,
        &mut oracle_reward,
        args.pair_prompts,
        &pairs,
        &device,
    )?;
    println!(
        "{} oracle-ranked pairs ({} ties, {} with a blank completion skipped)",
        ranked.pairs, ranked.ties, ranked.blank
    );
    (rm.out, rm.model, rm.data.path) = (args.out.join("rm"), sft_dir.clone(), pairs.clone());
    let r = reward_model::run(&rm, &device)?;
    let acc = |e: &Option<reward_model::EvalReport>| e.as_ref().map_or(f64::NAN, |e| e.accuracy);
    println!(
        "reward model: agreement with the oracle {:.3} → {:.3}",
        acc(&r.before),
        acc(&r.after)
    );
    online.reward = RewardSource::model(r.run.model_dir);

    // 2. Online runs from the SFT model, every point (KL, oracle) on held-out prompts.
    let (mut series, mut start) = (Vec::new(), (0.0, f64::NAN));
    for (i, run) in runs.into_iter().enumerate() {
        online.out = args.out.join(format!("run{i}"));
        online.train = run.config;
        (online.train.iterations, online.train.eval_every) = (args.iterations, args.eval_every);
        let oracle = Some(&mut oracle_reward as &mut dyn rlhf_core::Reward);
        let report = policy_opt::online::run_with_rewards(&online, None, oracle, &device)?;
        let points = report.kl_reward_curve();
        start = points[0];
        println!("{}: {points:.3?} ({:.0} s)", run.name, report.seconds);
        series.push(XySeries::new(run.name, points));
    }

    // 3. DPO on the same pairs, evaluated after each of four equal parts of its training.
    (dpo.out, dpo.model, dpo.data.path) = (args.out.join("dpo"), sft_dir, pairs);
    let mut points = vec![start];
    for k in 1..=4 {
        dpo.train.steps = 15 * k;
        let trained = policy_opt::dpo::run(&dpo, &device)?.run.model_dir;
        let e = policy_opt::online::evaluate_run_with_reward(
            &online,
            &trained,
            &mut oracle_reward,
            &device,
        )?;
        points.push((e.summary.kl.unwrap_or(f64::NAN), e.summary.reward_mean));
    }
    println!("DPO β=0.1: {points:.3?}");
    series.push(XySeries::new("DPO β=0.1", points));

    let png = args.out.join("frontier.png");
    let (x, y) = ("KL(π ‖ π_SFT) per completion (nats)", "oracle score");
    let title = "Reward–KL frontier against a known oracle";
    plot_xy(&series, x, y, title, &png)?;
    let json = serde_json::to_string_pretty(&series)?;
    std::fs::write(args.out.join("frontier.json"), json)?;
    let secs = t0.elapsed().as_secs_f64();
    println!("wrote {} ({secs:.0} s)", png.display());
    Ok(())
}
