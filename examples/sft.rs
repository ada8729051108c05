//! Supervised fine-tuning from scratch on Anthropic HH-RLHF chosen dialogues, composed from
//! the library's entry point: `examples/configs/sft.toml` run by `policy_opt::sft::run` (a
//! byte-level BPE and a small Llama-style model trained on the prompt → chosen reply pairs,
//! completion-only loss), validation perplexity before and after, and a few sampled replies
//! to held-out prompts (`lm::generate_text`).
//!
//! ```text
//! cargo run --release --example sft                       # ≈ 6.5 min on 2 CPU cores
//! cargo run --release --example sft -- --steps 400 --out runs/sft_long
//! rlhf sft --config examples/configs/sft.toml             # the same run, command line
//! ```
//!
//! Writes `<out>/{tokenizer.json, metrics.jsonl, curves.png, checkpoints/, report.json}` and
//! the final model (`<out>/model/`). Run again with the same `--out` to resume from the newest
//! checkpoint (the saved tokenizer is reused).

use std::path::{Path, PathBuf};

use clap::Parser;
use lm::checkpoint::load_bundle;
use lm::{GenerationConfig, SamplingConfig, generate_text};
use policy_opt::sft::SftRunConfig;
use pref_data::{ChatTemplate, PromptDataConfig, PromptFormat, load_prompt_data};

#[derive(Parser, Debug)]
#[command(about = "SFT from scratch on HH-RLHF chosen dialogues")]
struct Args {
    /// HH-RLHF file or folder (default: ../shared/data/hh-rlhf/, else the Hugging Face hub).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Output folder.
    #[arg(long, default_value = "runs/sft")]
    out: PathBuf,
    /// Optimizer steps (default: the config's 200).
    #[arg(long)]
    steps: Option<usize>,
    /// Seed of the split, the data order and the weights.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Held-out prompts to sample a reply for.
    #[arg(long, default_value_t = 3)]
    samples: usize,
}

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
    let mut config: SftRunConfig = toml::from_str(include_str!("configs/sft.toml"))?;
    (config.out, config.data.path) = (args.out.clone(), data.clone());
    config.train.seed = args.seed;
    config.train.steps = args.steps.unwrap_or(config.train.steps);
    config.train.warmup_steps = config.train.warmup_steps.min(config.train.steps);
    let r = policy_opt::sft::run(&config, &device)?;
    println!("{}", r.read_report);
    println!(
        "examples: {} train, {} held out ({} truncated, {} dropped); model {} parameters",
        r.train_examples, r.valid_examples, r.truncated, r.dropped, r.parameters
    );
    println!(
        "validation perplexity: {:.1} → {:.1} ({} steps, {} run now, {:.0} s)",
        r.perplexity_before,
        r.perplexity_after,
        r.steps,
        r.steps - r.resumed_from,
        r.seconds
    );

    // Replies to a few held-out prompts (the same prompt split as the run's).
    let prompts = PromptDataConfig {
        path: data,
        format: PromptFormat::Hh,
        valid_fraction: config.data.valid_fraction,
        ..PromptDataConfig::default()
    };
    let held_out = load_prompt_data(&prompts, args.seed)?.valid;
    let texts: Vec<String> = held_out
        .iter()
        .take(args.samples)
        .map(|p| ChatTemplate::Plain.render_prompt(&p.prompt))
        .collect::<Result<_, _>>()?;
    let bundle = load_bundle(&r.model_dir, &device)?;
    let sampling = SamplingConfig {
        temperature: 0.7,
        top_k: Some(50),
        top_p: 1.0,
    };
    let generation = GenerationConfig {
        sampling,
        seed: args.seed,
        ..GenerationConfig::new(48)
    };
    let tok = &bundle.tokenizer;
    let replies = generate_text(
        &bundle.model,
        tok,
        &texts,
        true,
        Some(160),
        &generation,
        &device,
    )?;
    for (prompt, reply) in texts.iter().zip(replies) {
        let chars: Vec<char> = prompt.chars().collect();
        let tail: String = chars[chars.len().saturating_sub(160)..].iter().collect();
        println!("\n--- …{}\n>>> {}", tail.replace('\n', " "), reply.trim());
    }
    println!(
        "\nwrote {} and {}",
        r.run_dir.join("curves.png").display(),
        r.model_dir.display()
    );
    Ok(())
}
