//! The whole RLHF pipeline on Anthropic HH-RLHF (harmless-base), composed from the library's
//! entry points: SFT (`policy_opt::sft::run`) → reward model (`reward_model::run`) → PPO with
//! an adaptive KL penalty against the frozen SFT model, the critic started from the reward
//! model (`policy_opt::online::run`, `examples/configs/ppo.toml`: InstructGPT's recipe), then
//! the reward model's score and the KL on held-out prompts before and after, with samples.
//!
//! ```text
//! cargo run --release --example rlhf                    # SFT + RM + PPO from scratch, CPU
//! cargo run --release --example rlhf -- --fine-grained  # dense sentence-level rewards too
//! ```
//!
//! SFT and reward model come from `--sft-dir` (default `runs/sft/model`) and `--rm-dir`
//! (default `runs/reward_model/model`) when those examples ran, else they are trained into
//! `<out>/sft` (90 steps of `examples/configs/sft.toml`) and `<out>/rm`
//! (`examples/configs/reward.toml`) and reused on reruns. PPO writes
//! `<out>/ppo/{metrics.jsonl, curves.png, checkpoints/, report.json, model/}`; rerunning with
//! the same `--out` resumes it.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Parser;
use policy_opt::online::{OnlineRunConfig, RewardSource};
use reward_model::{Granularity, RewardComponent, RewardEnsemble, RewardRunConfig};

#[path = "common/sft_model.rs"]
mod sft_model;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

#[derive(Parser, Debug)]
#[command(about = "SFT → reward model → PPO on HH-RLHF")]
struct Args {
    /// HH-RLHF file or folder (default: ../shared/data/hh-rlhf/, else the Hugging Face hub).
    #[arg(long)]
    data: Option<PathBuf>,
    #[arg(long, default_value = "runs/rlhf")]
    out: PathBuf,
    #[arg(long, default_value = "runs/sft/model")]
    sft_dir: PathBuf,
    #[arg(long, default_value = "runs/reward_model/model")]
    rm_dir: PathBuf,
    /// PPO iterations (default: the config's 60).
    #[arg(long)]
    iterations: Option<usize>,
    /// Fine-grained RLHF (Wu et al. 2023): the reward model also scores every sentence end.
    #[arg(long)]
    fine_grained: bool,
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
    let rm_dir = if args.rm_dir.join("config.json").is_file() {
        args.rm_dir.clone()
    } else {
        let mut rm: RewardRunConfig = toml::from_str(include_str!("configs/reward.toml"))?;
        (rm.out, rm.model, rm.data.path) = (args.out.join("rm"), sft_dir.clone(), data.clone());
        let r = reward_model::run(&rm, &device)?;
        let acc = |e: &Option<reward_model::EvalReport>| e.as_ref().map_or(0.0, |e| e.accuracy);
        println!(
            "reward model: held-out accuracy {:.3} → {:.3}",
            acc(&r.before),
            acc(&r.after)
        );
        r.run.model_dir
    };
    println!(
        "SFT model {}, reward model {}",
        sft_dir.display(),
        rm_dir.display()
    );

    let mut config: OnlineRunConfig = toml::from_str(include_str!("configs/ppo.toml"))?;
    (config.out, config.model) = (args.out.join("ppo"), sft_dir.clone());
    (config.critic, config.prompts.path) = (Some(rm_dir.clone()), data);
    if let RewardSource::Model(m) = &mut config.reward {
        m.path = rm_dir.clone();
    }
    config.train.iterations = args.iterations.unwrap_or(config.train.iterations);
    let report = if args.fine_grained {
        // The normalised reward model on the whole completion and, at weight 0.5, on every
        // sentence end (dense rewards beside the sequence score).
        let (tok, _, _) = lm::checkpoint::load_tokenizer(&sft_dir)?;
        let rm = reward_model::load_reward(&rm_dir, true, Some(&tok), &device)?;
        let ends = [".", "!", "?"]
            .iter()
            .filter_map(|s| tok.token_to_id(s))
            .collect();
        let part = |name: &str, weight, granularity| RewardComponent {
            name: name.into(),
            model: rm.model(),
            weight,
            granularity,
        };
        let mut reward = RewardEnsemble::new(vec![
            part(
                "sentences",
                0.5,
                Granularity::Segments { boundary_ids: ends },
            ),
            part("whole", 1.0, Granularity::Sequence),
        ])?;
        policy_opt::online::run_with_reward(&config, &mut reward, &device)?
    } else {
        policy_opt::online::run(&config, &device)?
    };
    println!(
        "\n{report}\nwrote {}",
        report.run_dir.join("report.json").display()
    );
    println!("total {:.0} s", t0.elapsed().as_secs_f64());
    Ok(())
}
