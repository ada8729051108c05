//! Reinforcement fine-tuning with a grader (OpenAI's RFT recipe) on a task with checkable
//! answers that the example generates: "Which is larger, 23 or 45?" over pairs of numbers
//! below 100; the validation questions are pairs never seen in training.
//!
//! 1. The rows are written in the RFT JSONL format (chat `messages` + `reference_answer`) to
//!    `<out>/comparisons.jsonl`, and worked examples (prompt → answer) to `<out>/worked.jsonl`;
//! 2. `policy_opt::sft::run` trains a small byte-level BPE and a small Llama-style model on the
//!    worked examples (`examples/configs/rft_sft.toml`: the warm start, kept short so that
//!    there is something left to learn);
//! 3. `policy_opt::online::run` trains GRPO on the train questions with the grader of
//!    `examples/configs/rft_graders.toml` as the only reward (`examples/configs/rft.toml`);
//!    the validation accuracy (the grader's mean on sampled answers to the held-out questions)
//!    is measured every 25 iterations, printed and plotted (`<out>/accuracy.png`).
//!
//! ```text
//! cargo run --release --example rft
//! ```

use std::path::PathBuf;

use clap::Parser;
use policy_opt::online::{OnlineRunConfig, RewardSource};
use policy_opt::sft::SftRunConfig;
use pref_data::{ChatTemplate, Message, Text};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use train::{XySeries, plot_xy};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

#[derive(Parser, Debug)]
#[command(about = "RFT: SFT warm start, then GRPO with a grader on generated comparisons")]
struct Args {
    #[arg(long, default_value = "runs/rft")]
    out: PathBuf,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Questions generated (the validation split takes about 200 distinct ones).
    #[arg(long, default_value_t = 3000)]
    problems: usize,
    /// Worked examples of the SFT warm start.
    #[arg(long, default_value_t = 2000)]
    sft_examples: usize,
    /// GRPO iterations (default: the config's 150).
    #[arg(long)]
    iterations: Option<usize>,
    /// Operands are drawn from 0 .. this.
    #[arg(long, default_value_t = 100)]
    max_operand: u32,
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
    let t0 = std::time::Instant::now();
    let device = lm::select_device()?;

    // 1. The task in the RFT format, and worked examples for the warm start.
    let mut rng = StdRng::seed_from_u64(args.seed);
    let questions: Vec<(String, String)> = (0..args.problems)
        .map(|_| {
            let a = rng.random_range(0..args.max_operand);
            let b = rng.random_range(0..args.max_operand);
            (
                format!("Which is larger, {a} or {b}?"),
                a.max(b).to_string(),
            )
        })
        .collect();
    let rows = questions.iter().map(|(q, a)| {
        serde_json::json!({
            "messages": [{"role": "user", "content": q}], "reference_answer": a,
        })
    });
    let (rft_file, worked_file) = (
        args.out.join("comparisons.jsonl"),
        args.out.join("worked.jsonl"),
    );
    pref_data::write_jsonl(&rft_file, rows)?;
    // The prompt as the policy will see it (the model has no chat template: plain rendering).
    let render = |q: &str| {
        let chat = Text::Chat(vec![Message::new("user", q)]);
        ChatTemplate::Plain.render_prompt(&chat)
    };
    let worked: Vec<serde_json::Value> = questions
        .iter()
        .take(args.sft_examples)
        .map(|(q, a)| Ok(serde_json::json!({"prompt": render(q)?, "completion": a})))
        .collect::<Res<_>>()?;
    pref_data::write_jsonl(&worked_file, worked)?;

    // 2. The SFT warm start.
    let mut sft: SftRunConfig = toml::from_str(include_str!("configs/rft_sft.toml"))?;
    (sft.out, sft.data.path, sft.train.seed) = (args.out.join("sft"), worked_file, args.seed);
    let sft = policy_opt::sft::run(&sft, &device)?;
    println!(
        "SFT warm start: {} steps in {:.0} s",
        sft.steps, sft.seconds
    );

    // 3. GRPO with the grader as the reward; validation accuracy every 25 iterations.
    let mut config: OnlineRunConfig = toml::from_str(include_str!("configs/rft.toml"))?;
    (config.out, config.model) = (args.out.join("grpo"), sft.model_dir);
    (config.prompts.path, config.train.seed) = (rft_file, args.seed);
    if let RewardSource::Graders(g) = &mut config.reward {
        g.path =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/configs/rft_graders.toml");
    }
    config.train.iterations = args.iterations.unwrap_or(config.train.iterations);
    let report = policy_opt::online::run(&config, &device)?;
    println!("\n{report}");

    let before = report.before.as_ref().map_or(f64::NAN, |e| e.reward_mean);
    let mut points = vec![(0.0, before)];
    points.extend(
        report
            .eval_curve
            .iter()
            .map(|p| (p.iteration as f64, p.reward)),
    );
    let n = (report.eval_prompts * config.eval_samples_per_prompt) as f64;
    for (it, acc) in &points {
        let se = (acc * (1.0 - acc) / n).sqrt();
        println!("iteration {it:>3}: validation accuracy {acc:.3} (± {se:.3} s.e.)");
    }
    let series = [XySeries {
        name: "validation accuracy".into(),
        points,
    }];
    let plot = args.out.join("accuracy.png");
    plot_xy(
        &series,
        "GRPO iteration",
        "accuracy (grader mean)",
        "RFT: which number is larger",
        &plot,
    )?;
    println!(
        "wrote {} ({:.0} s)",
        plot.display(),
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}
