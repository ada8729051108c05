//! Each algorithm's advantages (and returns) from a scored rollout: the only part of the
//! rollout phase that differs between PPO, GRPO, RLOO and REINFORCE++. The estimators
//! themselves are in [`crate::advantage`].

use burn::tensor::{Tensor, TensorData};
use kl_control::{KlEstimator, shaped_rewards};

use super::config::Algorithm;
use crate::RlResult;
use crate::advantage::{
    gae, group_advantages, masked_whiten, reinforce_pp, reinforce_pp_baseline, rloo_advantages,
};

/// A scored rollout, on the next-token grid `[N, T − 1]`.
pub(crate) struct Scored {
    /// 1 on every completion token (the trajectory; never empty per row).
    pub completion: Tensor<2>,
    /// Sequence scores after the missing-EOS penalty and normalisation, `[N]`.
    pub scores: Vec<f32>,
    /// Dense rewards on the grid, if the reward gave any.
    pub dense: Option<Tensor<2>>,
    /// Old log-probs.
    pub old_logprobs: Tensor<2>,
    /// Reference log-probs, if a reference was scored.
    pub ref_logprobs: Option<Tensor<2>>,
    /// Values at sampling time (PPO).
    pub values: Option<Tensor<2>>,
    /// Samples per prompt (consecutive rows).
    pub group_size: usize,
}

/// What [`estimate`] returns.
pub(crate) struct Estimate {
    /// `[N, T − 1]`, 0 off the completion.
    pub advantages: Tensor<2>,
    /// Value targets (PPO).
    pub returns: Option<Tensor<2>>,
}

/// The per-token KL of the rollout (`estimator(old, ref)`, detached), 0 without reference.
pub(crate) fn rollout_kl(s: &Scored, estimator: KlEstimator) -> RlResult<Tensor<2>> {
    match &s.ref_logprobs {
        Some(r) => {
            Ok(estimator.per_token(s.old_logprobs.clone(), r.clone())? * s.completion.clone())
        }
        None => Ok(s.completion.zeros_like()),
    }
}

/// The advantages of `algorithm` with KL coefficient `beta` (PPO's current β).
pub(crate) fn estimate(algorithm: &Algorithm, beta: f64, s: &Scored) -> RlResult<Estimate> {
    let device = s.completion.device();
    let n = s.scores.len();
    let scores = Tensor::<1>::from_data(TensorData::new(s.scores.clone(), [n]), &device);
    let broadcast = |a: Tensor<1>| a.reshape([n, 1]) * s.completion.clone();
    let with_dense = |r: Tensor<2>| match &s.dense {
        Some(d) => r + d.clone() * s.completion.clone(),
        None => r,
    };
    Ok(match algorithm {
        Algorithm::Ppo(c) => {
            let kl = rollout_kl(s, c.kl_estimator)?;
            let mut rewards = with_dense(shaped_rewards(kl, s.completion.clone(), scores, beta)?);
            if c.whiten_rewards {
                rewards = masked_whiten(rewards, s.completion.clone(), false)?;
            }
            let values = s
                .values
                .clone()
                .unwrap_or_else(|| s.completion.zeros_like());
            let out = gae(rewards, values, s.completion.clone(), c.gamma, c.lam)?;
            let advantages = if c.whiten_advantages {
                masked_whiten(out.advantages, s.completion.clone(), true)?
            } else {
                out.advantages
            };
            Estimate {
                advantages,
                returns: Some(out.returns),
            }
        }
        Algorithm::Grpo(c) => Estimate {
            advantages: broadcast(group_advantages(scores, s.group_size, c.scale_rewards)?),
            returns: None,
        },
        Algorithm::Rloo(c) => {
            let rewards = if c.beta > 0.0 {
                let kl = rollout_kl(s, KlEstimator::K1)?.sum_dim(1).reshape([n]);
                scores - kl * c.beta
            } else {
                scores
            };
            let mut adv = rloo_advantages(rewards, s.group_size)?;
            if c.normalize_advantages {
                adv = normalize_trl(adv);
            }
            Estimate {
                advantages: broadcast(adv),
                returns: None,
            }
        }
        Algorithm::ReinforcePp(c) => {
            let kl = rollout_kl(s, c.kl_estimator)?;
            let out = if c.baseline {
                reinforce_pp_baseline(scores, kl, s.completion.clone(), c.beta, s.group_size)?
            } else {
                let rewards = with_dense(shaped_rewards(kl, s.completion.clone(), scores, c.beta)?);
                reinforce_pp(rewards, s.completion.clone(), c.gamma)?
            };
            Estimate {
                advantages: out.advantages,
                returns: None,
            }
        }
    })
}

/// TRL RLOO's `normalize_advantages`: `(A − mean) / (std + 1e-4)`, unbiased std.
fn normalize_trl(a: Tensor<1>) -> Tensor<1> {
    let n = a.dims()[0];
    if n < 2 {
        return a.zeros_like();
    }
    let mean = a.clone().mean();
    let centred = a - mean.unsqueeze();
    let std = (centred.clone().powi_scalar(2).sum() / (n - 1) as f64).sqrt();
    centred / (std.unsqueeze() + 1e-4)
}

/// Whether each group of `group_size` consecutive scores holds a single value (no learning
/// signal for group methods: DAPO's dynamic sampling drops such groups).
pub(crate) fn flat_groups(scores: &[f32], group_size: usize) -> Vec<bool> {
    scores
        .chunks(group_size.max(1))
        .map(|g| g.iter().all(|&x| x == g[0]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_groups_are_found() {
        assert_eq!(
            flat_groups(&[1.0, 1.0, 0.0, 1.0, 2.0, 2.0], 2),
            vec![true, false, true]
        );
    }
}
