//! Policy optimisation on top of [`lm`]: supervised fine-tuning ([`sft`]) and the methods
//! that follow it, all trained by the shared loop of the [`train`] crate (re-exported here).
//! One call runs a whole method from its configuration: [`sft::run()`] and [`dpo::run()`]
//! (errors: [`RunError`]).
//!
//! The online-RL building blocks are pure tensor functions: advantage estimators
//! ([`advantage`]: GAE, whitening, GRPO, RLOO, REINFORCE++) and the policy/value losses and
//! their aggregation ([`objective`]: PPO/GRPO clipped surrogate with GSPO sequence-level ratios,
//! clipped value loss, entropy bonus). Both report errors as [`RlError`].

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
