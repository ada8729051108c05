//! # rlhf — aligning language models in Rust, on burn
//!
//! Umbrella crate: re-exports the workspace crates and hosts the runnable examples.
//!
//! - [`rlhf_core`]: the shared contracts (batch sources, the `Reward` trait, atomic writes).
//! - [`lm`]: the causal language model layer (trait, reference transformer, generation,
//!   checkpoints, tokenizer).
//! - [`train`]: the training loop shared by every method.
//! - [`policy_opt`]: the policy methods: SFT, the DPO family, and online RL (PPO, GRPO, RLOO,
//!   REINFORCE++) on one rollout engine.
//! - [`kl_control`]: KL estimators, masked reductions, β controllers, KL reward shaping.
//! - [`pref_data`]: preference data (every format, splits, tokenisation, batches).
//! - [`locate_hh`]: where the examples find the HH-RLHF file (`--data`, `../shared`, or the
//!   Hugging Face hub with the `hub` feature).
//! - [`reward_model`]: reward models from preferences (losses, training, evaluation).
//! - [`rlaif_judge`]: AI feedback (constitutions, AI judges local and over HTTP, critique →
//!   revision, AI-feedback datasets) and graders as rewards.
//!
//! ```
//! use rlhf::lm::{CausalLm, Transformer, TransformerConfig};
//! use burn::tensor::{Int, Tensor};
//!
//! let device = rlhf::lm::select_device().unwrap();
//! let config = TransformerConfig::llama(64, 32, 2, 4, 2, 64);
//! let model = Transformer::new(&config, 0, &device).unwrap();
//! let ids = Tensor::<2, Int>::from_ints([[1, 2, 3, 4]], &device);
//! let mask = Tensor::<2, Int>::ones([1, 4], &device);
//! // log p(token t+1 | tokens ≤ t) for t = 0, 1, 2
//! let logp = model.token_logprobs(ids, mask);
//! assert_eq!(logp.dims(), [1, 3]);
//! ```

pub mod locate;

pub use kl_control;
pub use lm;
pub use locate::{LocateOptions, locate_hh, locate_hh_with};
pub use policy_opt;
pub use pref_data;
pub use reward_model;
pub use rlaif_judge;
pub use rlhf_core;
pub use train;
