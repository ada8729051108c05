//! KL control for RLHF: how far the policy π has moved from the reference π_ref, and how to
//! hold it there.
//!
//! - [`estimators`]: per-token Monte-Carlo estimates k1, k2, k3 of KL(π ‖ π_ref) from the
//!   log-probs of sampled tokens (Schulman 2020).
//! - [`exact`]: the exact KL of the next-token distributions from both models' logits.
//! - [`masked`]: masked sums and means per sequence and per batch.
//! - [`controller`]: the coefficient β — fixed, or adaptive to a KL target (Ziegler et al. 2019).
//! - [`shaping`]: KL as a per-token reward penalty (PPO) or as a loss term (GRPO).
//!
//! ```
//! use burn::tensor::{Device, Int, Tensor};
//! use kl_control::{KlController, KlEstimator, AdaptiveKlConfig, masked_mean_batch, shaped_rewards};
//!
//! let dev = Device::flex();
//! // log-probs of the sampled completion tokens under the policy and the reference, [B, T].
//! let logp = Tensor::<2>::from_floats([[-1.0, -0.5, -2.0], [-0.1, -0.3, -9.0]], &dev);
//! let ref_logp = Tensor::<2>::from_floats([[-1.2, -0.4, -2.5], [-0.2, -0.3, -9.0]], &dev);
//! let mask = Tensor::<2, Int>::from_ints([[1, 1, 1], [1, 1, 0]], &dev);
//!
//! let k3 = KlEstimator::K3.per_token(logp.clone(), ref_logp.clone()).unwrap();
//! let kl = masked_mean_batch(k3, mask.clone()).unwrap().into_scalar::<f32>();
//! assert!(kl >= 0.0);
//!
//! let mut ctl = AdaptiveKlConfig::new(0.2, 6.0, 10_000).init().unwrap();
//! let k1 = KlEstimator::K1.per_token(logp, ref_logp).unwrap();
//! let scores = Tensor::<1>::from_floats([1.0, -0.5], &dev);
//! let rewards = shaped_rewards(k1, mask, scores, ctl.beta()).unwrap();
//! assert_eq!(rewards.dims(), [2, 3]);
//! let beta = ctl.update(kl as f64, 2).unwrap();
//! assert!(beta < 0.2); // KL far below the target: β shrinks
//! ```

#![warn(missing_docs)]

pub mod controller;
pub mod error;
pub mod estimators;
pub mod exact;
pub mod masked;
pub mod shaping;

pub use controller::{
    ADAPTIVE_ERROR_CLIP, AdaptiveKlConfig, AdaptiveKlController, AnyKlController, FixedKlConfig,
    FixedKlController, KlController, KlControllerConfig,
};
pub use error::{KlError, KlResult};
pub use estimators::KlEstimator;
pub use exact::exact_kl;
pub use masked::{TokenMask, masked_mean_batch, masked_mean_per_sequence, masked_sum_per_sequence};
pub use shaping::{KlAggregation, kl_penalty_loss, shaped_rewards};
