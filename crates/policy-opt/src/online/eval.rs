//! [`evaluate_policy`]: a policy's reward and KL to the reference on held-out prompts.

use burn::tensor::{Device, Tensor};
use kl_control::KlEstimator;
use lm::CausalLm;
use lm::tokenizer::Tokenizer;
use rlhf_core::{Reward, Sample};
use serde::Serialize;

use crate::rollout::{RolloutConfig, RolloutError, RolloutPrompt, collect, logprobs_in_chunks};

/// A policy's figures on a set of prompts.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PolicyEvalSummary {
    /// Mean reward over the samples.
    pub reward_mean: f64,
    /// Standard deviation of the rewards (n − 1).
    pub reward_std: f64,
    /// Mean over samples of `Σ_t (log π − log π_ref)` on the sampled tokens (k1, TRL's
    /// `objective/kl`): an unbiased estimate of KL(π ‖ π_ref) per completion, in nats.
    pub kl: Option<f64>,
    /// The same with the k3 estimator (never negative per token).
    pub kl_k3: Option<f64>,
    /// Mean completion length in tokens.
    pub completion_len: f64,
    /// Fraction of completions that ended with a stop token.
    pub eos_rate: f64,
}

/// A policy's figures on a set of prompts, and the samples behind them.
#[derive(Clone, Debug, Serialize)]
pub struct PolicyEval {
    /// Reward, KL, length, EOS rate.
    #[serde(flatten)]
    pub summary: PolicyEvalSummary,
    /// The samples with their rewards.
    pub samples: Vec<(Sample, f32)>,
}

impl PolicyEval {
    /// The samples without their rewards.
    pub fn samples_only(&self) -> Vec<Sample> {
        self.samples.iter().map(|(s, _)| s.clone()).collect()
    }
}

/// Samples `rollout.samples_per_prompt` completions per prompt from `policy` (a `valid()`
/// copy) with the rollout's sampling settings and seed `seed`, and reports their reward and,
/// with a `reference`, their KL to it — both under the tempered distributions the online
/// methods train.
#[allow(clippy::too_many_arguments)]
pub fn evaluate_policy(
    policy: &dyn CausalLm,
    reference: Option<&dyn CausalLm>,
    reward: &mut dyn Reward,
    prompts: &[RolloutPrompt],
    rollout: &RolloutConfig,
    tokenizer: &Tokenizer,
    seed: u64,
    device: &Device,
) -> Result<PolicyEval, RolloutError> {
    rollout.validate()?;
    let refs: Vec<&RolloutPrompt> = prompts.iter().collect();
    let c = collect(policy, &refs, rollout, tokenizer, reward, seed, device)?;
    let (completion_len, eos_rate) = c.length_and_eos_rate();
    let grid = c.completion_grid();
    let n = c.samples.len();
    let (kl, kl_k3) = match reference {
        Some(r) => {
            let t = rollout.temperature;
            let own = logprobs_in_chunks(policy, &c.tensors, t, rollout.score_batch_size);
            let rf = logprobs_in_chunks(r, &c.tensors, t, rollout.score_batch_size);
            let per_seq = |e: KlEstimator| -> Result<f64, RolloutError> {
                let k = e.per_token(own.clone(), rf.clone())?;
                Ok(mean_of((k * grid.clone()).sum_dim(1).reshape([n])))
            };
            (
                Some(per_seq(KlEstimator::K1)?),
                Some(per_seq(KlEstimator::K3)?),
            )
        }
        None => (None, None),
    };
    let r = &c.scores.sequence;
    let mean = r.iter().map(|&x| x as f64).sum::<f64>() / n.max(1) as f64;
    let var = r.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / (n.max(2) - 1) as f64;
    let summary = PolicyEvalSummary {
        reward_mean: mean,
        reward_std: var.sqrt(),
        kl,
        kl_k3,
        completion_len,
        eos_rate,
    };
    Ok(PolicyEval {
        summary,
        samples: c.samples.into_iter().zip(r.iter().copied()).collect(),
    })
}

fn mean_of(t: Tensor<1>) -> f64 {
    t.mean().into_scalar::<f32>() as f64
}
