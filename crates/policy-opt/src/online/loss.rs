//! The loss of one micro-batch of a rollout, for every algorithm: the clipped surrogate
//! ([`crate::objective::clipped_surrogate`]) aggregated as the algorithm does, plus PPO's
//! clipped value loss, GRPO's k3 KL term and the entropy bonus.

use burn::tensor::Tensor;
use kl_control::KlEstimator;
use train::MetricName;

use super::config::{Algorithm, LossType, OnDivergence, OnlineConfig};
use super::model::{ActorCritic, PolicyModule};
use crate::RlResult;
use crate::objective::{
    ClipRange, ImportanceLevel, LossAggregation, aggregate_loss, clipped_surrogate,
    clipped_value_loss, entropy_bonus,
};
use crate::rollout::Minibatch;

/// A micro-batch's loss with its metrics and the divergence statistics the loop checks.
pub(crate) struct MicroLoss {
    /// The loss to minimise, `[1]`.
    pub loss: Tensor<1>,
    /// Metrics (detached, `[1]` each).
    pub metrics: Vec<(MetricName, Tensor<1>)>,
    /// `max |log π_θ − log π_old|` over the loss tokens, and the approximate KL
    /// `½·mean((log π_θ − log π_old)²)`, detached, `[2]`.
    pub divergence: Tensor<1>,
}

/// The loss of micro-batch `mb` (part of a minibatch of `minibatch_tokens` loss tokens split
/// into `n_micro` micro-batches) under the model being trained.
pub(crate) fn micro_loss<P, C>(
    model: &ActorCritic<P, C>,
    mb: &Minibatch,
    config: &OnlineConfig,
    minibatch_tokens: usize,
    n_micro: usize,
) -> RlResult<MicroLoss>
where
    P: PolicyModule,
    C: PolicyModule,
{
    let algorithm = &config.algorithm;
    let is_ppo = matches!(algorithm, Algorithm::Ppo(_));
    let out = model.forward(
        mb.ids.clone(),
        mb.attention_mask.clone(),
        config.rollout.temperature,
        true,
        is_ppo,
    );
    let mask = mb.loss_mask.clone();
    let old = if mb.old_from_current {
        out.logprobs.clone().detach()
    } else {
        mb.old_logprobs.clone()
    };
    let log_ratio = (out.logprobs.clone() - old.clone()) * mask.clone();
    let d = log_ratio.clone().detach();
    let count = mask.clone().sum().clamp_min(1.0);
    let divergence = Tensor::cat(
        vec![
            d.clone().abs().max().reshape([1]),
            (d.powi_scalar(2).sum() / count.clone()).reshape([1]) * 0.5,
        ],
        0,
    );
    let logp = match config.on_divergence {
        OnDivergence::Error => out.logprobs.clone(),
        OnDivergence::Clip => {
            let m = config.max_log_ratio;
            old.clone() + (out.logprobs.clone() - old.clone()).clamp(-m, m)
        }
    };
    let (clip, level, aggregation) = match algorithm {
        Algorithm::Ppo(c) => (
            ClipRange::symmetric(c.cliprange),
            ImportanceLevel::Token,
            LossAggregation::TokenMean,
        ),
        Algorithm::Grpo(c) => (
            ClipRange::new(c.epsilon_low, c.epsilon_high),
            c.importance_sampling_level,
            match c.loss_type {
                LossType::Grpo => LossAggregation::SeqMeanTokenMean,
                LossType::Bnpo => LossAggregation::TokenMean,
                LossType::DrGrpo => LossAggregation::SeqMeanTokenSumNorm {
                    max_completion_length: config.rollout.max_new_tokens,
                },
                LossType::Dapo => LossAggregation::TokenSumNorm {
                    num_tokens: minibatch_tokens.max(1) as f64,
                },
            },
        ),
        Algorithm::Rloo(c) => (
            ClipRange::new(c.epsilon_low, c.epsilon_high),
            ImportanceLevel::SequenceSum,
            LossAggregation::SeqMeanTokenMean,
        ),
        Algorithm::ReinforcePp(c) => (
            ClipRange::symmetric(c.cliprange),
            ImportanceLevel::Token,
            LossAggregation::TokenMean,
        ),
    };
    let surrogate = clipped_surrogate(
        logp.clone(),
        old,
        mb.advantages.clone(),
        mask.clone(),
        clip,
        level,
    )?;
    let mut metrics: Vec<(MetricName, Tensor<1>)> = surrogate
        .metrics
        .named()
        .into_iter()
        .map(|(k, v)| (MetricName::from(k), v))
        .collect();
    let mut per_token = surrogate.per_token_loss;
    if let (Algorithm::Grpo(c), Some(r)) = (algorithm, &mb.ref_logprobs)
        && c.beta > 0.0
    {
        // DeepSeekMath eq. 3–4: + β·D_KL per token, the k3 estimate with gradients through
        // log π_θ (TRL adds it to the per-token loss before aggregating).
        let kl = KlEstimator::K3.per_token(logp, r.clone())? * mask.clone();
        metrics.push((
            "kl/k3_loss_term".into(),
            kl.clone().detach().sum() / count.clone().detach(),
        ));
        per_token = per_token + kl * c.beta;
    }
    let mut policy_loss = aggregate_loss(per_token, mask.clone(), aggregation)?;
    if matches!(aggregation, LossAggregation::TokenSumNorm { .. }) {
        // The normaliser already spans the whole minibatch; undo the engine's 1/n_micro.
        policy_loss = policy_loss * n_micro as f64;
    }
    metrics.push(("loss/policy".into(), policy_loss.clone().detach()));
    let mut loss = policy_loss;
    if let (Algorithm::Ppo(c), Some(values), Some(old_v), Some(returns)) =
        (algorithm, out.values, &mb.old_values, &mb.returns)
    {
        let v = clipped_value_loss(
            values,
            old_v.clone(),
            returns.clone(),
            mask.clone(),
            c.cliprange_value,
        )?;
        metrics.push(("loss/value".into(), v.loss.clone().detach()));
        metrics.push(("value/clip_frac".into(), v.clip_frac));
        loss = loss + v.loss * c.vf_coef;
    }
    if let Some(entropy) = out.entropy {
        let coef = match algorithm {
            Algorithm::Ppo(c) => c.entropy_coef,
            Algorithm::Grpo(c) => c.entropy_coef,
            _ => 0.0,
        };
        let mean = (entropy.clone().detach() * mask.clone()).sum() / count;
        metrics.push(("entropy".into(), mean));
        if coef > 0.0 {
            loss = loss + entropy_bonus(entropy, mask, coef)?;
        }
    }
    Ok(MicroLoss {
        loss,
        metrics,
        divergence,
    })
}
