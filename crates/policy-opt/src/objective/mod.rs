//! Policy and value losses of online RL (PPO, GRPO and its variants), per token and reduced.
//!
//! A trainer step composes them; every piece is a pure, differentiable tensor function that
//! stays on the device:
//!
//! ```text
//! s      = clipped_surrogate(logp, old_logp, A, mask, clip, level)    per token [B, T]
//! ℓ_tok  = s.per_token_loss (+ β · k3(logp, ref_logp), GRPO's KL term)
//! L      = aggregate_loss(ℓ_tok, mask, how)                           [1]
//!        + entropy_bonus(H, mask, coef)                                (optional)
//!        + vf_coef · clipped_value_loss(V, V_old, R, mask, c).loss      (PPO with a critic)
//! ```
//!
//! | piece | function | reference |
//! |---|---|---|
//! | clipped surrogate, clip-higher, GSPO ratios | [`clipped_surrogate`] | Schulman et al. 2017 eq. 7; Yu et al. 2025 (DAPO); Zheng et al. 2025 (GSPO); TRL 1.16 `GRPOTrainer._compute_loss` |
//! | aggregation (`grpo`, `bnpo`, `dr_grpo`, `dapo`, …) | [`aggregate_loss`] | TRL `loss_type`, verl `loss_agg_mode` |
//! | clipped value loss | [`clipped_value_loss`] | TRL `PPOTrainer` |
//! | entropy, entropy bonus | [`entropy_from_logits`], [`entropy_bonus`] | TRL `entropy_from_logits`, `entropy_coef` |
//!
//! The KL term of GRPO is [`kl_control::KlEstimator::K3`] and
//! [`kl_control::kl_penalty_loss`]; the KL reward penalty of PPO is
//! [`kl_control::shaped_rewards`]. Masks follow the [`advantage`](crate::advantage) convention
//! (any [`TokenMask`](kl_control::TokenMask), non-zero = counted); the per-token outputs are
//! exactly 0 outside the mask and values there never reach the result or its gradient.
//!
//! Checked against TRL 1.16's own `GRPOTrainer._compute_loss` (losses and gradients, every
//! `loss_type`, both importance levels) and TRL's `PPOTrainer` formulas on the fixtures of
//! `scripts/make_rl_fixtures.py` (`tests/rl_estimators.rs`).

mod aggregate;
mod clipped_surrogate;
mod entropy;
mod value_loss;

pub use crate::rl_error::{RlError, RlResult};
pub use aggregate::{LossAggregation, aggregate_loss};
pub use clipped_surrogate::{
    Advantages, ClipRange, ClippedSurrogate, ImportanceLevel, SurrogateMetrics, clipped_surrogate,
};
pub use entropy::{entropy_bonus, entropy_from_logits};
pub use value_loss::{ValueLoss, clipped_value_loss};
