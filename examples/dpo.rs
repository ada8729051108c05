//! DPO on Anthropic HH-RLHF pairs from the SFT model, composed from the library's entry
//! points: `examples/configs/dpo.toml` (sigmoid loss, β 0.1, reference log-probs cached in
//! `<out>/ref_logps_{train,valid}.json`) run by `policy_opt::dpo::run` on the SFT model
//! (`--sft`, default `runs/sft/model/`; when absent, a 90-step version of
//! `examples/configs/sft.toml` is trained first by `policy_opt::sft::run` into `<out>/sft/`).
//! The report holds the KL to the reference (k3 estimate on completions sampled from the
//! policy on held-out prompts); the example also shows a few replies of both models.
//!
//! ```text
//! cargo run --release --example dpo                 # ≈ 10 min on 2 CPU cores (SFT inline)
//! cargo run --release --example dpo -- --help       # the settings
//! rlhf dpo --config examples/configs/dpo.toml       # the same training, command line
//! ```
//!
//! Writes `<out>/metrics.jsonl`, `<out>/curves.png`, `<out>/checkpoints/`, `<out>/model/`
//! and `<out>/report.json` (held-out loss, reward accuracy and margins before and after).
//! Run again with the same `--out` to resume.

use std::path::{Path, PathBuf};

use clap::Parser;
use lm::checkpoint::load_bundle;
use lm::{GenerationConfig, SamplingConfig, generate_text};
use policy_opt::dpo::{DpoRunConfig, ReferenceMode};
use pref_data::{ChatTemplate, PromptDataConfig, PromptFormat, load_prompt_data};

#[path = "common/sft_model.rs"]
mod sft_model;

#[derive(Parser, Debug)]
#[command(about = "DPO on HH-RLHF pairs from the SFT model")]
struct Args {
    /// HH-RLHF file or folder (default: ../shared/data/hh-rlhf/, else the Hugging Face hub).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Output folder.
    #[arg(long, default_value = "runs/dpo")]
    out: PathBuf,
    /// The SFT model folder (trained into `<out>/sft/` when absent).
    #[arg(long, default_value = "runs/sft/model")]
    sft: PathBuf,
    /// Optimizer steps (default: the config's 200).
    #[arg(long)]
    steps: Option<usize>,
    /// A frozen reference scored every step instead of cached log-probs.
    #[arg(long)]
    frozen_reference: bool,
    /// Held-out prompts whose sampled completions estimate the KL.
    #[arg(long, default_value_t = 64)]
    kl_prompts: usize,
    /// Replies to show.
    #[arg(long, default_value_t = 3)]
    samples: usize,
    /// Seed of the split, the data order and the sampler.
    #[arg(long, default_value_t = 0)]
    seed: u64,
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

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let device = lm::select_device()?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let data = rlhf::locate_hh(args.data.as_deref(), root, "harmless-base-dev.jsonl.gz")?;
    let sft = sft_model::sft_model(&args.sft, &args.out.join("sft"), &data, &device)?;
    let mut config: DpoRunConfig = toml::from_str(include_str!("configs/dpo.toml"))?;
    (config.out, config.model, config.data.path) = (args.out.clone(), sft.clone(), data);
    config.train.seed = args.seed;
    config.train.steps = args.steps.unwrap_or(config.train.steps);
    config.train.warmup_steps = config.train.warmup_steps.min(config.train.steps);
    config.kl_prompts = args.kl_prompts;
    if args.frozen_reference {
        config.reference = ReferenceMode::Frozen;
    }
    let r = policy_opt::dpo::run(&config, &device)?;
    println!("{r}");

    // A few replies of both models to held-out prompts (the run's split).
    let prompts = PromptDataConfig {
        path: config.data.path.clone(),
        format: PromptFormat::Hh,
        valid_fraction: config.data.valid_fraction,
        ..PromptDataConfig::default()
    };
    let texts: Vec<String> = load_prompt_data(&prompts, config.train.seed)?
        .valid
        .iter()
        .take(args.samples)
        .map(|p| ChatTemplate::Plain.render_prompt(&p.prompt))
        .collect::<Result<_, _>>()?;
    let sampling = SamplingConfig {
        temperature: 0.7,
        top_k: Some(50),
        top_p: 0.95,
    };
    let generation = GenerationConfig {
        sampling,
        seed: args.seed,
        ..GenerationConfig::new(48)
    };
    let reply = |dir: &Path| -> Result<Vec<String>, Box<dyn std::error::Error>> {
        let b = load_bundle(dir, &device)?;
        let max = Some(config.data.max_prompt_len);
        Ok(generate_text(
            &b.model,
            &b.tokenizer,
            &texts,
            b.add_bos,
            max,
            &generation,
            &device,
        )?)
    };
    for (k, (a, b)) in reply(&sft)?
        .iter()
        .zip(reply(&r.run.model_dir)?)
        .enumerate()
    {
        println!(
            "\n--- held-out prompt {k}\nSFT >>> {}\nDPO >>> {}",
            a.trim(),
            b.trim()
        );
    }
    println!("\nreport: {}", r.run.run_dir.join("report.json").display());
    Ok(())
}
