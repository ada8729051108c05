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
//! exactly 0 outside the mask and values there never reach the result or its gradient. (The
//! KL term is elementwise: if `logp` can hold NaN or ±inf outside the mask, zero it there
//! before `KlEstimator::per_token`, or that position's gradient is NaN.)
//!
//! One GRPO/DAPO step on two completions of one prompt:
//!
//! ```
//! use burn::tensor::{Device, Int, Tensor};
//! use policy_opt::advantage::{ScaleRewards, group_advantages};
//! use policy_opt::objective::{
//!     ClipRange, ImportanceLevel, LossAggregation, aggregate_loss, clipped_surrogate,
//! };
//!
//! let dev = Device::flex().autodiff();
//! // Rewards 1 and 0: advantages ±½/(std + 1e-4), std = √½ (unbiased).
//! let rewards = Tensor::<1>::from_floats([1.0, 0.0], &dev);
//! let adv = group_advantages(rewards, 2, ScaleRewards::Group).unwrap();
//! let old_logp = Tensor::<2>::from_floats([[-1.0, -2.0, -0.5], [-0.3, -1.2, 9.9]], &dev);
//! let logp = old_logp.clone().require_grad(); // first step of the rollout: π_θ = π_old
//! let mask = Tensor::<2, Int>::from_ints([[1, 1, 1], [1, 1, 0]], &dev);
//! let s = clipped_surrogate(
//!     logp.clone(),
//!     old_logp,
//!     adv,
//!     mask.clone(),
//!     ClipRange::new(0.2, 0.28),
//!     ImportanceLevel::Token,
//! )
//! .unwrap();
//! let how = LossAggregation::TokenSumNorm { num_tokens: 5.0 }; // TRL "dapo"
//! let loss = aggregate_loss(s.per_token_loss, mask, how).unwrap();
//! let grads = loss.backward();
//! let g = logp.grad(&grads).unwrap().try_into_vec_as::<f32>().unwrap();
//! let a = 0.5 / (0.5f32.sqrt() + 1e-4);
//! assert!((g[0] + a / 5.0).abs() < 1e-6); // ∂L/∂logp = −A·ratio/N
//! assert!((g[3] - a / 5.0).abs() < 1e-6);
//! assert_eq!(g[5], 0.0); // outside the mask
//! ```
//!
//! Checked against TRL 1.16's own `GRPOTrainer._compute_loss` (losses and gradients, every
//! `loss_type`, both importance levels) and TRL's `PPOTrainer` formulas on the fixtures of
//! `scripts/make_rl_fixtures.py` (`tests/rl_estimators.rs`).

#![warn(missing_docs)]

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
