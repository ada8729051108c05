//! [`run`]: a whole online run from an [`OnlineRunConfig`] and a reward — model bundle,
//! prompts, held-out evaluation before and after, [`train_online`], the trained model and a
//! report; [`evaluate_run`]: the same evaluation of any saved policy.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::Module;
use burn::tensor::Device;
use kl_control::KlController;
use lm::tokenizer::Tokenizer;
use lm::{CausalLm, LanguageModel};
use pref_data::{ChatTemplate, PromptRecord, TokenizeConfig, load_prompt_data};
use reward_model::ScalarRewardModel;
use rlhf_core::Reward;
use serde::Serialize;

use super::config::Algorithm;
use super::eval::{PolicyEval, PolicyEvalSummary, evaluate_policy};
use super::model::ActorCritic;
use super::run_config::OnlineRunConfig;
use super::train_loop::{OnlineInputs, train_online};
use crate::rollout::{RolloutConfig, RolloutPrompt, record_prompts};
use crate::run_error::{RunError, create_dir, load_model, save_model_dir, write_report};

/// A held-out prompt with one completion of the initial policy and one of the trained
/// policy, and their rewards.
#[derive(Clone, Debug, Serialize)]
pub struct SampleComparison {
    /// The prompt as the policy saw it.
    pub prompt: String,
    /// The initial policy's completion and reward.
    pub before: (String, f32),
    /// The trained policy's completion and reward.
    pub after: (String, f32),
}

/// One held-out evaluation during training.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EvalPoint {
    /// Iterations completed.
    pub iteration: usize,
    /// Mean reward (the evaluation reward's, when one was given).
    pub reward: f64,
    /// KL to the reference per completion (k1), nats.
    pub kl: Option<f64>,
}

/// What an online run did; also written to `<out>/report.json`.
#[derive(Clone, Debug, Serialize)]
pub struct OnlineReport {
    /// The run folder.
    pub run_dir: PathBuf,
    /// The trained policy's folder (`<out>/model`), loadable by
    /// [`lm::checkpoint::load_bundle`].
    pub model_dir: PathBuf,
    /// `ppo`, `grpo`, `rloo` or `reinforce_pp`.
    pub algorithm: String,
    /// Training prompts (after tokenisation).
    pub train_prompts: usize,
    /// Held-out prompts evaluated.
    pub eval_prompts: usize,
    /// What the reader skipped, and how many repeated prompts were dropped.
    pub read_report: String,
    /// What tokenisation cut or dropped (training prompts).
    pub tokenize_report: String,
    /// Iterations of the run, and the one this process resumed from.
    pub iterations: usize,
    /// The iteration the run resumed from (0 for a fresh run).
    pub resumed_from: usize,
    /// Reward, KL to the reference, length and EOS rate of the initial policy on the
    /// held-out prompts (`None` without them).
    pub before: Option<PolicyEvalSummary>,
    /// The same for the trained policy.
    pub after: Option<PolicyEvalSummary>,
    /// The held-out figures at every `train.eval_every` evaluation during training (empty
    /// when `eval_every` is 0).
    pub eval_curve: Vec<EvalPoint>,
    /// PPO's final KL coefficient β.
    pub final_beta: Option<f64>,
    /// The first held-out prompts with a completion before and after.
    pub samples: Vec<SampleComparison>,
    /// Wall-clock seconds of the whole run.
    pub seconds: f64,
}

impl OnlineReport {
    /// The held-out (KL, reward) points of the run: before training (KL 0), then every
    /// point of [`eval_curve`](Self::eval_curve) (a missing KL reads NaN) — one curve of a
    /// reward–KL frontier.
    pub fn kl_reward_curve(&self) -> Vec<(f64, f64)> {
        let start = (
            0.0,
            self.before.as_ref().map_or(f64::NAN, |b| b.reward_mean),
        );
        let curve = self
            .eval_curve
            .iter()
            .map(|p| (p.kl.unwrap_or(f64::NAN), p.reward));
        std::iter::once(start).chain(curve).collect()
    }
}

impl std::fmt::Display for OnlineReport {
    /// The held-out figures before and after training, side by side, and the samples.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{}: {} iterations ({} run now) on {} prompts in {:.0} s; final β {:?}",
            self.algorithm,
            self.iterations,
            self.iterations - self.resumed_from,
            self.train_prompts,
            self.seconds,
            self.final_beta
        )?;
        let (Some(b), Some(a)) = (&self.before, &self.after) else {
            return Ok(());
        };
        writeln!(
            f,
            "{} held-out prompts        before     after",
            self.eval_prompts
        )?;
        let kl = |e: &PolicyEvalSummary| e.kl.unwrap_or(f64::NAN);
        let rows = [
            ("reward (mean)", b.reward_mean, a.reward_mean),
            ("reward (std)", b.reward_std, a.reward_std),
            ("KL to reference (nats)", kl(b), kl(a)),
            ("completion length", b.completion_len, a.completion_len),
            ("EOS rate", b.eos_rate, a.eos_rate),
        ];
        for (name, before, after) in rows {
            writeln!(f, "{name:<24} {before:9.3} {after:9.3}")?;
        }
        for s in &self.samples {
            let chars: Vec<char> = s.prompt.chars().collect();
            let tail: String = chars[chars.len().saturating_sub(120)..].iter().collect();
            writeln!(f, "\n--- …{}", tail.replace('\n', " "))?;
            writeln!(f, "  before ({:+.2}): {}", s.before.1, s.before.0.trim())?;
            writeln!(f, "  after  ({:+.2}): {}", s.after.1, s.after.0.trim())?;
        }
        Ok(())
    }
}

/// Runs `config.train.algorithm` on the reward `config.reward` names, on `device` (the plain
/// device; training uses its autodiff form): validates the config, loads the model bundle
/// (`config.model`) as policy and, when the algorithm has a KL term, as the frozen reference;
/// builds the reward; reads and splits the prompts and renders them with the model's chat
/// template; samples the held-out prompts; trains ([`train_online`]: checkpoints,
/// `metrics.jsonl`, `curves.png` in `config.out`, resumed when the folder holds
/// checkpoints); samples the held-out prompts again; saves the policy with its tokenizer in
/// `<out>/model` and the report in `<out>/report.json`.
///
/// ```no_run
/// use policy_opt::online::{OnlineRunConfig, RewardModelSource, RewardSource, run};
/// let mut config = OnlineRunConfig::default();            // GRPO with TRL's defaults
/// config.model = "runs/sft/model".into();
/// config.prompts.path = "prompts.jsonl".into();
/// config.reward = RewardSource::Model(RewardModelSource {
///     path: "runs/reward/model".into(),
///     ..RewardModelSource::default()
/// });
/// let report = run(&config, &lm::select_device()?)?;
/// println!("held-out reward {:?}", report.after.map(|e| e.reward_mean));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn run(config: &OnlineRunConfig, device: &Device) -> Result<OnlineReport, RunError> {
    config.validate()?;
    run_inner(config, None, None, device)
}

/// [`run`] with `reward` (any [`Reward`]: a closure, an ensemble, a judge) in place of
/// `config.reward`, which is neither validated nor built.
pub fn run_with_reward(
    config: &OnlineRunConfig,
    reward: &mut dyn Reward,
    device: &Device,
) -> Result<OnlineReport, RunError> {
    config.validate_without_reward()?;
    run_inner(config, Some(reward), None, device)
}

/// [`run`] with either reward given in code: `reward` (any [`Reward`]) in place of
/// `config.reward` (built from the configuration when `None`), and `eval_reward` scoring the
/// held-out evaluations (before, after and every `train.eval_every` iterations) instead of
/// the training reward — a gold or oracle reward that training never sees, as in controlled
/// reward-overoptimisation studies (Gao et al. 2023).
pub fn run_with_rewards(
    config: &OnlineRunConfig,
    reward: Option<&mut dyn Reward>,
    eval_reward: Option<&mut dyn Reward>,
    device: &Device,
) -> Result<OnlineReport, RunError> {
    match reward {
        Some(_) => config.validate_without_reward()?,
        None => config.validate()?,
    }
    run_inner(config, reward, eval_reward, device)
}

fn run_inner(
    config: &OnlineRunConfig,
    reward: Option<&mut dyn Reward>,
    mut eval_reward: Option<&mut dyn Reward>,
    device: &Device,
) -> Result<OnlineReport, RunError> {
    let t0 = Instant::now();
    let ad = device.clone().autodiff();
    let (bundle, template) = load_model(&config.model, device)?;
    let mut built;
    let reward = match reward {
        Some(r) => r,
        None => {
            built = config.reward.build(&bundle.tokenizer, device)?;
            built.as_mut()
        }
    };
    let data = load_prompt_data(&config.prompts, config.train.seed)?;
    let prompts = |records: &[PromptRecord]| {
        tokenize_prompts(
            records,
            &bundle.tokenizer,
            &template,
            bundle.add_bos,
            config,
        )
    };
    let (train_prompts, tokenize_report) = prompts(&data.train)?;
    let eval_records = &data.valid[..config.eval_prompts.min(data.valid.len())];
    let (eval_prompts, _) = prompts(eval_records)?;
    create_dir(&config.out)?;
    let train = &config.train;
    let policy = bundle.model;
    let reference = policy.valid();
    let model = match (&train.algorithm, &config.critic) {
        (Algorithm::Ppo(_), Some(dir)) => ActorCritic::with_critic(
            policy,
            ScalarRewardModel::load_any(dir, &ad).map_err(RunError::Critic)?,
        ),
        (Algorithm::Ppo(_), None) => ActorCritic::with_value_head(policy, train.seed, &ad),
        _ => ActorCritic::<LanguageModel, LanguageModel>::policy_only(policy),
    };
    let tok = &bundle.tokenizer;
    let eval = |policy: &dyn CausalLm, reward: &mut dyn Reward| {
        evaluate(
            policy,
            &reference,
            reward,
            &eval_prompts,
            config,
            tok,
            device,
        )
    };
    let before = match eval_reward.as_mut() {
        Some(gold) => eval(&reference, gold)?,
        None => eval(&reference, reward)?,
    };
    let inputs = OnlineInputs {
        reference: train
            .algorithm
            .needs_reference()
            .then_some(&reference as &dyn CausalLm),
        reward,
        prompts: &train_prompts,
        eval_prompts: &eval_prompts,
        eval_reward: eval_reward.as_mut().map(|r| &mut **r as &mut dyn Reward),
        tokenizer: tok,
    };
    let outcome = train_online(model, inputs, train, &config.out, device)?;
    let trained = outcome.model.policy.valid();
    let after = match eval_reward {
        Some(gold) => eval(&trained, gold)?,
        None => eval(&trained, reward)?,
    };
    let model_dir = save_model_dir(
        &trained,
        tok,
        bundle.add_bos,
        bundle.tokenizer_config.as_deref(),
        &config.out,
    )?;
    let samples = match (&before, &after) {
        (Some(b), Some(a)) => compare(b, a, config.eval_samples_per_prompt, 3),
        _ => Vec::new(),
    };
    let report = OnlineReport {
        run_dir: config.out.clone(),
        model_dir,
        algorithm: train.algorithm.name().into(),
        train_prompts: train_prompts.len(),
        eval_prompts: eval_prompts.len(),
        read_report: format!(
            "{}; {} repeated prompts dropped",
            data.read_report, data.repeated
        ),
        tokenize_report: tokenize_report.to_string(),
        iterations: train.iterations,
        resumed_from: outcome.resumed_from,
        before: before.as_ref().map(|e| e.summary.clone()),
        after: after.as_ref().map(|e| e.summary.clone()),
        eval_curve: outcome
            .records
            .iter()
            .filter(|r| r.split == "valid")
            .filter_map(|r| {
                Some(EvalPoint {
                    iteration: r.step / train.steps_per_iteration(),
                    reward: r.get("reward")?,
                    kl: r.get("kl"),
                })
            })
            .collect(),
        final_beta: outcome.state.kl.as_ref().map(KlController::beta),
        samples,
        seconds: t0.elapsed().as_secs_f64(),
    };
    write_report(&report, &config.out.join("report.json"))?;
    Ok(report)
}

/// Evaluates the saved policy `policy` (a model folder or GGUF file) as [`run`] evaluates
/// its policies: samples `config.eval_prompts` held-out prompts of `config.prompts` (the same
/// split, seeded by `config.train.seed`) with `config.train.rollout`'s sampling settings,
/// and reports the scores of `config.reward` and the KL to `config.model` (the reference).
pub fn evaluate_run(
    config: &OnlineRunConfig,
    policy: &Path,
    device: &Device,
) -> Result<PolicyEval, RunError> {
    config.validate()?;
    evaluate_inner(config, policy, None, device)
}

/// [`evaluate_run`] scored by `reward` instead of `config.reward`.
pub fn evaluate_run_with_reward(
    config: &OnlineRunConfig,
    policy: &Path,
    reward: &mut dyn Reward,
    device: &Device,
) -> Result<PolicyEval, RunError> {
    config.validate_without_reward()?;
    evaluate_inner(config, policy, Some(reward), device)
}

fn evaluate_inner(
    config: &OnlineRunConfig,
    policy: &Path,
    reward: Option<&mut dyn Reward>,
    device: &Device,
) -> Result<PolicyEval, RunError> {
    crate::run_error::check_model_path("policy", policy)?;
    let (reference, template) = load_model(&config.model, device)?;
    let (policy, _) = load_model(policy, device)?;
    let tok = &reference.tokenizer;
    let mut built;
    let reward = match reward {
        Some(r) => r,
        None => {
            built = config.reward.build(tok, device)?;
            built.as_mut()
        }
    };
    let data = load_prompt_data(&config.prompts, config.train.seed)?;
    let records = &data.valid[..config.eval_prompts.min(data.valid.len())];
    let (prompts, _) = tokenize_prompts(records, tok, &template, reference.add_bos, config)?;
    let reference = reference.model.valid();
    let policy = policy.model.valid();
    let eval = evaluate(&policy, &reference, reward, &prompts, config, tok, device)?;
    eval.ok_or_else(|| {
        RunError::Config(crate::train::ConfigError::new(
            "eval_prompts",
            "at least one held-out prompt (eval_prompts > 0, prompts.valid_fraction > 0)",
            "none",
        ))
    })
}

pub(super) fn tokenize_prompts(
    records: &[PromptRecord],
    tokenizer: &Tokenizer,
    template: &ChatTemplate,
    add_bos: bool,
    config: &OnlineRunConfig,
) -> Result<(Vec<RolloutPrompt>, pref_data::TokenizeReport), RunError> {
    let cfg = TokenizeConfig {
        max_prompt_len: config.prompts.max_prompt_len,
        add_bos,
        ..TokenizeConfig::default()
    };
    Ok(record_prompts(records, tokenizer, template, &cfg)?)
}

/// Seed of the held-out sampling, the same before and after training.
const EVAL_SEED: u64 = 0x4556_414C;

fn evaluate(
    policy: &dyn CausalLm,
    reference: &dyn CausalLm,
    reward: &mut dyn Reward,
    prompts: &[RolloutPrompt],
    config: &OnlineRunConfig,
    tokenizer: &Tokenizer,
    device: &Device,
) -> Result<Option<PolicyEval>, RunError> {
    if prompts.is_empty() {
        return Ok(None);
    }
    let rollout = RolloutConfig {
        prompts_per_iteration: prompts.len(),
        samples_per_prompt: config.eval_samples_per_prompt,
        ..config.train.rollout.clone()
    };
    let seed = EVAL_SEED ^ config.train.seed;
    Ok(Some(evaluate_policy(
        policy,
        Some(reference),
        reward,
        prompts,
        &rollout,
        tokenizer,
        seed,
        device,
    )?))
}

/// The first sample of each of the first `n` prompts (`per_prompt` samples each).
fn compare(
    before: &PolicyEval,
    after: &PolicyEval,
    per_prompt: usize,
    n: usize,
) -> Vec<SampleComparison> {
    before
        .samples
        .iter()
        .zip(&after.samples)
        .step_by(per_prompt.max(1))
        .take(n)
        .map(|((b, rb), (a, ra))| SampleComparison {
            prompt: b.prompt.clone(),
            before: (b.completion.clone(), *rb),
            after: (a.completion.clone(), *ra),
        })
        .collect()
}
