//! Policy optimisation on top of [`lm`]: supervised fine-tuning ([`sft`]) and the methods
//! that follow it, all trained by the shared loop of the [`train`] crate (re-exported here).
//! One call runs a whole method from its configuration: [`sft::run()`] and [`dpo::run()`]
//! (errors: [`RunError`]).
//!
//! The online-RL building blocks are pure tensor functions: advantage estimators
//! ([`advantage`]: GAE, whitening, GRPO, RLOO, REINFORCE++) and the policy/value losses and
//! their aggregation ([`objective`]: PPO/GRPO clipped surrogate with GSPO sequence-level ratios,
//! clipped value loss, entropy bonus). Both report errors as [`RlError`].
//!
//! GRPO's group-normalised advantages (Shao et al. 2024): two prompts, three samples each.
//!
//! ```
//! use burn::tensor::Tensor;
//! use policy_opt::advantage::{ScaleRewards, group_advantages};
//!
//! let device = lm::select_device().unwrap();
//! let rewards = Tensor::<1>::from_floats([1.0, 0.0, 0.0, 2.0, 2.0, 2.0], &device);
//! let adv = group_advantages(rewards, 3, ScaleRewards::Group).unwrap();
//! let adv: Vec<f32> = adv.into_data().to_vec().unwrap();
//! assert!(adv[0] > 0.0 && adv[1] < 0.0); // above and below its group's mean
//! assert_eq!(&adv[3..], &[0.0, 0.0, 0.0]); // a group whose rewards are all equal
//! ```

pub mod advantage;
pub mod dpo;
pub mod objective;
pub mod online;
mod rl_error;
pub mod rollout;
mod run_error;
pub mod sft;
pub use rl_error::{RlError, RlResult};
pub use run_error::RunError;
pub use train;
