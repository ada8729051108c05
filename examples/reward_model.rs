//! A reward model on Anthropic HH-RLHF (harmless-base) preference pairs, composed from the
//! library's entry points: `examples/configs/reward.toml` run by `reward_model::run` over the
//! SFT model (`--sft-dir`, default `runs/sft/model/`; when absent, a 90-step version of
//! `examples/configs/sft.toml` is trained first by `policy_opt::sft::run` into `<out>/sft/`).
//!
//! With `--gemma PATH` the backbone is Gemma 3 270M (GGUF) with
//! `examples/configs/reward_gemma.toml` (TRL RewardTrainer's settings), `--lora` trains
//! adapters instead of every weight.
//!
//! ```text
//! cargo run --release --example reward_model                     # ≈ 9.5 min on 2 CPU cores
//! cargo run --release --example reward_model -- --help           # the settings
//! rlhf reward --config examples/configs/reward.toml              # the same run, command line
//! ```
//!
//! The pairs are split by prompt with the SFT run's seed and share, so the held-out prompts
//! were never seen by the backbone either. With the defaults (seed 0; embeddings and 2 of 4
//! blocks frozen, Bradley-Terry + centering 0.01, 300 steps of 8 pairs, lr 6e-4, prompts ≤ 96
//! and completions ≤ 64 tokens) the held-out pairwise accuracy went from 0.569 (untrained
//! head) to 0.623 (95 % CI 0.554–0.686, 204 pairs).
//!
//! Writes `<out>/{metrics.jsonl, curves.png, checkpoints/, report.json}` and the trained
//! model in `<out>/model/` (`reward_model.safetensors`, `config.json`, `tokenizer.json`,
//! `normalizer.json`). Run again with the same `--out` to resume.

use std::path::{Path, PathBuf};

use clap::Parser;
use reward_model::{EvalReport, RewardRunConfig};

#[derive(Parser, Debug)]
#[command(about = "Reward model on HH-RLHF pairs over an SFT backbone")]
struct Args {
    /// HH-RLHF file or folder (default: ../shared/data/hh-rlhf/, else the Hugging Face hub).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Output folder.
    #[arg(long, default_value = "runs/reward_model")]
    out: PathBuf,
    /// The SFT model folder (trained into `<out>/sft/` when absent).
    #[arg(long, default_value = "runs/sft/model")]
    sft_dir: PathBuf,
    /// Optimizer steps (default: the config's 300).
    #[arg(long)]
    steps: Option<usize>,
    /// A backbone to use instead of the SFT model, with `examples/configs/reward_gemma.toml`'s
    /// settings (TRL's for Gemma 3 270M): e.g. `.cache/gemma3/gemma-3-270m-q4_k_m.gguf`.
    #[arg(long)]
    gemma: Option<PathBuf>,
    /// Train LoRA adapters (rank 16, α 32, every projection, lr 1e-4) instead of every weight.
    #[arg(long)]
    lora: bool,
    /// Seed of the split, the data order and the head.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

#[path = "common/sft_model.rs"]
mod sft_model;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

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
    let device = lm::select_device()?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let data = rlhf::locate_hh(args.data.as_deref(), root, "harmless-base-dev.jsonl.gz")?;
    let mut config: RewardRunConfig = match &args.gemma {
        Some(path) => {
            let mut c: RewardRunConfig = toml::from_str(include_str!("configs/reward_gemma.toml"))?;
            c.model = path.clone();
            c
        }
        None => {
            let sft = sft_model::sft_model(&args.sft_dir, &args.out.join("sft"), &data, &device)?;
            let c: RewardRunConfig = toml::from_str(include_str!("configs/reward.toml"))?;
            RewardRunConfig { model: sft, ..c }
        }
    };
    if args.lora {
        let all = lm::lora::LoraConfig::new(16, 32.0).with_all_targets();
        (config.lora, config.freeze_layers) = (Some(all), 0);
        config.train.learning_rate = Some(1e-4);
    }
    config.out = args.out;
    config.data.path = data;
    config.train.seed = args.seed;
    config.train.steps = args.steps.unwrap_or(config.train.steps);
    config.train.warmup_steps = config.train.warmup_steps.min(config.train.steps);
    let r = reward_model::run(&config, &device)?;
    println!(
        "{}\ntokenised (train): {}",
        r.run.read_report, r.run.tokenize_report
    );
    println!(
        "pairs: {} train, {} held out; {} steps ({} run now) in {:.0} s",
        r.run.train_pairs,
        r.run.valid_pairs,
        r.run.steps,
        r.run.steps - r.run.resumed_from,
        r.seconds
    );
    if let (Some(before), Some(after)) = (&r.before, &r.after) {
        print_report(before, after);
    }
    println!(
        "wrote {} and {}",
        r.run.run_dir.join("report.json").display(),
        r.run.model_dir.display()
    );
    Ok(())
}

fn print_report(before: &EvalReport, after: &EvalReport) {
    println!("\nheld-out pairs: {}", after.pairs);
    println!("                     before    after");
    let rows = [
        ("accuracy", before.accuracy, after.accuracy),
        ("mean margin", before.mean_margin, after.mean_margin),
        ("log-loss", before.log_loss, after.log_loss),
        ("ECE", before.ece, after.ece),
        ("reward mean (all)", before.all.mean, after.all.mean),
        ("reward std (all)", before.all.std, after.all.std),
    ];
    for (name, b, a) in rows {
        println!("{name:<20}{b:8.3} {a:8.3}");
    }
    println!(
        "accuracy 95 % CI after: {:.3}–{:.3}",
        after.accuracy_ci95.0, after.accuracy_ci95.1
    );
    println!("reliability after (predicted → empirical, count):");
    for b in after.calibration_bins.iter().filter(|b| b.count > 0) {
        println!(
            "  [{:.1}, {:.1})  {:.3} → {:.3}  ({})",
            b.lo, b.hi, b.mean_predicted, b.empirical, b.count
        );
    }
}
