//! How far the trained policy has moved from its reference, measured on its own samples.

use kl_control::{KlEstimator, KlResult, masked_mean_batch, masked_sum_per_sequence};
use lm::{CausalLm, Generation};

/// Monte-Carlo estimate of `KL(π_θ ‖ π_ref)` on completions sampled from π_θ.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct SampledKl {
    /// Mean of k3 over every completion token (nats per token).
    pub per_token: f64,
    /// Mean over sequences of the per-sequence sum of k3 (nats per completion): the
    /// sequence-level KL TRL logs as `objective/kl`.
    pub per_sequence: f64,
    /// Completion tokens scored.
    pub tokens: usize,
}

/// Schulman's k3 estimator (`r − 1 − log r`, `r = π_ref / π_θ`, see
/// [`KlEstimator::K3`]) of `KL(π_θ ‖ π_ref)` on the completion tokens of `generation`,
/// which must have been sampled from `policy` (at temperature 1 for an unbiased estimate).
///
/// ```text
/// k3_t = exp(log π_ref(y_t) − log π_θ(y_t)) − 1 − (log π_ref(y_t) − log π_θ(y_t))
/// per_token    = Σ_{b,t} m_{b,t} k3_{b,t} / Σ_{b,t} m_{b,t}
/// per_sequence = mean_b Σ_t m_{b,t} k3_{b,t}
/// ```
///
/// Both models score the full sequences with [`CausalLm::sequence_logprobs`] (the
/// completion mask of the generation selects the tokens). Run on `valid()` copies with
/// tensors on a device without autodiff.
pub fn sampled_kl<P: CausalLm + ?Sized, R: CausalLm + ?Sized>(
    policy: &P,
    reference: &R,
    generation: &Generation,
) -> KlResult<SampledKl> {
    let g = generation;
    let pol = policy.sequence_logprobs(
        g.sequences.clone(),
        g.attention_mask.clone(),
        g.completion_mask.clone(),
    );
    let refr = reference.sequence_logprobs(
        g.sequences.clone(),
        g.attention_mask.clone(),
        g.completion_mask.clone(),
    );
    let k3 = KlEstimator::K3.per_token(pol.tokens, refr.tokens)?;
    let per_token = masked_mean_batch(k3.clone(), pol.mask.clone())?.into_scalar::<f32>() as f64;
    let per_sequence = masked_sum_per_sequence(k3, pol.mask.clone())?
        .mean()
        .into_scalar::<f32>() as f64;
    let tokens = pol.mask.sum().into_scalar::<f32>() as usize;
    Ok(SampledKl {
        per_token,
        per_sequence,
        tokens,
    })
}
