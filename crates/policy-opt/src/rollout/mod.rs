//! The rollout machinery every online method shares (PPO, GRPO, RLOO, REINFORCE++):
//!
//! - [`prompts`]: [`RolloutPrompt`]s and the seeded order in which iterations draw them;
//! - [`config`]: [`RolloutConfig`] — samples per prompt, length, temperature, stop tokens,
//!   the missing-EOS penalty, truncated-completion masking;
//! - [`sample`]: batched KV-cached generation on a no-grad copy of the policy, collated into
//!   one padded layout;
//! - [`mod@collect`]: sampling, decoding and scoring with any [`rlhf_core::Reward`], and the
//!   chunked scoring passes (old and reference log-probs);
//! - [`pairs`]: two samples per prompt ranked by a reward (oracle, grader, judge) — preference
//!   pairs for reward models and DPO;
//! - [`buffer`]: the rollout's tensors (old and reference log-probs, values, advantages,
//!   returns), read by several epochs of shuffled minibatches.
//!
//! The online loop that drives them is [`crate::online`].

pub mod buffer;
pub mod collect;
pub mod config;
mod error;
pub mod pairs;
pub mod prompts;
pub mod sample;

pub use buffer::{Minibatch, RolloutBuffer, split_even};
pub use collect::{Collected, collect, logprobs_in_chunks, stop_tokens};
pub use config::{OldLogprobs, RolloutConfig};
pub use error::RolloutError;
pub use pairs::{RankedPair, sample_ranked_pairs};
pub use prompts::{PromptOrder, RolloutPrompt, record_prompts, rft_prompts, rollout_prompts};
pub use sample::{Sampled, collate, left_padded, sample_completions};
