//! Policy optimisation on top of [`lm`]: supervised fine-tuning ([`sft`]) and the methods
//! that follow it, all trained by the shared loop of the [`train`] crate (re-exported here).
//!
//! The online-RL building blocks are pure tensor functions: advantage estimators
//! ([`advantage`]: GAE, whitening, GRPO, RLOO, REINFORCE++). They report errors as [`RlError`].

pub mod advantage;
pub mod dpo;
mod rl_error;
pub mod sft;
pub use rl_error::{RlError, RlResult};
pub use train;
