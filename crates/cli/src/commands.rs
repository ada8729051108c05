//! The subcommands: `sft`, `reward`, `dpo`, `ppo`, `grpo`, `rloo`, `rft` (a config file,
//! overrides, validation, the library's entry point, the report), `generate`, `eval` and
//! `eval-policy`.

use std::path::PathBuf;

use burn::tensor::Device;
use clap::{Args, Parser, Subcommand};
use lm::checkpoint::load_bundle;
use lm::{GenerationConfig, SamplingConfig, generate_text};
use policy_opt::dpo::DpoRunConfig;
use policy_opt::sft::SftRunConfig;
use pref_data::{ChatTemplate, Message, PairDataConfig, PairFormat, Text};
use reward_model::RewardRunConfig;
use serde::Serialize;
use toml::Value;

use crate::config_file::load;
use crate::error::CliError;
use crate::method::RunConfig;
use crate::online::{
    EvalPolicyCommand, GrpoCommand, OnlineCommand, PpoCommand, RftCommand, RlooCommand,
};
use crate::print::print_config;
use crate::rlaif::{JudgeCommand, RlaifCommand, SlCaiCommand};

/// The `rlhf` command line.
#[derive(Parser, Debug)]
#[command(
    name = "rlhf",
    version,
    about = "Align language models: SFT, reward models, DPO, PPO, GRPO, RLOO, RFT, generation, evaluation",
    long_about = "Align language models: SFT, reward models, DPO, PPO, GRPO, RLOO, RFT, generation, \
                  evaluation.\n\n\
                  Each training command reads a TOML file (--config), applies --set \
                  overrides, validates everything before loading anything, and writes its \
                  run folder (checkpoints, metrics.jsonl, curves.png, report.json, model/); \
                  rerun the same command to resume. --print-config shows every setting \
                  with its default and meaning."
)]
pub struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// A subcommand.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Supervised fine-tuning (from a model folder, or from scratch).
    Sft(ConfigArgs),
    /// A reward model on preference pairs.
    Reward(ConfigArgs),
    /// DPO and its family (IPO, SimPO, ORPO, ...) on preference pairs.
    Dpo(ConfigArgs),
    /// PPO with a KL penalty against the starting model and a reward model (RLHF).
    Ppo(ConfigArgs),
    /// GRPO: group-relative advantages of several samples per prompt.
    Grpo(ConfigArgs),
    /// RLOO: a leave-one-out baseline over several samples per prompt.
    Rloo(ConfigArgs),
    /// Reinforcement fine-tuning: GRPO rewarded by OpenAI-style graders.
    Rft(ConfigArgs),
    /// RLAIF: two responses per prompt from a policy, labelled by an AI judge under a
    /// constitution, written as soft pairs for a reward model.
    Rlaif(ConfigArgs),
    /// An AI judge's labels for the pairs of a preference file (and its agreement with the
    /// human labels).
    Judge(ConfigArgs),
    /// Constitutional AI's critique → revision, written as SFT data.
    #[command(name = "sl-cai")]
    SlCai(ConfigArgs),
    /// Completions of prompts by a model folder or GGUF file.
    Generate(GenerateArgs),
    /// A saved reward model's accuracy, margin and calibration on a preference file.
    Eval(EvalArgs),
    /// A saved policy's reward and KL to its reference on the held-out prompts of an online
    /// run's configuration (`ppo`, `grpo`, `rloo` or `rft` file).
    EvalPolicy(EvalPolicyArgs),
}

/// The arguments of `eval-policy`.
#[derive(Args, Debug, Clone)]
pub struct EvalPolicyArgs {
    /// The policy to evaluate: a model folder (e.g. `runs/ppo/model`) or a .gguf file.
    #[arg(long)]
    pub policy: PathBuf,
    /// The online run's configuration: its `model` is the reference, its `[prompts]`,
    /// `[reward]`, `eval_prompts` and `[train.rollout]` are used.
    #[command(flatten)]
    pub config: ConfigArgs,
}

/// The arguments of a training command.
#[derive(Args, Debug, Clone)]
pub struct ConfigArgs {
    /// The TOML configuration file (unset: the defaults).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Override one setting: a dotted key and a TOML value (`train.steps=10`,
    /// `loss.loss_types=["ipo"]`; text needs no quotes). Repeatable; applied in order.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Print every setting (after the file and the overrides) with its meaning, then exit.
    #[arg(long)]
    pub print_config: bool,
}

/// The arguments of `generate`.
#[derive(Args, Debug, Clone)]
pub struct GenerateArgs {
    /// A Hugging Face folder, a .gguf file or a folder of this project.
    #[arg(long)]
    pub model: PathBuf,
    /// A prompt (repeatable; all are generated as one batch).
    #[arg(long, required = true)]
    pub prompt: Vec<String>,
    /// Render each prompt as one user message with the model's chat template.
    #[arg(long)]
    pub chat: bool,
    /// New tokens per prompt.
    #[arg(long, default_value_t = 64)]
    pub max_new_tokens: usize,
    /// Sampling temperature; 0 is greedy.
    #[arg(long, default_value_t = 0.7)]
    pub temperature: f32,
    /// Keep the k most likely tokens (unset: all).
    #[arg(long)]
    pub top_k: Option<usize>,
    /// Nucleus sampling mass.
    #[arg(long, default_value_t = 1.0)]
    pub top_p: f32,
    /// Seed of the sampler.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// The arguments of `eval`.
#[derive(Args, Debug, Clone)]
pub struct EvalArgs {
    /// A reward model folder written by `rlhf reward` (`<out>/model`).
    #[arg(long)]
    pub model: PathBuf,
    /// The preference file (JSONL, plain or gzip).
    #[arg(long)]
    pub data: PathBuf,
    /// `pairwise`, `soft_pairwise` or `hh`.
    #[arg(long, default_value = "pairwise")]
    pub format: String,
    /// Use at most this many records; 0: all.
    #[arg(long, default_value_t = 0)]
    pub max_records: usize,
    /// Longest prompt in tokens (BOS included).
    #[arg(long, default_value_t = 512)]
    pub max_prompt_len: usize,
    /// Longest completion in tokens (EOS included).
    #[arg(long, default_value_t = 512)]
    pub max_completion_len: usize,
    /// Pairs scored at a time.
    #[arg(long, default_value_t = 8)]
    pub batch_size: usize,
    /// Calibration bins.
    #[arg(long, default_value_t = 10)]
    pub bins: usize,
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Sft(args) => train_command::<SftRunConfig, _, _, _>(&args, policy_opt::sft::run),
        Command::Reward(args) => {
            train_command::<RewardRunConfig, _, _, _>(&args, reward_model::run)
        }
        Command::Dpo(args) => train_command::<DpoRunConfig, _, _, _>(&args, policy_opt::dpo::run),
        Command::Ppo(args) => train_command::<PpoCommand, _, _, _>(&args, online_run),
        Command::Grpo(args) => train_command::<GrpoCommand, _, _, _>(&args, online_run),
        Command::Rloo(args) => train_command::<RlooCommand, _, _, _>(&args, online_run),
        Command::Rft(args) => train_command::<RftCommand, _, _, _>(&args, online_run),
        Command::Rlaif(args) => {
            train_command::<RlaifCommand, _, _, _>(&args, |c, d| rlaif_judge::run_feedback(&c.0, d))
        }
        Command::Judge(args) => {
            train_command::<JudgeCommand, _, _, _>(&args, |c, d| rlaif_judge::run_feedback(&c.0, d))
        }
        Command::SlCai(args) => {
            train_command::<SlCaiCommand, _, _, _>(&args, |c, d| rlaif_judge::run_sl_cai(&c.0, d))
        }
        Command::EvalPolicy(args) => {
            let policy = args.policy.clone();
            train_command::<EvalPolicyCommand, _, _, _>(&args.config, move |c, device| {
                policy_opt::online::evaluate_run(&c.0, &policy, device).map(|e| e.summary)
            })
        }
        Command::Generate(args) => generate_command(&args),
        Command::Eval(args) => eval_command(&args),
    }
}

fn online_run<C: OnlineCommand>(
    config: &C,
    device: &Device,
) -> Result<policy_opt::online::OnlineReport, policy_opt::RunError> {
    policy_opt::online::run(config.run_config(), device)
}

fn eval_command(args: &EvalArgs) -> Result<(), CliError> {
    let format: PairFormat =
        Value::String(args.format.clone())
            .try_into()
            .map_err(|_| CliError::Override {
                arg: format!("--format {}", args.format),
                message: "expected pairwise, soft_pairwise or hh".into(),
            })?;
    let data = PairDataConfig {
        path: args.data.clone(),
        format,
        max_records: args.max_records,
        max_prompt_len: args.max_prompt_len,
        max_completion_len: args.max_completion_len,
        ..PairDataConfig::default()
    };
    let device = lm::select_device()?;
    let report =
        reward_model::evaluate_file(&args.model, &data, args.batch_size, args.bins, &device)?;
    match serde_json::to_string_pretty(&report) {
        Ok(json) => println!("{json}"),
        Err(e) => eprintln!("(the report could not be printed: {e})"),
    }
    Ok(())
}

/// Loads, validates and runs one method, then prints its report as JSON.
fn train_command<C, R, E, F>(args: &ConfigArgs, run: F) -> Result<(), CliError>
where
    F: FnOnce(&C, &Device) -> Result<R, E>,
    C: RunConfig,
    R: Serialize,
    CliError: From<E>,
{
    let loaded = load::<C>(args.config.as_deref(), &args.set)?;
    if args.print_config {
        print!("{}", print_config(&loaded.config)?);
        return Ok(());
    }
    loaded.validate()?;
    let device = lm::select_device()?;
    let report = run(&loaded.config, &device)?;
    match serde_json::to_string_pretty(&report) {
        Ok(json) => println!("{json}"),
        Err(e) => eprintln!("(the report could not be printed: {e})"),
    }
    Ok(())
}

fn generate_command(args: &GenerateArgs) -> Result<(), CliError> {
    let bad = CliError::Generate;
    if !(args.temperature.is_finite() && args.temperature >= 0.0) {
        return Err(bad(format!(
            "--temperature: expected a number ≥ 0, got {}",
            args.temperature
        )));
    }
    if !(args.top_p > 0.0 && args.top_p <= 1.0) {
        return Err(bad(format!(
            "--top-p: expected a number in (0, 1], got {}",
            args.top_p
        )));
    }
    let device = lm::select_device()?;
    let bundle = load_bundle(&args.model, &device)?;
    let tokenizer = &bundle.tokenizer;
    let template = if args.chat {
        pref_data::model_chat_template(bundle.tokenizer_config.as_deref())
            .map_err(|e| bad(e.to_string()))?
    } else {
        ChatTemplate::Plain
    };
    let texts: Vec<String> = args
        .prompt
        .iter()
        .map(|p| {
            if args.chat {
                template
                    .render_prompt(&Text::Chat(vec![Message::new("user", p.as_str())]))
                    .map_err(|e| bad(e.to_string()))
            } else {
                Ok(p.clone())
            }
        })
        .collect::<Result<_, _>>()?;
    let sampling = if args.temperature == 0.0 {
        SamplingConfig::greedy()
    } else {
        SamplingConfig {
            temperature: args.temperature,
            top_k: args.top_k,
            top_p: args.top_p,
        }
    };
    let config = GenerationConfig {
        sampling,
        seed: args.seed,
        ..bundle
            .generation
            .apply(GenerationConfig::new(args.max_new_tokens))
    };
    let out = generate_text(
        &bundle.model,
        tokenizer,
        &texts,
        bundle.add_bos,
        None,
        &config,
        &device,
    )?;
    for (prompt, completion) in args.prompt.iter().zip(&out) {
        println!("### {prompt}\n{completion}\n");
    }
    Ok(())
}
