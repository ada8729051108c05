//! The Constitutional AI pipeline (Bai et al. 2022) on the HH-RLHF red-team prompts, with AI
//! feedback in place of human labels (RLAIF, Lee et al. 2023), composed from the library's
//! entry points:
//!
//! 1. critique → revision with the SFT model (`rlaif_judge::run_sl_cai`,
//!    `examples/configs/sl_cai.toml`), and the SL-CAI fine-tune on the revisions
//!    (`policy_opt::sft::run`);
//! 2. AI labels: two responses per prompt from the SL-CAI model, the multiple-choice judge's
//!    p(A) as soft labels, the judge also checked against human HH labels
//!    (`rlaif_judge::run_feedback`, `examples/configs/rlaif.toml`);
//! 3. a reward model on the soft labels (`reward_model::run`, soft-label cross-entropy),
//!    checked against the human labels (`reward_model::evaluate_file`);
//! 4. PPO against it from the SL-CAI model (`policy_opt::online::run`,
//!    `examples/configs/ppo.toml`), the critic from the reward model;
//! 5. the judge on held-out samples: its d-RLAIF rating and PPO's win rate over SL-CAI
//!    (`rlaif_judge::compare_policies`).
//!
//! ```text
//! cargo run --release --example rlaif                      # local judge (see below)
//! cargo run --release --example rlaif -- --judge-url http://127.0.0.1:8080/v1
//! ```
//!
//! The judge is Gemma 3 270M from `--judge-gguf` (default
//! `.cache/gemma3/gemma-3-270m-q4_k_m.gguf`, fetched by `scripts/fetch-gemma3.sh`) when the
//! file is there, else the SFT model itself; with `--judge-url` any OpenAI-compatible server
//! (`scripts/serve-llama.sh`), its replies cached in `<out>/judge-cache`. Every stage writes
//! its folder under `--out` and a rerun reuses finished stages' checkpoints.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Parser;
use policy_opt::online::{OnlineRunConfig, RewardSource};
use policy_opt::sft::SftRunConfig;
use pref_data::{PairDataConfig, PairFormat};
use reward_model::RewardRunConfig;
use reward_model::loss::PairwiseLossKind;
use rlaif_judge::{Constitution, SlCaiRunConfig};
use rlaif_judge::{FeedbackRunConfig, JudgeModelSource, PairSource};

#[path = "common/sft_model.rs"]
mod sft_model;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

#[derive(Parser, Debug)]
#[command(about = "Constitutional AI: critique → revision → SL-CAI → AI labels → RM → PPO on HH")]
struct Args {
    /// HH-RLHF file or folder (default: ../shared/data/hh-rlhf/, else the Hugging Face hub).
    #[arg(long)]
    data: Option<PathBuf>,
    #[arg(long, default_value = "runs/rlaif")]
    out: PathBuf,
    #[arg(long, default_value = "runs/sft/model")]
    sft_dir: PathBuf,
    /// GGUF file of the local judge (Gemma 3); the SFT model judges when it is absent.
    #[arg(long, default_value = ".cache/gemma3/gemma-3-270m-q4_k_m.gguf")]
    judge_gguf: PathBuf,
    /// OpenAI-compatible server of the judge (e.g. http://127.0.0.1:8080/v1).
    #[arg(long)]
    judge_url: Option<String>,
    /// PPO iterations.
    #[arg(long, default_value_t = 30)]
    iterations: usize,
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
    let judge = match &args.judge_url {
        Some(url) => JudgeModelSource::http(url, Some(args.out.join("judge-cache"))),
        None if args.judge_gguf.is_file() => JudgeModelSource::local(&args.judge_gguf),
        None => JudgeModelSource::local(&sft_dir),
    };

    // 1. Critique → revision, then the SL-CAI fine-tune on the revisions.
    let mut sl: SlCaiRunConfig = toml::from_str(include_str!("configs/sl_cai.toml"))?;
    (sl.out, sl.prompts.path, sl.model) = (
        args.out.join("sl-cai"),
        data.clone(),
        JudgeModelSource::local(&sft_dir),
    );
    let cai = rlaif_judge::run_sl_cai(&sl, &device)?;
    println!(
        "critique → revision: {} prompts, {} SFT examples",
        cai.prompts, cai.sft_examples
    );
    let mut tune: SftRunConfig = toml::from_str(include_str!("configs/sl_cai_sft.toml"))?;
    (tune.out, tune.model, tune.data.path) = (sl.out.join("sft"), Some(sft_dir), cai.sft_file);
    let sl_model = policy_opt::sft::run(&tune, &device)?.model_dir;

    // 2. AI feedback on the SL-CAI model's pairs; the judge against held-out human labels.
    let human = PairDataConfig::new(args.out.join("human_pairs.jsonl"), PairFormat::Pairwise);
    let hh = PairDataConfig::new(&data, PairFormat::Hh);
    let held_out = pref_data::split_pair_file(&hh, 0)?.0.valid;
    pref_data::write_pairs(&human.path, held_out.iter().take(32))?;
    let mut fb: FeedbackRunConfig = toml::from_str(include_str!("configs/rlaif.toml"))?;
    (fb.out, fb.judge) = (args.out.join("feedback"), judge.clone());
    fb.human_pairs = Some(human.clone());
    if let PairSource::Sample {
        policy, prompts, ..
    } = &mut fb.source
    {
        (*policy, prompts.path) = (JudgeModelSource::local(&sl_model), data.clone());
    }
    let feedback = rlaif_judge::run_feedback(&fb, &device)?;
    println!(
        "AI feedback by {}: {} pairs\n{}",
        feedback.judge, feedback.pairs, feedback.labels
    );
    if let Some(h) = &feedback.human_agreement {
        println!("judge on held-out HH pairs: {h}");
    }

    // 3. A reward model on the soft labels, checked against the human labels.
    let mut rm: RewardRunConfig = toml::from_str(include_str!("configs/reward.toml"))?;
    (rm.out, rm.model, rm.data.path) = (args.out.join("rm"), sl_model.clone(), feedback.pairs_file);
    (rm.data.format, rm.loss.kind, rm.loss.use_margin) =
        (PairFormat::SoftPairwise, PairwiseLossKind::SoftLabel, false);
    (rm.train.steps, rm.train.eval_every) = (120, 0);
    let r = reward_model::run(&rm, &device)?;
    let on_humans = reward_model::evaluate_file(&r.run.model_dir, &human, 8, 10, &device)?;
    println!(
        "reward model on AI labels: accuracy on human HH pairs {:.3}",
        on_humans.accuracy
    );

    // 4. PPO from the SL-CAI model against the reward model.
    let mut ppo: OnlineRunConfig = toml::from_str(include_str!("configs/ppo.toml"))?;
    (ppo.out, ppo.model) = (args.out.join("ppo"), sl_model.clone());
    ppo.critic = Some(r.run.model_dir.clone());
    (ppo.prompts.path, ppo.eval_prompts, ppo.train.iterations) = (data, 32, args.iterations);
    ppo.reward = RewardSource::model(&r.run.model_dir);
    let report = policy_opt::online::run(&ppo, &device)?;
    println!("\n{report}");

    // 5. The judge on the same held-out prompts: rating (d-RLAIF) and PPO's win rate.
    let eval = |policy: &Path| policy_opt::online::evaluate_run(&ppo, policy, &device);
    let old = eval(&sl_model)?.samples_only();
    let new = eval(&report.model_dir)?.samples_only();
    let (model, rules) = (judge.build(&device)?, Constitution::harmlessness());
    let judged = rlaif_judge::compare_policies(model, rules, &new, &old, 16)?;
    println!("new = PPO, old = SL-CAI\n{judged}");
    println!("total {:.0} s", t0.elapsed().as_secs_f64());
    Ok(())
}
