//! Policy optimisation on top of [`lm`]: supervised fine-tuning ([`sft`]) and the methods
//! that follow it, all trained by the shared loop of the [`train`] crate (re-exported here).

pub mod dpo;
pub mod sft;
pub use train;
