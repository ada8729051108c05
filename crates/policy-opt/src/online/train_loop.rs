//! [`train_online`]: the one loop every online method runs in — rollout, advantages, epochs
//! of minibatch updates on the shared [`train::Trainer`] engine, metrics, checkpoints.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use kl_control::{AnyKlController, KlController, KlEstimator};
use lm::CausalLm;
use lm::tokenizer::Tokenizer;
use reward_model::RewardNormalizer;
use rlhf_core::{ConfigError, Reward};
use serde::{Deserialize, Serialize};
use train::{MetricRecord, StepOutput, Trainer};

use super::config::{Algorithm, OnDivergence, OnlineConfig};
use super::error::OnlineError;
use super::estimate::{Scored, estimate, flat_groups, rollout_kl};
use super::eval::evaluate_policy;
use super::loss::micro_loss;
use super::model::{ActorCritic, PolicyModule};
use crate::rollout::{
    Collected, OldLogprobs, PromptOrder, RolloutBuffer, RolloutError, RolloutPrompt, collect,
    logprobs_in_chunks, split_even,
};

/// What an online run reads besides the model and the settings.
pub struct OnlineInputs<'a> {
    /// The frozen reference policy (a `valid()` copy, e.g. of the SFT model), for the KL
    /// term; `None` when the settings need none (β = 0), which also skips its forward passes.
    pub reference: Option<&'a dyn CausalLm>,
    /// The reward.
    pub reward: &'a mut dyn Reward,
    /// Training prompts.
    pub prompts: &'a [RolloutPrompt],
    /// Held-out prompts evaluated every `eval_every` iterations (may be empty).
    pub eval_prompts: &'a [RolloutPrompt],
    /// The reward of those evaluations when it is not the training reward — a gold or oracle
    /// reward that training never sees (default: the training reward).
    pub eval_reward: Option<&'a mut dyn Reward>,
    /// Decodes completions for the reward; its EOS is the default stop token and its pad id
    /// pads rollouts.
    pub tokenizer: &'a Tokenizer,
}

/// The run's own state, stored with every checkpoint so a resumed run continues exactly: the
/// iteration (which also fixes the prompt order, the sampler's seed and the minibatch
/// shuffles), PPO's KL controller and the reward normaliser's statistics.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OnlineState {
    /// Iterations completed.
    pub iteration: usize,
    /// PPO's KL controller (β).
    pub kl: Option<AnyKlController>,
    /// Running statistics of the sequence scores (`normalize_scores`).
    pub normalizer: Option<RewardNormalizer>,
}

/// What [`train_online`] returns.
#[derive(Debug)]
pub struct OnlineOutcome<M> {
    /// The trained module (on the training device).
    pub model: M,
    /// Every metric record of the run (one `train` record per iteration, `valid` records of
    /// the evaluations).
    pub records: Vec<MetricRecord>,
    /// The iteration the run resumed from (0 for a fresh run).
    pub resumed_from: usize,
    /// The last checkpoint written.
    pub last_checkpoint: Option<PathBuf>,
    /// The final state (β, normaliser).
    pub state: OnlineState,
}

/// Curves an online run plots.
pub const ONLINE_PLOT_KEYS: [&str; 12] = [
    "reward",
    "reward_std",
    "kl",
    "beta",
    "entropy",
    "loss/policy",
    "loss/value",
    "clip_ratio/region_mean",
    "policy/approx_kl",
    "completion_len",
    "eos_rate",
    "sampler_gap",
];

fn seed_for(seed: u64, iteration: usize, salt: u64) -> u64 {
    seed ^ salt ^ (iteration as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Trains `model` online with `config.algorithm` (PPO, GRPO, RLOO, REINFORCE++) for
/// `config.iterations` iterations, writing checkpoints, `metrics.jsonl` and `curves.png`
/// under `run_dir`; a run folder with checkpoints is resumed.
///
/// Each iteration:
/// 1. **Rollout**: draws `prompts_per_iteration` prompts (seeded order), samples
///    `samples_per_prompt` completions each from a no-grad copy of the policy (KV cache), and
///    scores them with `inputs.reward` (a NaN score stops the run naming the sample);
///    completions without a stop token lose `missing_eos_penalty`; scores are optionally
///    normalised by running statistics.
/// 2. **Scoring passes** (no graph, `score_batch_size` rows at a time): old log-probs (and
///    values) from the policy with the same forward code as training — the gap to the
///    sampler's own log-probs is logged as `sampler_gap` — and reference log-probs, once per
///    rollout.
/// 3. **Advantages** of the algorithm ([`crate::advantage`]).
/// 4. **Updates**: `epochs` passes of `minibatches` shuffled minibatches, each one optimizer
///    step of `grad_accum` micro-batches ([`Trainer::optimizer_step_with`]: global clipping,
///    AdamW, schedule, NaN guard). A minibatch whose `max |log π_θ − log π_old|` exceeds
///    `max_log_ratio` stops the run (or is clipped); PPO's `kl_early_stop` ends the epochs
///    early (the remaining steps are skipped, keeping the schedule on course).
/// 5. PPO's adaptive β is updated with the rollout's KL; metrics are logged (reward, KL, β,
///    entropy, losses, clip fraction, lengths, EOS rate, sampler gap, and the seconds spent
///    sampling and scoring the rollout, in the scoring passes and in the updates); held-out prompts are
///    evaluated every `eval_every` iterations; a checkpoint with the run's state is written
///    every `save_every` iterations and at the end.
///
/// `model` lives on the autodiff device; `device` is the plain device rollouts run on.
pub fn train_online<P, C>(
    model: ActorCritic<P, C>,
    inputs: OnlineInputs<'_>,
    config: &OnlineConfig,
    run_dir: &Path,
    device: &Device,
) -> Result<OnlineOutcome<ActorCritic<P, C>>, OnlineError>
where
    P: PolicyModule,
    C: PolicyModule,
{
    config.validate()?;
    let algorithm = &config.algorithm;
    if algorithm.needs_reference() && inputs.reference.is_none() {
        return Err(OnlineError::MissingReference {
            algorithm: algorithm.name(),
        });
    }
    if matches!(algorithm, Algorithm::Ppo(_)) && !model.has_value() {
        return Err(ConfigError::new(
            "model.value",
            "a value function for PPO (ActorCritic::with_value_head or with_critic)",
            "none",
        )
        .into());
    }
    let order = PromptOrder::new(
        inputs.prompts.len(),
        config.rollout.prompts_per_iteration,
        config.seed,
    )
    .map_err(|e| OnlineError::Rollout {
        iteration: 1,
        source: e,
    })?;
    let mut trainer = Trainer::open(model, &config.trainer_config(), run_dir, algorithm.name())?;
    trainer.set_plot_keys(ONLINE_PLOT_KEYS);
    let fresh = OnlineState {
        iteration: 0,
        kl: match algorithm {
            Algorithm::Ppo(c) => Some(c.kl.init().map_err(|source| OnlineError::Kl {
                iteration: 0,
                source,
            })?),
            _ => None,
        },
        normalizer: config.normalize_scores.then(RewardNormalizer::default),
    };
    let mut state = match trainer.method_state::<OnlineState>()? {
        Some(s) => s,
        None if trainer.step() == 0 => fresh,
        None => {
            return Err(OnlineError::Resume {
                step: trainer.step(),
                message: "the checkpoint holds no online state (written by another method?)".into(),
            });
        }
    };
    if trainer.step() != state.iteration * config.steps_per_iteration() {
        return Err(OnlineError::Resume {
            step: trainer.step(),
            message: format!(
                "{} iterations of {} optimizer steps do not make step {}; the settings changed",
                state.iteration,
                config.steps_per_iteration(),
                trainer.step()
            ),
        });
    }
    let resumed_from = state.iteration;
    let mut inputs = inputs;
    while state.iteration < config.iterations {
        iteration(
            &mut trainer,
            &mut state,
            &order,
            &mut inputs,
            config,
            device,
        )?;
        state.iteration += 1;
        let it = state.iteration;
        let eval_due = config.eval_every > 0
            && (it.is_multiple_of(config.eval_every) || it == config.iterations);
        if eval_due && !inputs.eval_prompts.is_empty() {
            let policy = trainer.model().valid();
            let reward: &mut dyn Reward = match inputs.eval_reward.as_deref_mut() {
                Some(r) => r,
                None => &mut *inputs.reward,
            };
            let e = evaluate_policy(
                &policy.policy,
                inputs.reference,
                reward,
                inputs.eval_prompts,
                &config.rollout,
                inputs.tokenizer,
                seed_for(config.seed, it, 0xE7A1),
                device,
            )
            .map_err(|source| OnlineError::Rollout {
                iteration: it,
                source,
            })?;
            let e = e.summary;
            let mut values = vec![
                ("reward".into(), e.reward_mean),
                ("reward_std".into(), e.reward_std),
                ("completion_len".into(), e.completion_len),
                ("eos_rate".into(), e.eos_rate),
            ];
            if let Some(kl) = e.kl {
                values.push(("kl".into(), kl));
            }
            trainer.println(format!(
                "iteration {it} (held out): {}",
                Trainer::<ActorCritic<P, C>>::format(&values)
            ));
            trainer.log("valid", &values)?;
        }
        let save_due = (config.save_every > 0 && it.is_multiple_of(config.save_every))
            || it == config.iterations;
        if save_due {
            trainer.checkpoint(&state)?;
        }
    }
    let last_checkpoint = trainer.last_checkpoint().map(Path::to_path_buf);
    let outcome = trainer.finish()?;
    Ok(OnlineOutcome {
        model: outcome.model,
        records: outcome.records,
        resumed_from,
        last_checkpoint,
        state,
    })
}

/// One rollout and its updates (iteration `state.iteration + 1`).
fn iteration<P, C>(
    trainer: &mut Trainer<ActorCritic<P, C>>,
    state: &mut OnlineState,
    order: &PromptOrder,
    inputs: &mut OnlineInputs<'_>,
    config: &OnlineConfig,
    device: &Device,
) -> Result<(), OnlineError>
where
    P: PolicyModule,
    C: PolicyModule,
{
    let it = state.iteration + 1;
    let algorithm = &config.algorithm;
    let ro = &config.rollout;
    let rollout_err = |source: RolloutError| OnlineError::Rollout {
        iteration: it,
        source,
    };
    let est_err = |source: crate::RlError| OnlineError::Estimator {
        iteration: it,
        source,
    };

    // 1. Rollout: sample, decode, reward.
    let t_rollout = std::time::Instant::now();
    let policy = trainer.model().valid();
    let prompts: Vec<&RolloutPrompt> = order
        .indices(state.iteration)
        .into_iter()
        .map(|i| &inputs.prompts[i])
        .collect();
    let c: Collected = collect(
        &policy.policy,
        &prompts,
        ro,
        inputs.tokenizer,
        inputs.reward,
        seed_for(config.seed, state.iteration, 0x5A3F),
        device,
    )
    .map_err(rollout_err)?;
    let n = c.samples.len();
    let mut raw = c.scores.sequence.clone();
    let per_token = matches!(algorithm, Algorithm::Ppo(_))
        || matches!(algorithm, Algorithm::ReinforcePp(r) if !r.baseline);
    let dense = match c.dense_grid() {
        Some(d) if !per_token => {
            // Sequence-level methods credit a sample's dense rewards to the whole sequence.
            let sums: Vec<f32> = (d * c.completion_grid())
                .sum_dim(1)
                .into_data()
                .iter::<f32>()
                .collect();
            for (r, s) in raw.iter_mut().zip(sums) {
                *r += s;
            }
            None
        }
        other => other,
    };
    let mut scores = raw.clone();
    if let Some(penalty) = ro.missing_eos_penalty {
        for (s, sample) in scores.iter_mut().zip(&c.samples) {
            if !sample.finished {
                *s -= penalty;
            }
        }
    }
    if let Some(norm) = state.normalizer.as_mut() {
        norm.update(&scores);
        let std = norm.std().unwrap_or(1.0);
        for s in &mut scores {
            *s = ((*s as f64 - norm.mean) / std) as f32;
        }
    }

    // 2. Scoring passes: old log-probs and values, reference log-probs.
    let rollout_s = t_rollout.elapsed().as_secs_f64();
    let t_scoring = std::time::Instant::now();
    let completion = c.completion_grid();
    let t = ro.temperature;
    // One update on the rollout with no KL in the reward: the first (and only) update
    // starts from the sampling policy itself, so its old log-probs need no pass of their own.
    let kl_in_reward = match algorithm {
        Algorithm::Ppo(_) | Algorithm::Grpo(_) => false,
        Algorithm::Rloo(c) => c.beta > 0.0,
        Algorithm::ReinforcePp(c) => c.beta > 0.0,
    };
    let old_from_current = ro.old_logprobs == OldLogprobs::Scoring
        && config.steps_per_iteration() == 1
        && !policy.has_value()
        && !kl_in_reward;
    let need_pass =
        (ro.old_logprobs == OldLogprobs::Scoring && !old_from_current) || policy.has_value();
    let (old_logprobs, values, sampler_gap) = if need_pass {
        let (lp, v) = policy_pass(&policy, &c, t, ro.score_batch_size);
        let count = completion.clone().sum().clamp_min(1.0);
        let gap =
            ((lp.clone() - c.sampler_logprobs.clone()).abs() * completion.clone()).sum() / count;
        let gap = gap.into_scalar::<f32>() as f64;
        let old = match ro.old_logprobs {
            OldLogprobs::Scoring => lp,
            OldLogprobs::Sampler => c.sampler_logprobs.clone(),
        };
        (old, v, Some(gap))
    } else {
        (c.sampler_logprobs.clone(), None, None)
    };
    let ref_logprobs = inputs
        .reference
        .map(|r| logprobs_in_chunks(r, &c.tensors, t, ro.score_batch_size));
    let scored = Scored {
        completion: completion.clone(),
        scores: scores.clone(),
        dense,
        old_logprobs: old_logprobs.clone(),
        ref_logprobs: ref_logprobs.clone(),
        values: values.clone(),
        group_size: ro.samples_per_prompt,
    };
    let kl_seq: Option<f64> = match &ref_logprobs {
        Some(_) => {
            let k = rollout_kl(&scored, KlEstimator::K1).map_err(est_err)?;
            Some(k.sum_dim(1).mean().into_scalar::<f32>() as f64)
        }
        None => None,
    };
    if let (Some(limit), Some(kl)) = (config.max_kl, kl_seq)
        && (kl.is_nan() || kl > limit)
    {
        return Err(OnlineError::Diverged {
            iteration: it,
            step: trainer.step(),
            what: "KL to the reference (nats per completion)",
            value: kl,
            limit,
            last_checkpoint: trainer.last_checkpoint().map(Path::to_path_buf),
        });
    }

    // 3. Advantages.
    let beta = state.kl.as_ref().map_or(
        match algorithm {
            Algorithm::Grpo(c) => c.beta,
            Algorithm::Rloo(c) => c.beta,
            Algorithm::ReinforcePp(c) => c.beta,
            Algorithm::Ppo(_) => 0.0,
        },
        KlController::beta,
    );
    let est = estimate(algorithm, beta, &scored).map_err(est_err)?;
    let finished: Vec<f32> = c
        .samples
        .iter()
        .map(|s| f32::from(u8::from(s.finished || !ro.mask_truncated_completions)))
        .collect();
    let keep_rows = Tensor::<1>::from_data(TensorData::new(finished, [n]), device);
    let loss_mask = completion.clone() * keep_rows.reshape([n, 1]);
    let token_counts: Vec<usize> = loss_mask
        .clone()
        .sum_dim(1)
        .into_data()
        .iter::<f32>()
        .map(|x| x.round() as usize)
        .collect();
    let mut buffer = RolloutBuffer {
        ids: c.tensors.ids.clone(),
        attention_mask: c.tensors.attention_mask.clone(),
        loss_mask,
        old_logprobs,
        ref_logprobs,
        old_values: values,
        advantages: est.advantages,
        returns: est.returns,
        token_counts,
        old_from_current,
    };
    let mut dropped_groups = 0usize;
    if let Algorithm::Grpo(g) = algorithm
        && g.dynamic_sampling
    {
        let flat = flat_groups(&scores, ro.samples_per_prompt);
        dropped_groups = flat.iter().filter(|&&f| f).count();
        let rows: Vec<usize> = (0..n)
            .filter(|r| !flat[r / ro.samples_per_prompt])
            .collect();
        if rows.len() < n {
            buffer = if rows.is_empty() {
                RolloutBuffer {
                    token_counts: Vec::new(),
                    ..buffer
                }
            } else {
                buffer.select(&rows)
            };
        }
    }

    // 4. Updates.
    let scoring_s = t_scoring.elapsed().as_secs_f64();
    let t_update = std::time::Instant::now();
    let planned = config.steps_per_iteration();
    let mut done = 0;
    let mut approx_kls = Vec::new();
    if !buffer.is_empty() {
        'epochs: for epoch in 0..algorithm.epochs() {
            let seed = seed_for(config.seed, state.iteration, 0x0E90 + epoch as u64);
            for rows in buffer.minibatches(config.minibatches, seed) {
                let mb = buffer.select(&rows);
                let tokens = mb.num_tokens();
                let local: Vec<usize> = (0..mb.len()).collect();
                let micro: Vec<_> = split_even(&local, config.grad_accum)
                    .iter()
                    .map(|r| mb.select(r))
                    .collect();
                let step = trainer.step() + 1;
                let last_checkpoint = trainer.last_checkpoint().map(Path::to_path_buf);
                let mut step_kl = Vec::with_capacity(micro.len());
                trainer.optimizer_step_with(micro.len(), |model, k| {
                    let m = micro_loss(model, &micro[k], config, tokens, micro.len())
                        .map_err(est_err)?;
                    let d: Vec<f32> = m.divergence.into_data().iter::<f32>().collect();
                    let (max_d, approx) = (d[0] as f64, d[1] as f64);
                    if config.on_divergence == OnDivergence::Error
                        && (max_d.is_nan() || max_d > config.max_log_ratio)
                    {
                        return Err(OnlineError::Diverged {
                            iteration: it,
                            step,
                            what: "max |log π_θ − log π_old| on a completion token",
                            value: max_d,
                            limit: config.max_log_ratio,
                            last_checkpoint: last_checkpoint.clone(),
                        });
                    }
                    step_kl.push(approx);
                    let mut out = StepOutput::new(m.loss);
                    out.metrics = m.metrics;
                    Ok(out)
                })?;
                done += 1;
                let kl = step_kl.iter().sum::<f64>() / step_kl.len().max(1) as f64;
                approx_kls.push(kl);
                if let Algorithm::Ppo(p) = algorithm
                    && let Some(limit) = p.kl_early_stop
                    && kl > limit
                {
                    break 'epochs;
                }
            }
        }
    }
    if done < planned {
        trainer.skip_steps(planned - done);
    }

    let update_s = t_update.elapsed().as_secs_f64();

    // 5. β, metrics.
    if let (Some(ctl), Some(kl)) = (state.kl.as_mut(), kl_seq) {
        ctl.update(kl, n).map_err(|source| OnlineError::Kl {
            iteration: it,
            source,
        })?;
    }
    let mean = |v: &[f32]| v.iter().map(|&x| x as f64).sum::<f64>() / v.len().max(1) as f64;
    let std = |v: &[f32]| {
        let m = mean(v);
        (v.iter().map(|&x| (x as f64 - m).powi(2)).sum::<f64>() / (v.len().max(2) - 1) as f64)
            .sqrt()
    };
    let (len, eos) = c.length_and_eos_rate();
    trainer.record("reward", mean(&raw));
    trainer.record("reward_std", std(&raw));
    trainer.record("score", mean(&scores));
    trainer.record("completion_len", len);
    trainer.record("eos_rate", eos);
    trainer.record("steps_done", done as f64);
    trainer.record("time/rollout_s", rollout_s);
    trainer.record("time/scoring_s", scoring_s);
    trainer.record("time/update_s", update_s);
    if let Some(kl) = kl_seq {
        trainer.record("kl", kl);
    }
    if let Some(ctl) = &state.kl {
        trainer.record("beta", ctl.beta());
    } else if beta > 0.0 {
        trainer.record("beta", beta);
    }
    if let Some(gap) = sampler_gap {
        trainer.record("sampler_gap", gap);
    }
    if dropped_groups > 0 {
        trainer.record("dropped_groups", dropped_groups as f64);
    }
    for (k, v) in &c.scores.metrics {
        trainer.record(k.clone(), *v);
    }
    trainer.flush_log()?;
    Ok(())
}

/// Old log-probs and values of the collected rows under the policy's `valid()` copy, with the
/// training forward code, in chunks of `chunk` rows.
fn policy_pass<P, C>(
    policy: &ActorCritic<P, C>,
    c: &Collected,
    temperature: f32,
    chunk: usize,
) -> (Tensor<2>, Option<Tensor<2>>)
where
    P: PolicyModule,
    C: PolicyModule,
{
    let [n, _] = c.tensors.ids.dims();
    let (mut lps, mut vs) = (Vec::new(), Vec::new());
    let mut start = 0;
    while start < n {
        let len = chunk.max(1).min(n - start);
        let ids = c.tensors.ids.clone().narrow(0, start, len);
        let mask = c.tensors.attention_mask.clone().narrow(0, start, len);
        let f = policy.forward(ids, mask, temperature, false, true);
        lps.push(f.logprobs);
        if let Some(v) = f.values {
            vs.push(v);
        }
        start += len;
    }
    let values = (!vs.is_empty()).then(|| Tensor::cat(vs, 0));
    (Tensor::cat(lps, 0), values)
}
